"""Never touch originals: scanning, rescoring, rating, culling, XMP and exporting leave every source
photo's bytes and mtime exactly as they were (only an explicit move/delete may change them)."""

from __future__ import annotations

import hashlib
import os

from click.testing import CliRunner

from culler.catalog import open_catalog
from culler.cli import cli


def fingerprint(folder):
    """sha256, size and mtime_ns of every original photo under ``folder``."""
    result = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() in (".jpg", ".png", ".tif") and "culler-thumbs" not in path.parts:
            st = path.stat()
            result[str(path)] = (
                hashlib.sha256(path.read_bytes()).hexdigest(),
                st.st_size,
                st.st_mtime_ns,
            )
    return result


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_scan_cull_and_export_never_change_an_original(photo_dir, tmp_path):
    from PIL import Image

    Image.open(photo_dir / "coffee.jpg").save(photo_dir / "coffee.png")
    Image.open(photo_dir / "rocket.jpg").save(photo_dir / "rocket.tif")
    (photo_dir / "sub").mkdir()
    Image.open(photo_dir / "chelsea.jpg").save(photo_dir / "sub" / "chelsea-copy.jpg")
    # Read-only originals: any attempt to write one would fail loudly (for non-root users).
    for path in photo_dir.rglob("*.*"):
        path.chmod(0o444)
    before = fingerprint(photo_dir)
    assert len(before) == 9
    db = tmp_path / "catalog.db"

    run("scan", photo_dir, "--db", db, "--workers", "2")
    run("scan", photo_dir, "--db", db, "--workers", "0", "--rescore")
    cat = open_catalog(db)
    ids = [r[0] for r in cat.execute("SELECT id FROM photos ORDER BY path")]
    cat.rate(ids[0], stars=5, decision="pick")
    cat.rate(ids[1], stars=1, decision="reject")
    cat.rate(ids[2], stars=4)
    cat.close()
    run("xmp", "write", "--db", db)  # sidecars are new files next to the originals
    run("export", "picks", tmp_path / "out", "--db", db, "--min-stars", "4")
    run("export", "picks", tmp_path / "links", "--db", db, "--link")
    run("export", "scores", "--db", db, "--output", tmp_path / "scores.csv")
    run("list", "--db", db, "--sort", "technical")
    run("groups", "--db", db)
    run("cull", "--db", db, "--dry-run")
    run("cull", "--db", db, "--xmp", "auto")  # decisions and their sidecars
    run("rate", photo_dir / "astronaut.jpg", "--stars", "3", "--db", db, "--xmp", "fullname")
    run("rate", "--undo", "--db", db)

    assert fingerprint(photo_dir) == before
    exported = sorted(p.name for p in (tmp_path / "out").iterdir() if p.suffix != ".xmp")
    assert len(exported) == 2  # the pick and the 4-star photo; the originals stayed where they were
    assert all(os.path.exists(p) for p in before)
