"""``IN (…)`` lists in chunks: SQLite limits the number of ``?`` in one statement."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

CHUNK = 900


def in_clauses(column: str, ids: Iterable[Any] | None) -> Iterator[tuple[str, list[Any]]]:
    """``("", [])`` once when ``ids`` is None (every row), else ``("COLUMN IN (?,…)", chunk)`` per chunk.

    ``column`` may carry a keyword (``"WHERE photo_id"``, ``"AND p.id"``) so the empty case leaves no
    dangling ``WHERE``.
    """
    if ids is None:
        yield "", []
        return
    ids = list(ids)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        yield f"{column} IN ({','.join('?' * len(chunk))})", chunk
