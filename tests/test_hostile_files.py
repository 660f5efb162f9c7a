"""Hostile photo files: a FIFO or a link to /dev/zero named like a photo, absurd dimensions, tiny and
very long images, an EXIF sub-second field of thousands of digits. Each gets one clear error row (or is
scored), the scan finishes, and later commands keep working.

Anything that could hang if a fix regressed runs in a subprocess with a timeout, or under an alarm.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import struct
import zlib
from contextlib import contextmanager

import pytest
from PIL import Image

from culler.imaging.images import ImageError, decode_pil, open_photo
from culler.safe_files import RefusedFile, read_regular
from culler.testing import run_culler, sample_image, scan_into

#: Seconds any single hostile-file check may take before the test fails instead of hanging.
GUARD = 60


@contextmanager
def alarm(seconds: int = GUARD):
    """Fail (instead of hanging the test run) when the block blocks for ``seconds``."""

    def expired(_signum, _frame):
        raise TimeoutError(f"blocked for {seconds} s: a special file was opened or read")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


culler = run_culler


def rows(db) -> dict[str, dict]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        found = conn.execute("SELECT path, status, error, subsec, camera FROM photos").fetchall()
    return {os.path.basename(r["path"]): dict(r) for r in found}


@pytest.fixture
def shoot(tmp_path):
    folder = tmp_path / "shoot"
    folder.mkdir()
    sample_image("astronaut").save(folder / "good.jpg", quality=90)
    return folder


def test_a_fifo_named_like_a_photo_gets_one_error_row_in_process(shoot, tmp_path):
    """--workers 0 decodes in this process: the FIFO must not block the scan (nor any rescan)."""
    os.mkfifo(shoot / "pipe.jpg")
    for _ in range(2):  # the rescan must not retry it into a hang either
        result = culler(
            "scan", shoot, "--workers", "0", "--scorer", "technical", "--json", home=tmp_path
        )
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    found = rows(shoot / "culler.db")
    assert found["pipe.jpg"]["status"] == "error"
    assert found["pipe.jpg"]["error"] == "a named pipe (FIFO), not a regular file: not read"
    assert found["good.jpg"]["status"] == "ok"


def test_a_link_to_dev_zero_named_like_a_photo_is_not_read(shoot, tmp_path):
    os.symlink("/dev/zero", shoot / "zero.jpg")
    with alarm():
        catalog, summary = scan_into(tmp_path / "c.db", shoot, ["technical"])
        catalog.close()
    assert summary["errors"] == 1
    found = rows(tmp_path / "c.db")
    assert found["zero.jpg"]["error"] == "a character device, not a regular file: not read"
    assert found["good.jpg"]["status"] == "ok"


def test_every_reader_refuses_special_files_at_once(tmp_path):
    """The loupe, the thumbnails and plugins open photos by path too: each refuses, none blocks."""
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    with alarm():
        for read in (lambda p: decode_pil(p, 256), lambda p: open_photo(p, 256)):
            with pytest.raises(ImageError, match="named pipe"):
                read(fifo)
            with pytest.raises(ImageError, match="character device"):
                read("/dev/zero")
        with pytest.raises(RefusedFile, match="named pipe"):
            read_regular(fifo, 100)


def test_a_file_larger_than_the_cap_is_refused_before_reading(tmp_path):
    big = tmp_path / "big.jpg"
    big.write_bytes(b"\xff" * 2000)
    with pytest.raises(RefusedFile, match="larger than culler reads"):
        read_regular(big, 1000)
    assert read_regular(big, 2000) == b"\xff" * 2000


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width``×``height`` pixels, with one tiny data chunk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


def test_absurd_dimensions_get_an_error_row_without_decoding(shoot, tmp_path):
    (shoot / "huge.png").write_bytes(_png_header_only(100_000, 100_000))
    with alarm():
        catalog, summary = scan_into(tmp_path / "c.db", shoot, ["technical"])
        catalog.close()
    found = rows(tmp_path / "c.db")
    assert found["huge.png"]["status"] == "error"
    assert "too large" in found["huge.png"]["error"]
    assert found["good.jpg"]["status"] == "ok" and summary["errors"] == 1


@pytest.mark.parametrize("size", [(1, 1), (1, 20000), (20000, 1)])
def test_tiny_and_very_long_images_are_read_and_judged_or_explained(tmp_path, size):
    """A 1×1 or 1×20000 image is a photo culler can read; the technical scorer says why it cannot
    judge one (a per-photo reason), never fails."""
    folder = tmp_path / "odd"
    folder.mkdir()
    Image.new("RGB", size, (120, 130, 140)).save(folder / "odd.png")
    catalog, summary = scan_into(tmp_path / "c.db", folder, ["technical"])
    try:
        (photo,) = catalog.readable_photos()
        scores = [s for s in catalog.scores_for(photo["id"]) if s["scorer_id"] == "technical"]
    finally:
        catalog.close()
    assert summary["errors"] == 0
    assert rows(tmp_path / "c.db")["odd.png"]["status"] == "ok"
    (score,) = scores
    assert score["score"] is None
    assert any("too small to judge" in r for r in score["reasons"])


def _burst_with_subsec(folder, subsec: str) -> None:
    image = sample_image("astronaut")
    for i in range(2):
        exif = image.getexif()
        exif[0x0110] = "Cam\x1b[31mRED\x1b]0;title\x07"  # Model, with terminal escape codes
        sub = exif.get_ifd(0x8769)
        sub[0x9003] = "2024:05:01 10:00:0" + str(i)  # DateTimeOriginal, one second apart
        sub[0x9291] = subsec  # SubsecTimeOriginal
        image.save(folder / f"frame{i}.jpg", quality=90, exif=exif)


def test_an_exif_subsecond_field_of_thousands_of_digits_breaks_nothing_later(tmp_path, culler_cli):
    folder = tmp_path / "burst"
    folder.mkdir()
    _burst_with_subsec(folder, "7" * 5000)
    catalog, summary = scan_into(tmp_path / "c.db", folder, ["technical"])
    catalog.close()
    assert summary["errors"] == 0
    for row in rows(tmp_path / "c.db").values():
        assert row["subsec"] == "777777777"  # nanoseconds at most
        assert row["camera"] == "Cam[31mRED]0;title"  # control characters never stored
    db = tmp_path / "c.db"
    stored = culler_cli("groups", "--json", "--db", db)  # grouped after the scan, not stopped
    assert [g["size"] for g in json.loads(stored.output)] == [2]
    groups = culler_cli("groups", "--rebuild", "--json", "--db", db)
    assert "Traceback" not in groups.output
    assert [g["size"] for g in json.loads(groups.output)] == [2]  # the burst is still found
    cull = culler_cli("cull", "--dry-run", "--db", db)
    assert "Traceback" not in cull.output
