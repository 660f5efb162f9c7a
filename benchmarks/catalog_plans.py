"""Which index each hot read uses (issue #32 goal 5): every statement the reads users wait on run
is traced on the catalog's connection, and each distinct read's ``EXPLAIN QUERY PLAN`` taken.

The reads: ``culler list`` (by technical score, by capture time, with ``--search``), ``culler
show``, ``culler groups --json``, ``culler cull --dry-run``, the GUI opening the catalog and
re-sorting its grid (offscreen), a no-change regroup, an incremental grouping after a 2,000-photo
shoot and, with ``--rescan FOLDER``, a no-change ``culler scan`` of that folder. All run on a copy
of the catalog (the grouping and the scan write). Prints each index with the reads whose plans use
it; "NO PLAN USES IT" marks an index to question (a write path may still need it: grep first).

    python benchmarks/catalog_plans.py CATALOG [--rescan FOLDER]

e.g. on the real catalog of ``benchmarks/catalog_compact.py --real --photos 100000 --keep DIR``
with ``--rescan DIR/photos``.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("catalog", type=Path)
    parser.add_argument("--rescan", type=Path, help="a folder of the catalog to rescan unchanged")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("CULLER_LOAD_PLUGINS", "grouping")
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "catalog.db")
        shutil.copyfile(args.catalog, db)
        statements = trace(db, Path(tmp), args.rescan)
        report(db, statements)


def trace(db: str, tmp: Path, rescan: Path | None) -> list[tuple[str, str]]:
    from culler.catalog import core

    statements: list[tuple[str, str]] = []
    label = ["open"]
    connect = core._connect

    def traced(path: Path) -> sqlite3.Connection:
        conn = connect(path)
        conn.set_trace_callback(lambda sql: statements.append((label[0], sql)))
        return conn

    core._connect = traced
    from culler.cli import cli as command

    def cli(*args: str) -> None:
        with open(os.devnull, "w") as sink:
            old, sys.stdout = sys.stdout, sink
            try:
                command.main([*args, "--db", db], standalone_mode=False)
            finally:
                sys.stdout = old

    def first_path() -> str:
        conn = sqlite3.connect(db)
        try:
            return conn.execute("SELECT path FROM photos ORDER BY id LIMIT 1").fetchone()[0]
        finally:
            conn.close()

    def regroup() -> None:
        from culler.catalog import open_catalog
        from culler.decide.cull import update_groups

        catalog = open_catalog(db)
        update_groups(catalog)
        catalog.close()

    def new_shoot() -> None:  # as benchmarks/archive_scale.py's incremental grouping
        import datetime as dt
        import random

        from culler.catalog import now, open_catalog
        from culler.decide.cull import update_groups

        catalog = open_catalog(db)
        sigs = [
            r[0]
            for r in catalog.execute(
                "SELECT signature FROM photos WHERE signature IS NOT NULL LIMIT 2000"
            )
        ]
        t, rng, stamp, rows = dt.datetime(2031, 6, 1, 14), random.Random(1), now(), []
        for i, sig in enumerate(sigs):
            t += dt.timedelta(seconds=rng.expovariate(1 / 8.0))
            path = f"/photos/new-shoot/{i}.jpg"
            rows.append((path, "/photos", t.isoformat(), "cam9", f"new{i}", sig, stamp, stamp))
        with catalog.transaction() as conn:
            conn.executemany(
                "INSERT INTO photos (path, root, taken_at, camera, content_hash, signature,"
                " status, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, 'ok', ?, ?)",
                rows,
            )
        update_groups(catalog)
        catalog.close()

    def gui() -> None:
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication([])
        from culler.gui.main_window import MainWindow

        settings = QSettings(str(tmp / "plans.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings)
        window.resize(1400, 900)
        window.show()
        app.processEvents()
        window.open_catalog(Path(db))
        start = time.perf_counter()
        while window.proxy.rowCount() == 0 and time.perf_counter() - start < 120:
            app.processEvents()
        sort = getattr(window.filter_bar, "sort", None)
        for key in ("technical", "stars", "taken"):
            index = sort.findData(key) if sort is not None else -1
            if index >= 0:
                sort.setCurrentIndex(index)
                for _ in range(50):
                    app.processEvents()
        window.close()

    reads = {
        "list technical": lambda: cli("list", "--sort", "technical", "--limit", "50"),
        "list taken": lambda: cli("list", "--sort", "taken", "--limit", "50"),
        "list search": lambda: cli("list", "--search", "jpg", "--limit", "50"),
        "show": lambda: cli("show", first_path()),
        "groups": lambda: cli("groups", "--json"),
        "cull dry-run": lambda: cli("cull", "--dry-run"),
        "gui": gui,
        "regroup": regroup,
        "incremental grouping": new_shoot,
    }
    if rescan:
        reads["rescan unchanged"] = lambda: cli("scan", str(rescan), "--workers", "1")
    for name, run in reads.items():
        label[0] = name
        try:
            run()
        except Exception as exc:  # a read this catalog cannot do (no groups): say so, go on
            print(f"{name}: failed ({exc})", file=sys.stderr)
    return statements


def report(db: str, statements: list[tuple[str, str]]) -> None:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    indexes = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'"))
    used: dict[str, set[str]] = collections.defaultdict(set)
    seen = set()
    for name, sql in statements:
        sql = sql.strip()
        if not re.match(r"(?is)^(with|select)\b", sql) or (name, sql) in seen:
            continue
        seen.add((name, sql))
        try:
            plan = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
        except sqlite3.Error:
            continue  # a temporary table of the connection that ran it
        for row in plan:
            for match in re.finditer(r"INDEX (\w+)", row[3]):
                used[match.group(1)].add(name)
    conn.close()
    print(f"{len(statements):,} statements traced, {len(seen):,} distinct reads planned")
    for index in sorted(indexes, key=lambda i: (indexes[i], i)):
        if index.startswith(("sqlite_autoindex__", "idx__sqlite")):
            continue  # the migration records
        readers = ", ".join(sorted(used.get(index, ()))) or "NO PLAN USES IT"
        print(f"  {indexes[index]:<18} {index:<40} {readers}")


if __name__ == "__main__":
    main()
