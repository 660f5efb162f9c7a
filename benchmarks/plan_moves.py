"""What looking for move sources and alias rows across the whole catalog costs the scan planner.

A catalog of ``--rows`` photos in folders of 100 (real small files on disk, so the planner's
``realpath`` and folder listings are real syscalls), then three plans: a rescan of one folder of the
catalog (nothing changed), a scan of a new folder of photos the catalog has never seen, and a scan of
a renamed folder (every photo a move found among vanished rows outside the scanned root). Content
hashes come from a table: this measures planning, not reading files.

Usage: python benchmarks/plan_moves.py [--rows 50000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from culler.catalog.scanning import PhotoState
from culler.scan.discover import walk_photos
from culler.scan.plan import plan_scan

PER_FOLDER = 100


def build(base: Path, rows: int) -> dict[str, PhotoState]:
    known = {}
    for i in range(rows):
        folder = base / "library" / f"shoot-{i // PER_FOLDER:04d}"
        if i % PER_FOLDER == 0:
            folder.mkdir(parents=True)
        path = folder / f"IMG_{i:06d}.jpg"
        path.write_bytes(b"x" * (1000 + i))
        st = path.stat()
        known[str(path)] = PhotoState(i + 1, st.st_size, st.st_mtime_ns, "ok", f"hash-{i}")
    return known


def timed(label: str, known, root: Path, hashes: dict[str, str]) -> None:
    found = list(walk_photos([root]))
    started = time.perf_counter()
    plan = plan_scan(known, found, [root], [], content_hash=lambda p: hashes.get(p))
    seconds = time.perf_counter() - started
    print(
        f"{label:<34} {len(found):>5} files  {seconds * 1000:8.1f} ms  "
        f"new {plan.new:>4}  moved {len(plan.moves):>4}  missing {len(plan.missing):>4}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    rows = parser.parse_args().rows
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        known = build(base, rows)
        print(f"catalog: {rows} rows in {rows // PER_FOLDER} folders")
        first = base / "library" / "shoot-0000"
        timed("rescan of one folder (unchanged)", known, first, {})
        fresh = base / "card"
        fresh.mkdir()
        for i in range(PER_FOLDER):
            (fresh / f"NEW_{i:03d}.jpg").write_bytes(b"y" * (1000 + i))  # sizes of catalogued rows
        timed("new folder, sizes like old rows", known, fresh, {})
        renamed = base / "library" / "shoot-0001-renamed"
        os.rename(base / "library" / "shoot-0001", renamed)
        hashes = {
            str(renamed / Path(p).name): s.content_hash
            for p, s in known.items()
            if Path(p).parent.name == "shoot-0001"
        }
        timed("renamed folder (moves elsewhere)", known, renamed, hashes)


if __name__ == "__main__":
    main()
