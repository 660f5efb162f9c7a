"""What the trainer reads and writes: scorer rows by id, training runs, embeddings it computed."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from culler.catalog.timestamps import now

if TYPE_CHECKING:  # numpy loads where a vector is read or written (`culler list` never does)
    import numpy as np


class TrainingMixin:
    """Trainer-side methods of :class:`culler.catalog.Catalog`."""

    conn: sqlite3.Connection

    def scorer_row(self, pk: int) -> dict[str, Any] | None:
        """Scorer row ``pk`` with its config parsed, or None."""
        rows = self.query("SELECT * FROM scorers WHERE id = ?", [pk])
        if not rows:
            return None
        row = rows[0]
        row["config"] = json.loads(row["config"] or "{}")
        return row

    def start_training_run(
        self, base_scorer_id: str, params: dict[str, Any], out_dir: str | Path
    ) -> int:
        run = {
            "base_scorer_id": base_scorer_id,
            "params": json.dumps(params),
            "started": now(),
            "status": "running",
            "out_dir": str(out_dir),
        }
        with self.transaction():
            return self.db["training_runs"].insert(run).last_pk  # type: ignore[attr-defined]

    def finish_training_run(
        self,
        run_id: int | None,
        out_dir: str | Path,
        scorer_pk: int | None,
        metrics: dict[str, Any],
    ) -> None:
        """Mark a run finished with the scorer row it produced; without ``run_id``, the newest run
        writing to ``out_dir`` (a resumed run)."""
        with self.transaction() as conn:
            if run_id is None:
                row = conn.execute(
                    "SELECT id FROM training_runs WHERE out_dir = ? ORDER BY id DESC LIMIT 1",
                    [str(out_dir)],
                ).fetchone()
                run_id = row[0] if row else None
            conn.execute(
                "UPDATE training_runs SET scorer_pk = ?, metrics = ?, finished = ?,"
                " status = 'finished' WHERE id = ?",
                [scorer_pk, json.dumps(metrics), now(), run_id],
            )

    def save_embeddings(self, model: str, vectors: dict[int, np.ndarray]) -> None:
        """Store (or replace) float32 embeddings by photo id, for every later scan and training run."""
        import numpy as np

        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO embeddings (photo_id, model, dim, vector, created)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (
                        int(pid),
                        model,
                        int(v.shape[0]),
                        np.ascontiguousarray(v, np.float32).tobytes(),
                        now(),
                    )
                    for pid, v in vectors.items()
                ],
            )
