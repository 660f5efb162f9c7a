"""The scan folders (``photos.root``) kept once each in a ``roots`` table (issue #32, the catalog's
size; migration ``026_scan_roots_table``).

Every photo row recorded the folder its scan started from as text (17 bytes for ``/tmp/s22XX``,
about 50 for a wedding's folder), and ``idx_photos_root (root, taken_at)`` repeated it. Since
``026`` a row holds the folder's id in ``roots(id, path)`` instead. The column keeps its declared
type (TEXT: changing it means copying the whole table, culler.catalog.photo_table), so SQLite
stores the id as the text of its digits: one or a few bytes, as an integer would be.

Both forms are read, always: a catalog whose rewrite (the data upgrade ``scan_roots_as_ids``,
culler.catalog.upgrades) is half done, and the rows tests and benchmarks insert with a text root.
A root culler writes is a real path (absolute: culler.scan.discover.root_of), never a bare number,
so a value of digits only is an id and anything else is the folder's text:

* :func:`root_sql` gives a stored root as readers see it (the folder's text) in SQL;
* :func:`stored_root` gives the value a writer stores (the folder's id, made on first use);
* :func:`root_keys` gives the stored values that mean a folder, for conditions that read a range
  of ``idx_photos_root`` for each (``root = ?`` once for the id and once for the text).
"""

from __future__ import annotations

from typing import Any

TABLE = "roots"

#: The data upgrade rewriting text roots as ids (culler.catalog.upgrades).
UPGRADE = "scan_roots_as_ids"


def is_id_sql(column: str = "root") -> str:
    """SQL: the stored root is a folder's id (digits only, no leading zero)."""
    return (
        f"(typeof({column}) = 'integer'"
        f" OR ({column} GLOB '[1-9]*' AND {column} NOT GLOB '*[^0-9]*'))"
    )


def root_sql(column: str = "root") -> str:
    """SQL giving a stored root as readers see it, the folder's text, whichever form it is in."""
    return (
        f"(CASE WHEN {is_id_sql(column)}"
        f" THEN coalesce((SELECT path FROM {TABLE} WHERE id = {column}), {column})"
        f" ELSE {column} END)"
    )


#: ``SELECT`` columns of a whole photo row (``p``) with its root as text in ``root_text``
#: (culler.catalog.timestamps.photo_row puts it in ``root``).
WHOLE_ROW = f"p.*, {root_sql('p.root')} AS root_text"


def root_id(conn: Any, root: str) -> int | None:
    """The id of folder ``root`` in :data:`TABLE`, or None when it has none yet."""
    row = conn.execute(f"SELECT id FROM {TABLE} WHERE path = ?", [root]).fetchone()
    return None if row is None else int(row[0])


def stored_root(conn: Any, root: Any) -> Any:
    """The value a writer stores for ``root``: its folder's id (added to :data:`TABLE` when new,
    inside the caller's transaction); no folder (None, "") as it is."""
    if not root or not isinstance(root, str):
        return root
    found = root_id(conn, root)
    if found is not None:
        return found
    return int(
        conn.execute(f"INSERT INTO {TABLE} (path) VALUES (?) RETURNING id", [root]).fetchone()[0]
    )


def root_keys(conn: Any, root: str) -> list[Any]:
    """The stored values that mean folder ``root``: its text, and its id when it has one (as the
    text SQLite stores it as), each to match with ``root = ?``."""
    found = root_id(conn, root)
    return [root] if found is None else [str(found), root]


def as_ids(conn: Any, roots: list[Any]) -> list[Any]:
    """A batch of stored roots rewritten as ids (None for a row left as it is: an id already, or
    no folder): the data upgrade :data:`UPGRADE`."""
    out: list[Any] = []
    known: dict[str, int] = {}
    for value in roots:
        if not value or not isinstance(value, str) or _looks_like_id(value):
            out.append(None)
            continue
        if value not in known:
            known[value] = stored_root(conn, value)
        out.append(known[value])
    return out


def _looks_like_id(value: str) -> bool:
    return value.isascii() and value.isdigit() and value[0] != "0"
