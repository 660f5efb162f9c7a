"""Finding photos by what the user types in the search box (the GUI's Ctrl+F).

A plain case-insensitive match on the path (folder and file name): every word typed must occur. The
GUI calls only :meth:`SearchMixin.search_photo_ids`, so a full-text index can replace this
implementation without touching the window.
"""

from __future__ import annotations

import sqlite3
from typing import Any


def _like(word: str) -> str:
    """``word`` as a LIKE pattern matching it anywhere, with ``%``, ``_`` and ``\\`` taken literally."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class SearchMixin:
    """Search reads of :class:`culler.catalog.Catalog`."""

    conn: sqlite3.Connection

    def search_photo_ids(self, text: str, limit: int | None = None) -> list[int]:
        """Ids of the photos whose path holds every word of ``text`` (any case), by path; at most
        ``limit`` of them. Empty text finds nothing."""
        words = text.lower().split()
        if not words:
            return []
        where = " AND ".join("lower(path) LIKE ? ESCAPE '\\'" for _ in words)
        params: list[Any] = [_like(w) for w in words]
        sql = f"SELECT id FROM photos WHERE {where} ORDER BY path"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(0, int(limit)))
        return [row[0] for row in self.conn.execute(sql, params)]
