"""The ``scores`` table as a ``WITHOUT ROWID`` table (issue #32, migration ``019_scores_without_rowid``).

A score row is keyed by (photo_id, scorer_pk). As a rowid table, ``scores`` kept each row twice: in
the table under a rowid, and in ``sqlite_autoindex_scores_1`` under its primary key (37 B a photo of
a real catalog, three scorers). A ``WITHOUT ROWID`` table is stored in its primary key's order and
needs neither. Its ``created`` column is an INTEGER: a score's time in milliseconds
(culler.catalog.timestamps) is stored as a 6-byte number, not as the 13 digits the old column's
TEXT affinity made of it.

Changing a table's layout means copying its rows, about 13 s at a million photos, so the copy is a
data upgrade (culler.catalog.upgrades, ``scores_without_rowid``):

1. :func:`prepare` (in the migration) makes the new table :data:`NEW` and triggers that repeat
   every insert, update and delete of ``scores`` on it;
2. :func:`copy_batch` copies the rows of the next photos (one transaction each, resumable: a row
   copied twice is the same row);
3. :func:`swap`, in the last batch's transaction, drops ``scores`` (its triggers and index with it)
   and renames :data:`NEW` to ``scores``, with the index and view that read it.

Readers read ``scores`` throughout: until the swap it is the old table, complete and current.

``scores.rowid`` was also the order scores were written in: the grouping's record of the newest
score row, to know which photos were scored again since the groups were ranked
(``Catalog.scoring_watermark``, ``photos_scored_after``). A ``WITHOUT ROWID`` table has no such
order, so :data:`LOG` takes its place: each score written gets a sequence number there, and only
while a grouping is recorded (its row :data:`ARMED`: an ungrouped catalog logs nothing); the rows
a recorded grouping has seen are deleted when the next one is recorded (:func:`arm_log`).

A grouping arms the log before it reads the watermark (``Catalog.log_scores_from_now``), so a
score another process writes while the first grouping runs (a scan beside the first cull) is
logged and the next cull re-ranks that photo's group. Once armed, the log stays armed.
"""

from __future__ import annotations

from typing import Any

#: The new table while the copy runs.
NEW = "scores_v2"
#: Score rows written since the recorded grouping: (sequence number, photo).
LOG = "score_log"
#: The log's row that says a grouping is recorded, so scores written are logged.
ARMED = 0

COLUMNS = "photo_id, scorer_pk, score, distribution, extra, reasons, created"

_TABLE = """(
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    scorer_pk INTEGER NOT NULL REFERENCES scorers(id),
    score REAL,
    distribution TEXT,
    extra BLOB,
    reasons BLOB,
    created INTEGER NOT NULL,
    PRIMARY KEY (photo_id, scorer_pk)
) WITHOUT ROWID"""

_ISO = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]"


def _one(conn: Any, sql: str, params: Any = ()) -> Any:
    """The first row (or None), the statement finished: a statement left open (a cursor not read
    to its end) would keep a later ``VACUUM`` from running."""
    rows = conn.execute(sql, params).fetchall()
    return rows[0] if rows else None


def created_ms(column: str) -> str:
    """SQL: a stored ``created`` as milliseconds since 1970 (what culler.catalog.timestamps.to_ms
    gives): the digits a TEXT column made of a number, or the ISO text of ``timestamps.now``
    (``2024-05-01T10:00:00.123+00:00``); anything else as it is (readers show it as it is)."""
    return (
        f"CASE WHEN typeof({column}) <> 'text' THEN {column}"
        f" WHEN {column} GLOB '[0-9]*' AND {column} NOT GLOB '*[^0-9]*'"
        f" THEN CAST({column} AS INTEGER)"
        f" WHEN {column} GLOB '{_ISO}+00:00'"
        f" THEN CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER) * 1000"
        f" + CAST(substr({column}, 21, 3) AS INTEGER)"
        f" ELSE {column} END"
    )


def _values(row: str) -> str:
    return ", ".join(
        created_ms(f"{row}.created") if c == "created" else f"{row}.{c}"
        for c in COLUMNS.split(", ")
    )


def prepare(db: Any) -> None:
    """In the migration: :data:`NEW`, the triggers that keep it in step with ``scores``, and the
    log. Every statement runs again safely."""
    db.execute(f"CREATE TABLE IF NOT EXISTS {NEW} {_TABLE}")
    copy = f"INSERT OR REPLACE INTO {NEW} ({COLUMNS}) VALUES ({_values('NEW')})"
    for statement in (
        f"CREATE TRIGGER IF NOT EXISTS scores_v2_inserted AFTER INSERT ON scores BEGIN {copy}; END",
        "CREATE TRIGGER IF NOT EXISTS scores_v2_updated AFTER UPDATE ON scores BEGIN"
        f" DELETE FROM {NEW} WHERE photo_id = OLD.photo_id AND scorer_pk = OLD.scorer_pk; {copy};"
        " END",
        "CREATE TRIGGER IF NOT EXISTS scores_v2_deleted AFTER DELETE ON scores BEGIN"
        f" DELETE FROM {NEW} WHERE photo_id = OLD.photo_id AND scorer_pk = OLD.scorer_pk; END",
        f"CREATE TABLE IF NOT EXISTS {LOG}"
        " (seq INTEGER PRIMARY KEY AUTOINCREMENT, photo_id INTEGER NOT NULL)",
    ):
        db.execute(statement)


def copy_batch(conn: Any, after: int, batch: int) -> int | None:
    """Copy about ``batch`` score rows, those of the photos after photo id ``after``, to
    :data:`NEW`, ending on a whole photo; the last photo id copied, or None when no row is left."""
    row = _one(
        conn,
        "SELECT photo_id FROM scores WHERE photo_id > ? ORDER BY photo_id LIMIT 1 OFFSET ?",
        [after, batch - 1],
    )
    if row is None:
        row = _one(conn, "SELECT MAX(photo_id) FROM scores WHERE photo_id > ?", [after])
    last = row[0]
    if last is None:
        return None
    conn.execute(
        f"INSERT OR REPLACE INTO {NEW} ({COLUMNS}) SELECT {_values('s')} FROM scores s"
        " WHERE s.photo_id > ? AND s.photo_id <= ? ORDER BY s.photo_id, s.scorer_pk",
        [after, last],
    )
    return int(last)


def is_swapped(conn: Any) -> bool:
    """Whether ``scores`` is the ``WITHOUT ROWID`` table (the copy finished)."""
    return (
        _one(
            conn,
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'scores'"
            " AND sql LIKE '%WITHOUT ROWID%'",
        )
        is not None
        and _one(conn, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [NEW])
        is None
    )


def swap(conn: Any) -> None:
    """In the copy's last transaction: :data:`NEW` becomes ``scores``, with its index, the views
    that read it and the log's trigger."""
    views = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'view' AND sql LIKE '%scores%'"
    ).fetchall()
    for name, _ in views:
        conn.execute(f'DROP VIEW "{name}"')
    conn.execute("DROP TABLE scores")  # its triggers and idx_scores_scorer go with it
    conn.execute(f"ALTER TABLE {NEW} RENAME TO scores")
    conn.execute("CREATE INDEX idx_scores_scorer ON scores(scorer_pk, score)")
    for _, sql in views:
        conn.execute(sql)
    # rowid order was the order scores were written in: the log takes its place (module doc).
    conn.execute(
        "CREATE TRIGGER IF NOT EXISTS score_logged AFTER INSERT ON scores"
        f" WHEN EXISTS (SELECT 1 FROM {LOG} WHERE seq = {ARMED})"
        f" BEGIN INSERT INTO {LOG} (photo_id) VALUES (NEW.photo_id); END"
    )


def log_position(conn: Any) -> int:
    """The sequence number of the last score logged (0: none yet)."""
    if _one(conn, "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'") is None:
        return 0
    row = _one(conn, "SELECT seq FROM sqlite_sequence WHERE name = ?", [LOG])
    return int(row[0]) if row else 0


def logged_after(conn: Any, seq: int) -> set[int]:
    """Photos with a score logged after sequence number ``seq``."""
    return {
        r[0]
        for r in conn.execute(
            f"SELECT photo_id FROM {LOG} WHERE seq > ? AND seq <> ?", [seq, ARMED]
        )
    }


def is_armed(conn: Any) -> bool:
    """Whether scores written are logged (a grouping is recorded, or one is under way)."""
    return _one(conn, f"SELECT 1 FROM {LOG} WHERE seq = {ARMED}") is not None


def arm_log(conn: Any, seen: int) -> None:
    """When a grouping is recorded that saw the scores logged up to ``seen``: log the scores
    written from now on, and drop the rows it saw."""
    conn.execute(f"INSERT OR IGNORE INTO {LOG} (seq, photo_id) VALUES ({ARMED}, 0)")
    conn.execute(f"DELETE FROM {LOG} WHERE seq > {ARMED} AND seq <= ?", [seen])
