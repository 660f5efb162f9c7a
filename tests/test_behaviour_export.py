"""``culler export picks --move`` with a RAW+JPEG pair: the sidecar the pair shares is copied, not
moved, so the RAW that stays keeps its ratings and edits."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest

from culler.interop.xmp import SidecarData, read_sidecar, write_sidecar
from culler.testing import sample_image, scan_into


def test_move_takes_a_raw_jpeg_capture_whole_and_copies_a_sidecar_shared_with_a_photo_that_stays(
    tmp_path, culler_cli
):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    sample_image("chelsea").resize((256, 192)).save(shoot / "IMG_1.jpg", quality=90)
    (shoot / "IMG_1.dng").write_bytes(b"the raw file of the pair, not decoded by this test")
    sample_image("coffee").resize((256, 192)).save(shoot / "IMG_2.jpg", quality=90)
    write_sidecar(shoot / "IMG_2.xmp", SidecarData(rating=4))  # IMG_2's own: moves with it
    # IMG_3.jpg and IMG_3.tif are two photos (a TIFF is no camera RAW): they share IMG_3.xmp.
    sample_image("astronaut").resize((256, 192)).save(shoot / "IMG_3.jpg", quality=90)
    sample_image("rocket").resize((256, 192)).save(shoot / "IMG_3.tif")
    db = tmp_path / "culler.db"
    catalog, _ = scan_into(db, shoot, ["technical"])
    for name in ("IMG_1.jpg", "IMG_2.jpg", "IMG_3.jpg"):
        catalog.rate(catalog.photo_by_path(str(shoot / name))["id"], decision="pick", source="cli")
    catalog.close()
    write_sidecar(shoot / "IMG_1.xmp", SidecarData(rating=5, label="Red"))
    write_sidecar(shoot / "IMG_3.xmp", SidecarData(rating=3))
    pair_sidecar = hashlib.sha256((shoot / "IMG_1.xmp").read_bytes()).hexdigest()
    shared = hashlib.sha256((shoot / "IMG_3.xmp").read_bytes()).hexdigest()

    dest = tmp_path / "out"
    culler_cli("export", "picks", dest, "--db", db, "--move")
    # The RAW+JPEG capture is one photo: its RAW and its sidecar go with it.
    assert not (shoot / "IMG_1.jpg").exists() and (dest / "IMG_1.jpg").exists()
    assert not (shoot / "IMG_1.dng").exists() and (dest / "IMG_1.dng").exists()
    assert not (shoot / "IMG_1.xmp").exists()
    assert hashlib.sha256((dest / "IMG_1.xmp").read_bytes()).hexdigest() == pair_sidecar
    # A sidecar shared with a photo that stays is copied: the TIFF keeps its own.
    assert (shoot / "IMG_3.tif").exists() and not (shoot / "IMG_3.jpg").exists()
    assert hashlib.sha256((shoot / "IMG_3.xmp").read_bytes()).hexdigest() == shared
    assert hashlib.sha256((dest / "IMG_3.xmp").read_bytes()).hexdigest() == shared
    assert not (dest / "IMG_3.xmp").is_symlink()  # a copy of its own, edited apart from the TIFF's
    # A sidecar no other photo shares moves with its photo.
    assert not (shoot / "IMG_2.xmp").exists()
    assert read_sidecar(dest / "IMG_2.xmp").rating == 4


def test_scores_csv_has_its_columns_and_empty_cells_for_what_is_unknown(
    tmp_path, culler_cli, register_test_plugin
):
    from test_behaviour_cull import LitPlugin, at_level

    register_test_plugin(LitPlugin, "lit-test")
    folder = tmp_path / "shoot"
    folder.mkdir()
    at_level(sample_image("coffee").resize((200, 100)), 102).save(folder / "coffee.jpg")
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    db = tmp_path / "culler.db"
    catalog, _ = scan_into(db, folder, ["bright"])
    catalog.rate(catalog.photo_by_path(str(folder / "coffee.jpg"))["id"], stars=3, label="Green")
    catalog.close()
    text = culler_cli("export", "scores", "--db", db).output
    assert "\r" not in text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "path", "status", "error", "width", "height", "taken_at", "camera",
        "stars", "decision", "label", "bright", "tags",
    ]  # fmt: skip
    by_path = {row[0]: row for row in rows[1:]}
    assert by_path.keys() == {str(folder / "broken.jpg"), str(folder / "coffee.jpg")}
    broken = by_path[str(folder / "broken.jpg")]
    assert broken[1] == "error" and broken[2]  # the reason it could not be read
    assert broken[3:] == [""] * 9  # nothing known about it: empty cells, never "None"
    coffee = by_path[str(folder / "coffee.jpg")]
    assert coffee[1:10] == ["ok", "", "200", "100", "", "", "3", "", "Green"]
    assert float(coffee[10]) == pytest.approx(102 / 25.5, abs=0.3) and coffee[11] == ""
    assert len(coffee[10].split(".")[1]) == 4  # four decimals
    only_ok = culler_cli("export", "scores", "--db", db, "--status", "ok").output
    assert [row[0] for row in csv.reader(io.StringIO(only_ok))][1:] == [str(folder / "coffee.jpg")]


@pytest.fixture
def picked(tmp_path):
    """Two picked photos, one in a nested folder with its own sidecar; returns (root, db)."""
    root = tmp_path / "shoot"
    (root / "day1" / "card2").mkdir(parents=True)
    sample_image("chelsea").resize((128, 96)).save(root / "day1" / "card2" / "cat.jpg")
    write_sidecar(root / "day1" / "card2" / "cat.xmp", SidecarData(rating=5))
    sample_image("rocket").resize((128, 96)).save(root / "rocket.jpg")
    db = tmp_path / "culler.db"
    catalog, _ = scan_into(db, root, ["technical"])
    for row in catalog.readable_photos():
        catalog.rate(row["id"], decision="pick", source="cli")
    catalog.close()
    return root, db


def test_copy_writes_real_files_into_the_folders_asked_for_and_reports_them(
    picked, tmp_path, culler_cli
):
    root, db = picked
    dest = tmp_path / "out"
    report = culler_cli.json("export", "picks", dest, "--db", db, "--keep-folders", "--json")
    cat = dest / "day1" / "card2" / "cat.jpg"  # two folder levels made on the way
    assert cat.is_file() and not cat.is_symlink()
    assert (dest / "rocket.jpg").is_file() and not (dest / "rocket.jpg").is_symlink()
    items = {Path(i["source"]).name: i for i in report["items"]}
    assert items["cat.jpg"]["status"] == "done" and items["cat.jpg"]["error"] is None
    assert items["cat.jpg"]["sidecars"] == [
        {"source": str(root / "day1" / "card2" / "cat.xmp"), "target": str(cat.with_suffix(".xmp"))}
    ]
    assert (root / "day1" / "card2" / "cat.jpg").exists()  # a copy leaves the original


def test_a_photo_already_exported_is_skipped_and_a_different_one_gets_a_new_name(
    picked, tmp_path, culler_cli
):
    root, db = picked
    dest = tmp_path / "out"
    culler_cli("export", "picks", dest, "--db", db)
    again = culler_cli.json("export", "picks", dest, "--db", db, "--json")
    assert {i["status"] for i in again["items"]} == {"exists"}
    # Same name and size, other bytes: not the same photo, so it is kept and ours gets -1.
    data = bytearray((dest / "rocket.jpg").read_bytes())
    data[-3] ^= 0xFF
    (dest / "rocket.jpg").write_bytes(bytes(data))
    third = culler_cli.json("export", "picks", dest, "--db", db, "--json")
    by_name = {Path(i["source"]).name: i for i in third["items"]}
    assert by_name["rocket.jpg"]["target"] == str(dest / "rocket-1.jpg")
    assert (dest / "rocket.jpg").read_bytes() == bytes(data)  # never overwritten


def test_move_across_filesystems_copies_then_removes(picked, tmp_path, culler_cli, monkeypatch):
    import errno
    import os

    root, db = picked
    source = (root / "rocket.jpg").read_bytes()

    def cross_device(src, dst):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", cross_device)
    dest = tmp_path / "out"
    report = culler_cli.json("export", "picks", dest, "--db", db, "--move", "--json")
    assert {i["status"] for i in report["items"]} == {"done"}
    assert (dest / "rocket.jpg").read_bytes() == source and not (root / "rocket.jpg").exists()


def test_move_that_fails_for_another_reason_leaves_the_photo(
    picked, tmp_path, culler_cli, monkeypatch
):
    import errno
    import os

    root, db = picked

    def denied(src, dst):
        raise OSError(errno.EACCES, "Permission denied", str(dst))

    monkeypatch.setattr(os, "link", denied)
    dest = tmp_path / "out"
    result = culler_cli("export", "picks", dest, "--db", db, "--move", "--json", expect=1)
    report = json.loads(result.stdout)
    assert {i["status"] for i in report["items"]} == {"error"}
    assert all("Permission denied" in i["error"] for i in report["items"])
    assert (root / "rocket.jpg").exists() and not (dest / "rocket.jpg").exists()


# -- target names, decided before anything is copied -----------------------------------------------


def _photos(tmp_path: Path, *relative: str) -> list[dict]:
    """Photos at these paths under ``shoot/``, each a small file of its own bytes."""
    photos = []
    for i, rel in enumerate(relative):
        path = tmp_path / "shoot" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"photo {i}".encode())
        photos.append({"id": i + 1, "path": str(path), "root": str(tmp_path / "shoot")})
    return photos


def test_names_that_differ_only_in_case_get_their_own_numbers_when_exported_flat(tmp_path):
    """One folder on macOS, Windows and most memory cards holds IMG_1.JPG or img_1.jpg, not both."""
    from culler.interop.export import plan_export

    photos = _photos(tmp_path, "a/IMG_1.JPG", "b/img_1.jpg", "c/Img_1.jpg", "d/other.jpg")
    (tmp_path / "shoot" / "b" / "img_1.xmp").write_text("<x/>")  # its sidecar goes with it
    dest = tmp_path / "out"
    items = plan_export(photos, dest)
    assert [(i.target.name, i.status) for i in items] == [
        ("IMG_1.JPG", "planned"),
        ("img_1-1.jpg", "planned"),
        ("Img_1-2.jpg", "planned"),
        ("other.jpg", "planned"),
    ]
    assert [t.name for _, t in items[1].sidecars] == ["img_1-1.xmp"]
    # Kept in their folders, the same names do not clash.
    kept = plan_export(photos, dest, keep_folders=True)
    assert [str(i.target.relative_to(dest)) for i in kept] == [
        "a/IMG_1.JPG",
        "b/img_1.jpg",
        "c/Img_1.jpg",
        "d/other.jpg",
    ]


def test_a_photo_exported_earlier_under_a_numbered_name_is_found_there(tmp_path):
    from culler.interop.export import plan_export

    [photo] = _photos(tmp_path, "a/IMG_1.JPG")
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "IMG_1.JPG").write_bytes(b"another photo of that name")
    (dest / "IMG_1-1.JPG").write_bytes(Path(photo["path"]).read_bytes())
    [item] = plan_export([photo], dest)
    assert (item.target.name, item.status, item.sidecars) == ("IMG_1-1.JPG", "exists", [])


def test_a_copy_is_made_of_real_files_and_a_link_export_of_links(tmp_path):
    from culler.catalog import open_catalog
    from culler.interop.export import ExportError, plan_export, run_export

    [photo] = _photos(tmp_path, "a/IMG_1.jpg")
    (tmp_path / "shoot" / "a" / "IMG_1.xmp").write_text("<x/>")
    with open_catalog(tmp_path / "c.db") as catalog:
        [copied] = run_export(catalog, plan_export([photo], tmp_path / "copies"), "copy")
        [linked] = run_export(catalog, plan_export([photo], tmp_path / "links"), "link")
        with pytest.raises(ExportError) as raised:
            run_export(catalog, [], "zip")
    assert str(raised.value) == "mode must be one of copy, move, link, not 'zip'"
    assert (copied.status, linked.status) == ("done", "done")
    for target in (copied.target, copied.sidecars[0][1]):
        assert target.is_file() and not target.is_symlink()
    for source, target in [(linked.source, linked.target), *linked.sidecars]:
        assert target.is_symlink() and target.resolve() == source.resolve()


def test_a_photo_that_cannot_be_exported_is_recorded_and_the_others_still_go(tmp_path):
    from culler.catalog import open_catalog
    from culler.interop.export import plan_export, run_export

    photos = _photos(tmp_path, "gone.jpg", "blocked.jpg", "fine.jpg")
    dest = tmp_path / "out"
    items = plan_export(photos, dest)
    Path(photos[0]["path"]).unlink()  # deleted since the scan
    (dest / "blocked.jpg").mkdir(parents=True)  # appeared since planning
    with open_catalog(tmp_path / "c.db") as catalog:
        run_export(catalog, items, "copy")
    assert [(i.status, i.error) for i in items] == [
        (
            "error",
            f"{photos[0]['path']} is gone; run `culler scan` on the folder that holds it now",
        ),
        ("error", f"File exists: {dest / 'blocked.jpg'}"),
        ("done", None),
    ]
    assert (dest / "fine.jpg").read_bytes() == b"photo 2"


def test_scores_csv_writes_unix_lines_and_tags_sorted_by_name(tmp_path):
    from culler.catalog import open_catalog
    from culler.interop.export import score_rows, scores_csv
    from culler.plugin.scorers import ScoreResult

    with open_catalog(tmp_path / "c.db") as catalog:
        pk = catalog.scorer_pk("emotion", "1")
        with catalog.transaction():
            ok = catalog.upsert_photo(str(tmp_path / "a.jpg"), str(tmp_path), 1, 1, width=4)
            catalog.upsert_photo(
                str(tmp_path / "b.jpg"), str(tmp_path), 1, 1, status="error", error="truncated"
            )
            result = ScoreResult(score=6.5, tags={"awe": 0.2, "joy": 0.9})  # likeliest is not first
            catalog.store_score(ok, pk, result, "emotion")
        rows = score_rows(catalog)  # every photo, the broken one too
    assert scores_csv(rows) == (
        "path,status,error,width,height,taken_at,camera,stars,decision,label,emotion,tags\n"
        f'{tmp_path / "a.jpg"},ok,,4,,,,,,,6.5000,"{{""awe"": 0.2, ""joy"": 0.9}}"\n'
        f"{tmp_path / 'b.jpg'},error,truncated,,,,,,,,,\n"
    )


def test_a_move_says_why_it_leaves_a_photo_where_it_is(tmp_path, monkeypatch):
    from culler.catalog import open_catalog
    from culler.interop.export import plan_export, run_export

    photos = _photos(tmp_path, "linked/IMG_1.jpg", "copied/IMG_2.jpg", "full/IMG_3.jpg")
    real = tmp_path / "elsewhere.jpg"
    Path(photos[0]["path"]).rename(real)
    Path(photos[0]["path"]).symlink_to(real)  # the catalog names a link
    (tmp_path / "shoot" / "copied" / "IMG_2.xmp").write_text("<mine/>")
    dest = tmp_path / "out"
    with open_catalog(tmp_path / "c.db") as catalog:
        run_export(catalog, plan_export(photos[1:2], dest), "copy")  # IMG_2 copied earlier...
        (dest / "IMG_2.xmp").write_text("<edited there/>")  # ...and its sidecar edited there
        run_export(catalog, plan_export(photos[2:], dest), "link")  # IMG_3 linked earlier

        def full(source, target):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr("culler.interop.export._copy_exclusive", full)
        items = run_export(catalog, plan_export(photos, dest), "move")
    assert [i.error for i in items] == [
        f"{photos[0]['path']} is a symbolic link to {real}; culler moves only real files (the "
        "link would break): export it with --copy, or rescan its folder so the catalog names the "
        "real file",
        f"{dest / 'IMG_2.xmp'} exists with other content; move or rename it, then rerun",
        f"{dest / 'IMG_3.jpg'} is a link to this photo (an earlier --link export); delete the "
        "link, then run the move again",
    ]
    with open_catalog(tmp_path / "c2.db") as catalog:
        [new] = run_export(catalog, plan_export(_photos(tmp_path / "b", "IMG_4.jpg"), dest), "copy")
    # A full disk names no file itself: the line names the target and says what to do (issue #31).
    assert (new.status, new.error) == (
        "error",
        f"No space left on device: {dest / 'IMG_4.jpg'}; free some space on it and run the export "
        "again",
    )


def test_photos_exported_before_are_passed_over_and_the_rest_still_go(tmp_path):
    from culler.catalog import open_catalog
    from culler.interop.export import plan_export, run_export

    photos = _photos(tmp_path, "IMG_1.jpg", "IMG_2.jpg")
    dest = tmp_path / "out"
    with open_catalog(tmp_path / "c.db") as catalog:
        run_export(catalog, plan_export(photos[:1], dest), "copy")
        items = run_export(catalog, plan_export(photos, dest), "copy")
    assert [i.status for i in items] == ["exists", "done"]
    assert (dest / "IMG_2.jpg").read_bytes() == b"photo 1"
