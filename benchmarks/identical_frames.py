"""Identical frames: does grouping grow no faster than n log n when every photo is the same picture?

Three catalogs of N frames of one real photo (scikit-image's ``astronaut``), for each N:

* ``copies``: N copies of one file in one folder, no capture time (same content hash, same signature:
  what ``cp img.jpg`` a thousand times gives);
* ``time-lapse``: N files of one static scene, a frame every 5 s from one camera (same signature,
  distinct content hashes);
* ``exports``: N untimed files of one scene in one folder with distinct content (a batch re-export).

For each it times, in CPU seconds, a full grouping (``compute_groups``, what a scan's regroup and
``cull --dry-run`` run), the archive-wide ``culler duplicates`` search (``find_duplicates``), and an
incremental regroup with nothing changed, then prints the growth from the smallest N (linear growth
from 1,000 to 10,000 is ×10; n log n ×13.3; quadratic ×100).

    python benchmarks/identical_frames.py [--sizes 1000 2000 10000] [--unbounded]

``--unbounded`` lifts the per-photo candidate bounds (what the code did before them), to compare;
keep its sizes small, it is quadratic.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import tempfile
import time
from pathlib import Path

from culler.catalog import open_catalog
from culler.decide import grouping
from culler.decide.grouping import GroupingRun, compute_groups, find_duplicates, write_groups
from culler.imaging import signatures
from culler.testing import sample_image

KINDS = ("copies", "time-lapse", "exports")


def rows_of(kind: str, n: int, signature: bytes) -> list[tuple]:
    start = dt.datetime(2024, 6, 1, 12, 0, 0)
    rows = []
    for k in range(n):
        if kind == "copies":
            rows.append((f"/shoot/copy{k}.jpg", "/shoot", None, "", "same", signature))
        elif kind == "time-lapse":
            taken = (start + dt.timedelta(seconds=5 * k)).isoformat()
            rows.append((f"/lapse/f{k}.jpg", "/lapse", taken, "cam", f"h{k}", signature))
        else:
            rows.append((f"/exports/e{k}.jpg", "/exports", None, "", f"h{k}", signature))
    return rows


def insert(catalog, rows: list[tuple]) -> None:
    catalog.insert_signed_photos(rows)


def cpu(fn):
    c0 = time.process_time()
    result = fn()
    return time.process_time() - c0, result


def measure(kind: str, n: int, signature: bytes) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        catalog = open_catalog(Path(tmp) / "culler.db")
        insert(catalog, rows_of(kind, n, signature))
        full_s, (groups, run) = cpu(lambda: compute_groups(catalog, full=True))
        duplicates = [g for g in groups if g.kind == "duplicate"]
        assert len(duplicates) == 1 and len(duplicates[0].members) == n or kind == "time-lapse", (
            f"{kind}: expected one group of {n}, got {[len(g.members) for g in duplicates]}"
        )
        dup_s, found = cpu(lambda: find_duplicates(catalog))
        assert len(found) == 1 and len(found[0]["members"]) == n, [len(g["members"]) for g in found]
        write_groups(catalog, groups, GroupingRun(run.facts, run.examined, run.changed))
        again_s, (regrouped, _) = cpu(lambda: compute_groups(catalog, full=False))
        same = sorted(map(sorted, (g.members for g in regrouped))) == sorted(
            map(sorted, (g.members for g in groups))
        )
        catalog.close()
    return {"full": full_s, "duplicates": dup_s, "no-op": again_s, "same": same}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 10000])
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--unbounded", action="store_true", help="lift the per-photo bounds")
    args = parser.parse_args()
    if args.unbounded:
        grouping.WINDOW_NEIGHBOURS = grouping.BUCKET_NEIGHBOURS = grouping.MAX_CANDIDATES = None
        grouping.MAX_BUCKET = 10**9
    signature = signatures.compute_bytes(sample_image("astronaut"))
    sizes = sorted(args.sizes)
    print(f"CPU seconds ({'unbounded' if args.unbounded else 'bounded'} candidate search)")
    print(
        f"{'frames':>14} {'n':>7} {'full grouping':>14} {'duplicates':>11} {'no-op regroup':>14}"
        f" {'no-op same':>10}"
    )
    for kind in args.kinds:
        times = {}
        for n in sizes:
            t = measure(kind, n, signature)
            times[n] = t
            print(
                f"{kind:>14} {n:>7} {t['full']:>14.2f} {t['duplicates']:>11.2f} {t['no-op']:>14.2f}"
                f" {str(t['same']):>10}"
            )
        lo, hi = sizes[0], sizes[-1]
        if hi > lo:
            ratio = hi / lo
            nlogn = ratio * math.log(hi) / math.log(lo)
            growth = "  ".join(
                f"{key} ×{times[hi][key] / max(times[lo][key], 1e-3):.1f}"
                for key in ("full", "duplicates", "no-op")
            )
            print(
                f"{'':>14} growth {lo}→{hi}: {growth}"
                f"  (linear ×{ratio:.0f}, n log n ×{nlogn:.1f}, quadratic ×{ratio**2:.0f})"
            )


if __name__ == "__main__":
    main()
