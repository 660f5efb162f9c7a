"""Hostile catalogs: ``--db`` naming another application's SQLite file, a JPEG, a catalog from a newer
culler, a read-only catalog and one another process keeps locked. Each command refuses with one
``Error:`` line (what happened, what to do), exit status 1, and the file stays exactly as it was.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from culler.catalog import core, open_catalog
from culler.cli import cli
from culler.scan import ScanOptions, scan_folders
from culler.testing import sample_image


def state(path: Path) -> tuple[str, int, int, list[str]]:
    """The file's sha256, size and mtime_ns, and which files lie next to it (no -wal/-shm added)."""
    st = path.stat()
    return (
        hashlib.sha256(path.read_bytes()).hexdigest(),
        st.st_size,
        st.st_mtime_ns,
        sorted(p.name for p in path.parent.iterdir()),
    )


def refused(args: list, *words: str) -> str:
    """Run culler, expect exit 1 and one Error line containing ``words``; return that line."""
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 1, result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture
def shoot(tmp_path: Path) -> Path:
    folder = tmp_path / "shoot"
    folder.mkdir()
    for name in ("coffee", "chelsea"):
        sample_image(name).resize((160, 120)).save(folder / f"{name}.jpg", quality=90)
    return folder


def commands(db: Path, shoot: Path, out: Path) -> list[list]:
    """Every command that opens a catalog, read-only ones included (the first report only opened)."""
    return [
        ["list", "--db", db],
        ["show", shoot / "coffee.jpg", "--db", db],
        ["rate", shoot / "coffee.jpg", "--stars", "3", "--db", db],
        ["cull", "--db", db],
        ["groups", "--db", db],
        ["xmp", "write", "--db", db],
        ["export", "picks", out, "--db", db],
        ["export", "scores", "--db", db],
        ["scan", shoot, "--db", db, "--scorer", "technical", "--workers", "0"],
    ]


def test_another_applications_sqlite_file_is_refused_and_left_alone(tmp_path, shoot):
    db = tmp_path / "notes.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute("INSERT INTO notes (body) VALUES ('buy film')")
    conn.commit()
    conn.close()
    before = state(db)
    for args in commands(db, shoot, tmp_path / "out"):
        refused(args, str(db), "another application", "nothing was changed", "--db")
    assert state(db) == before
    conn = sqlite3.connect(db)
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["notes"]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # not switched to WAL
    conn.close()
    assert not (tmp_path / "out").exists()


def test_a_jpeg_or_any_other_file_as_the_catalog_is_refused(tmp_path, shoot):
    db = shoot / "coffee.jpg"
    before = state(db)
    for args in commands(db, shoot, tmp_path / "out"):
        refused(args, "not a culler catalog", "not an SQLite database")
    assert state(db) == before


def test_a_catalog_from_a_newer_culler_is_refused_and_left_alone(tmp_path, shoot):
    db = tmp_path / "culler.db"
    with open_catalog(db) as cat:
        scan_folders(cat, [shoot], ScanOptions(workers=0, scorer_ids=["technical"]), echo=print)
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO _migrations VALUES ('core:900_from_the_future', '2031-01-01')")
    conn.commit()
    conn.close()
    before = state(db)
    for args in commands(db, shoot, tmp_path / "out"):
        refused(args, "newer culler", "core:900_from_the_future", "Upgrade culler")
    assert state(db) == before


def test_only_scan_creates_a_catalog(tmp_path, shoot):
    db = tmp_path / "new.db"
    for args in commands(db, shoot, tmp_path / "out")[:-1]:
        refused(args, "no catalog at", "culler scan")
        assert not db.exists()
    result = CliRunner().invoke(cli, [str(a) for a in commands(db, shoot, tmp_path / "out")[-1]])
    assert result.exit_code == 0, result.output
    assert db.exists()


@pytest.fixture
def scanned(tmp_path, shoot) -> Path:
    db = tmp_path / "culler.db"
    with open_catalog(db) as cat:
        scan_folders(cat, [shoot], ScanOptions(workers=0, scorer_ids=["technical"]), echo=print)
    return db


WRITERS = ("rate", "scan", "cull")


def writer_args(name: str, db: Path, shoot: Path) -> list:
    return {
        "rate": ["rate", shoot / "coffee.jpg", "--stars", "3", "--db", db],
        "scan": ["scan", shoot, "--db", db, "--scorer", "technical", "--workers", "0", "--rescore"],
        "cull": ["cull", "--db", db],
    }[name]


@pytest.mark.parametrize("command", WRITERS)
def test_a_read_only_catalog_gives_one_line(scanned, shoot, command, monkeypatch):
    before = state(scanned)
    if os.geteuid() == 0:
        # root writes through file modes: open the catalog the way SQLite opens an unwritable file.
        def read_only(path):
            return sqlite3.connect(
                f"{Path(path).absolute().as_uri()}?mode=ro", uri=True, check_same_thread=False
            )

        monkeypatch.setattr(core, "_connect", read_only)
    else:
        scanned.chmod(0o444)
    refused(writer_args(command, scanned, shoot), "read-only", "writable", str(scanned))
    assert state(scanned)[:3] == before[:3]


@pytest.mark.parametrize("command", WRITERS)
def test_a_catalog_locked_by_another_process_gives_one_line(scanned, shoot, command, monkeypatch):
    monkeypatch.setattr(core, "BUSY_TIMEOUT_MS", 200)  # the real wait is 30 s
    holder = sqlite3.connect(scanned, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    holder.execute("UPDATE photos SET error = NULL")
    try:
        refused(writer_args(command, scanned, shoot), "is locked", "another process", "Wait")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # Once the other writer is done, the same command works.
    result = CliRunner().invoke(cli, [str(a) for a in writer_args(command, scanned, shoot)])
    assert result.exit_code == 0, result.output
