"""A lifetime archive (issue 32): every operation of the issue's table on one large catalog, each in a
fresh process, with CPU seconds and peak memory, and the growth between two sizes.

Builds each catalog once and keeps it (``--cache``, default /tmp/culler-archive): the photo rows of
``benchmarks/grouping_scale.py`` (signatures from real photos, dense shoots of four cameras, 10 %
untimed exports, planted copies), plus a technical and a clip score for every photo, a tag on every
third and a hand rating on every second; then a full grouping, stored (as the first scan leaves it),
unless ``--no-grouping`` (for sizes where a full grouping would not fit the shared machine: the
operations that need stored groups are then skipped).

Each operation runs in its own ``python`` process (imports and catalog open included) that reports
its own CPU seconds (user + system) from just after the interpreter started, and peak RSS
(``VmHWM``); "process" is the whole process's CPU seconds (interpreter start and imports included,
as the parent's ``RUSAGE_CHILDREN`` sees them); wall seconds are the parent's. Operations that
write (an incremental grouping after a new shoot) run on a copy of the cached catalog.

    python benchmarks/archive_scale.py 100000 [1000000 --no-grouping] [--only OP,OP] [--cache DIR]

The photos are rows only (no files), so the GUI rows time the window until the grid has laid out its
first screenful of cells (on open, and after each re-sort by the technical score, stars and capture
time and a picks-only filter, which page from the catalog's indexes) (thumbnails cannot be decoded; ``benchmarks/gui_grid.py`` times those), and a
no-change rescan (which walks real files) is ``benchmarks/catalog_scale.py``'s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: (name, needs stored groups, code run in the child with ``db`` bound to the catalog path).
OPERATIONS: list[tuple[str, bool, str]] = [
    (
        "regroup, nothing changed",
        True,
        "from culler.catalog import open_catalog\n"
        "from culler.decide.cull import update_groups\n"
        "c = open_catalog(db)\nupdate_groups(c)\nc.close()",
    ),
    (
        "incremental grouping after a 2,000-photo shoot",
        True,
        "import random, datetime as dt\n"
        "from culler.catalog import open_catalog, now\n"
        "from culler.decide.cull import update_groups\n"
        "c = open_catalog(db)\n"
        "sigs = [r[0] for r in c.execute('SELECT signature FROM photos WHERE signature IS NOT NULL"
        " LIMIT 2000')]\n"
        "t = dt.datetime(2031, 6, 1, 14)\nrng = random.Random(1)\nstamp = now()\nrows = []\n"
        "for i, s in enumerate(sigs):\n"
        "    t += dt.timedelta(seconds=rng.expovariate(1 / 8.0))\n"
        "    rows.append((f'/photos/new-shoot/{i}.jpg', '/photos/raw', t.isoformat(), 'cam9',"
        " f'new{i}', s, stamp, stamp))\n"
        "with c.transaction() as conn:\n"
        "    conn.executemany('INSERT INTO photos (path, root, taken_at, camera, content_hash,"
        " signature, status, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, \\'ok\\', ?, ?)',"
        " rows)\n"
        "T0 = __import__('resource').getrusage(0)\n"  # time the grouping, not the insert
        "update_groups(c)\nc.close()",
    ),
    (
        "culler list --sort technical --limit 50",
        False,
        "cli('list', '--sort', 'technical', '--limit', '50')",
    ),
    (
        "culler list --sort technical --limit 50 --json",
        False,
        "cli('list', '--sort', 'technical', '--limit', '50', '--json')",
    ),
    ("culler list --json (every photo)", False, "cli('list', '--json')"),
    ("GUI: window open to grid filled", False, "gui_open(db)"),
    ("culler groups --json", True, "cli('groups', '--json')"),
    ("culler cull --dry-run (whole archive)", True, "cli('cull', '--dry-run')"),
    ("GUI: re-sort / filter the open window", False, "gui_resort(db)"),
]

CHILD = r"""
import json, os, resource, sys, time
db = sys.argv[1]
T0 = resource.getrusage(resource.RUSAGE_SELF)

def cli(*args):
    from culler.cli import cli as command
    with open(os.devnull, "w") as sink:
        old, sys.stdout = sys.stdout, sink
        try:
            command.main([*args, "--db", db], standalone_mode=False)
        finally:
            sys.stdout = old

def _window():
    # The real main window, 1400 x 900, offscreen unless a display is set, with its own settings file.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from pathlib import Path
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication([])
    from culler.gui.main_window import MainWindow
    settings = QSettings(str(Path(os.environ["BENCH_TMP"]) / "bench.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)
    window.resize(1400, 900)
    window.show()
    return app, window

def gui_open(db):
    from pathlib import Path
    app, window = _window()
    app.processEvents()
    start = time.perf_counter()
    window.open_catalog(Path(db))
    while window.proxy.rowCount() == 0:
        app.processEvents()
        if time.perf_counter() - start > 300:
            raise TimeoutError("the grid was not filled")
    app.processEvents()
    window.grid.viewport().repaint()  # the first screenful of cells, painted
    print("OPEN_S", time.perf_counter() - start, window.model.rowCount(), file=sys.stderr)
    window.close()

def gui_resort(db):
    # Open the window, then time each re-sort or filter until its first screenful is painted.
    from pathlib import Path
    app, window = _window()
    window.open_catalog(Path(db))
    app.processEvents()
    bar = window.filter_bar
    steps = [
        ("score technical", lambda: bar.use_sort("score:technical"), window._sort_changed),
        ("stars", lambda: bar.use_sort("stars"), window._sort_changed),
        ("capture time", lambda: bar.use_sort("taken"), window._sort_changed),
        ("picks only", lambda: bar.decision.blockSignals(True) or bar.decision.setCurrentIndex(1),
         window._filters_changed),
    ]
    for name, choose, apply in steps:
        choose()
        start = time.perf_counter()
        apply()
        while window.proxy.rowCount() == 0:
            app.processEvents()
        app.processEvents()
        window.grid.viewport().repaint()
        print("RESORT", time.perf_counter() - start, name.replace(" ", "_"), file=sys.stderr)
    window.close()

exec(compile(sys.argv[2], "op", "exec"))
r = resource.getrusage(resource.RUSAGE_SELF)
# VmHWM: this process's own peak (ru_maxrss carries the parent's peak over fork and exec).
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print("RESULT " + json.dumps({
    "cpu": (r.ru_utime - T0.ru_utime) + (r.ru_stime - T0.ru_stime),
    "rss_mb": hwm / 1024,
}))
"""


def group_copy(ungrouped: Path, path: Path) -> None:
    """The grouped catalog made from the cached ungrouped one: the same rows, then a full grouping
    (what :func:`build` does after its inserts), with its CPU seconds and peak memory."""
    import resource

    from culler.catalog import open_catalog
    from culler.decide.cull import update_groups

    tmp = path.with_suffix(".building")
    shutil.copyfile(ungrouped, tmp)
    t0, r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    catalog = open_catalog(tmp)
    update_groups(catalog, full=True)
    catalog.close()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    print(
        f"  full grouping: {time.perf_counter() - t0:.0f} s wall, {cpu:.0f} s CPU, peak RSS "
        f"{r1.ru_maxrss / 1024:.0f} MB (the build process)",
        file=sys.stderr,
    )
    tmp.rename(path)


def build(path: Path, n: int, grouped: bool) -> None:
    ungrouped = path.with_name(f"archive-{n}-ungrouped.db")
    if grouped and ungrouped.exists():
        group_copy(ungrouped, path)
        return
    sys.path.insert(0, str(HERE))
    from grouping_scale import build_rows, insert

    from culler.catalog import open_catalog
    from culler.decide.cull import update_groups

    t0 = time.perf_counter()
    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    catalog = open_catalog(tmp)
    technical = catalog.scorer_pk("technical", "1.0")
    clip = catalog.scorer_pk("clip", "1.0")
    batch = 100_000
    rows, _planted, _bases = build_rows(n, min(500, n // 200))
    print(f"  rows built in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    for first in range(0, len(rows), batch):
        insert(catalog, rows[first : first + batch])
        ids = range(first + 1, min(len(rows), first + batch) + 1)
        with catalog.transaction() as conn:
            conn.executemany(
                "INSERT INTO scores (photo_id, scorer_pk, score, created) VALUES (?, ?, ?, 't')",
                [(i, technical, (i * 7919 % 1000) / 100) for i in ids],
            )
            conn.executemany(
                "INSERT INTO scores (photo_id, scorer_pk, score, created) VALUES (?, ?, ?, 't')",
                [(i, clip, (i * 104729 % 1000) / 1000) for i in ids],
            )
            conn.executemany(
                "INSERT INTO tags VALUES (?, ?, 'awe', 0.8)", [(i, clip) for i in ids if i % 3 == 0]
            )
            conn.executemany(
                "INSERT INTO ratings (photo_id, stars, decision, source, at)"
                " VALUES (?, 3, 'pick', 'gui', 't')",
                [(i,) for i in ids if i % 2 == 0],
            )
        print(f"  inserted {min(len(rows), first + batch):,}", file=sys.stderr)
    del rows
    if grouped:
        update_groups(catalog, full=True)
        print(f"  grouped ({time.perf_counter() - t0:.0f} s so far)", file=sys.stderr)
    catalog.close()
    tmp.rename(path)
    print(f"built {n:,} photos in {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def run_op(db: Path, code: str, workdir: Path) -> dict:
    import resource

    env = {**os.environ, "BENCH_TMP": str(workdir), "CULLER_LOAD_PLUGINS": "grouping"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed culler has its bytecode cached
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(db), code],
        capture_output=True,
        text=True,
        env=env,
        cwd=workdir,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    result = json.loads(lines[-1][7:]) | {"wall": wall, "process": process}
    for line in proc.stderr.splitlines():
        if line.startswith("RESORT "):
            _, seconds, name = line.split()
            result.setdefault("resorts", []).append((name.replace("_", " "), float(seconds)))
        if line.startswith("OPEN_S "):
            result["open_s"] = float(line.split()[1])
            result["rows"] = int(line.split()[2])
    return result


def catalog_bytes(db: Path, n: int) -> str:
    import sqlite3

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    sig, extra = conn.execute(
        "SELECT (SELECT AVG(LENGTH(signature)) FROM photos),"
        " (SELECT AVG(LENGTH(extra)) FROM scores)"
    ).fetchone()
    conn.close()
    return (
        f"{db.stat().st_size / n:,.0f} B/photo (signature {sig or 0:,.0f} B,"
        f" score extra {extra or 0:,.0f} B)"
    )


def fmt(result: dict | None) -> str:
    if result is None:
        return "—"
    if "error" in result:
        return f"failed: {result['error'][:60]}"
    main = f"{result['cpu']:.2f} s CPU, {result['rss_mb']:.0f} MB"
    if "process" in result:  # the whole process: interpreter start and imports included
        main += f" (process {result['process']:.2f} s)"
    if "open_s" in result:
        main = f"{result['open_s']:.2f} s to grid, " + main
    if "resorts" in result:
        main = ", ".join(f"{name} {secs:.2f} s" for name, secs in result["resorts"]) + "; " + main
    return main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="+", help="photo counts; a size may end in ':ungrouped'")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/culler-archive"))
    parser.add_argument("--only", default="", help="comma-separated operation numbers (1-based)")
    parser.add_argument(
        "--skip-heavy",
        action="store_true",
        help="skip the whole-archive reads that hold every photo (list --json, cull --dry-run)",
    )
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    import compileall

    for package in ("culler", "culler_plugins"):  # bytecode cached, as an installed culler has it
        compileall.compile_dir(os.path.dirname(__import__(package).__file__), quiet=1, force=False)
    chosen = {int(x) for x in args.only.split(",") if x}
    table: dict[str, dict[int, dict | None]] = {name: {} for name, _, _ in OPERATIONS}
    sizes = []
    for spec in args.sizes:
        text, _, flag = spec.partition(":")
        n, grouped = int(text), flag != "ungrouped"
        sizes.append(n)
        db = args.cache / f"archive-{n}{'' if grouped else '-ungrouped'}.db"
        if not db.exists():
            build(db, n, grouped)
        print(f"catalog {n:,}: {catalog_bytes(db, n)}")
        work = args.cache / f"work-{n}"
        work.mkdir(exist_ok=True)
        for number, (name, needs_groups, code) in enumerate(OPERATIONS, 1):
            if (chosen and number not in chosen) or (needs_groups and not grouped):
                table[name][n] = None
                continue
            if args.skip_heavy and ("every photo" in name or "whole archive" in name):
                table[name][n] = None
                continue
            target = db
            if "incremental" in name:
                target = work / "copy.db"
                shutil.copyfile(db, target)
            result = run_op(target, code, work)
            table[name][n] = result
            print(f"  {n:>9,}  {name}: {fmt(result)}  ({result.get('wall', 0):.1f} s wall)")
            if target != db:
                target.unlink()
    print()
    print("| operation | " + " | ".join(f"{n:,} photos" for n in sizes) + " | growth |")
    print("|---|" + "---|" * len(sizes) + "---|")
    for name, cells in table.items():
        growth = ""
        done = [cells.get(n) for n in sizes]
        if len(done) >= 2 and all(c and "cpu" in c for c in done[:1] + done[-1:]):
            first, last = done[0], done[-1]
            key = "open_s" if "open_s" in first else "cpu"
            growth = f"×{last[key] / max(first[key], 1e-3):.1f}"
        print(f"| {name} | " + " | ".join(fmt(c) for c in done) + f" | {growth} |")


if __name__ == "__main__":
    main()
