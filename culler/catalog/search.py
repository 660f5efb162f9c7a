"""Full-text search over the catalog: SQLite FTS5 through sqlite-utils, kept current by triggers.

``photo_search`` gives one short document per photo — its path (file name and every folder, and the
other files of its capture: the RAW of a RAW+JPEG pair), camera and
lens, tags (a scorer's tags at probability ≥ 0.5 unless removed by hand, and the tags given by hand),
colour label and the
names of the people in it — indexed in ``photo_search_fts`` (made by sqlite-utils' ``enable_fts``).
Since ``020_search_documents_from_photo_rows`` it is a view: the path, camera and lens come from the
photo's row and the rest from ``photo_search_parts`` (a row only for a photo that has any of it), so
nothing is stored twice. The index is kept current by SQL triggers on the tables the writers already
write (photos, tags, user_tags, ratings, faces, people, photo_files), so no writer — the scan, a
rating in the GUI, ``culler tag``, an XMP import, a plugin — can forget to update it.

A search is a prefix match on every word typed, in any column: ``4014`` finds ``IMG_4014.jpg``,
``wed`` finds ``2024-wedding/``, ``img_40`` finds ``IMG_4014.jpg`` (the words of a term must follow
each other), ``canon red`` finds photos taken with a Canon and labelled Red.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from culler.catalog import tags as _tags  # noqa: F401  the index reads user_tags: its step comes first
from culler.catalog import upgrades
from culler.catalog.migrations import migrations

if TYPE_CHECKING:  # sqlite-utils (and the numpy it imports) loads with the first write
    import sqlite_utils

#: A scorer's tag is searchable at this probability or above (the `list --tag` default).
TAG_PROBABILITY = 0.5
COLUMNS = ("path", "gear", "tags", "label", "people")
#: Above this many matches a list checks photos as it walks its order (see ``search_filter``).
MANY = 2_000

#: The columns of a photo's document that come from other tables than its row (tags, the label,
#: people's names), as the views below compute them.
_TAGS_LABEL_PEOPLE = f"""    (SELECT group_concat(tag, ' ') FROM (
        SELECT t.tag FROM tags t WHERE t.photo_id = p.id AND t.probability >= {TAG_PROBABILITY}
            AND NOT EXISTS (  -- a tag the photographer removed by hand hides the scorer's
                SELECT 1 FROM user_tags u WHERE u.photo_id = p.id AND u.tag = t.tag AND u.present = 0
                AND u.id = (SELECT MAX(v.id) FROM user_tags v WHERE v.photo_id = p.id AND v.tag = t.tag)
            )
        UNION SELECT tag FROM current_user_tags WHERE photo_id = p.id
    )) AS tags,
    (SELECT label FROM current_ratings WHERE photo_id = p.id) AS label,
    (SELECT group_concat(name, ' ') FROM (
        SELECT DISTINCT pe.name FROM faces f JOIN people pe ON pe.id = f.person_id
        WHERE f.photo_id = p.id AND pe.name IS NOT NULL
    )) AS people
FROM photos p
"""

#: One document per photo, computed from the tables the writers write.
SOURCE_VIEW = f"""
CREATE VIEW photo_search_source AS
SELECT
    p.id AS id,
    p.path || coalesce(' ' || (
        SELECT group_concat(path, ' ') FROM photo_files WHERE photo_id = p.id
    ), '') AS path,
    trim(coalesce(p.camera, '') || ' ' || coalesce(p.lens, '')) AS gear,
{_TAGS_LABEL_PEOPLE}"""

_REFRESH = """
INSERT INTO photo_search (id, path, gear, tags, label, people)
    SELECT id, path, gear, tags, label, people FROM photo_search_source WHERE id IN ({key})
    ON CONFLICT (id) DO UPDATE SET path = excluded.path, gear = excluded.gear, tags = excluded.tags,
        label = excluded.label, people = excluded.people;
"""

#: (trigger name, when it fires, which photo it refreshes)
TRIGGERS = (
    ("photo_search_photo_added", "AFTER INSERT ON photos", "NEW.id"),
    ("photo_search_photo_changed", "AFTER UPDATE OF path, camera, lens ON photos", "NEW.id"),
    (
        "photo_search_tag_added",
        f"AFTER INSERT ON tags WHEN NEW.probability >= {TAG_PROBABILITY}",
        "NEW.photo_id",
    ),
    (
        "photo_search_tag_removed",
        f"AFTER DELETE ON tags WHEN OLD.probability >= {TAG_PROBABILITY}",
        "OLD.photo_id",
    ),
    ("photo_search_hand_tag", "AFTER INSERT ON user_tags", "NEW.photo_id"),
    ("photo_search_rating", "AFTER INSERT ON ratings", "NEW.photo_id"),
    ("photo_search_file_added", "AFTER INSERT ON photo_files", "NEW.photo_id"),
    ("photo_search_file_removed", "AFTER DELETE ON photo_files", "OLD.photo_id"),
    ("photo_search_face_added", "AFTER INSERT ON faces", "NEW.photo_id"),
    ("photo_search_face_named", "AFTER UPDATE OF person_id ON faces", "NEW.photo_id"),
    ("photo_search_face_removed", "AFTER DELETE ON faces", "OLD.photo_id"),
    (
        "photo_search_person_named",
        "AFTER UPDATE OF name ON people",
        "SELECT photo_id FROM faces WHERE person_id = NEW.id",
    ),
)


@migrations("search_index")
def m_search_index(db: sqlite_utils.Database) -> None:
    """The search documents, their FTS5 index, and the triggers that keep both current."""
    # The table through the table API; the view and the triggers in SQL (the API has no such objects).
    # No foreign key: sqlite-utils cannot declare ON DELETE CASCADE, and a plain reference would
    # refuse every deletion of a photo (folding alias rows deletes one); a trigger below removes the
    # document of a deleted photo instead.
    db["photo_search"].create(
        {column: str for column in COLUMNS} | {"id": int}, pk="id", if_not_exists=True
    )
    db.execute("DROP VIEW IF EXISTS photo_search_source")
    db.execute(SOURCE_VIEW)
    db.execute(
        "INSERT OR IGNORE INTO photo_search (id, path, gear, tags, label, people)"
        " SELECT id, path, gear, tags, label, people FROM photo_search_source"
    )
    db["photo_search"].enable_fts(COLUMNS, fts_version="FTS5", create_triggers=True, replace=True)
    for name, when, key in TRIGGERS:
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
        db.execute(f"CREATE TRIGGER {name} {when} BEGIN {_REFRESH.format(key=key)} END")
    db.execute("DROP TRIGGER IF EXISTS photo_search_photo_deleted")
    db.execute(
        "CREATE TRIGGER photo_search_photo_deleted AFTER DELETE ON photos"
        " BEGIN DELETE FROM photo_search WHERE id = OLD.id; END"
    )


#: What the search documents store besides the photo's own row (issue #32, the catalog's size):
#: the other files of its capture, its tags, colour label and people, one row for a photo that has
#: any of them. The path, camera and lens were stored a second time in every photo's document (about
#: 70 bytes a photo of a real catalog): the ``photo_search`` view now reads them from the photo.
PARTS_TABLE = "photo_search_parts"

#: The stored parts of one photo's document, computed from the tables the writers write.
PARTS_SOURCE_VIEW = f"""
CREATE VIEW photo_search_parts_source AS
SELECT
    p.id AS id,
    (SELECT group_concat(path, ' ') FROM photo_files WHERE photo_id = p.id) AS files,
{_TAGS_LABEL_PEOPLE}"""

#: Every photo's document as the index holds it (the FTS5 table's content; ``rowid`` for FTS5): the
#: same text the documents held when they were a table (``photo_search_source``).
DOCUMENT_VIEW = f"""
CREATE VIEW photo_search AS
SELECT
    p.id AS rowid,
    p.id AS id,
    p.path || coalesce(' ' || s.files, '') AS path,
    trim(coalesce(p.camera, '') || ' ' || coalesce(p.lens, '')) AS gear,
    s.tags AS tags,
    s.label AS label,
    s.people AS people
FROM photos p LEFT JOIN {PARTS_TABLE} s ON s.id = p.id
"""

_NAMES = ", ".join(COLUMNS)
#: A photo's document out of the index, as the index holds it (read before anything changes it).
_UNINDEX = (
    f"INSERT INTO photo_search_fts (photo_search_fts, rowid, {_NAMES})"
    f" SELECT 'delete', id, {_NAMES} FROM photo_search WHERE id IN ({{key}});"
)
#: A photo's document into the index, as it is now.
_INDEX = (
    f"INSERT INTO photo_search_fts (rowid, {_NAMES}) SELECT id, {_NAMES} FROM photo_search"
    " WHERE id IN ({key});"
)
#: A photo's stored parts recomputed (no row when it has none).
_STORE = (
    f"DELETE FROM {PARTS_TABLE} WHERE id IN ({{key}});"
    f" INSERT INTO {PARTS_TABLE} (id, files, tags, label, people)"
    " SELECT id, files, tags, label, people FROM photo_search_parts_source WHERE id IN ({key})"
    " AND coalesce(files, tags, label, people) IS NOT NULL;"
)

#: (trigger name, when it fires, what it does with the photo ``{key}`` names). A document's text is
#: taken out of the index exactly as it was put in (FTS5's 'delete' needs the old text): a change to
#: another table takes it out before refreshing the stored parts; a change to the photo row takes it
#: out before the change (BEFORE triggers) and puts it back after. A photo's deletion takes its
#: document out before the row goes (before the cascades to its tags, faces and files, whose own
#: triggers then find no photo and do nothing).
DOCUMENT_TRIGGERS = (
    *(
        (name, when, _UNINDEX + " " + _STORE + " " + _INDEX, key)
        for name, when, key in TRIGGERS
        if not name.startswith("photo_search_photo_")
    ),
    ("photo_search_photo_added", "AFTER INSERT ON photos", _STORE + " " + _INDEX, "NEW.id"),
    (
        "photo_search_photo_changing",
        "BEFORE UPDATE OF path, camera, lens ON photos",
        _UNINDEX,
        "OLD.id",
    ),
    (
        "photo_search_photo_changed",
        "AFTER UPDATE OF path, camera, lens ON photos",
        _INDEX,
        "NEW.id",
    ),
    ("photo_search_photo_deleting", "BEFORE DELETE ON photos", _UNINDEX, "OLD.id"),
    (
        "photo_search_photo_deleted",
        "AFTER DELETE ON photos",
        f"DELETE FROM {PARTS_TABLE} WHERE id IN ({{key}});",
        "OLD.id",
    ),
)


@migrations("020_search_documents_from_photo_rows")
def m020_search_documents_from_photo_rows(db: sqlite_utils.Database) -> None:
    """Search documents without a second copy of each photo's path, camera and lens (issue #32, the
    catalog's size: about 70 bytes a photo). ``photo_search`` becomes a view of the photo row and
    the stored parts (:data:`PARTS_TABLE`: the capture's other files, tags, label, people, one row
    for a photo that has any), giving every document the same text as before, so the FTS5 index
    (whose content it is) is kept as it is: no document is indexed again. One pass copies the parts
    out of the documents (the files are what follows the photo's path); the triggers are replaced
    by ones that take a document out of the index before what it reads changes."""
    kind = db.execute("SELECT type FROM sqlite_master WHERE name = 'photo_search'").fetchone()
    if kind is None or kind[0] != "table":
        return
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {PARTS_TABLE} (id INTEGER PRIMARY KEY, files TEXT,"
        " tags TEXT, label TEXT, people TEXT)"
    )
    # A document's path is its photo's path, then its capture's other files (a space between).
    files = (
        "CASE WHEN length(s.path) > length(p.path) + 1 AND substr(s.path, 1, length(p.path) + 1)"
        " = p.path || ' ' THEN substr(s.path, length(p.path) + 2) END"
    )
    # Documents the view would not give back word for word (a photo deleted or changed behind
    # the triggers' back), and photos without one: indexed again below. Main tables, dropped at
    # the end of the step: a TEMP table left the connection unable to checkpoint after a VACUUM.
    db.execute(
        "CREATE TABLE _photo_search_stale AS SELECT s.* FROM main.photo_search s"
        " LEFT JOIN photos p ON p.id = s.id WHERE p.id IS NULL"
        f" OR s.path IS NOT p.path || coalesce(' ' || {files}, '')"
        " OR s.gear IS NOT trim(coalesce(p.camera, '') || ' ' || coalesce(p.lens, ''))"
    )
    db.execute(
        "CREATE TABLE _photo_search_unindexed AS SELECT id FROM photos"
        " WHERE id NOT IN (SELECT id FROM main.photo_search)"
    )
    db.execute(
        f"INSERT INTO {PARTS_TABLE} (id, files, tags, label, people)"
        f" SELECT s.id, {files}, s.tags, s.label, s.people"
        " FROM main.photo_search s JOIN photos p ON p.id = s.id"
        " WHERE s.id NOT IN (SELECT id FROM _photo_search_stale)"
        f" AND coalesce({files}, s.tags, s.label, s.people) IS NOT NULL"
    )
    for name in ("photo_search_ai", "photo_search_ad", "photo_search_au"):
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
    db.execute(
        f"INSERT INTO photo_search_fts (photo_search_fts, rowid, {_NAMES})"
        f" SELECT 'delete', id, {_NAMES} FROM _photo_search_stale"
    )
    db.execute("DROP TABLE main.photo_search")
    db.execute("DROP VIEW IF EXISTS photo_search_parts_source")
    db.execute(PARTS_SOURCE_VIEW)
    db.execute(DOCUMENT_VIEW)
    again = "SELECT id FROM _photo_search_stale UNION SELECT id FROM _photo_search_unindexed"
    for statement in (_STORE + _INDEX).format(key=again).split(";"):
        if statement.strip():
            db.execute(statement)
    db.execute("DROP TABLE _photo_search_stale")
    db.execute("DROP TABLE _photo_search_unindexed")
    for name, *_ in TRIGGERS:
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
    for name, when, body, key in DOCUMENT_TRIGGERS:
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
        db.execute(f"CREATE TRIGGER {name} {when} BEGIN {body.format(key=key)} END")


@migrations("021_search_index_without_column_sizes")
def m021_search_index_without_column_sizes(db: sqlite_utils.Database) -> None:
    """The search index to be made again without its per-document column sizes (FTS5
    ``columnsize=0``; issue #32, the catalog's size): they serve only ``bm25``/``rank`` ordering,
    which no search of culler uses (a list is sorted by its own order, newest first or by path).
    The option is fixed when an index is made, so the index is made again from the
    ``photo_search`` view (:func:`rebuild_index`); a freshly built index is also tighter than one
    grown a photo at a time (on the 100,000-photo benchmark catalog 50 bytes a photo become 25).
    That is one transaction that reads every photo (0.4 s at 100,000 photos), so this step only
    records it as to do: it runs like a data upgrade (culler.catalog.upgrades.WHOLE_STEPS), with
    a progress bar on the next command run in a terminal; the index works as it is meanwhile."""
    if not _index_has_column_sizes(db):
        return
    if db.execute("SELECT 1 FROM photos LIMIT 1").fetchone() is None:
        rebuild_index(db)  # a new catalog: nothing to read
    else:
        upgrades.register_whole_step(db, "search_index_without_column_sizes")


def _index_has_column_sizes(db: Any) -> bool:
    row = db.execute("SELECT sql FROM sqlite_master WHERE name = 'photo_search_fts'").fetchone()
    kind = db.execute("SELECT type FROM sqlite_master WHERE name = 'photo_search'").fetchone()
    return row is not None and "columnsize" not in row[0] and kind is not None and kind[0] == "view"


def rebuild_index(conn: Any) -> None:
    """Inside the caller's transaction: the search index made again, without column sizes, from
    every photo's document (a no-op when it already is)."""
    if not _index_has_column_sizes(conn):
        return
    conn.execute("DROP TABLE photo_search_fts")
    conn.execute(
        f"CREATE VIRTUAL TABLE photo_search_fts USING fts5({_NAMES},"
        " content='photo_search', columnsize=0)"
    )
    conn.execute("INSERT INTO photo_search_fts (photo_search_fts) VALUES ('rebuild')")


upgrades.WHOLE_STEPS["search_index_without_column_sizes"] = upgrades.WholeStep(
    name="search_index_without_column_sizes",
    what="making the search index again, smaller",
    table="photos",
    run=rebuild_index,
)


def fts_query(text: str) -> str:
    """The FTS5 query for what a user typed: every word a prefix, all of them required.

    Each term is quoted (so ``AND``, ``-``, ``:`` or a stray quote are words, never FTS syntax); a term
    that holds no letter or digit is dropped. ``""`` when nothing searchable is left.
    """
    terms = [t for t in text.split() if re.search(r"\w", t)]
    return " ".join('"' + t.replace('"', '""') + '"*' for t in terms)


class SearchMixin:
    """Catalog methods for full-text search (mixed into :class:`culler.catalog.core.Catalog`)."""

    db: sqlite_utils.Database

    def search_photo_ids(self, text: str, limit: int | None = None) -> list[int]:
        """Ids of the photos whose document matches every word of ``text`` (newest rows first).

        Collapsed bursts make no difference: every photo has its own document. An empty or
        punctuation-only ``text`` matches nothing.
        """
        query = fts_query(text)
        if not query:
            return []
        sql = (
            "SELECT rowid FROM photo_search_fts WHERE photo_search_fts MATCH ? ORDER BY rowid DESC"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [row[0] for row in self.db.execute(sql, [query])]

    def search_filter(self, text: str) -> tuple[str, list[Any]]:
        """An SQL condition on ``p.id`` (photos aliased ``p``) for :func:`list_photos`.

        Two plans, chosen by how many photos match (counted up to :data:`MANY`): few matches are read
        from the index first and the photos looked up by id; many (a camera, a year: half an archive)
        are collected once and each photo checked against them as the list walks its sort order, so a
        first page of 50 stops after about 100 photos instead of sorting every match.
        """
        query = fts_query(text)
        if not query:
            return "0", []  # nothing searchable typed: nothing matches
        (count,) = self.db.execute(
            "SELECT count(*) FROM (SELECT rowid FROM photo_search_fts WHERE photo_search_fts MATCH ?"
            f" LIMIT {MANY})",
            [query],
        ).fetchone()
        if count < MANY:
            return "p.id IN (SELECT rowid FROM photo_search_fts WHERE photo_search_fts MATCH ?)", [
                query
            ]
        # The unary + keeps SQLite from driving the query from the matches: it walks the list's own
        # order and checks each photo against the matches, collected once into a temporary index.
        return (
            "+p.id IN (SELECT rowid FROM photo_search_fts WHERE photo_search_fts MATCH ?)",
            [query],
        )

    def search_document(self, photo_id: int) -> dict[str, Any] | None:
        """What the index holds for one photo (for `culler show` and tests)."""
        cursor = self.db.execute(f"SELECT {_NAMES}, id FROM photo_search WHERE id = ?", [photo_id])
        row = cursor.fetchone()
        return dict(zip([d[0] for d in cursor.description], row, strict=True)) if row else None
