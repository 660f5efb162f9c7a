"""Hostile moves: one file reached by two paths, a renamed shoot folder, and ``export picks --move``
killed at every step. Decisions are never changed or stranded, and a rerun heals a half-done move.

Every file these tests move or delete lies in a folder the test created under ``tmp_path``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from click.testing import CliRunner

from culler.catalog import open_catalog
from culler.cli import cli
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
        photos = cat.query("SELECT * FROM photos ORDER BY path")
        ratings = cat.current_ratings()
        for row in photos:
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


def test_alias_rows_of_an_older_catalog_are_folded_keeping_the_hand_rating(tmp_path):
    shoot = make_shoot(tmp_path / "shoot")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "shoot", target_is_directory=True)
    db = tmp_path / "culler.db"
    scan(db, tmp_path / "shoot")
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
    shoot = make_shoot(tmp_path / "shoot")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "shoot", target_is_directory=True)
    db = tmp_path / "culler.db"
    scan(db, tmp_path / "shoot")
    # An older scan through the link stored the link's paths.
    with open_catalog(db) as cat, cat.transaction():
        for path in shoot.values():
            row = cat.photo_by_path(str(path))
            cat.record_move(row["id"], str(link / path.name), str(link), row["mtime_ns"])
    rate(db, link / "rocket.jpg", stars=4)
    summary = scan(db, tmp_path / "shoot")
    assert summary["new"] == 0 and summary["decoded"] == 0
    catalog = rows(db)
    assert sorted(catalog) == sorted(str(p) for p in shoot.values())
    assert catalog[str(shoot["rocket"])]["rating"]["stars"] == 4


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
