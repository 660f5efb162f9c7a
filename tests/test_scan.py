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
    assert photo["status"] == "ok" and photo["width"] == 512 and photo["signature"]
    assert "phash" not in photo  # no dHash is stored since signatures replaced it (no column)
    assert isinstance(photo["content_hash"], bytes) and len(photo["content_hash"]) == 16
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
        "garbage.png": "not an image",
        "loop.jpg": "loop",
        "bomb.png": "too large",
        "locked.jpg": "permission" if os.geteuid() != 0 else "",
    }
    for name, word in expected.items():
        if name == "locked.jpg" and os.geteuid() == 0:
            continue  # root reads anything
        assert r[name]["status"] == "error", name
        assert word in r[name]["error"], (name, r[name]["error"])
    # One error row each; root reads the locked file, which is then an ordinary photo.
    assert summary["errors"] == len(expected) - (os.geteuid() == 0)
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


# -- the stages on their own ---------------------------------------------------------------------
SUMMARY_KEYS = [
    "files_seen",
    "new",
    "changed",
    "moved",
    "skipped",
    "missing",
    "scored",
    "errors",
    "decoded",
    "folder_errors",
    "bad_names",
    "seconds",
    "images_per_second",
    "scorers",
    "skipped_scorers",
    "scorer_errors",
    "status",
    "db",
]


def test_summary_keeps_the_keys_scan_json_has_always_printed(photo_dir):
    from culler.scan import ScanSummary

    assert list(ScanSummary().to_json()) == SUMMARY_KEYS
    assert list(ScanSummary(from_cache=3).to_json()) == (
        SUMMARY_KEYS[:11] + ["from_cache"] + SUMMARY_KEYS[11:]
    )
    summary = scan(photo_dir)
    # scan_finished plugins (burst grouping) may append their own keys after these
    assert list(summary)[: len(SUMMARY_KEYS)] == SUMMARY_KEYS


def test_each_scan_stage_imports_only_the_stages_before_it():
    import ast
    from pathlib import Path

    import culler.scan

    order = [
        "work", "discover", "captures", "plan", "unchanged", "decode", "decode_pool", "gpu_feed", "scoring", "writer", "pipeline",
    ]  # fmt: skip
    folder = Path(culler.scan.__file__).parent
    assert sorted(p.stem for p in folder.glob("*.py") if p.stem != "__init__") == sorted(order)
    for position, stage in enumerate(order):
        tree = ast.parse((folder / f"{stage}.py").read_text(encoding="utf-8"))
        imported = {
            node.module.split(".")[2]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("culler.scan.")
        }
        later = imported - set(order[:position])
        assert not later, f"culler.scan.{stage} imports later stages {sorted(later)}"


class _Scorer:
    def __init__(self, scorer_id):
        self.id = scorer_id


def _plan(known, found, done=(), **kw):
    from pathlib import Path

    from culler.catalog.scanning import PhotoState
    from culler.scan.plan import plan_scan
    from culler.scan.work import ActiveScorer

    scorers = [ActiveScorer(_Scorer("a"), 1, set(done)), ActiveScorer(_Scorer("b"), 2, set(done))]
    hashed = []

    def content_hash(path):
        hashed.append(path)
        return HASHES.get(path)

    known = {path: PhotoState(*row) for path, row in known.items()}
    plan = plan_scan(
        known,
        found,
        [Path("/shoot")],
        scorers,
        rescore=kw.get("rescore", False),
        unlisted=kw.get("unlisted", []),
        content_hash=content_hash,
    )
    return plan, hashed


HASHES = {"/shoot/new/moved.jpg": "h-moved", "/shoot/fresh.jpg": "h-fresh"}


def test_plan_skips_unchanged_scores_what_is_missing_and_redoes_changed_files():
    from culler.scan.work import Found

    known = {  # path: (id, size, mtime_ns, status, content_hash)
        "/shoot/same.jpg": (1, 100, 5, "ok", "h1"),
        "/shoot/unscored.jpg": (2, 100, 5, "ok", "h2"),
        "/shoot/edited.jpg": (3, 100, 5, "ok", "h3"),
        "/shoot/broken.jpg": (4, 100, 5, "error", None),
    }
    found = [
        Found("/shoot/same.jpg", 100, 5),
        Found("/shoot/unscored.jpg", 100, 5),
        Found("/shoot/edited.jpg", 120, 6),
        Found("/shoot/broken.jpg", 100, 5),
        Found("/shoot/gone-wrong.jpg", error="permission denied"),
    ]
    plan, hashed = _plan(known, found, done={1, 3})
    by_path = {i.path: i for i in plan.items}
    assert plan.skipped == 1 and "/shoot/same.jpg" not in by_path
    assert by_path["/shoot/unscored.jpg"].change == "unscored"
    assert by_path["/shoot/edited.jpg"].change == "changed" and plan.changed == 1
    assert plan.forget == [3]  # an error row has no content to forget
    assert by_path["/shoot/broken.jpg"].change == "retry"
    assert [(f.path, root) for f, root in plan.unreadable] == [("/shoot/gone-wrong.jpg", "/shoot")]
    assert all(i.root == "/shoot" for i in plan.items)
    assert hashed == []  # nothing vanished: no file is read just to plan
    assert plan.moves == [] and plan.missing == [] and plan.new == 0


def test_plan_follows_a_move_by_content_and_marks_the_rest_missing():
    from pathlib import Path

    from culler.scan.work import Found

    known = {
        "/shoot/old/moved.jpg": (7, 300, 1, "ok", "h-moved"),
        "/shoot/old/deleted.jpg": (8, 400, 1, "ok", "h-deleted"),
        "/shoot/locked/kept.jpg": (9, 500, 1, "ok", "h-kept"),
        "/elsewhere/other.jpg": (10, 300, 1, "ok", "h-other"),
    }
    found = [Found("/shoot/new/moved.jpg", 300, 2), Found("/shoot/fresh.jpg", 999, 2)]
    plan, hashed = _plan(known, found, done={7}, unlisted=[Path("/shoot/locked")])
    assert [(m.photo_id, m.path, m.root) for m in plan.moves] == [
        (7, "/shoot/new/moved.jpg", "/shoot")
    ]
    assert hashed == ["/shoot/new/moved.jpg"]  # only a size match is worth reading
    # not missing: the folder could not be listed; outside the roots: not this scan's business
    assert plan.missing == [8]
    assert plan.new == 1 and [i.path for i in plan.items] == ["/shoot/fresh.jpg"]
    # already scored by both scorers before the move: nothing to do for the moved file
    again, _ = _plan(known, found, done=(), unlisted=[Path("/shoot/locked")])
    moved = next(i for i in again.items if i.path == "/shoot/new/moved.jpg")
    assert moved.photo_id == 7 and moved.change == "unscored" and len(moved.needs) == 2


def _with_exif(source, target, exposure, f_number, iso, focal) -> None:
    """Save the real photo ``source`` as ``target`` with EXIF shooting data as a camera writes it
    (rationals; ``exposure``/``f_number`` may be raw (numerator, denominator) pairs)."""
    from fractions import Fraction

    from PIL import Image, TiffImagePlugin

    def rational(value):
        if isinstance(value, tuple):
            return TiffImagePlugin.IFDRational(*value)
        fraction = Fraction(value).limit_denominator(100000)
        return TiffImagePlugin.IFDRational(fraction.numerator, fraction.denominator)

    with Image.open(source) as im:
        exif = im.getexif()
        sub = exif.get_ifd(0x8769)
        sub[0x829A] = rational(exposure)  # ExposureTime
        sub[0x829D] = rational(f_number)  # FNumber
        sub[0x8827] = iso  # ISOSpeedRatings
        sub[0x920A] = rational(focal)  # FocalLength
        sub[0xA434] = "EF85mm f/1.8 USM"  # LensModel
        im.save(target, exif=exif, quality=90)


def test_the_scan_stores_shooting_data_from_exif_and_show_prints_it(photo_dir, tmp_path):
    import sqlite3

    from click.testing import CliRunner

    from culler.cli import cli

    source = next(p for p in sorted(photo_dir.iterdir()) if p.suffix == ".jpg")
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    _with_exif(source, shoot / "evening.jpg", 1 / 250, 2.8, 800, 85)
    _with_exif(source, shoot / "night.jpg", 2.5, 8, 100, 24)
    _with_exif(source, shoot / "nonsense.jpg", (1, 0), (-2, 1), 0, 0)  # a camera's garbage
    db = tmp_path / "c.db"
    with open_catalog(db) as catalog:
        scan_folders(catalog, [shoot], ScanOptions(workers=0))
    with sqlite3.connect(db) as conn:
        rows = {
            os.path.basename(path): rest
            for path, *rest in conn.execute(
                "SELECT path, exposure_time, f_number, iso, focal_length, lens FROM photos"
            )
        }
    assert rows["evening.jpg"] == [pytest.approx(1 / 250), 2.8, 800, 85.0, "EF85mm f/1.8 USM"]
    assert rows["night.jpg"][:4] == [2.5, 8.0, 100, 24.0]
    assert rows["nonsense.jpg"][:4] == [None, None, None, None]
    result = CliRunner().invoke(cli, ["show", str(shoot / "evening.jpg"), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "shooting: 1/250 s · f/2.8 · ISO 800 · 85 mm" in result.output
    night = CliRunner().invoke(cli, ["show", str(shoot / "night.jpg"), "--db", str(db)])
    assert "shooting: 2.5 s · f/8 · ISO 100 · 24 mm" in night.output


def test_in_worker_scorers_see_the_shooting_data(photo_dir, tmp_path, register_test_plugin):
    """A scorer may weigh the shutter speed (a 1/8 s frame is a motion-blur suspect): the decode
    worker hands it the shooting data under ``culler.api.SHOOTING_KEY``."""
    from culler.api import SHOOTING_KEY, Scorer, ScoreResult, hookimpl

    class Shutter(Scorer):
        id = "shutter-test"
        runs_in_worker = True
        batch_size = 1
        input_size = 256

        def score_batch(self, images):
            data = images[0].info.get(SHOOTING_KEY) or {}
            return [ScoreResult(score=5.0, reasons=[f"exposure {data.get('exposure_time')}"])]

    class Plugin:
        @hookimpl
        def register_scorers(self, register):
            register(Shutter)

    register_test_plugin(Plugin(), "shutter-test")
    source = next(p for p in sorted(photo_dir.iterdir()) if p.suffix == ".jpg")
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    _with_exif(source, shoot / "slow.jpg", 1 / 8, 4, 3200, 35)
    with open_catalog(tmp_path / "c.db") as catalog:
        scan_folders(catalog, [shoot], ScanOptions(workers=0, scorer_ids=["shutter-test"]))
        (photo,) = catalog.readable_photos()
        (score,) = [s for s in catalog.scores_for(photo["id"]) if s["scorer_id"] == "shutter-test"]
    assert score["reasons"] == ["exposure 0.125"]
