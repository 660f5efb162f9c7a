"""Upgrading a catalog an earlier culler wrote to the compact photo rows, grouping facts and search
documents (issue #32, the catalog's size): how long each step takes and what each part weighs.

Give it a catalog written by a culler from before migrations ``018_compact_photo_rows_and_grouping_facts``
and ``020_search_documents_from_photo_rows`` (it is copied, never changed), for instance the one
``benchmarks/archive_scale.py`` builds when run from a checkout of that earlier version::

    git archive 6b45b43 | tar -x -C /tmp/culler-before
    (cd /tmp/culler-before && PYTHONPATH=. python benchmarks/archive_scale.py 100000 --only 1 \\
        --cache /tmp/archive-before)
    python benchmarks/photo_rows_upgrade.py /tmp/archive-before/archive-100000.db

It prints the schema steps' time (one transaction: 019 copies the search documents' parts and
drops their table), each data upgrade's time (batches of 5,000 rows with a progress bar, resumable),
the space reclaim's ``VACUUM``, and bytes a photo before and after, part by part (``dbstat``).
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

PARTS = (
    "photos",
    "grouping_state",
    "photo_search",
    "photo_search_parts",
    "photo_search_fts_data",
    "photo_search_fts_docsize",
)


def parts(path: Path) -> tuple[int, int, dict[str, float]]:
    """(photos, file bytes, {part: bytes a photo}) of a catalog."""
    conn = sqlite3.connect(path)
    try:
        (photos,) = conn.execute("SELECT COUNT(*) FROM photos").fetchone()
        sizes = dict(conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"))
    finally:
        conn.close()
    return photos, path.stat().st_size, {k: v / photos for k, v in sizes.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("catalog", type=Path, help="a catalog an earlier culler wrote (copied)")
    parser.add_argument("--work", type=Path, help="folder for the copy (default: a temporary one)")
    args = parser.parse_args()
    from culler.catalog import open_catalog

    work = Path(args.work or tempfile.mkdtemp(prefix="culler-upgrade-"))
    work.mkdir(parents=True, exist_ok=True)
    path = work / "catalog.db"
    for suffix in ("", "-wal", "-shm"):
        source = Path(str(args.catalog) + suffix)
        if source.exists():
            shutil.copyfile(source, str(path) + suffix)
    photos, before_size, before = parts(path)
    print(f"{photos:,} photos, {before_size / photos:,.0f} B/photo before the upgrade")

    catalog = open_catalog(path, create=False, migrate=False)
    started = time.perf_counter()
    applied = catalog.migrate()
    print(f"schema steps ({', '.join(applied) or 'none'}): {time.perf_counter() - started:.2f} s")
    steps: dict[str, list[float]] = {}

    def progress(what: str, done: int, total: int) -> None:
        now = time.perf_counter()
        times = steps.setdefault(what, [now, now, total])
        times[1] = now

    started = time.perf_counter()
    catalog.upgrade_data(progress)
    for what, (first, last, total) in steps.items():
        print(f"  {what}: {total:,} rows, {last - first:.2f} s")
    print(f"data upgrades and space reclaim: {time.perf_counter() - started:.2f} s")
    catalog.close()

    _, after_size, after = parts(path)
    print(f"{after_size / photos:,.0f} B/photo after (was {before_size / photos:,.0f})")
    for name in PARTS:
        print(f"    {name}: {before.get(name, 0):,.0f} -> {after.get(name, 0):,.0f} B/photo")
    if args.work is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
