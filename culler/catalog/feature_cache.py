"""A small SQLite file of feature vectors by sample key, for training sets that are not in a catalog
(AVA, BAID, a folder with a CSV). Catalog photos use the catalog's ``embeddings`` table instead."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from culler.catalog.chunks import in_clauses


class FeatureCache:
    """Vectors of one backbone (``model``) by sample key, in the SQLite file at ``path``."""

    def __init__(self, path: Path, model: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(path))
        self.model = model
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS features (model TEXT, key TEXT, dim INTEGER, vector BLOB,"
            " PRIMARY KEY (model, key))"
        )

    def get(self, keys: list[str]) -> dict[str, np.ndarray]:
        found = {}
        for where, chunk in in_clauses("AND key", keys):
            for key, dim, blob in self.conn.execute(
                f"SELECT key, dim, vector FROM features WHERE model = ? {where}",
                [self.model, *chunk],
            ):
                found[key] = np.frombuffer(blob, dtype=np.float32, count=dim)
        return found

    def put(self, items: dict[str, np.ndarray]) -> None:
        with self.conn:
            self.conn.executemany(
                "INSERT OR REPLACE INTO features VALUES (?, ?, ?, ?)",
                [
                    (self.model, k, int(v.shape[0]), np.ascontiguousarray(v, np.float32).tobytes())
                    for k, v in items.items()
                ],
            )

    def close(self) -> None:
        self.conn.close()
