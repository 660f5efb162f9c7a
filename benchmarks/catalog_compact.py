"""The compact catalog (issue #32 goal 5): bytes per photo, and the in-place upgrade of a catalog an
earlier culler wrote.

1. Builds (once, cached) the catalog of ``benchmarks/archive_scale.py`` at N photos, ungrouped: the
   photo rows of ``benchmarks/grouping_scale.py`` (signatures of real photos), a technical and a clip
   score for each, a tag on every third and a hand rating on every second. Prints its bytes per
   photo and where they go (SQLite's ``dbstat``: each table and index).
2. Turns a copy into what an earlier culler left: version-1 signatures (1,105 bytes: the same hash
   and layout, the thumbnail in 8-bit grey), migration ``010_compact_signatures`` not applied, then
   ``VACUUM``. Prints its bytes per photo.
3. Opens that copy as a culler command does, in a fresh process (``open_catalog`` with a progress
   callback): the migration, the batched rewrite and the ``VACUUM`` that gives the space back, with
   wall and CPU seconds of each stage, peak memory, and the bytes per photo after. Every rating is
   checked to be as it was.

    python benchmarks/catalog_compact.py [--photos 100000] [--cache /tmp/culler-archive]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r"""
import json, resource, sys, time
from culler.catalog import open_catalog
stages, t0, c0 = {}, time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
def progress(what, done, total):
    s = stages.setdefault(what, {"start": time.perf_counter(), "cpu0": cpu(), "rows": total})
    if done >= total:
        s["wall"] = time.perf_counter() - s["start"]
        s["cpu"] = cpu() - s["cpu0"]
open_catalog(sys.argv[1], create=False, progress=progress).close()
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print("RESULT " + json.dumps({"wall": time.perf_counter() - t0, "cpu": cpu(), "rss_mb": hwm / 1024,
      "stages": {k: {"wall": v.get("wall"), "cpu": v.get("cpu"), "rows": v["rows"]}
                 for k, v in stages.items()}}))
"""


def breakdown(db: Path, n: int) -> str:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 8"
        ).fetchall()
        sig = conn.execute("SELECT AVG(LENGTH(signature)) FROM photos").fetchone()[0]
    finally:
        conn.close()
    parts = ", ".join(f"{name} {size / n:,.0f}" for name, size in rows)
    return (
        f"{db.stat().st_size / n:,.0f} B/photo (signature {sig:,.0f} B); "
        f"largest parts, B/photo: {parts}"
    )


def legacy_copy(db: Path, target: Path) -> None:
    """``db`` as an earlier culler would have left it: version-1 signatures, no compaction step."""
    import numpy as np

    from culler.imaging.signatures import Signature

    shutil.copyfile(db, target)
    conn = sqlite3.connect(target)
    last = 0
    while True:
        rows = conn.execute(
            "SELECT id, signature FROM photos WHERE id > ? AND signature IS NOT NULL"
            " ORDER BY id LIMIT 20000",
            [last],
        ).fetchall()
        if not rows:
            break
        updates = []
        for pid, blob in rows:
            s = Signature.from_bytes(blob)
            v1 = bytes([1]) + s.dct.astype(">u8").tobytes() + s.layout.tobytes()
            updates.append((v1 + s.thumb.astype(np.uint8).tobytes(), pid))
        conn.executemany("UPDATE photos SET signature = ? WHERE id = ?", updates)
        conn.commit()
        last = rows[-1][0]
    for table in ("_migrations", "_sqlite_migrations"):
        conn.execute(f"DELETE FROM {table} WHERE name LIKE '%010_compact_signatures'")
    conn.execute("DROP TABLE IF EXISTS _data_upgrades")
    conn.commit()
    conn.execute("VACUUM")
    conn.close()


def ratings(db: Path) -> str:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT photo_id, stars, decision FROM current_ratings ORDER BY 1")
        return str(hash(tuple(rows)))
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/culler-archive"))
    args = parser.parse_args()
    n = args.photos
    args.cache.mkdir(parents=True, exist_ok=True)
    db = args.cache / f"archive-{n}-ungrouped.db"
    if not db.exists():
        sys.path.insert(0, str(HERE))
        from archive_scale import build

        build(db, n, grouped=False)
    print(f"a catalog made by this version, {n:,} photos: {breakdown(db, n)}")
    old = args.cache / f"legacy-{n}.db"
    t0 = time.perf_counter()
    legacy_copy(db, old)
    print(f"the same as an earlier culler left it (made in {time.perf_counter() - t0:.0f} s):")
    print(f"  {breakdown(old, n)}")
    before = ratings(old)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(old)],
        capture_output=True,
        text=True,
        env={**os.environ, "CULLER_LOAD_PLUGINS": "grouping"},
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        print("upgrade failed:", proc.stderr.strip().splitlines()[-3:])
        return
    result = json.loads(lines[-1][7:])
    print(
        f"upgraded in place on open: {result['wall']:.1f} s wall, {result['cpu']:.1f} s CPU, "
        f"peak {result['rss_mb']:.0f} MB"
    )
    for what, stage in result["stages"].items():
        wall, cpu = stage["wall"] or 0.0, stage["cpu"] or 0.0
        rows = stage["rows"]
        per = f", {1e6 * wall / rows:,.0f} µs a photo" if rows > 1 else ""
        print(f"  {what}: {wall:.1f} s wall, {cpu:.1f} s CPU{per}")
    print(f"  after: {breakdown(old, n)}")
    print(f"  ratings as they were: {ratings(old) == before}")
    old.unlink()


if __name__ == "__main__":
    main()
