"""The ``photos`` table made again in its compact form (issue #32, ``023_compact_photo_table``,
culler.catalog.photo_table): what the whole step costs on an existing catalog, and what it keeps.

    python benchmarks/photo_table_rebuild.py CATALOG --work DIR

Copies CATALOG into DIR (never writes CATALOG), opens the copy once in a child process to run every
other pending upgrade with the rebuild held back (then VACUUM and the WAL emptied, so the figures
are the rebuild's own), then, in a fresh child process, runs the rebuild
alone and prints its wall and CPU seconds, the process's peak memory, the write-ahead log's size
when the step committed, the photo table's and the file's bytes a photo before and after (after
the space reclaim's ``VACUUM``, timed apart), and whether photo ids, ratings, scores, tags, groups,
capture files, the foreign keys and the file's integrity are as they were. DIR is left holding the
copy (delete it afterwards: about the size of CATALOG, plus its WAL while the step runs).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

HOLD_BACK = r"""
import sys
from culler.catalog import open_catalog, photo_table, upgrades
step = upgrades.WHOLE_STEPS[photo_table.STEP]
run = upgrades.UpgradesMixin._run_whole_step
def held(self, s, total, progress):
    if s is not step:
        run(self, s, total, progress)
upgrades.UpgradesMixin._run_whole_step = held
open_catalog(sys.argv[1], create=False, progress=lambda *a: None).close()
# The other upgrades' space given back (as the reclaim would after them) and the log emptied, so
# "before" is a compact catalog and the log's size afterwards is the rebuild's own.
import sqlite3
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
upgrades.vacuum(conn)
conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
conn.close()
"""

REBUILD = r"""
import json, os, resource, sys, time
from culler.catalog import open_catalog, photo_table, upgrades
path = sys.argv[1]
stages = {}
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
def progress(what, done, total):
    s = stages.setdefault(what, {"start": time.perf_counter(), "cpu0": cpu(), "rows": total})
    if done >= total and "wall" not in s:
        s["wall"] = time.perf_counter() - s["start"]
        s["cpu"] = cpu() - s["cpu0"]
        wal = path + "-wal"
        s["wal_mb"] = os.path.getsize(wal) / 2**20 if os.path.exists(wal) else 0.0
        s["rss_mb"] = next(
            int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")
        ) / 1024
open_catalog(path, create=False, progress=progress).close()
print("RESULT " + json.dumps(stages))
"""

#: What must be the same before and after: each query's rows, digested.
KEPT = {
    "photo ids": "SELECT id FROM photos ORDER BY id",
    "paths": "SELECT id, path FROM photos ORDER BY id",
    "ratings": "SELECT * FROM ratings ORDER BY id",
    "scores": "SELECT photo_id, scorer_pk, score, extra, reasons, created FROM scores"
    " ORDER BY photo_id, scorer_pk",
    "tags": "SELECT * FROM tags ORDER BY 1, 2, 3",
    "groups": "SELECT group_id, photo_id, rank FROM group_members ORDER BY 1, 2",
    "capture files": "SELECT path, photo_id FROM photo_files ORDER BY 1",
}


def digests(db: Path) -> dict[str, str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        out = {}
        for name, sql in KEPT.items():
            digest = hashlib.sha256()
            for row in conn.execute(sql):
                digest.update(repr(row).encode())
            out[name] = digest.hexdigest()
        return out
    finally:
        conn.close()


def sizes(db: Path) -> tuple[int, float, float, list[tuple[str, float]]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        (n,) = conn.execute("SELECT COUNT(*) FROM photos").fetchone()
        parts = conn.execute(
            "SELECT name, SUM(pgsize) * 1.0 / ? FROM dbstat WHERE name LIKE '%photos%'"
            " GROUP BY name ORDER BY 2 DESC",
            [n],
        ).fetchall()
        (total,) = conn.execute(
            "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size"
        ).fetchone()
        return n, total / n, sum(p for _, p in parts), parts
    finally:
        conn.close()


def child(script: str, db: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", script, str(db)],
        capture_output=True,
        text=True,
        env={**os.environ, "CULLER_LOAD_PLUGINS": "grouping"},
    )
    if proc.returncode:
        sys.exit(f"failed: {proc.stderr.strip().splitlines()[-3:]}")
    return proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("catalog", type=Path)
    parser.add_argument("--work", type=Path, required=True, help="a folder for the copy")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    db = args.work / "catalog.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(args.catalog, db)
    child(HOLD_BACK, db)  # every other upgrade, and the table still as it was
    n, before, photo_parts, parts = sizes(db)
    kept = digests(db)
    print(
        f"{n:,} photos; before: {before:,.0f} B/photo, photo table and its indexes {photo_parts:,.0f}"
    )
    print("  " + ", ".join(f"{name} {size:,.0f}" for name, size in parts))
    out = [ln for ln in child(REBUILD, db).splitlines() if ln.startswith("RESULT ")]
    stages = json.loads(out[-1][7:])
    for what, s in stages.items():
        extra = f", WAL {s['wal_mb']:,.0f} MB" if "VACUUM" not in what else ""
        print(
            f"  {what} ({s['rows']:,} rows): {s['wall']:.1f} s wall, {s['cpu']:.1f} s CPU,"
            f" peak {s['rss_mb']:,.0f} MB so far{extra}"
        )
    n, after, photo_parts, parts = sizes(db)
    print(f"after: {after:,.0f} B/photo, photo table and its indexes {photo_parts:,.0f}")
    print("  " + ", ".join(f"{name} {size:,.0f}" for name, size in parts))
    now = digests(db)
    for name in KEPT:
        print(f"  {name} as they were: {now[name] == kept[name]}")
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        print(f"  foreign keys: {len(conn.execute('PRAGMA foreign_key_check').fetchall())} broken")
        print(f"  integrity: {conn.execute('PRAGMA integrity_check').fetchone()[0]}")
    finally:
        conn.close()


if __name__ == "__main__":
    main()
