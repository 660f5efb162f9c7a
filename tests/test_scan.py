"""Real scans of real photos: incremental, moves, missing files, bad input, resume."""

import json
import os
import shutil

import pytest

from culler.catalog import open_catalog
from culler.scan import ScanOptions, scan_folders


def scan(folder, db_path=None, **kw):
    db_path = db_path or folder / "culler.db"
    cat = open_catalog(db_path)
    try:
        return scan_folders(
            cat, [folder], ScanOptions(workers=kw.pop("workers", 0), **kw), echo=lambda m: None
        )
    finally:
        cat.close()


def rows(db_path):
    cat = open_catalog(db_path)
    try:
        return {os.path.basename(r["path"]): r for r in cat.query("SELECT * FROM photos")}
    finally:
        cat.close()


def test_first_scan_scores_everything_and_rescan_decodes_nothing(photo_dir):
    first = scan(photo_dir)
    n = len(list(photo_dir.glob("*.jpg")))
    assert first["new"] == n and first["scored"] == n and first["errors"] == 0
    assert first["decoded"] == n
    second = scan(photo_dir)
    assert second["decoded"] == 0 and second["skipped"] == n and second["scored"] == 0
    photo = rows(photo_dir / "culler.db")["astronaut.jpg"]
    assert photo["status"] == "ok" and photo["width"] == 512 and len(photo["phash"]) == 16
    assert (photo_dir / "culler-thumbs").is_dir()


def test_process_pool_gives_the_same_scores_as_in_process(photo_dir, tmp_path):
    a = scan(photo_dir, tmp_path / "a.db", workers=0)
    b = scan(photo_dir, tmp_path / "b.db", workers=2)
    assert a["scored"] == b["scored"]
    ra, rb = (open_catalog(tmp_path / f"{x}.db") for x in "ab")
    q = "SELECT p.path, s.score FROM scores s JOIN photos p ON p.id = s.photo_id"
    sa = {r["path"]: r["score"] for r in ra.query(q)}
    sb = {r["path"]: r["score"] for r in rb.query(q)}
    assert sa == sb


def test_changed_file_is_rescored_and_moved_file_keeps_scores_and_ratings(photo_dir):
    scan(photo_dir)
    db = photo_dir / "culler.db"
    cat = open_catalog(db)
    astro = cat.photo_by_path(str(photo_dir / "astronaut.jpg"))
    cat.rate(astro["id"], stars=4, decision="pick", source="cli")
    cat.close()
    (photo_dir / "sub").mkdir()
    shutil.move(photo_dir / "astronaut.jpg", photo_dir / "sub" / "astronaut-renamed.jpg")
    from PIL import Image

    Image.open(photo_dir / "coffee.jpg").rotate(90).save(photo_dir / "coffee.jpg")
    summary = scan(photo_dir)
    assert summary["moved"] == 1 and summary["changed"] == 1 and summary["new"] == 0
    assert summary["decoded"] == 1  # only the changed file; the move cost no decode
    cat = open_catalog(db)
    moved = cat.photo_by_path(str(photo_dir / "sub" / "astronaut-renamed.jpg"))
    assert moved["id"] == astro["id"]
    assert cat.current_rating(moved["id"])["stars"] == 4
    assert cat.scores_for(moved["id"])
    cat.close()


def test_deleted_file_is_marked_missing_not_dropped(photo_dir):
    scan(photo_dir)
    (photo_dir / "chelsea.jpg").unlink()
    summary = scan(photo_dir)
    assert summary["missing"] == 1
    chelsea = rows(photo_dir / "culler.db")["chelsea.jpg"]
    assert chelsea["status"] == "missing"
    cat = open_catalog(photo_dir / "culler.db")
    assert cat.scores_for(chelsea["id"])
    cat.close()


def make_bad_files(folder):
    good = next(folder.glob("*.jpg")).read_bytes()
    (folder / "zero.jpg").write_bytes(b"")
    (folder / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (folder / "notes.jpg").write_text("this is not a photo")
    (folder / "garbage.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2000))
    os.symlink("loop.jpg", folder / "loop.jpg")
    locked = folder / "locked.jpg"
    locked.write_bytes(good)
    locked.chmod(0)
    # A 20000×20000 PNG header: a decompression bomb by pixel count.
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))  # noqa: E731
    (folder / "bomb.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")
    )
    (folder / "dir-loop").mkdir()
    os.symlink("..", folder / "dir-loop" / "up")


@pytest.mark.parametrize("workers", [0, 2])
def test_bad_input_gets_one_error_row_each_and_the_scan_goes_on(photo_dir, workers):
    make_bad_files(photo_dir)
    summary = scan(photo_dir, workers=workers)
    r = rows(photo_dir / "culler.db")
    expected = {
        "zero.jpg": "empty",
        "truncated.jpg": "truncated",
        "notes.jpg": "not an image",
        "garbage.png": "",
        "loop.jpg": "loop",
        "bomb.png": "too large",
        "locked.jpg": "permission" if os.geteuid() != 0 else "",
    }
    for name, word in expected.items():
        if name == "locked.jpg" and os.geteuid() == 0:
            continue  # root reads anything
        assert r[name]["status"] == "error", name
        assert word in r[name]["error"], (name, r[name]["error"])
    assert summary["errors"] >= 6
    assert all(
        r[p.name]["status"] == "ok" for p in photo_dir.glob("*.jpg") if p.name not in expected
    )
    assert not any("up" in k for k in r)  # no duplicate rows through the symlinked folder


def test_rescore_forces_scoring_again(photo_dir):
    scan(photo_dir)
    again = scan(photo_dir, rescore=True)
    assert again["decoded"] == again["files_seen"]


def test_resume_skips_what_was_committed(photo_dir):
    """A scan stopped part-way (cancel stands in for a kill here) resumes with the rest only."""
    import threading

    cancel = threading.Event()
    seen = []

    def progress(done, total, path):
        seen.append(path)
        if done == 2:
            cancel.set()

    first = scan(photo_dir, cancel=cancel, on_progress=progress)
    assert first["status"] == "cancelled" and first["scored"] == 2
    second = scan(photo_dir)
    total = len(list(photo_dir.glob("*.jpg")))
    assert second["scored"] == total - 2 and second["decoded"] == total - 2


def test_summary_is_json_serialisable(photo_dir):
    json.dumps(scan(photo_dir))


def test_scan_without_learned_weights_does_not_import_torch(photo_dir, tmp_path):
    """Learned scorers without weights are reported before a device is picked, so a plain rescan
    never pays for importing torch (seconds) just to learn that nothing can run on it."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from culler.cli import cli\n"
        f"r = CliRunner().invoke(cli, ['scan', {str(photo_dir)!r}, '--workers', '0', '--json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'weights not installed' in r.stderr, r.stderr\n"
        "print('torch' in sys.modules)\n"
    )
    env = {**os.environ, "CULLER_HOME": str(tmp_path / "home")}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "False"
