"""The catalog's bulk reads on a synthetic N-photo catalog (no files, no scan): what opening the GUI
grid and ``culler list --sort`` cost once the photos are scanned.

Rows are inserted directly (two scorers' scores for every photo, a tag on every third, a rating on every
second), then each read is timed as the best of ``--repeat`` runs:

* ``Catalog.current_scores`` / ``tag_maxima`` / ``current_ratings`` for the whole catalog (the grid);
* ``Catalog.decision_sources`` (who set each pick/reject: the grid's proposal badge) and
  ``hand_decided`` (what ``culler cull`` leaves alone), both replaying every rating event;
* ``Catalog.search_photo_ids`` (the search box);
* ``culler.gui.records.load_records`` (all six reads joined into grid records), when PySide6 is
  installed;
* ``culler.catalog.queries.list_photos(sort_by=...)`` (``culler list --sort technical``).

* ``list_photos(sort_by=..., limit=50)`` (``culler list --sort technical --limit 50``: one page,
  read down the score index).

Usage: python benchmarks/catalog_reads.py [--photos 50000] [--repeat 3] [--list-only]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from culler.catalog import Catalog, now, open_catalog


def fill(catalog: Catalog, count: int) -> None:
    stamp = now()
    rng = random.Random(0)
    pks = [catalog.scorer_pk("technical", "1"), catalog.scorer_pk("clip-aesthetic", "1")]
    # Direct inserts: the benchmark times reads, and the scan's writes are benchmarked elsewhere.
    with catalog.transaction() as conn:
        conn.executemany(
            "INSERT INTO photos (id, path, root, first_seen, last_seen) VALUES (?, ?, '/shoot', ?, ?)",
            [(i, f"/shoot/{i // 1000:03d}/{i:07d}.jpg", stamp, stamp) for i in range(1, count + 1)],
        )
        for pk in pks:
            conn.executemany(
                "INSERT INTO scores (photo_id, scorer_pk, score, created) VALUES (?, ?, ?, ?)",
                [(i, pk, rng.uniform(0, 10), stamp) for i in range(1, count + 1)],
            )
        conn.executemany(
            "INSERT INTO tags (photo_id, scorer_pk, tag, probability) VALUES (?, ?, 'awe', ?)",
            [(i, pks[1], rng.random()) for i in range(1, count + 1, 3)],
        )
        conn.executemany(
            "INSERT INTO ratings (photo_id, stars, decision, source, at) VALUES (?, ?, ?, 'gui', ?)",
            [(i, i % 6, "pick" if i % 4 else "reject", stamp) for i in range(1, count + 1, 2)],
        )


def best_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--list-only", action="store_true", help="time only culler list's reads")
    args = parser.parse_args()
    from culler.catalog.queries import list_photos

    with tempfile.TemporaryDirectory() as tmp, open_catalog(Path(tmp) / "culler.db") as catalog:
        fill(catalog, args.photos)
        reads = {
            "current_scores()": catalog.current_scores,
            "tag_maxima()": catalog.tag_maxima,
            "current_ratings()": catalog.current_ratings,
            "decision_sources() (who decided)": catalog.decision_sources,
            "hand_decided() (what cull leaves)": catalog.hand_decided,
            "decision_sources([id]) (after a key)": lambda: catalog.decision_sources([4053]),
            "search_photo_ids('0004053')": lambda: catalog.search_photo_ids("0004053"),
            "list_photos(sort_by='technical')": lambda: list_photos(catalog, sort_by="technical"),
            "list_photos(technical, limit=50)": lambda: list_photos(
                catalog, sort_by="technical", limit=50
            ),
        }
        if args.list_only:
            reads = {k: v for k, v in reads.items() if k.startswith("list_photos")}
        try:
            from culler.gui.records import load_records

            if not args.list_only:
                reads["gui load_records"] = lambda: load_records(catalog)
        except ImportError:
            pass
        print(f"{args.photos} photos, best of {args.repeat}:")
        for name, fn in reads.items():
            print(f"  {name:<36} {best_ms(fn, args.repeat):8.0f} ms")


if __name__ == "__main__":
    main()
