"""Personal rankers (culler.decide.ranker) and the photo facts they learn from."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from culler.catalog.chunks import in_clauses
from culler.catalog.timestamps import now


class RankersMixin:
    """Ranker-side methods of :class:`culler.catalog.Catalog`."""

    conn: sqlite3.Connection

    def save_ranker(self, model: dict[str, Any], evaluation: dict[str, Any], beats: bool) -> int:
        """Store a learned ranker as the active one (older ones stay, inactive); returns its id."""
        with self.transaction() as conn:
            conn.execute("UPDATE personal_rankers SET active = 0 WHERE active = 1")
            return conn.execute(
                "INSERT INTO personal_rankers (created, model, evaluation, beats_default, active)"
                " VALUES (?, ?, ?, ?, 1)",
                [now(), json.dumps(model), json.dumps(evaluation), int(beats)],
            ).lastrowid

    def active_ranker(self) -> dict[str, Any] | None:
        """The active ranker row (model and evaluation parsed), or None."""
        rows = self.query(
            "SELECT * FROM personal_rankers WHERE active = 1 ORDER BY id DESC LIMIT 1"
        )
        if not rows:
            return None
        row = rows[0]
        row["model"] = json.loads(row["model"])
        row["evaluation"] = json.loads(row["evaluation"])
        row["beats_default"] = bool(row["beats_default"])
        return row

    def photo_facts(self, photo_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """{photo id: capture facts and the stored signature}: what a ranker reads besides scores."""
        sql = "SELECT id, width, height, taken_at, camera, lens, signature FROM photos {where}"
        result: dict[int, dict[str, Any]] = {}
        for where, params in in_clauses("WHERE id", list(photo_ids)):
            for row in self.query(sql.format(where=where), params):
                result[row.pop("id")] = row
        return result
