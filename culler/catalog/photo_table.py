"""The ``photos`` table in its compact form (issue #32, migration ``023_compact_photo_table``).

What changes against the table ``001_initial`` made:

* no ``UNIQUE`` on ``path``: that constraint kept a second index of every path
  (``sqlite_autoindex_photos_1``) beside ``idx_photos_folder_state``, which leads with the path
  already (the no-change rescan's covering index). A path stays unique: the triggers
  :data:`UNIQUE_TRIGGERS` look it up down that index before every insert and every change of a
  path and abort with SQLite's own message (``UNIQUE constraint failed: photos.path``), so a
  caller sees the same ``sqlite3.IntegrityError`` as before;
* ``content_hash`` as the 16 bytes of the xxh3-128 digest (a BLOB column) instead of 32 hex
  characters: readers get the hex text back (culler.catalog.content_hash: ``hash_sql`` in SQL,
  culler.catalog.timestamps.photo_row for whole rows), writers store bytes (``stored_hash``). A hash that is not 32 lowercase hex digits (none that
  culler wrote) is kept as the text it is;
* ``first_seen``/``last_seen`` as INTEGER columns: milliseconds since 1970
  (culler.catalog.timestamps) in 6 bytes instead of their 13 digits as text;
* no ``phash`` (a dHash nothing has written since ``018``); readers still see the key, as None
  (culler.catalog.timestamps.photo_row).

``idx_photos_status`` stays whole: reads look for ``status = 'error'`` or ``p.status = ?``, which
SQLite cannot prove to fall inside an index over ``status != 'ok'`` only, so a partial one would
turn those reads into scans of the table.

Changing a column's type or a table constraint means a new table: SQLite's 12-step procedure
(https://sqlite.org/lang_altertable.html#otheralter) in :func:`rebuild`, one transaction run as a
whole step of culler.catalog.upgrades with foreign keys off (dropping the old table with them on
would delete every score, rating and tag of every photo through ``ON DELETE CASCADE``), checked by
``PRAGMA foreign_key_check`` before it commits. Photo ids are kept, so every table that refers to
a photo, the search index and the grouping's records stay as they are.
"""

from __future__ import annotations

from typing import Any

from culler.catalog import timestamps, upgrades
from culler.catalog.content_hash import stored_hash

#: The whole step's name (culler.catalog.upgrades.WHOLE_STEPS).
STEP = "compact_photo_table"
#: The new table while :func:`rebuild` fills it (inside its transaction only).
NEW = "photos_compact"
#: The message a second row with a path already catalogued aborts with: SQLite's own for the
#: ``UNIQUE`` constraint the table had, so callers and users see what they saw before.
DUPLICATE = "UNIQUE constraint failed: photos.path"

#: The compact table's columns, in the old table's order (without ``phash``).
COLUMNS = (
    ("id", "INTEGER PRIMARY KEY"),
    ("path", "TEXT NOT NULL"),
    ("root", "TEXT"),
    ("size", "INTEGER"),
    ("mtime_ns", "INTEGER"),
    ("content_hash", "BLOB"),
    ("width", "INTEGER"),
    ("height", "INTEGER"),
    ("taken_at", "TEXT"),
    ("subsec", "TEXT"),
    ("camera", "TEXT"),
    ("lens", "TEXT"),
    ("orientation", "INTEGER"),
    ("status", "TEXT NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'missing', 'error'))"),
    ("error", "TEXT"),
    ("first_seen", "INTEGER NOT NULL"),
    ("last_seen", "INTEGER NOT NULL"),
    ("signature", "BLOB"),
    ("exposure_time", "REAL"),
    ("f_number", "REAL"),
    ("iso", "INTEGER"),
    ("focal_length", "REAL"),
)
#: The old table's columns the compact one leaves out.
DROPPED = ("phash",)

#: The photo indexes of the compact table (every other index on ``photos`` is made again as it was).
INDEXES = {
    "idx_photos_folder_state": (
        "CREATE INDEX idx_photos_folder_state ON photos(path, size, mtime_ns, status)"
    ),
}

_EXISTS = "EXISTS (SELECT 1 FROM photos WHERE path = NEW.path)"
#: A path stays unique: checked down ``idx_photos_folder_state`` (it leads with the path).
UNIQUE_TRIGGERS = (
    f"CREATE TRIGGER photos_path_unique BEFORE INSERT ON photos WHEN {_EXISTS}"
    f" BEGIN SELECT RAISE(ABORT, '{DUPLICATE}'); END",
    "CREATE TRIGGER photos_path_unique_change BEFORE UPDATE OF path ON photos"
    f" WHEN NEW.path IS NOT OLD.path AND {_EXISTS}"
    f" BEGIN SELECT RAISE(ABORT, '{DUPLICATE}'); END",
)


def is_compact(conn: Any) -> bool:
    """Whether the catalog's ``photos`` table is the compact one (no ``phash`` column)."""
    return not any(r[1] == "phash" for r in conn.execute("PRAGMA table_info(photos)").fetchall())


def _ms(value: Any) -> Any:
    return timestamps.to_ms(value) or value


def rebuild(conn: Any) -> None:
    """Inside the caller's transaction, with foreign keys off (or no photo row): ``photos`` made
    again in the compact form, every row copied under its own id, its indexes and triggers made
    again (a no-op when it already is compact). ``conn``: a connection or a sqlite-utils
    database (a migration's)."""
    if is_compact(conn):
        return
    raw = getattr(conn, "conn", conn)
    raw.create_function("culler_stored_hash", 1, stored_hash, deterministic=True)
    raw.create_function("culler_ms", 1, _ms, deterministic=True)
    # The old table's columns: (declared type, default) by name, in order.
    declared = {r[1]: (r[2], r[4]) for r in conn.execute("PRAGMA table_info(photos)").fetchall()}
    old = list(declared)
    known = dict(COLUMNS)
    # Columns a later migration or a plugin added stay, with their type and default.
    extra = [c for c in old if c not in known and c not in DROPPED]
    columns = [*COLUMNS]
    for name in extra:
        kind, default = declared[name]
        columns.append((name, f"{kind}{'' if default is None else f' DEFAULT {default}'}"))
    schema = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'photos'"
        " AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY rowid"
    ).fetchall()
    # idx_photos_taken, idx_photos_root and any index a plugin made, as they were.
    indexes = [sql for kind, name, sql in schema if kind == "index" and name not in INDEXES]
    triggers = [sql for kind, name, sql in schema if kind == "trigger"]
    conn.execute(f"DROP TABLE IF EXISTS {NEW}")
    conn.execute(f"CREATE TABLE {NEW} ({', '.join(f'{n} {d}' for n, d in columns)})")
    copied = {
        "content_hash": "culler_stored_hash(content_hash)",
        # Times an earlier version stored as ISO text (``compact_photo_rows`` not yet run);
        # digits become numbers through the column's INTEGER affinity.
        "first_seen": "CASE WHEN first_seen GLOB '*T*' THEN culler_ms(first_seen) ELSE first_seen END",
        "last_seen": "CASE WHEN last_seen GLOB '*T*' THEN culler_ms(last_seen) ELSE last_seen END",
    }
    names = [n for n, _ in columns if n in old]
    conn.execute(
        f"INSERT INTO {NEW} ({', '.join(names)})"
        f" SELECT {', '.join(copied.get(n, n) for n in names)} FROM photos ORDER BY id"
    )
    # Its indexes and triggers with it. The freed pages are not zeroed first (this build of SQLite
    # zeroes every freed page by default: a second copy of the table in the WAL): they hold the
    # same rows the new table does, and the space reclaim's VACUUM that follows drops them.
    ((secure,),) = conn.execute("PRAGMA secure_delete").fetchall()
    conn.execute("PRAGMA secure_delete = FAST")
    try:
        conn.execute("DROP TABLE photos")
    finally:
        conn.execute(f"PRAGMA secure_delete = {int(secure)}")
    # The rename as the 12-step procedure means it: the views and triggers that read photos (the
    # search documents, the change logs) and the other tables' foreign keys name ``photos``, which
    # is back once renamed; SQLite's newer rename would check them all while it is gone.
    ((legacy,),) = conn.execute("PRAGMA legacy_alter_table").fetchall()
    conn.execute("PRAGMA legacy_alter_table = ON")
    try:
        conn.execute(f"ALTER TABLE {NEW} RENAME TO photos")
    finally:
        conn.execute(f"PRAGMA legacy_alter_table = {int(legacy)}")
    for sql in (*INDEXES.values(), *indexes, *triggers, *UNIQUE_TRIGGERS):
        conn.execute(sql)
    # The photo rows' own rewrite is done by the copy (no dHash, times as numbers).
    recorded = f"SELECT 1 FROM sqlite_master WHERE name = '{upgrades.TABLE}'"
    if conn.execute(recorded).fetchone():
        conn.execute(
            f"UPDATE {upgrades.TABLE} SET finished = coalesce(finished, ?)"
            " WHERE name = 'compact_photo_rows'",
            [timestamps.now()],
        )


upgrades.WHOLE_STEPS[STEP] = upgrades.WholeStep(
    name=STEP,
    what="making the photo table again, smaller",
    table="photos",
    run=rebuild,
    foreign_keys_off=True,
)
