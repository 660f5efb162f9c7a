"""Which embedding model grouping compares by, on a catalog with an embedding for every photo (issue #32).

Every incremental grouping asks the catalog for the model with the most cached embeddings. A real
archive caches a CLIP embedding for every photo, so that question was a ``GROUP BY`` over every
embedding; migration ``015_embedding_model_counts`` keeps per-model counts with triggers. This
builds a catalog of N photos with one small embedding each (through the catalog's own schema, so
the triggers count them as a scan's writes are counted), then times, in CPU seconds (best of 3), the
``GROUP BY`` the catalog used to run and ``Catalog.default_embedding_model`` as it reads now, and
the cost of the triggers on the inserts (the same inserts with the counting triggers dropped).

    python benchmarks/embedding_model_count.py [--photos 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
from pathlib import Path

from culler.catalog import open_catalog

GROUP_BY = "SELECT model FROM embeddings GROUP BY model ORDER BY COUNT(*) DESC, model LIMIT 1"
TRIGGERS = ("replaced", "added", "deleted", "moved")


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def best(fn, times: int = 3) -> tuple[float, object]:
    found, result = float("inf"), None
    for _ in range(times):
        t0 = cpu()
        result = fn()
        found = min(found, cpu() - t0)
    return found, result


def build(path: Path, n: int, counted: bool) -> float:
    """CPU seconds to insert ``n`` photos' embeddings (photos inserted first, not timed)."""
    catalog = open_catalog(path)
    batch = 100_000
    for first in range(0, n, batch):
        ids = range(first + 1, min(n, first + batch) + 1)
        catalog.insert_signed_photos((f"/p/{i}.jpg", "/p", None, "", f"h{i}", None) for i in ids)
    with catalog.transaction() as conn:
        conn.execute("DELETE FROM grouping_log")
        if not counted:
            for name in TRIGGERS:
                conn.execute(f"DROP TRIGGER embedding_model_{name}")
    vector = bytes(8)  # two float32 zeros: the counts and the GROUP BY read no vector
    t0 = cpu()
    for first in range(0, n, batch):
        ids = range(first + 1, min(n, first + batch) + 1)
        with catalog.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO embeddings (photo_id, model, dim, vector, created)"
                " VALUES (?, 'clip:ViT-B-32', 2, ?, 't')",
                [(i, vector) for i in ids],
            )
    spent = cpu() - t0
    catalog.close()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="folder to build the catalogs in (kept)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="culler-embeddings-"))
    folder.mkdir(parents=True, exist_ok=True)
    counted = build(folder / "counted.db", args.photos, counted=True)
    plain = build(folder / "plain.db", args.photos, counted=False)
    catalog = open_catalog(folder / "counted.db")
    group_by, model = best(lambda: catalog.execute(GROUP_BY).fetchone()[0])
    now, read = best(catalog.default_embedding_model)
    assert model == read, (model, read)
    catalog.close()
    print(f"{args.photos:,} photos, one embedding each (model {model})")
    print(f"  GROUP BY over every embedding (before): {group_by:.3f} s CPU")
    print(f"  default_embedding_model (the counts):   {now * 1000:.3f} ms CPU")
    print(
        f"  inserting the embeddings: {counted:.2f} s with the counting triggers,"
        f" {plain:.2f} s without"
    )
    if args.keep is None:
        for db in folder.glob("*.db*"):
            db.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
