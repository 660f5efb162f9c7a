"""Hostile and broken input, generated here: every bad file gets one clear error row (or message), the
scan goes on, and nothing already in the catalog is lost."""

from __future__ import annotations

import io
import os
import struct
import zlib

import pytest

from culler.catalog import open_catalog
from culler.scan import ScanOptions, scan_folders
from culler.scan.writer import CatalogWriteError
from culler.testing import sample_image


def scan(folder, db=None, messages=None, **options):
    db = db or folder / "culler.db"
    cat = open_catalog(db)
    try:
        echo = messages.append if messages is not None else (lambda m: None)
        return scan_folders(cat, [folder], ScanOptions(workers=0, **options), echo=echo)
    finally:
        cat.close()


def photo_rows(db):
    cat = open_catalog(db)
    try:
        return {os.path.basename(r["path"]): r for r in cat.query("SELECT * FROM photos")}
    finally:
        cat.close()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)


def encoded(fmt: str) -> bytes:
    buf = io.BytesIO()
    sample_image("chelsea").save(buf, fmt)
    return buf.getvalue()


def write_corpus(folder):
    """Broken files of every kind, next to the good sample photos already in ``folder``."""
    jpeg, png, tiff = encoded("JPEG"), encoded("PNG"), encoded("TIFF")
    files = {
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "truncated.png": png[: len(png) // 2],
        "truncated.tif": tiff[: len(tiff) // 2],
        "corrupt.jpg": jpeg[:600] + os.urandom(4000),
        "corrupt.png": png[:60] + os.urandom(3000),
        "corrupt.tif": tiff[:8] + os.urandom(3000),
        # A tiny file that claims 20000×20000 pixels: a decompression bomb by its header.
        "bomb.png": png_header(20000, 20000)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 200_000, 9))
        + png_chunk(b"IEND", b""),
        # 65000×65000 in a JPEG frame header.
        "huge.jpg": jpeg[:2]
        + b"\xff\xc0\x00\x11\x08"
        + struct.pack(">HH", 65000, 65000)
        + b"\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
        + b"\xff\xd9",
        "text.tif": b"II*\x00 this is not really a TIFF at all",
        "empty.png": b"",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    # Wrong extensions: real images under another format's name are read by their content.
    (folder / "png-named.jpg").write_bytes(png)
    (folder / "jpeg-named.png").write_bytes(jpeg)
    # A very long file name (255 bytes, the usual limit).
    (folder / ("long" + "x" * 247 + ".jpg")).write_bytes(jpeg)
    # Symlink loops: a file link to itself and a folder link back up.
    os.symlink("self.jpg", folder / "self.jpg")
    (folder / "nested").mkdir()
    os.symlink("..", folder / "nested" / "up")
    return set(files)


def test_broken_files_get_one_clear_error_row_each_and_the_scan_goes_on(photo_dir):
    broken = write_corpus(photo_dir)
    good = {p.name for p in photo_dir.glob("*.jpg")} - broken - {"self.jpg"}
    good |= {"jpeg-named.png"}
    summary = scan(photo_dir)
    rows = photo_rows(photo_dir / "culler.db")
    for name in broken | {"self.jpg"}:
        assert rows[name]["status"] == "error", name
        assert rows[name]["error"], name
    expected = {
        "truncated.jpg": "truncated",
        "bomb.png": "decompression bomb",
        "huge.jpg": "decompression bomb",
        "empty.png": "empty",
        "self.jpg": "loop",
        "text.tif": "",
    }
    for name, words in expected.items():
        assert words in rows[name]["error"], (name, rows[name]["error"])
    for name in good:
        assert rows[name]["status"] == "ok", (name, rows[name]["error"])
    assert summary["errors"] == len(broken) + 1
    paths = [r["path"] for r in rows.values()]
    assert not any("/up/" in p for p in paths)  # the folder loop was walked once

    # The next scan retries nothing that is unchanged, and loses nothing.
    again = scan(photo_dir)
    assert again["decoded"] == 0 and photo_rows(photo_dir / "culler.db").keys() == rows.keys()


def test_a_100_megapixel_frame_is_not_mistaken_for_a_bomb(tmp_path):
    folder = tmp_path / "big"
    folder.mkdir()
    # Only the header is real (the data ends at once): the error must be "truncated", not "bomb".
    (folder / "gfx100.png").write_bytes(png_header(11648, 8736) + png_chunk(b"IEND", b""))
    scan(folder)
    error = photo_rows(folder / "culler.db")["gfx100.png"]["error"]
    assert "bomb" not in error and "too large" not in error


def test_non_utf8_file_name_is_reported_and_the_rest_scanned(photo_dir):
    name = os.fsencode(photo_dir) + b"/caf\xe9.jpg"
    with open(name, "wb") as fh:
        fh.write((photo_dir / "coffee.jpg").read_bytes())
    messages = []
    summary = scan(photo_dir, messages=messages)
    assert summary["bad_names"] == 1
    assert any("not valid UTF-8" in m and "caf" in m for m in messages)
    rows = photo_rows(photo_dir / "culler.db")
    assert len(rows) == len(list(photo_dir.glob("*.jpg"))) - 1
    assert all(r["status"] == "ok" for r in rows.values())


def test_unreadable_file_gets_a_permission_error_row(photo_dir, monkeypatch):
    """Tests run as root, which reads anything: the denial is simulated where culler opens files
    (culler.safe_files opens every photo with os.open)."""
    real_open = os.open

    def denying_open(file, *args, **kwargs):
        if str(file).endswith("chelsea.jpg"):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", denying_open)
    summary = scan(photo_dir)
    rows = photo_rows(photo_dir / "culler.db")
    assert rows["chelsea.jpg"]["status"] == "error"
    assert "permission denied" in rows["chelsea.jpg"]["error"]
    assert summary["errors"] == 1
    assert sum(r["status"] == "ok" for r in rows.values()) == len(rows) - 1


def test_unreadable_folder_is_reported_and_its_photos_keep_their_rows(photo_dir, monkeypatch):
    sub = photo_dir / "2023"
    sub.mkdir()
    for p in list(photo_dir.glob("*.jpg"))[:2]:
        p.rename(sub / p.name)
    first = scan(photo_dir)
    scored_before = photo_rows(photo_dir / "culler.db")
    assert first["errors"] == 0

    import culler.scan.discover

    real_scandir = os.scandir

    def denying_scandir(path="."):
        # shutil.rmtree (the tmp folders' cleanup) calls scandir with a file descriptor
        if not isinstance(path, int) and os.fspath(path) == str(sub):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(culler.scan.discover.os, "scandir", denying_scandir)
    messages = []
    summary = scan(photo_dir, messages=messages)
    assert summary["folder_errors"] == [
        {
            "path": str(sub),
            "error": "permission denied: culler cannot read this folder (check its permissions)",
        }
    ]
    assert any(str(sub) in m and "not scanned" in m for m in messages)
    assert summary["missing"] == 0  # not being able to look is not the same as gone
    rows = photo_rows(photo_dir / "culler.db")
    assert {n: r["status"] for n, r in rows.items()} == {
        n: r["status"] for n, r in scored_before.items()
    }


def test_files_changing_or_vanishing_during_the_scan(photo_dir):
    names = sorted(p.name for p in photo_dir.glob("*.jpg"))
    vanishing, changing = names[-1], names[-2]
    replacement = sample_image("astronaut").rotate(90)

    def meddle(done, total, path):
        if done == 1:  # after the first file, before the scan reads the last two
            (photo_dir / vanishing).unlink()
            replacement.save(photo_dir / changing, quality=70)

    summary = scan(photo_dir, on_progress=meddle)
    rows = photo_rows(photo_dir / "culler.db")
    assert rows[vanishing]["status"] == "error"
    assert "vanished" in rows[vanishing]["error"]
    changed = rows[changing]
    assert changed["status"] == "ok"
    st = os.stat(photo_dir / changing)
    # The row describes the bytes that were scored, not the file as it was when discovered.
    assert (changed["size"], changed["mtime_ns"]) == (st.st_size, st.st_mtime_ns)
    assert summary["errors"] == 1

    again = scan(photo_dir)
    assert again["decoded"] == 0 and again["missing"] == 1
    assert photo_rows(photo_dir / "culler.db")[vanishing]["status"] == "missing"


def test_full_disk_for_the_catalog_stops_cleanly_and_the_next_scan_resumes(tmp_path):
    folder = tmp_path / "shoot"
    folder.mkdir()
    base = sample_image("astronaut").resize((128, 128))
    for i in range(80):
        base.rotate(i * 4.5).save(folder / f"IMG_{i:03d}.jpg", quality=85)
    db = tmp_path / "culler.db"
    cat = open_catalog(db)
    cat.execute("VACUUM")  # no free pages left by the migrations: the room below is all there is
    pages = cat.execute("PRAGMA page_count").fetchone()[0]
    # SQLite's page limit fails writes exactly as a full disk does ("database or disk is full").
    # About 48 KB of room, whatever the page size: the scan (about 96 KB) fills it partway.
    (page,) = cat.execute("PRAGMA page_size").fetchone()
    cat.execute(f"PRAGMA max_page_count = {pages + 48 * 1024 // page}")
    try:
        with pytest.raises(CatalogWriteError, match="disk is full.*free some space"):
            scan_folders(
                cat,
                [folder],
                ScanOptions(workers=0, thumbnails=False, scorer_ids=["technical"]),
                echo=lambda m: None,
            )
        assert not cat.conn.in_transaction
    finally:
        cat.close()
    cat = open_catalog(db)
    try:
        assert cat.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        committed = cat.execute("SELECT COUNT(*) FROM scores").fetchone()[0]
        assert cat.execute("SELECT COUNT(*) FROM photos").fetchone()[0] == committed
    finally:
        cat.close()
    assert 0 < committed < 80  # stopped partway, what was written before kept

    summary = scan(
        folder, db, thumbnails=False, scorer_ids=["technical"]
    )  # space freed: a fresh connection has no limit
    assert summary["decoded"] == 80 - committed and summary["errors"] == 0
    cat = open_catalog(db)
    try:
        per_photo = cat.execute(
            "SELECT COUNT(*) FROM photos p JOIN scores s ON s.photo_id = p.id"
        ).fetchone()[0]
        assert per_photo == 80
    finally:
        cat.close()


def test_full_disk_message_reaches_the_command_line(tmp_path, monkeypatch):
    import sqlite3

    from click.testing import CliRunner

    from culler.catalog import Catalog
    from culler.cli import cli

    def full(self, *args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Catalog, "upsert_photo", full)
    folder = tmp_path / "shoot"
    folder.mkdir()
    sample_image("coffee").save(folder / "coffee.jpg")
    result = CliRunner().invoke(cli, ["scan", str(folder), "--workers", "0"])
    assert result.exit_code == 1
    assert "disk is full" in result.output and "run the scan again" in result.output
