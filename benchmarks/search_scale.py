"""Full-text search on a large catalog (issue 27): the first page of `culler list --search` in time.

Builds a catalog of N photos once (cached; default 1,000,000) the way an archive looks — twenty years of
dated event folders of about 400 frames, two cameras, a scorer's tags on every third photo, a hand
rating on every second and a colour label on every tenth — through the real schema and triggers, so
building it also measures what the index costs the writers. Then times, each in a fresh process:

* ``search_photo_ids(TEXT, limit=50)``, ``list_photos(search=TEXT, limit=50)`` (the first page, newest
  first) and the same page sorted by path, for
  a rare term (one frame number), a folder word (one event), a camera (half the archive), a tag and a
  colour label;
* the whole ``culler list --search TEXT --limit 50 --json`` command (process start included).

    python benchmarks/search_scale.py [N] [--cache DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

QUERIES = (
    ("one frame number", "IMG_4711 2019"),
    ("one event folder", "2016-05-21"),
    ("a camera (half)", "canon"),
    ("a scorer tag (1/3)", "awe"),
    ("a colour label (1/10)", "red"),
    ("two words, rare", "wedding 0042"),
)


def build(path: Path, n: int) -> float:
    from culler.catalog import open_catalog

    start = time.perf_counter()
    catalog = open_catalog(path)
    pk = catalog.scorer_pk("emotion", "1.0")
    events = ("wedding", "portraits", "birthday", "street", "concert", "family")
    batch = 50_000
    for first in range(0, n, batch):
        photos, tags, ratings = [], [], []
        for i in range(first, min(n, first + batch)):
            year = 2006 + (i // 50_000) % 20
            event = i // 400
            day = f"{year}-{1 + event % 12:02d}-{1 + event % 28:02d}"
            folder = f"/archive/{year}/{day} {events[event % len(events)]}"
            camera = "Canon EOS R5" if i % 2 else "NIKON Z 9"
            photos.append(
                (i + 1, f"{folder}/IMG_{i % 10_000:04d}.jpg", folder, 5_000_000 + i, camera)
            )
            if i % 3 == 0:
                tags += [(i + 1, pk, "awe", 0.9), (i + 1, pk, "calm", 0.3)]
            if i % 2 == 0:
                label = "Red" if i % 10 == 0 else None
                ratings.append((i + 1, 3, "pick", label))
        with catalog.transaction() as conn:
            conn.executemany(
                "INSERT INTO photos (id, path, root, size, camera, status, first_seen, last_seen)"
                " VALUES (?, ?, ?, ?, ?, 'ok', 't', 't')",
                photos,
            )
            conn.executemany("INSERT INTO tags VALUES (?, ?, ?, ?)", tags)
            conn.executemany(
                "INSERT INTO ratings (photo_id, stars, decision, label, source, at)"
                " VALUES (?, ?, ?, ?, 'gui', 't')",
                ratings,
            )
        print(f"  built {min(n, first + batch):,} photos", file=sys.stderr)
    catalog.close()
    return time.perf_counter() - start


CHILD = """
import sys, time
t0 = time.perf_counter()
from culler.catalog import open_catalog
from culler.catalog.queries import list_photos
catalog = open_catalog(sys.argv[1], create=False)
t1 = time.perf_counter()
ids = catalog.search_photo_ids(sys.argv[2], limit=50)
t2 = time.perf_counter()
rows = list_photos(catalog, search=sys.argv[2], limit=50)
t3 = time.perf_counter()
list_photos(catalog, search=sys.argv[2], limit=50, sort_by="path")
t4 = time.perf_counter()
print(len(ids), len(rows), f"{t2 - t1:.4f}", f"{t3 - t2:.4f}", f"{t4 - t3:.4f}")
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/culler-bench"))
    args = parser.parse_args()
    os.environ.setdefault("CULLER_LOAD_PLUGINS", "grouping")
    args.cache.mkdir(parents=True, exist_ok=True)
    path = args.cache / f"search-{args.n}.db"
    if not path.exists():
        seconds = build(path, args.n)
        print(
            f"built {args.n:,} photos in {seconds:.1f} s ({seconds / args.n * 1e6:.0f} µs a photo,"
            " index triggers included)"
        )
    size = path.stat().st_size
    print(f"catalog {size / 1e6:.0f} MB ({size / args.n:.0f} bytes a photo)")
    print(
        f"{'query':24s} {'text':16s} {'ids':>4s} {'rows':>4s} {'ids s':>7s} {'page s':>7s}"
        f" {'by path':>7s} {'CLI s':>6s}"
    )
    for label, text in QUERIES:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(path), text],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "culler",
                "list",
                "--db",
                str(path),
                "--search",
                text,
                "--limit",
                "50",
                "--json",
            ],
            capture_output=True,
            check=True,
        )
        cli = time.perf_counter() - start
        print(
            f"{label:24s} {text:16s} {out[0]:>4s} {out[1]:>4s} {float(out[2]):7.3f} "
            f"{float(out[3]):7.3f} {float(out[4]):7.3f} {cli:6.2f}"
        )


if __name__ == "__main__":
    main()
