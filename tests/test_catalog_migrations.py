"""A catalog can never be bricked by its schema (issues 27 and 31).

Migrations run through sqlite-utils, each step in one transaction, the whole upgrade under the write
lock. These tests open catalogs that earlier versions of culler wrote (tests/catalogs/*.sql, dumped from
catalogs those versions' own code made), kill catalog creation and upgrades at many points in real
processes, fill the disk at every page of a creation, rerun what earlier versions left half done, and
check that a dry run never upgrades.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from culler.catalog import CatalogError, open_catalog
from culler.catalog.migrations import LEGACY_TABLE, RECORD_TABLE, migrations
from culler.testing.crash import killer_script

CATALOGS = sorted((Path(__file__).parent / "catalogs").glob("schema-*.sql"))
#: Only the grouping plugin: its migrations are the ones a catalog carries, and the child processes
#: below then start without importing PyTorch.
PLUGIN_ENV = {**os.environ, "CULLER_LOAD_PLUGINS": "grouping"}


def restore(dump: Path, target: Path) -> Path:
    """A catalog file from an SQL dump, in WAL mode as culler writes them."""
    conn = sqlite3.connect(target)
    conn.executescript(dump.read_text(encoding="utf-8"))
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    return target


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def steps_of(path: Path) -> tuple[set[str], set[str]]:
    conn = sqlite3.connect(path)
    try:
        legacy = {r[0] for r in conn.execute(f"SELECT name FROM {LEGACY_TABLE}")}
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        recorded = set()
        if RECORD_TABLE in tables:  # absent in a catalog of an earlier version with nothing to do
            recorded = {r[0] for r in conn.execute(f"SELECT name FROM {RECORD_TABLE}")}
        return legacy, recorded
    finally:
        conn.close()


def check_whole(path: Path) -> None:
    """The catalog opens (as `culler scan` opens it: a file left blank is created), is at the current
    schema, and a rating can be written and read back."""
    with open_catalog(path) as catalog:
        assert catalog.pending_migrations() == []
        catalog.conn.execute(
            "INSERT INTO photos (path, status, first_seen, last_seen) VALUES ('/x.jpg', 'ok', 't', 't')"
        )
        catalog.conn.commit()
        photo_id = catalog.photo_by_path("/x.jpg")["id"]
        catalog.rate(photo_id, stars=4, source="cli")
        assert catalog.current_rating(photo_id)["stars"] == 4
    legacy, recorded = steps_of(path)
    core = {name for name, _ in migrations.steps}
    assert core <= legacy  # earlier versions read this record to refuse a newer catalog
    assert not recorded or core <= recorded


def test_the_dumps_are_of_earlier_schema_versions():
    assert len(CATALOGS) >= 2
    first_lines = [dump.read_text().splitlines()[0] for dump in CATALOGS]
    assert "core:001_initial" in first_lines[0]
    assert "core:002_near_duplicate_signatures" not in first_lines[0]
    assert "core:002_near_duplicate_signatures" in first_lines[1]


@pytest.mark.parametrize("dump", CATALOGS, ids=lambda p: p.stem)
def test_a_catalog_of_each_earlier_schema_opens_upgrades_and_keeps_its_ratings(
    dump, tmp_path, monkeypatch
):
    path = restore(dump, tmp_path / "culler.db")
    with open_catalog(path, create=False) as catalog:
        assert catalog.pending_migrations() == []
        red = catalog.current_rating(1)
        assert (red["stars"], red["decision"], red["label"]) == (5, "pick", "Red")
        assert catalog.current_rating(3)["decision"] == "reject"
        assert [s["score"] for s in catalog.scores_for(4)] == [9.0]
        assert catalog.tags_for(2) == {"sunset": 0.9}
        assert "signature" in catalog.db["photos"].columns_dict
    before = digest(path)
    with open_catalog(path, create=False) as catalog:
        assert catalog.migrate() == []  # a second open applies nothing and writes nothing
    assert digest(path) == before
    check_whole(path)


def test_a_dry_run_never_upgrades_an_older_catalog(tmp_path, monkeypatch, culler_cli):
    path = restore(CATALOGS[0], tmp_path / "culler.db")
    before = digest(path)
    for args in (
        ("cull", "--dry-run"),
        ("export", "picks", str(tmp_path / "out"), "--dry-run"),
        ("xmp", "write", "--dry-run"),
        ("xmp", "read", "--dry-run"),
    ):
        result = culler_cli(*args, "--db", str(path), expect=1)
        assert "older culler" in result.output and "nothing was changed" in result.output
        assert "Traceback" not in result.output
        assert digest(path) == before, args
    assert not (tmp_path / "out").exists()
    culler_cli("cull", "--db", str(path))  # without --dry-run it upgrades, then culls
    assert steps_of(path)[1] >= {name for name, _ in migrations.steps}


def test_a_catalog_an_earlier_version_left_half_created_is_finished_on_open(tmp_path, monkeypatch):
    """Earlier versions ran the first step as a script outside a transaction: a kill or a full disk
    left any prefix of its statements and no record. Each such prefix is finished on open."""
    statements = first_step_statements()
    assert len(statements) > 15
    for cut in range(0, len(statements), 2):
        path = tmp_path / f"cut{cut}.db"
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute(
            f"CREATE TABLE {LEGACY_TABLE} (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        for statement in statements[:cut]:
            conn.execute(statement)
        conn.close()
        check_whole(path)


def test_a_step_an_earlier_version_ran_without_recording_it_is_rerun_safely(tmp_path, monkeypatch):
    """`duplicate column name: signature`: the column was added, the record was not."""
    path = restore(CATALOGS[0], tmp_path / "culler.db")
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE photos ADD COLUMN signature BLOB")
    conn.execute("CREATE TABLE pending_moves (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    check_whole(path)


def first_step_statements() -> list[str]:
    class Recorder:
        def __init__(self):
            self.scripts = []

        def executescript(self, sql):
            self.scripts.append(sql)

    recorder = Recorder()
    dict(migrations.steps)["core:001_initial"](recorder)
    statements, buffer = [], ""
    for line in recorder.scripts[0].splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip().replace(" IF NOT EXISTS", ""))
            buffer = ""
    return statements


KILLER = killer_script(
    "core.open_catalog(sys.argv[1]).close()",
)


def run_killer(path: Path, kill_at: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", KILLER, str(path), str(kill_at)],
        capture_output=True,
        text=True,
        env=PLUGIN_ENV,
        timeout=120,
    )


@pytest.mark.parametrize("start", ["new", "schema-1"])
def test_killed_at_any_statement_of_a_creation_or_an_upgrade_the_catalog_opens(start, tmp_path):
    def fresh(name: str) -> Path:
        path = tmp_path / name
        if start != "new":
            restore(CATALOGS[0], path)
        return path

    counted = run_killer(fresh("count.db"), 0)
    assert counted.returncode == 0, counted.stderr
    total = int(counted.stdout.strip())
    assert total > 20
    points = sorted({1, 2, 3, total - 1, total, *range(4, total, max(1, total // 24))})
    killed = 0
    for point in points:
        path = fresh(f"kill{point}.db")
        result = run_killer(path, point)
        killed += result.returncode == -signal.SIGKILL
        if start != "new":
            with open_catalog(path, create=False) as catalog:  # ratings survive every kill
                assert catalog.current_rating(1)["stars"] == 5
        check_whole(path)
    assert killed >= len(points) - 1


def test_a_full_disk_at_any_page_of_a_creation_leaves_a_catalog_that_opens(tmp_path, monkeypatch):
    """`database or disk is full` during creation: the step is rolled back, and the next command
    (with room again) creates the catalog whole instead of failing with `table photos already exists`."""
    from culler.catalog import core

    connect = core._connect
    failures = 0
    for pages in range(2, 40, 3):
        path = tmp_path / f"full{pages}.db"

        def tight(p, pages=pages):
            conn = connect(p)
            conn.execute(f"PRAGMA max_page_count = {pages}")
            return conn

        monkeypatch.setattr(core, "_connect", tight)
        try:
            open_catalog(path).close()
        except (sqlite3.OperationalError, CatalogError) as exc:
            failures += 1
            assert "full" in str(exc)
        monkeypatch.setattr(core, "_connect", connect)
        check_whole(path)
    assert failures >= 5
