"""The no-change rescan proved folder by folder (issue #32): `culler.scan.unchanged.unchanged_files`
answers a number only when the full planner would skip every file, and the scan then plans nothing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from culler.catalog import open_catalog
from culler.scan import pipeline
from culler.scan.unchanged import unchanged_files
from culler.testing import scan_into, write_photos

SCORERS = ["technical"]


def _archive(root: Path) -> Path:
    """Two shoots of real photos, one with a subfolder, and a text file beside them."""
    write_photos(root / "2024-05-wedding", 4)
    write_photos(root / "2024-05-wedding" / "ceremony", 3)
    write_photos(root / "2024-06-portraits", 2)
    (root / "2024-05-wedding" / "notes.txt").write_text("timeline")
    return root


def _scored_copy(tmp_path: Path, root: Path) -> Path:
    db = tmp_path / "base.db"
    catalog, summary = scan_into(db, root, SCORERS)
    catalog.close()
    assert summary["new"] == 9 and summary["errors"] == 0
    return db


def _slow_scan(db: Path, root: Path, monkeypatch) -> dict:
    """The scan as it was before the proof: everything discovered and planned."""
    with monkeypatch.context() as m:
        m.setattr(pipeline, "unchanged_files", lambda *a, **k: None)
        catalog, summary = scan_into(db, root, SCORERS)
    catalog.close()
    return summary


def _quick(db: Path, root: Path) -> int | None:
    catalog = open_catalog(db)
    try:
        return unchanged_files(catalog, [root], [catalog.scorer_pk("technical", _version(catalog))])
    finally:
        catalog.close()


def _version(catalog) -> str:
    return catalog.conn.execute(
        "SELECT version FROM scorers WHERE scorer_id = 'technical' ORDER BY id DESC LIMIT 1"
    ).fetchone()[0]


def _touch(root: Path) -> None:
    path = (
        root
        / "2024-05-wedding"
        / "ceremony"
        / sorted(os.listdir(root / "2024-05-wedding" / "ceremony"))[0]
    )
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def _grow(root: Path) -> None:
    path = next((root / "2024-06-portraits").glob("*.jpg"))
    with open(path, "ab") as fh:
        fh.write(b"\0" * 16)


def _new_file(root: Path) -> None:
    src = next((root / "2024-06-portraits").glob("*.jpg"))
    shutil.copyfile(src, root / "2024-06-portraits" / "IMG_9999.jpg")


def _new_folder(root: Path) -> None:
    write_photos(root / "2024-07-new-shoot", 1)


def _delete_file(root: Path) -> None:
    next((root / "2024-05-wedding").glob("*.jpg")).unlink()


def _delete_folder(root: Path) -> None:
    shutil.rmtree(root / "2024-05-wedding" / "ceremony")


def _rename_folder(root: Path) -> None:
    (root / "2024-06-portraits").rename(root / "2024-06-portraits-renamed")


def _hidden_and_text(root: Path) -> None:
    src = next((root / "2024-06-portraits").glob("*.jpg"))
    shutil.copyfile(src, root / "2024-06-portraits" / ".hidden.jpg")
    (root / "2024-06-portraits" / "readme.txt").write_text("x")


def _file_link(root: Path) -> None:
    src = next((root / "2024-06-portraits").glob("*.jpg"))
    os.symlink(src, root / "2024-05-wedding" / "linked.jpg")


def _hard_link(root: Path) -> None:
    src = next((root / "2024-06-portraits").glob("*.jpg"))
    os.link(src, root / "2024-05-wedding" / "hard.jpg")


def _broken_file(root: Path) -> None:
    (root / "2024-06-portraits" / "broken.jpg").write_bytes(b"not a jpeg")


def _raw_beside(root: Path) -> None:
    src = next((root / "2024-06-portraits").glob("*.jpg"))
    shutil.copyfile(src, src.with_suffix(".dng"))


CHANGES = {
    "touched": _touch,
    "grown": _grow,
    "new file": _new_file,
    "new folder": _new_folder,
    "deleted file": _delete_file,
    "deleted folder": _delete_folder,
    "renamed folder": _rename_folder,
    "file link": _file_link,
    "hard link": _hard_link,
    "broken file": _broken_file,
    "raw beside a jpeg": _raw_beside,
}


def test_a_rescan_of_an_unchanged_archive_is_proved_without_planning(tmp_path, monkeypatch):
    root = _archive(tmp_path / "photos")
    db = _scored_copy(tmp_path, root)
    assert _quick(db, root) == (9, 9)

    def no_planning(*args, **kwargs):
        raise AssertionError("an unchanged archive must not be planned")

    monkeypatch.setattr(pipeline, "plan_scan", no_planning)
    catalog, summary = scan_into(db, root, SCORERS)
    runs = catalog.conn.execute(
        "SELECT files_seen, files_scored, status FROM scan_runs ORDER BY id"
    ).fetchall()
    catalog.close()
    assert (summary["files_seen"], summary["skipped"], summary["new"], summary["scored"]) == (
        9,
        9,
        0,
        0,
    )
    assert runs[-1] == (9, 0, "finished")


def test_hidden_files_and_other_files_change_nothing(tmp_path, monkeypatch):
    root = _archive(tmp_path / "photos")
    db = _scored_copy(tmp_path, root)
    _hidden_and_text(root)
    assert _quick(db, root) == (9, 9)
    slow = _slow_scan(db, root, monkeypatch)
    assert slow["skipped"] == slow["files_seen"] == 9 and slow["new"] == 0


def _rows(db: Path) -> list:
    catalog = open_catalog(db)
    try:
        return catalog.conn.execute(
            "SELECT path, size, mtime_ns, status FROM photos UNION ALL"
            " SELECT path, size, mtime_ns, kind FROM photo_files ORDER BY 1"
        ).fetchall()
    finally:
        catalog.close()


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_any_change_is_left_to_the_planner(tmp_path, monkeypatch, change):
    """Each change the planner acts on makes the proof answer None, and the full scan that follows
    does act on it (its summary counts it, or the catalog's rows change): the proof never skips work
    the planner would do. Links are left to the planner too, which resolves them to one row (a hard
    link's new name may become the row's name)."""
    root = _archive(tmp_path / "photos")
    db = _scored_copy(tmp_path, root)
    before = _rows(db)
    CHANGES[change](root)
    assert _quick(db, root) is None
    slow = _slow_scan(db, root, monkeypatch)
    counted = sum(slow[k] for k in ("new", "changed", "moved", "missing", "scored", "errors"))
    if change == "file link":  # one file, one row: the planner adds nothing, yet it decides that
        assert counted == 0 and _rows(db) == before
    else:
        assert counted > 0 or _rows(db) != before


def test_an_error_row_is_retried_by_the_planner(tmp_path, monkeypatch):
    root = _archive(tmp_path / "photos")
    _broken_file(root)
    db = tmp_path / "base.db"
    catalog, first = scan_into(db, root, SCORERS)
    catalog.close()
    assert first["errors"] == 1
    assert _quick(db, root) is None


def test_a_photo_a_scorer_has_not_scored_is_left_to_the_planner(tmp_path):
    root = _archive(tmp_path / "photos")
    db = _scored_copy(tmp_path, root)
    catalog = open_catalog(db)
    try:
        other = catalog.scorer_pk("another-scorer", "1")  # a scorer added since: nothing scored
        technical = catalog.scorer_pk("technical", _version(catalog))
        assert unchanged_files(catalog, [root], [technical]) == (9, 9)
        assert unchanged_files(catalog, [root], [technical, other]) is None
        assert unchanged_files(catalog, [root], []) == (9, 9)
    finally:
        catalog.close()


def test_roots_that_nest_or_name_a_file_are_left_to_the_planner(tmp_path):
    root = _archive(tmp_path / "photos")
    db = _scored_copy(tmp_path, root)
    catalog = open_catalog(db)
    try:
        assert unchanged_files(catalog, [root, root / "2024-05-wedding"], []) is None
        assert unchanged_files(catalog, [next(root.rglob("*.jpg"))], []) is None
        assert unchanged_files(catalog, [root / "2024-06-portraits"], []) == (2, 2)
    finally:
        catalog.close()


def test_folder_files_reads_one_folder_only(tmp_path):
    root = _archive(tmp_path / "photos")
    db = _scored_copy(tmp_path, root)
    catalog = open_catalog(db)
    try:
        wedding = os.path.realpath(root / "2024-05-wedding")
        indexes = {r[1] for r in catalog.conn.execute("PRAGMA index_list(photos)")}
        assert "idx_photos_folder_state" in indexes  # a folder's rows come from the index alone
        photos, further, apart = catalog.folder_files(wedding)
        assert len(photos) == 4 and further == [] and apart == 0
        assert all(size is not None for _, size, _ in photos)  # no scorer asked: all "scored"
        technical = catalog.scorer_pk("technical", _version(catalog))
        other = catalog.scorer_pk("another-scorer", "1")
        assert all(size is not None for _, size, _ in catalog.folder_files(wedding, [technical])[0])
        assert all(size is None for _, size, _ in catalog.folder_files(wedding, [other])[0])
        assert all(os.path.dirname(p) == wedding for p, *_ in photos)
        assert catalog.files_under([wedding]) == 7
        assert catalog.files_under([os.path.realpath(root)]) == 9
    finally:
        catalog.close()


def test_a_raw_jpeg_shoot_reports_what_the_planner_reports(tmp_path, monkeypatch):
    """A capture's RAW and JPEG are one photo: the proof reports the files it saw and the photos it
    skipped as the planner does (7 files, 4 photos), and the summaries agree key by key."""
    from culler.testing import sample_image
    from culler.testing.formats import write_dng

    shoot = tmp_path / "shoot"
    shoot.mkdir()
    for n, name in enumerate(["astronaut", "chelsea", "coffee"], 1):
        image = sample_image(name).resize((192, 144))
        write_dng(shoot / f"IMG_{n:04d}.dng", image, preview_side=128)
        image.save(shoot / f"IMG_{n:04d}.JPG", quality=90)
    sample_image("rocket").resize((192, 144)).save(shoot / "IMG_0099.JPG", quality=90)
    db = tmp_path / "pairs.db"
    catalog, first = scan_into(db, shoot, SCORERS)
    catalog.close()
    assert first["new"] == 4
    slow = _slow_scan(db, shoot, monkeypatch)
    assert _quick(db, shoot) == (7, 4)  # the scan below takes the proof's way
    catalog, quick = scan_into(db, shoot, SCORERS)
    catalog.close()
    assert (quick["files_seen"], quick["skipped"]) == (7, 4)
    ignore = {"seconds", "images_per_second"}
    assert {k: v for k, v in quick.items() if k not in ignore} == {
        k: v for k, v in slow.items() if k not in ignore
    }


def test_a_photo_already_found_missing_does_not_stop_the_proof(tmp_path, monkeypatch):
    """A file deleted before the last scan is a missing row: the next rescan has nothing to do,
    and the proof says so with the planner's counts."""
    root = _archive(tmp_path / "photos")
    db = _scored_copy(tmp_path, root)
    _delete_file(root)
    assert _slow_scan(db, root, monkeypatch)["missing"] == 1
    assert _quick(db, root) == (8, 8)
    slow = _slow_scan(db, root, monkeypatch)
    assert (slow["files_seen"], slow["skipped"], slow["missing"], slow["new"]) == (8, 8, 0, 0)
