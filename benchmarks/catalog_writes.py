"""Bulk writes: hand-written executemany against sqlite-utils' insert_all/upsert_all (issue 27).

Writes N score rows and N×K tag rows the way a scan stores them, in one transaction per batch of 32
photos (as the scan commits), into a fresh catalog each time, and prints rows/s for both ways. The
catalog keeps executemany where sqlite-utils is measurably slower on a path users wait for.

    python benchmarks/catalog_writes.py [N]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from culler.catalog import open_catalog


def rows(n: int, pk: int):
    scores = [
        {
            "photo_id": i,
            "scorer_pk": pk,
            "score": 5.0,
            "distribution": None,
            "extra": json.dumps({"sharpness": 0.5}),
            "reasons": "[]",
            "created": "t",
        }
        for i in range(1, n + 1)
    ]
    tags = [
        {"photo_id": i, "scorer_pk": pk, "tag": f"tag{k}", "probability": 0.1 * k}
        for i in range(1, n + 1)
        for k in range(8)
    ]
    return scores, tags


def run(way: str, n: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        catalog = open_catalog(Path(tmp) / "culler.db")
        with catalog.transaction() as conn:
            conn.executemany(
                "INSERT INTO photos (id, path, status, first_seen, last_seen) VALUES (?, ?, 'ok', 't', 't')",
                [(i, f"/p/{i}.jpg") for i in range(1, n + 1)],
            )
        pk = catalog.scorer_pk("technical", "1")
        scores, tags = rows(n, pk)
        start = time.perf_counter()
        for at in range(0, n, 32):
            batch = scores[at : at + 32]
            ids = {r["photo_id"] for r in batch}
            batch_tags = [t for t in tags[at * 8 : (at + 32) * 8] if t["photo_id"] in ids]
            with catalog.transaction() as conn:
                if way == "executemany":
                    conn.executemany(
                        "INSERT OR REPLACE INTO scores VALUES (:photo_id, :scorer_pk, :score,"
                        " :distribution, :extra, :reasons, :created)",
                        batch,
                    )
                    conn.executemany(
                        "INSERT INTO tags VALUES (:photo_id, :scorer_pk, :tag, :probability)",
                        batch_tags,
                    )
                else:
                    catalog.db["scores"].insert_all(batch, replace=True)
                    catalog.db["tags"].insert_all(batch_tags)
        elapsed = time.perf_counter() - start
        catalog.close()
        return elapsed


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    for way in ("executemany", "sqlite-utils", "executemany", "sqlite-utils"):
        elapsed = run(way, n)
        print(f"{way:13s} {n} photos, {n * 9} rows: {elapsed:.2f} s, {n * 9 / elapsed:,.0f} rows/s")


if __name__ == "__main__":
    main()
