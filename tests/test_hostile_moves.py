"""Hostile moves: one file reached by two paths, a renamed shoot folder, and ``export picks --move``
killed at every step. Decisions are never changed or stranded, and a rerun heals a half-done move.

Every file these tests move or delete lies in a folder the test created under ``tmp_path``.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from culler.catalog import Catalog, open_catalog
from culler.catalog.roots import WHOLE_ROW
from culler.cli import cli
from culler.interop import export_move
from culler.scan import ScanOptions, scan_folders
from culler.testing import sample_image

SCAN = ScanOptions(workers=0, scorer_ids=["technical"])
NAMES = ("astronaut", "chelsea", "coffee", "rocket")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def invoke(*args, code: int = 0):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def make_shoot(folder: Path, names=NAMES) -> dict[str, Path]:
    folder.mkdir(parents=True)
    paths = {}
    for name in names:
        paths[name] = folder / f"{name}.jpg"
        sample_image(name).resize((160, 120)).save(paths[name], quality=90)
    return paths


def scan(db: Path, *roots: Path) -> dict:
    with open_catalog(db) as cat:
        return scan_folders(cat, list(roots), SCAN, echo=lambda _m: None)


def rows(db: Path) -> dict[str, dict]:
    """{path: row with its current rating} of every photo."""
    with open_catalog(db) as cat:
        photos = cat.query(f"SELECT {WHOLE_ROW} FROM photos p ORDER BY path")
        ratings = cat.current_ratings()
        for row in photos:
            row["root"] = row.pop("root_text")  # the scan folder's text (stored as its id)
            row["rating"] = ratings.get(row["id"], {})
            row["scores"] = cat.current_scores([row["id"]]).get(row["id"], {})
        return {row["path"]: row for row in photos}


def rate(db: Path, path: Path, **fields) -> None:
    with open_catalog(db) as cat:
        cat.rate(cat.photo_by_path(str(path))["id"], source="cli", **fields)


# -- one identity per file -------------------------------------------------------------------------
def test_a_folder_scanned_directly_and_through_a_symlink_has_one_row_per_photo(tmp_path):
    shoot = make_shoot(tmp_path / "shoot")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "shoot", target_is_directory=True)
    (tmp_path / "shoot" / "alias.jpg").symlink_to("coffee.jpg")  # a file link in the folder too
    db = tmp_path / "culler.db"
    scan(db, tmp_path / "shoot")
    rate(db, shoot["coffee"], stars=5, decision="pick")
    scan(db, link)
    scan(db, tmp_path / "shoot", link)

    catalog = rows(db)
    assert sorted(catalog) == sorted(str(p) for p in shoot.values())
    assert catalog[str(shoot["coffee"])]["rating"]["decision"] == "pick"
    # Rating, culling and sidecars through the link reach the same row and the same sidecar.
    invoke("rate", link / "chelsea.jpg", "--stars", "2", "--db", db)
    invoke("cull", "--db", db, "--xmp", "auto")
    invoke("xmp", "write", "--db", db)
    assert len(rows(db)) == len(NAMES)
    assert rows(db)[str(shoot["coffee"])]["rating"]["decision"] == "pick"
    assert rows(db)[str(shoot["chelsea"])]["rating"]["stars"] == 2


def scanned_with_a_link(tmp_path: Path) -> tuple[dict[str, Path], Path, Path]:
    """A shoot scanned by its real path, and a symlink to its folder: (photos, link, catalog)."""
    shoot = make_shoot(tmp_path / "shoot")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "shoot", target_is_directory=True)
    db = tmp_path / "culler.db"
    scan(db, tmp_path / "shoot")
    return shoot, link, db


def stored_through_the_link(cat, shoot: dict[str, Path], link: Path) -> None:
    """What an older scan through the link stored: each photo's row under its path in the link."""
    for path in shoot.values():
        row = cat.photo_by_path(str(path))
        cat.record_move(row["id"], str(link / path.name), str(link), row["mtime_ns"])


def test_alias_rows_of_an_older_catalog_are_folded_keeping_the_hand_rating(tmp_path):
    shoot, link, db = scanned_with_a_link(tmp_path)
    with open_catalog(db) as cat:
        # What an older culler stored for a scan through the link: a second row per file.
        for path in shoot.values():
            alias = str(link / path.name)
            row = cat.photo_by_path(str(path))
            with cat.transaction():
                cat.upsert_photo(
                    alias, str(link), row["size"], row["mtime_ns"], content_hash=row["content_hash"]
                )
        ids = {r["path"]: r["id"] for r in cat.query("SELECT id, path FROM photos")}
        cat.rate(ids[str(shoot["coffee"])], stars=1, source="cli")
        cat.rate(ids[str(link / "coffee.jpg")], stars=5, decision="pick", source="gui")  # newer
        cat.rate(ids[str(link / "chelsea.jpg")], decision="reject", source="auto")  # cull's
    scan(db, link)
    catalog = rows(db)
    assert sorted(catalog) == sorted(str(p) for p in shoot.values())
    assert catalog[str(shoot["coffee"])]["rating"]["stars"] == 5
    assert catalog[str(shoot["coffee"])]["rating"]["decision"] == "pick"
    assert catalog[str(shoot["chelsea"])]["rating"] == {}  # the alias's automatic reject is gone
    assert all(row["status"] == "ok" and row["scores"] for row in catalog.values())


def test_a_catalog_of_only_alias_rows_moves_them_to_the_real_paths(tmp_path):
    shoot, link, db = scanned_with_a_link(tmp_path)
    # An older scan through the link stored the link's paths.
    with open_catalog(db) as cat, cat.transaction():
        stored_through_the_link(cat, shoot, link)
    rate(db, link / "rocket.jpg", stars=4)
    summary = scan(db, tmp_path / "shoot")
    assert summary["new"] == 0 and summary["decoded"] == 0
    catalog = rows(db)
    assert sorted(catalog) == sorted(str(p) for p in shoot.values())
    assert catalog[str(shoot["rocket"])]["rating"]["stars"] == 4


def test_an_alias_row_whose_file_is_gone_does_not_stop_the_others_being_healed(tmp_path):
    shoot, link, db = scanned_with_a_link(tmp_path)
    with open_catalog(db) as cat, cat.transaction():
        stored_through_the_link(cat, shoot, link)
        # Stored through the link too, and deleted since: first in path order.
        cat.upsert_photo(str(link / "aaa-deleted.jpg"), str(link), 1000, 1)
    summary = scan(db, tmp_path / "shoot")
    assert summary["new"] == 0 and summary["decoded"] == 0
    healed = [p for p in rows(db) if "aaa-deleted" not in p]
    assert sorted(healed) == sorted(str(p) for p in shoot.values())


def test_two_alias_rows_of_one_file_become_its_one_row_and_get_the_scores_it_lacks(tmp_path):
    """Rows stored through two links and none under the real path (an older culler, two link
    folders): the first becomes the file's row under its real folder, the second is folded into it
    keeping the newer hand rating, and the row is scored by a scorer it had not met."""
    shoot, link, db = scanned_with_a_link(tmp_path)
    other = tmp_path / "other-link"
    other.symlink_to(tmp_path / "shoot", target_is_directory=True)
    with open_catalog(db) as cat, cat.transaction():
        stored_through_the_link(cat, shoot, link)
        for path in shoot.values():
            row = cat.photo_by_path(str(link / path.name))
            cat.upsert_photo(
                str(other / path.name), str(other), row["size"], row["mtime_ns"],
                content_hash=row["content_hash"],
            )  # fmt: skip
    rate(db, link / "coffee.jpg", stars=1)
    rate(db, other / "coffee.jpg", stars=5, decision="pick")  # the newer hand rating
    with open_catalog(db) as cat:
        summary = scan_folders(
            cat,
            [tmp_path / "shoot"],
            ScanOptions(workers=0, scorer_ids=["technical", "faces"]),
            echo=lambda _m: None,
        )
    assert summary["new"] == 0 and summary["missing"] == 0
    assert summary["decoded"] == len(NAMES)  # for the faces scorer, which had not run on them
    catalog = rows(db)
    assert sorted(catalog) == sorted(str(p) for p in shoot.values())
    assert {row["root"] for row in catalog.values()} == {str(tmp_path / "shoot")}
    assert catalog[str(shoot["coffee"])]["rating"]["stars"] == 5
    assert catalog[str(shoot["coffee"])]["rating"]["decision"] == "pick"
    assert all({"technical", "faces"} <= set(row["scores"]) for row in catalog.values())


def hard_linked_snapshots(tmp_path: Path) -> tuple[dict[str, Path], Path, Path]:
    """A shoot, and a backup snapshot of it made of hard links (as rsync --link-dest makes them):
    (photos, snapshot folder, catalog path)."""
    shoot = make_shoot(tmp_path / "backup" / "1-shoot")
    snapshot = tmp_path / "backup" / "2-snapshot"
    snapshot.mkdir()
    for path in shoot.values():
        os.link(path, snapshot / path.name)
    return shoot, snapshot, tmp_path / "culler.db"


def test_hard_links_to_one_photo_are_one_row(tmp_path):
    shoot, snapshot, db = hard_linked_snapshots(tmp_path)
    summary = scan(db, tmp_path / "backup")
    assert summary["new"] == len(NAMES) and summary["decoded"] == len(NAMES)
    assert sorted(rows(db)) == sorted(str(p) for p in shoot.values())
    # Rated through the other name, it is the same photo; a rescan keeps one row and the rating.
    invoke("rate", snapshot / "coffee.jpg", "--stars", "5", "--pick", "--db", db)
    scan(db, tmp_path / "backup")
    # The snapshot scanned on its own: its names belong to rows the catalog already has.
    assert scan(db, snapshot)["new"] == 0
    catalog = rows(db)
    assert sorted(catalog) == sorted(str(p) for p in shoot.values())
    assert catalog[str(shoot["coffee"])]["rating"]["decision"] == "pick"
    assert all(row["status"] == "ok" for row in catalog.values())


def test_a_vanished_photo_of_the_same_size_does_not_hide_the_linked_row(tmp_path):
    """Looking for the row of a hard-linked file's other name, a same-size row whose file has gone
    meanwhile is passed over, not the end of the search."""
    shoot, snapshot, db = hard_linked_snapshots(tmp_path)
    gone = make_shoot(tmp_path / "0-gone", names=("coffee",))["coffee"]
    data = bytearray(shoot["coffee"].read_bytes())
    data[len(data) // 2] ^= 0xFF  # the same size, other bytes (not a move of it), scanned first
    gone.write_bytes(bytes(data))
    scan(db, gone.parent)
    scan(db, shoot["coffee"].parent)
    gone.unlink()
    assert scan(db, snapshot)["new"] == 0


def test_rows_an_older_scan_kept_for_each_hard_link_are_folded(tmp_path):
    shoot, snapshot, db = hard_linked_snapshots(tmp_path)
    # What an older culler stored after scanning one folder at a time: a row for each name.
    scan(db, shoot["coffee"].parent)
    with open_catalog(db) as cat, cat.transaction():
        for path in shoot.values():
            row = cat.photo_by_path(str(path))
            cat.upsert_photo(
                str(snapshot / path.name), str(snapshot), row["size"], row["mtime_ns"],
                content_hash=row["content_hash"],
            )  # fmt: skip
    assert len(rows(db)) == 2 * len(NAMES)
    rate(db, shoot["coffee"], stars=1)
    rate(db, snapshot / "coffee.jpg", stars=5, decision="pick")  # the newer hand rating
    rate(db, snapshot / "rocket.jpg", stars=3)
    summary = scan(db, tmp_path / "backup")
    catalog = rows(db)
    assert summary["new"] == 0 and summary["missing"] == 0
    assert sorted(catalog) == sorted(str(p) for p in shoot.values())
    assert catalog[str(shoot["coffee"])]["rating"]["stars"] == 5
    assert catalog[str(shoot["coffee"])]["rating"]["decision"] == "pick"
    assert catalog[str(shoot["rocket"])]["rating"]["stars"] == 3
    assert all(row["status"] == "ok" for row in catalog.values())


# -- a renamed shoot folder ------------------------------------------------------------------------
def test_renaming_the_shoot_folder_keeps_ratings_scores_groups_and_the_catalog_inside(tmp_path):
    shoot = make_shoot(tmp_path / "shoot")
    sample_image("coffee").resize((160, 120)).save(tmp_path / "shoot" / "coffee-2.jpg", quality=90)
    invoke("scan", tmp_path / "shoot", "--scorer", "technical", "--workers", "0")
    db = tmp_path / "shoot" / "culler.db"  # the default: inside the shoot folder
    rate(db, shoot["coffee"], stars=5, decision="pick")
    rate(db, shoot["rocket"], stars=5)
    with open_catalog(db) as cat:
        cat.tag_photos([cat.photo_by_path(str(shoot["rocket"]))["id"]], add=["awe"])
    before = rows(db)

    (tmp_path / "shoot").rename(tmp_path / "shoot-2024")
    new_db = tmp_path / "shoot-2024" / "culler.db"
    result = invoke("scan", tmp_path / "shoot-2024", "--scorer", "technical", "--json")
    assert '"moved": 5' in result.output and '"new": 0' in result.output
    after = rows(new_db)
    assert all(p.startswith(str(tmp_path / "shoot-2024") + os.sep) for p in after)
    assert all(row["status"] == "ok" for row in after.values())
    for old_path, row in before.items():
        moved = after[old_path.replace(f"{os.sep}shoot{os.sep}", f"{os.sep}shoot-2024{os.sep}")]
        assert (moved["id"], moved["rating"], moved["scores"]) == (
            row["id"],
            row["rating"],
            row["scores"],
        )
    with open_catalog(new_db) as cat:
        rocket = after[str(tmp_path / "shoot-2024" / "rocket.jpg")]["id"]
        assert cat.user_tags([rocket]) == {rocket: {"awe"}}
    out = tmp_path / "out"
    invoke("export", "picks", out, "--min-stars", "5", "--db", new_db)
    assert sorted(p.name for p in out.iterdir()) == ["coffee.jpg", "rocket.jpg"]


def test_a_folder_moved_elsewhere_and_scanned_into_a_shared_catalog_is_a_move(tmp_path):
    make_shoot(tmp_path / "cards" / "day1")
    db = tmp_path / "catalog.db"
    scan(db, tmp_path / "cards")
    rate(db, tmp_path / "cards" / "day1" / "chelsea.jpg", decision="pick")
    (tmp_path / "archive").mkdir()
    (tmp_path / "cards" / "day1").rename(tmp_path / "archive" / "day1")
    summary = scan(db, tmp_path / "archive")
    assert (summary["moved"], summary["new"]) == (len(NAMES), 0)
    catalog = rows(db)
    assert len(catalog) == len(NAMES)
    assert (
        catalog[str(tmp_path / "archive" / "day1" / "chelsea.jpg")]["rating"]["decision"] == "pick"
    )


# -- export picks --move, interrupted ----------------------------------------------------------------
class Killed(BaseException):
    """Stands in for kill -9: nothing after the raise runs, and no except OSError catches it."""


def kill_at(call: int, fn, when=lambda *a, **k: True):
    """``fn`` that dies at its ``call``-th call (counting only calls for which ``when`` holds)."""
    calls = []

    def wrapper(*args, **kwargs):
        if when(*args, **kwargs):
            calls.append(1)
            if len(calls) == call:
                raise Killed
        return fn(*args, **kwargs)

    return wrapper


@pytest.fixture
def picks(tmp_path):
    """A scanned shoot: coffee, astronaut and pair.jpg picked; pair.png (its RAW twin) not.

    coffee has a basename sidecar, astronaut a fullname one, the pair shares pair.xmp.
    """
    root = tmp_path / "shoot"
    make_shoot(root)
    sample_image("camera").save(root / "pair.png")
    sample_image("camera").convert("RGB").save(root / "pair.jpg", quality=90)
    db = tmp_path / "culler.db"
    scan(db, root)
    for name in ("coffee.jpg", "astronaut.jpg", "pair.jpg"):
        rate(db, root / name, decision="pick")
    (root / "coffee.xmp").write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    (root / "astronaut.jpg.xmp").write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    (root / "pair.xmp").write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    originals = {p.name: digest(p) for p in root.iterdir() if p.is_file() and p.suffix != ".db"}
    return root, tmp_path / "out", db, originals


def assert_moved_once(root: Path, dest: Path, db: Path, originals: dict[str, str]) -> None:
    """Each pick is in DEST only, whole; the others stay; the catalog names existing files only."""
    moved = {"coffee.jpg", "coffee.xmp", "astronaut.jpg", "astronaut.jpg.xmp", "pair.jpg"}
    for name, sha in originals.items():
        if name in moved:
            assert not (root / name).exists(), f"{name} is in both folders"
            assert digest(dest / name) == sha
        else:
            assert digest(root / name) == sha
    assert digest(dest / "pair.xmp") == originals["pair.xmp"]  # shared: copied, the RAW keeps it
    assert not [p for p in root.parent.rglob("*") if p.name.endswith(".culler-part")]
    with open_catalog(db) as cat:
        assert cat.pending_moves() == []
        paths = [r["path"] for r in cat.query("SELECT path FROM photos")]
        assert all(os.path.isfile(p) for p in paths)
        assert {Path(p["path"]).name for p in cat.picks()} == {
            "coffee.jpg",
            "astronaut.jpg",
            "pair.jpg",
        }
        assert all(Path(p["path"]).parent == dest for p in cat.picks())


def _no_hard_links(monkeypatch):
    """Another filesystem: link() fails with EXDEV, so files are copied through a part file."""
    import errno

    def link(*_args, **_kwargs):
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

    monkeypatch.setattr(os, "link", link)


KILL_POINTS = {
    "after the journal entry": lambda m, root: m.setattr(
        "culler.interop.export_move.place", kill_at(1, export_move.place)
    ),
    "with a part file written": lambda m, root: m.setattr(
        "culler.interop.export_move._publish", kill_at(1, export_move._publish)
    ),
    "after the photo, before its sidecar": lambda m, root: m.setattr(
        "culler.interop.export_move.place", kill_at(2, export_move.place)
    ),
    "before the catalog follows": lambda m, root: m.setattr(
        Catalog, "settle_move", kill_at(1, Catalog.settle_move)
    ),
    "before the sources go": lambda m, root: m.setattr(
        "culler.interop.export_move.drop_sources", kill_at(1, export_move.drop_sources)
    ),
    "between unlinking the photo and its sidecar": lambda m, root: m.setattr(
        "culler.interop.export_move._fsync_dir",
        kill_at(1, export_move._fsync_dir, when=lambda folder: Path(folder) == root),
    ),
    "before the journal entry is crossed out": lambda m, root: m.setattr(
        Catalog, "end_move", kill_at(1, Catalog.end_move)
    ),
}


@pytest.mark.parametrize("cross_fs", [False, True], ids=["same-fs", "cross-fs"])
@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_export_move_killed_at_any_step_is_finished_or_undone_by_a_rerun(
    picks, point, cross_fs, monkeypatch
):
    root, dest, db, originals = picks
    if cross_fs:
        _no_hard_links(monkeypatch)
    with monkeypatch.context() as m:
        KILL_POINTS[point](m, root)
        with pytest.raises(Killed):
            CliRunner().invoke(
                cli,
                ["export", "picks", str(dest), "--db", str(db), "--move"],
                catch_exceptions=False,
            )
    # Nothing is lost meanwhile: every photo is somewhere whole, no target name holds a partial file.
    for name, sha in originals.items():
        assert sha in {digest(p) for p in (root / name, dest / name) if p.is_file()}
    if dest.exists():
        assert all(digest(p) == originals[p.name] for p in dest.iterdir() if p.name in originals)
    result = invoke("export", "picks", dest, "--db", db, "--move")
    assert "0 failed" in result.output
    assert_moved_once(root, dest, db, originals)


def test_export_move_killed_by_sigkill_is_finished_by_a_rerun(picks):
    root, dest, db, originals = picks
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        import culler.interop.export_move as em
        from culler.cli import cli

        def die(files):
            os.kill(os.getpid(), signal.SIGKILL)

        em.drop_sources = die  # the catalog already follows; the sources are still there
        cli(["export", "picks", {str(dest)!r}, "--db", {str(db)!r}, "--move"])
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    # The half-done state: the first photo is in both folders, the catalog names the new one.
    assert (root / "astronaut.jpg").exists() and (dest / "astronaut.jpg").exists()
    result = invoke("export", "picks", dest, "--db", db, "--move")
    assert "finished the interrupted move" in result.output
    assert_moved_once(root, dest, db, originals)


def test_a_rerun_after_a_finished_move_touches_nothing(picks):
    root, dest, db, originals = picks
    invoke("export", "picks", dest, "--db", db, "--move")
    before = {p.name: digest(p) for p in dest.iterdir()}
    result = invoke("export", "picks", dest, "--db", db, "--move")
    assert "0 photos moved, 3 already exported, 0 failed" in result.output
    assert {p.name: digest(p) for p in dest.iterdir()} == before
    assert_moved_once(root, dest, db, originals)


def test_a_move_after_an_earlier_copy_finishes_instead_of_calling_it_exported(picks):
    root, dest, db, originals = picks
    invoke("export", "picks", dest, "--db", db)  # copies: the photos are now in both folders
    result = invoke("export", "picks", dest, "--db", db, "--move")
    assert "3 photos moved" in result.output
    assert_moved_once(root, dest, db, originals)


def test_a_symlinked_photo_is_not_moved_and_says_why(tmp_path):
    real = make_shoot(tmp_path / "library", names=("coffee",))["coffee"]
    (tmp_path / "shoot").mkdir()
    link = tmp_path / "shoot" / "coffee.jpg"
    link.symlink_to(real)
    db = tmp_path / "culler.db"
    scan(db, tmp_path / "library")
    with open_catalog(db) as cat, cat.transaction():  # an older catalog named the link
        row = cat.photo_by_path(str(real))
        cat.record_move(row["id"], str(link), str(link.parent), row["mtime_ns"])
    rate(db, link, decision="pick")
    before = digest(real)
    result = invoke("export", "picks", tmp_path / "out", "--db", db, "--move", code=1)
    assert "is a symbolic link" in result.output and "--copy" in result.output
    assert link.is_symlink() and digest(real) == before
    assert not (tmp_path / "out" / "coffee.jpg").exists()
    invoke("export", "picks", tmp_path / "out", "--db", db)  # a copy follows the link
    assert digest(tmp_path / "out" / "coffee.jpg") == before
