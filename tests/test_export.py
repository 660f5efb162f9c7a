"""culler export picks (copy/move/link, sidecars, never overwrite, dry run) and export scores."""

import csv
import hashlib
import io
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from culler.catalog import open_catalog
from culler.cli import cli
from culler.scan import ScanOptions, scan_folders
from culler.testing import sample_image


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def invoke(*args: str, ok: bool = True):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def shoot(tmp_path):
    """A scanned shoot in two folders: coffee and astronaut picked, chelsea 4★, rocket rejected."""
    root = tmp_path / "shoot"
    (root / "day2").mkdir(parents=True)
    for name, sub in (("astronaut", ""), ("chelsea", ""), ("coffee", "day2"), ("rocket", "day2")):
        sample_image(name).resize((160, 120)).save(root / sub / f"{name}.jpg", quality=90)
    db = tmp_path / "culler.db"
    cat = open_catalog(db)
    scan_folders(cat, [root], ScanOptions(workers=0, scorer_ids=["technical"]), echo=print)
    ids = {Path(r["path"]).stem: r["id"] for r in cat.query("SELECT id, path FROM photos")}
    cat.rate(ids["coffee"], stars=5, decision="pick")
    cat.rate(ids["astronaut"], decision="pick")
    cat.rate(ids["chelsea"], stars=4)
    cat.rate(ids["rocket"], stars=4, decision="reject")
    cat.close()
    # Sidecars in both conventions travel with their photos.
    (root / "day2" / "coffee.xmp").write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    (root / "astronaut.jpg.xmp").write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    originals = {p: digest(p) for p in root.rglob("*") if p.is_file()}
    return root, db, originals


def test_copy_exports_picks_with_their_sidecars_and_leaves_originals_alone(shoot, tmp_path):
    root, db, originals = shoot
    dest = tmp_path / "out"
    invoke("export", "picks", str(dest), "--db", str(db))
    assert sorted(p.name for p in dest.iterdir()) == [
        "astronaut.jpg",
        "astronaut.jpg.xmp",
        "coffee.jpg",
        "coffee.xmp",
    ]
    assert digest(dest / "coffee.jpg") == originals[root / "day2" / "coffee.jpg"]
    assert {p: digest(p) for p in root.rglob("*") if p.is_file()} == originals


def test_never_overwrites_and_a_second_run_skips_identical_files(shoot, tmp_path):
    root, db, _ = shoot
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "coffee.jpg").write_bytes(b"someone else's file")
    (dest / "astronaut.jpg.xmp").write_text("their sidecar")
    report = json.loads(invoke("export", "picks", str(dest), "--db", str(db), "--json").output)
    targets = {Path(i["source"]).name: Path(i["target"]).name for i in report["items"]}
    assert targets == {"coffee.jpg": "coffee-1.jpg", "astronaut.jpg": "astronaut-1.jpg"}
    assert (dest / "coffee.jpg").read_bytes() == b"someone else's file"
    assert (dest / "astronaut.jpg.xmp").read_text() == "their sidecar"
    assert (dest / "coffee-1.xmp").exists() and (dest / "astronaut-1.jpg.xmp").exists()
    before = sorted(os.listdir(dest))
    again = json.loads(invoke("export", "picks", str(dest), "--db", str(db), "--json").output)
    # coffee.jpg in DEST is someone else's; coffee-1.jpg is ours: recognised, not exported again.
    assert again["counts"] == {"planned": 0, "done": 0, "exists": 2, "error": 0}
    assert sorted(os.listdir(dest)) == before


def test_second_run_into_a_clean_folder_exports_nothing_new(shoot, tmp_path):
    _, db, _ = shoot
    dest = tmp_path / "out"
    invoke("export", "picks", str(dest), "--db", str(db))
    before = sorted(os.listdir(dest))
    report = json.loads(invoke("export", "picks", str(dest), "--db", str(db), "--json").output)
    assert report["counts"]["exists"] == 2 and report["counts"]["done"] == 0
    assert sorted(os.listdir(dest)) == before


def test_dry_run_changes_nothing(shoot, tmp_path):
    root, db, originals = shoot
    dest = tmp_path / "out"
    result = invoke("export", "picks", str(dest), "--db", str(db), "--move", "--dry-run")
    assert "would be moved" in result.output and "coffee.xmp" in result.output
    assert not dest.exists()
    assert {p: digest(p) for p in root.rglob("*") if p.is_file()} == originals
    cat = open_catalog(db)
    assert all(Path(r["path"]).exists() for r in cat.query("SELECT path FROM photos"))
    cat.close()


def test_move_takes_sidecars_along_and_the_catalog_follows(shoot, tmp_path):
    root, db, originals = shoot
    dest = tmp_path / "out"
    invoke("export", "picks", str(dest), "--db", str(db), "--move")
    assert (
        not (root / "day2" / "coffee.jpg").exists() and not (root / "day2" / "coffee.xmp").exists()
    )
    assert digest(dest / "coffee.jpg") == originals[root / "day2" / "coffee.jpg"]
    assert (dest / "coffee.xmp").exists() and (root / "chelsea.jpg").exists()
    shown = json.loads(invoke("show", str(dest / "coffee.jpg"), "--db", str(db), "--json").output)
    assert shown["rating"]["stars"] == 5 and shown["scores"]


def test_link_creates_symlinks_to_the_originals(shoot, tmp_path):
    root, db, _ = shoot
    dest = tmp_path / "out"
    invoke("export", "picks", str(dest), "--db", str(db), "--link")
    assert (dest / "coffee.jpg").is_symlink()
    assert os.readlink(dest / "coffee.jpg") == str(root / "day2" / "coffee.jpg")
    assert (dest / "coffee.xmp").is_symlink()


def test_min_stars_and_keep_folders(shoot, tmp_path):
    _, db, _ = shoot
    dest = tmp_path / "out"
    invoke("export", "picks", str(dest), "--db", str(db), "--min-stars", "4", "--keep-folders")
    exported = sorted(str(p.relative_to(dest)) for p in dest.rglob("*.jpg"))
    assert exported == ["astronaut.jpg", "chelsea.jpg", "day2/coffee.jpg"]  # rocket was rejected


def test_no_picks_says_what_to_do(tmp_path, photo_dir):
    cat = open_catalog(tmp_path / "c.db")
    scan_folders(cat, [photo_dir], ScanOptions(workers=0, scorer_ids=["technical"]), echo=print)
    cat.close()
    result = invoke(
        "export", "picks", str(tmp_path / "out"), "--db", str(tmp_path / "c.db"), ok=False
    )
    assert result.exit_code == 1 and "--min-stars" in result.output


def test_scores_as_csv_and_json(shoot, tmp_path):
    _, db, _ = shoot
    text = invoke("export", "scores", "--db", str(db), "--sort", "technical").output
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 4 and "technical" in rows[0]
    values = [float(r["technical"]) for r in rows]
    assert values == sorted(values, reverse=True) and all(0 <= v <= 10 for v in values)
    by_name = {Path(r["path"]).name: r for r in rows}
    assert by_name["coffee.jpg"]["stars"] == "5" and by_name["rocket.jpg"]["decision"] == "reject"

    out = tmp_path / "scores.json"
    invoke("export", "scores", "--db", str(db), "--format", "json", "-o", str(out))
    data = json.loads(out.read_text())
    assert {Path(r["path"]).name for r in data} == set(by_name)
    assert all("technical" in r["scores"] for r in data)
    refused = invoke("export", "scores", "--db", str(db), "-o", str(out), ok=False)
    assert refused.exit_code == 1 and "already exists" in refused.output
    assert json.loads(out.read_text()) == data
