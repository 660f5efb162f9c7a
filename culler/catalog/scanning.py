"""What ``culler scan`` reads and writes: photo rows, scores, tags, embeddings, moves and scan runs.

The row-level methods join the caller's ``transaction()`` instead of committing on their own: the scan
commits a batch of photos and their scores at once, so a killed scan loses at most one batch and a
batch never half-lands. Only the scan_runs methods commit by themselves.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from culler.catalog import score_json
from culler.catalog.content_hash import hash_sql, stored_hash
from culler.catalog.ratings import HUMAN_SOURCES
from culler.catalog.roots import WHOLE_ROW, stored_root
from culler.catalog.timestamps import now, now_ms, photo_row

if TYPE_CHECKING:
    from culler.plugin.scorers import ScoreResult

#: Tables that describe a file's content, dropped when its bytes change.
_CONTENT_TABLES = ("scores", "tags", "embeddings", "score_errors", "faces")


class PhotoState(NamedTuple):
    """What the scan planner needs to know about a catalogued file to tell whether it changed."""

    id: int
    size: int | None
    mtime_ns: int | None
    status: str
    content_hash: str | None


def _now() -> str:
    return now()


class ScanStore:
    """The scan's side of :class:`culler.catalog.Catalog` (a mixin of it)."""

    conn: sqlite3.Connection  # and transaction(), both from Catalog

    # -- scan runs (each commits) ----------------------------------------------------------------
    def start_scan_run(self, roots: Iterable[str | Path]) -> int:
        with self.transaction():
            table = self.db["scan_runs"]  # type: ignore[attr-defined]
            return table.insert(
                {"root": os.pathsep.join(map(str, roots)), "started": _now()}
            ).last_pk

    def finish_scan_run(
        self, run_id: int, *, files_seen: int, files_scored: int, errors: int, status: str
    ) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE scan_runs SET finished = ?, files_seen = ?, files_scored = ?, errors = ?,"
                " status = ? WHERE id = ?",
                [_now(), files_seen, files_scored, errors, status, run_id],
            )

    # -- reading ---------------------------------------------------------------------------------
    def photo_states(self) -> dict[str, PhotoState]:
        """Every catalogued file by path, as the scan planner compares it with the disk."""
        rows = self.conn.execute(
            f"SELECT path, id, size, mtime_ns, status, {hash_sql()} FROM photos"
        )
        return {row[0]: PhotoState(*row[1:]) for row in rows}

    def folder_files(
        self, folder: str, scorer_pks: Iterable[int] = ()
    ) -> tuple[list[tuple[str | None, int | None, int | None]], list[tuple[str, int, int]], int]:
        """The catalogued files directly in ``folder`` (an absolute path), read down the path indexes
        (no row outside the folder is read), as ``(photos, further, apart)``:

        - ``photos``: ``(path, size, mtime_ns)`` of each photo row, with ``size`` None when the row
          is not ``ok`` (an error row a scan retries) or a scorer of ``scorer_pks`` has not scored
          it, and ``(None, None, None)`` for a photo a scan found gone (missing);
        - ``further``: ``(path, size, mtime_ns)`` of the further files of captures (``photo_files``);
        - ``apart``: how many of those belong to a photo in another folder (a camera's second card).

        Plain tuples, so a caller compares them as sets without touching each row in Python."""
        low, high, start = _folder_range(folder)
        pks = sorted(set(scorer_pks))
        marks = ",".join("?" * len(pks)) or "NULL"
        scored = (
            f"(SELECT count(*) FROM scores s WHERE s.photo_id = photos.id"
            f" AND s.scorer_pk IN ({marks})) = {len(pks)}"
        )
        photos = self.conn.execute(
            "SELECT CASE WHEN status != 'missing' THEN path END,"
            f" CASE WHEN status = 'ok' AND {scored} THEN size END,"
            " CASE WHEN status != 'missing' THEN mtime_ns END FROM photos"
            " WHERE path >= ? AND path < ? AND instr(substr(path, ?), ?) = 0",
            [*pks, low, high, start, os.sep],
        ).fetchall()
        further = self.conn.execute(
            "SELECT path, size, mtime_ns FROM photo_files"
            " WHERE path >= ?1 AND path < ?2 AND instr(substr(path, ?3), ?4) = 0",
            [low, high, start, os.sep],
        ).fetchall()
        apart = 0
        if further:
            (apart,) = self.conn.execute(
                "SELECT count(*) FROM photo_files f JOIN photos p ON p.id = f.photo_id"
                " WHERE f.path >= ?1 AND f.path < ?2 AND instr(substr(f.path, ?3), ?4) = 0"
                " AND NOT (p.path >= ?1 AND p.path < ?2 AND instr(substr(p.path, ?3), ?4) = 0)",
                [low, high, start, os.sep],
            ).fetchone()
        return photos, further, apart

    def files_under(self, folders: Iterable[str]) -> int:
        """How many catalogued files (photos, missing ones too, and further files of captures) lie
        anywhere under ``folders`` (absolute paths that do not nest); counted in the path indexes
        alone."""
        total = 0
        for folder in folders:
            low, high, _ = _folder_range(folder)
            (n,) = self.conn.execute(
                "SELECT (SELECT count(*) FROM photos WHERE path >= ?1 AND path < ?2)"
                " + (SELECT count(*) FROM photo_files WHERE path >= ?1 AND path < ?2)",
                [low, high],
            ).fetchone()
            total += n
        return total

    def capture_file_owners(self) -> dict[str, int]:
        """The further files of captures (the RAW beside a JPEG), by path: the photo each belongs to."""
        return dict(self.conn.execute("SELECT path, photo_id FROM photo_files"))

    def capture_time_matches(self, photo_ids: Iterable[int]) -> list[dict[str, Any]]:
        """Photos (``id, path, camera, taken_at, subsec, size, mtime_ns``) taken by the camera of one
        of ``photo_ids`` at its capture time: the candidates for a capture written to two cards."""
        ids = list(photo_ids)
        out: dict[int, dict[str, Any]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.query(  # type: ignore[attr-defined]
                "SELECT p.id, p.path, p.camera, p.taken_at, p.subsec, p.size, p.mtime_ns"
                " FROM photos p JOIN photos q ON q.taken_at = p.taken_at AND q.camera = p.camera"
                f" WHERE q.id IN ({marks}) AND p.status = 'ok' AND q.status = 'ok'",
                chunk,
            ):
                out[row["id"]] = row
        return list(out.values())

    def photo_by_capture_file(self, path: str) -> dict[str, Any] | None:
        """The photo whose capture holds ``path`` as a further file (the RAW beside its JPEG)."""
        rows = self.query(  # type: ignore[attr-defined]
            f"SELECT {WHOLE_ROW} FROM photos p JOIN photo_files f ON f.photo_id = p.id"
            " WHERE f.path = ?",
            [str(path)],
        )
        return photo_row(rows[0]) if rows else None

    def capture_files(
        self, photo_ids: Iterable[int] | None = None
    ) -> dict[int, list[dict[str, Any]]]:
        """The further files of each photo that has any (``path``, ``kind``, ``size``), by photo id;
        of every photo when ``photo_ids`` is None (one query, for the GUI's grid)."""
        out: dict[int, list[dict[str, Any]]] = {}
        if photo_ids is None:
            for photo_id, path, kind, size in self.conn.execute(
                "SELECT photo_id, path, kind, size FROM photo_files ORDER BY path"
            ):
                out.setdefault(photo_id, []).append({"path": path, "kind": kind, "size": size})
            return out
        ids = list(photo_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for photo_id, path, kind, size in self.conn.execute(
                "SELECT photo_id, path, kind, size FROM photo_files"
                f" WHERE photo_id IN ({marks}) ORDER BY path",
                chunk,
            ):
                out.setdefault(photo_id, []).append({"path": path, "kind": kind, "size": size})
        return out

    # -- photo rows (inside the caller's transaction) --------------------------------------------
    def upsert_photo(
        self, path: str, root: str, size: int | None, mtime_ns: int | None, **columns: Any
    ) -> int:
        """Insert or update the row of ``path`` with these photos columns; return its id.

        Looked up by path first, then updated or inserted: the compact table has no ``UNIQUE``
        constraint for ``ON CONFLICT`` to name (its triggers keep a path unique:
        culler.catalog.photo_table); the caller's transaction holds the write lock, so no other
        writer comes between the two. The content hash is stored as its 16 bytes."""
        seen = now_ms()  # first and last seen as milliseconds (culler.catalog.timestamps)
        if "content_hash" in columns:
            columns["content_hash"] = stored_hash(columns["content_hash"])
        # The scan folder as its id in ``roots`` (culler.catalog.roots).
        fields = {
            "root": stored_root(self.conn, root),
            "size": size,
            "mtime_ns": mtime_ns,
            **columns,
            "last_seen": seen,
        }
        found = self.conn.execute("SELECT id FROM photos WHERE path = ?", [path]).fetchone()
        if found is not None:
            updates = ", ".join(f"{c} = ?" for c in fields)
            self.conn.execute(
                f"UPDATE photos SET {updates} WHERE id = ?", [*fields.values(), found[0]]
            )
            return found[0]
        names = ", ".join(fields)
        marks = ", ".join("?" * len(fields))
        row = self.conn.execute(
            f"INSERT INTO photos (path, first_seen, {names}) VALUES (?, ?, {marks}) RETURNING id",
            [path, seen, *fields.values()],
        ).fetchone()
        return row[0]

    def record_move(self, photo_id: int, path: str, root: str, mtime_ns: int | None) -> None:
        """The file of ``photo_id`` is now at ``path``: its scores, tags and ratings go with it."""
        self.conn.execute(
            "UPDATE photos SET path = ?, root = ?, mtime_ns = ?, status = 'ok', error = NULL,"
            " last_seen = ? WHERE id = ?",
            [path, stored_root(self.conn, root), mtime_ns, now_ms(), photo_id],
        )

    def set_capture_files(
        self, photo_id: int, files: Iterable[tuple[str, str, int | None, int | None]]
    ) -> None:
        """The capture of ``photo_id`` is its file and these (``path, kind, size, mtime_ns``): the
        rows it had before are replaced (a RAW deleted since is no longer one of its files)."""
        self.conn.execute("DELETE FROM photo_files WHERE photo_id = ?", [photo_id])
        self.conn.executemany(
            "INSERT OR REPLACE INTO photo_files (path, photo_id, kind, size, mtime_ns)"
            " VALUES (?, ?, ?, ?, ?)",
            [(path, photo_id, kind, size, mtime) for path, kind, size, mtime in files],
        )

    def fold_alias(self, alias_id: int, photo_id: int, why: str = "the same file") -> None:
        """Row ``alias_id`` named the file of ``photo_id`` by another path (a symlinked folder): merge it.

        The newer hand rating of the two wins (appended to ``photo_id`` as an event, so undo still
        works), compare-view preferences follow, and the alias row goes with its scores and automatic
        decisions, which were made as if the file were two photos; hand tags follow.
        """
        marks = ",".join("?" * len(HUMAN_SOURCES))
        latest = (
            "SELECT id, stars, decision, label, source FROM ratings WHERE photo_id = ?"
            f" AND source IN ({marks}) ORDER BY id DESC LIMIT 1"
        )
        alias = self.conn.execute(latest, [alias_id, *HUMAN_SOURCES]).fetchone()
        kept = self.conn.execute(latest, [photo_id, *HUMAN_SOURCES]).fetchone()
        if alias is not None and (kept is None or alias[0] > kept[0]):
            (alias_path,) = self.conn.execute(
                "SELECT path FROM photos WHERE id = ?", [alias_id]
            ).fetchone()
            self.conn.execute(
                "INSERT INTO ratings (photo_id, stars, decision, label, source, reason, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [photo_id, *alias[1:5], f"kept from {alias_path} ({why})", _now()],
            )
        for table, column in (
            ("photo_files", "photo_id"),
            ("preferences", "winner_photo_id"),
            ("preferences", "loser_photo_id"),
            ("user_tags", "photo_id"),
        ):
            self.conn.execute(
                f"UPDATE {table} SET {column} = ? WHERE {column} = ?", [photo_id, alias_id]
            )
        # Its search document goes with it (culler.catalog.search's triggers).
        self.conn.execute("DELETE FROM photos WHERE id = ?", [alias_id])

    def mark_missing(self, photo_ids: Iterable[int]) -> None:
        """Gone from disk: the rows stay (with their ratings) in case the files come back."""
        self.conn.executemany(
            "UPDATE photos SET status = 'missing' WHERE id = ?", [(i,) for i in photo_ids]
        )

    def forget_content(self, photo_ids: Iterable[int]) -> None:
        """The files' bytes changed: their scores, tags and embeddings describe another image."""
        ids = [(i,) for i in photo_ids]
        for table in _CONTENT_TABLES:
            self.conn.executemany(f"DELETE FROM {table} WHERE photo_id = ?", ids)

    # -- scores (inside the caller's transaction) ------------------------------------------------
    def store_score(
        self, photo_id: int, scorer_pk: int, result: ScoreResult, embedding_model: str
    ) -> None:
        """Replace the photo's score, tags (and the embedding it came with) from this scorer row.

        A stored score clears the scorer's earlier error for the photo. ``embedding_model`` names the
        embedding a result carries (the scorer's id).
        """
        extra = result.extra
        faces = (extra or {}).get("faces")
        if isinstance(faces, list) and any(
            isinstance(f, dict) and "descriptor" in f for f in faces
        ):
            # Face descriptors are stored as BLOBs in the faces table, not as JSON text.
            extra = {
                **extra,
                "faces": [
                    {k: v for k, v in f.items() if k != "descriptor"} if isinstance(f, dict) else f
                    for f in faces
                ],
            }
        self.conn.execute(
            "INSERT OR REPLACE INTO scores"
            " (photo_id, scorer_pk, score, distribution, extra, reasons, created)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                photo_id,
                scorer_pk,
                None if result.score is None else float(result.score),
                None
                if result.distribution is None
                else json.dumps([float(p) for p in result.distribution]),
                score_json.store(extra) if extra else None,
                score_json.store(list(result.reasons)) if result.reasons else None,
                now_ms(),  # a number: 13 digits a row instead of 29 characters (timestamps.iso)
            ],
        )
        self.conn.execute(
            "DELETE FROM tags WHERE photo_id = ? AND scorer_pk = ?", [photo_id, scorer_pk]
        )
        if result.tags:
            self.conn.executemany(
                "INSERT INTO tags (photo_id, scorer_pk, tag, probability) VALUES (?, ?, ?, ?)",
                [(photo_id, scorer_pk, tag, float(p)) for tag, p in result.tags.items()],
            )
        if result.embedding is not None:
            self.store_embedding(photo_id, embedding_model, result.embedding)
        if isinstance(faces, list):  # a scorer that reports faces: one row each (catalog/faces.py)
            self.replace_faces(photo_id, scorer_pk, faces, (result.extra or {}).get("size"))  # type: ignore[attr-defined]
        self.conn.execute(
            "DELETE FROM score_errors WHERE photo_id = ? AND scorer_pk = ?", [photo_id, scorer_pk]
        )

    def store_score_error(self, photo_id: int, scorer_pk: int, message: str) -> None:
        """Why this scorer row has no score for the photo (kept short: it is shown in lists)."""
        self.conn.execute(
            "INSERT OR REPLACE INTO score_errors (photo_id, scorer_pk, error, at) VALUES (?, ?, ?, ?)",
            [photo_id, scorer_pk, message[:500], _now()],
        )

    def store_embedding(self, photo_id: int, model: str, vector: Any) -> None:
        """Cache a float32 embedding so later scans score the photo without decoding it."""
        import numpy as np

        vec = np.ascontiguousarray(np.asarray(vector, dtype=np.float32).ravel())
        self.conn.execute(
            "INSERT OR REPLACE INTO embeddings (photo_id, model, dim, vector, created)"
            " VALUES (?, ?, ?, ?, ?)",
            [photo_id, model, int(vec.shape[0]), vec.tobytes(), _now()],
        )


def _folder_range(folder: str) -> tuple[str, str, int]:
    """``(low, high, start)``: the paths under ``folder`` are ``low <= path < high`` (one range of
    the unique path index); a path's part after the folder begins at character ``start`` (1-based)."""
    prefix = folder.rstrip(os.sep) + os.sep
    return prefix, prefix[:-1] + chr(ord(os.sep) + 1), len(prefix) + 1
