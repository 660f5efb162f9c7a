"""The move journal of ``culler export picks --move``: a move is written down before any file is
touched and crossed out after the last source is gone, so a rerun after kill -9 finds every half-done
move and finishes or undoes it (:mod:`culler.interop.export`), and the photo row follows its file in the
same transaction that makes the new place the photo's place.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from culler.catalog.migrations import migrations, run_again_safely
from culler.catalog.roots import stored_root
from culler.catalog.timestamps import now

if TYPE_CHECKING:  # sqlite-utils (and the numpy it imports) loads with the first write
    import sqlite_utils


@migrations("pending_moves")
def m_pending_moves(db: sqlite_utils.Database) -> None:
    db.execute(
        run_again_safely(
            """
        CREATE TABLE pending_moves (
            id INTEGER PRIMARY KEY,
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            files TEXT NOT NULL,  -- JSON [[source, target, "move" | "copy"], ...], the photo first
            started TEXT NOT NULL
        )
        """
        )
    )


class MovesMixin:
    """Move-journal methods of :class:`culler.catalog.Catalog`."""

    conn: sqlite3.Connection

    def begin_move(self, photo_id: int, files: list[tuple[str, str, str]]) -> int:
        """Write down a move (its photo first, then its sidecars) before touching any file."""
        move = {
            "photo_id": photo_id,
            "files": json.dumps([list(f) for f in files]),
            "started": now(),
        }
        with self.transaction():  # type: ignore[attr-defined]
            return self.db["pending_moves"].insert(move).last_pk  # type: ignore[attr-defined]

    def pending_moves(self) -> list[dict[str, Any]]:
        """Moves begun and not ended (an export killed half-way), oldest first."""
        return [
            {"id": mid, "photo_id": pid, "files": [tuple(f) for f in json.loads(files)]}
            for mid, pid, files in self.conn.execute(
                "SELECT id, photo_id, files FROM pending_moves ORDER BY id"
            )
        ]

    def settle_move(
        self, photo_id: int, path: str | Path, files: list[tuple[str, str, str]] = ()
    ) -> None:
        """The photo's file is complete at ``path``: the catalog follows it, in one transaction.
        The further files of its capture that moved with it (``files``: the journal's ``(source,
        target, how)``) are recorded at their targets.

        A row a scan made for ``path`` meanwhile (the destination lies in a scanned folder) is that
        same file: it is folded into the photo's row, so the newer hand rating of the two is kept.
        """
        path = Path(path)
        with self.transaction() as conn:  # type: ignore[attr-defined]
            other = conn.execute(
                "SELECT id FROM photos WHERE path = ? AND id != ?", [str(path), photo_id]
            ).fetchone()
            if other is not None:
                self.fold_alias(other[0], photo_id)  # type: ignore[attr-defined]
            conn.execute(
                "UPDATE photos SET path = ?, root = ?, status = 'ok', error = NULL WHERE id = ?",
                [str(path), stored_root(conn, str(path.parent)), photo_id],
            )
            conn.executemany(
                "UPDATE OR REPLACE photo_files SET path = ? WHERE path = ? AND photo_id = ?",
                [(target, source, photo_id) for source, target, how in files if how == "move"],
            )

    def other_photo_with_history(self, path: str | Path, photo_id: int) -> int | None:
        """The id of another catalog photo at ``path`` that holds anything a person made (a hand
        rating, a hand tag, a compare-view preference), else None: such a photo is never folded into
        the one an export moves onto its name, however alike their bytes."""
        from culler.catalog.ratings import HUMAN_SOURCES

        marks = ",".join("?" * len(HUMAN_SOURCES))
        row = self.conn.execute(
            "SELECT p.id FROM photos p WHERE p.path = ? AND p.id != ? AND ("
            f" EXISTS (SELECT 1 FROM ratings r WHERE r.photo_id = p.id AND r.source IN ({marks}))"
            " OR EXISTS (SELECT 1 FROM user_tags t WHERE t.photo_id = p.id)"
            " OR EXISTS (SELECT 1 FROM preferences f"
            "            WHERE f.winner_photo_id = p.id OR f.loser_photo_id = p.id))",
            [str(path), photo_id, *HUMAN_SOURCES],
        ).fetchone()
        return None if row is None else int(row[0])

    def end_move(self, move_id: int) -> None:
        """Cross a move out: its files are where they belong (or back where they were)."""
        with self.transaction() as conn:  # type: ignore[attr-defined]
            conn.execute("DELETE FROM pending_moves WHERE id = ?", [move_id])
