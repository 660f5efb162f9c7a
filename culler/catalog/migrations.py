"""Numbered schema migrations: small functions applied once, in order, each in one transaction.

Core migrations live here; plugins add their own through the ``register_migrations`` hook. A migration is
``fn(db)`` taking a ``sqlite_utils.Database``; it must only add (tables, columns, indexes), never drop data.

sqlite-utils' :class:`sqlite_utils.Migrations` applies them: each step and the record of it run inside
one transaction, so a step cut short by a full disk or a kill leaves the catalog exactly as it was before
the step (schema changes included: sqlite-utils runs a script statement by statement inside the
transaction instead of letting ``executescript`` commit). The whole upgrade also takes the write lock
first (``BEGIN IMMEDIATE``), so two processes opening an old catalog at once queue instead of racing.

Records: sqlite-utils keeps them in ``_sqlite_migrations``; every step is also recorded in the older
``_migrations`` table, which earlier versions of culler read to refuse a catalog from a newer culler.
Catalogs of earlier versions (records only in ``_migrations``) are adopted on open. Earlier versions ran
schema scripts outside a transaction, so a catalog they left half-created or half-upgraded has some of a
step's tables or columns and no record of the step: every step that earlier versions shipped is written
to be safe to run again (``IF NOT EXISTS``, columns added only when missing), which repairs such a
catalog on open. New steps need not be: they are atomic.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite_utils

# sqlite-utils imports numpy (and tries pandas) when it loads: a catalog that only reads (`culler
# list`) checks its records through the plain connection and never loads it.
MigrationFn = Callable[["sqlite_utils.Database"], None]

#: The table earlier versions recorded applied steps in (still written, for their newer-catalog check).
LEGACY_TABLE = "_migrations"
#: sqlite-utils' record of applied migrations.
#: sqlite-utils' ``Migrations.migrations_table`` (a test checks they agree).
RECORD_TABLE = "_sqlite_migrations"


class Migrations:
    """An ordered set of named migrations; calling the instance with a name returns a decorator.

    This is the object the ``register_migrations`` hook receives (its contract predates the move to
    sqlite-utils and stays): ``@migrations("001_my_table")`` decorates ``fn(db)``.
    """

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.steps: list[tuple[str, MigrationFn]] = []

    def __call__(self, name: str) -> Callable[[MigrationFn], MigrationFn]:
        def decorator(fn: MigrationFn) -> MigrationFn:
            qualified = f"{self.namespace}:{name}"
            if any(existing == qualified for existing, _ in self.steps):
                raise ValueError(f"migration {qualified} is registered twice")
            self.steps.append((qualified, fn))
            return fn

        return decorator

    @property
    def set_name(self) -> str:
        """The sqlite-utils migration set these steps are recorded under."""
        return f"culler-{self.namespace}"

    def pending(self, db: sqlite_utils.Database | sqlite3.Connection) -> list[str]:
        """Names of the steps not yet applied to ``db`` (a database or a plain connection). Only reads."""
        done = applied_names(db)
        return [name for name, _ in self.steps if name not in done]

    def apply(self, db: sqlite_utils.Database) -> list[str]:
        """Apply the steps not yet recorded, each in its own savepoint of one write transaction; return
        the names applied. Nothing is written when every step is already applied."""
        if not self.pending(db):
            return []
        import sqlite_utils

        runner = sqlite_utils.Migrations(self.set_name)
        for name, fn in self.steps:
            runner(name=name)(_recorded(name, fn))
        conn = db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            _adopt_legacy_records(db, self.set_name, self.namespace)
            todo = [m.name for m in runner.pending(db)]
            runner.apply(db)
            conn.commit()
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise
        return todo


def _recorded(name: str, fn: MigrationFn) -> Any:
    def step(db: sqlite_utils.Database) -> None:
        fn(db)
        db.execute(
            f"INSERT OR IGNORE INTO {LEGACY_TABLE} (name, applied_at) VALUES (?, ?)",
            [name, dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")],
        )

    step.__name__ = name
    return step


def _adopt_legacy_records(db: sqlite_utils.Database, set_name: str, namespace: str) -> None:
    """Create the record tables if needed and copy the steps earlier versions recorded only in
    ``_migrations`` into sqlite-utils' record (inside the caller's transaction)."""
    import sqlite_utils

    db.execute(
        f"CREATE TABLE IF NOT EXISTS {LEGACY_TABLE} (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    sqlite_utils.Migrations(set_name).ensure_migrations_table(db)
    db.execute(
        f"INSERT INTO {RECORD_TABLE} (migration_set, name, applied_at)"
        f" SELECT ?, name, applied_at FROM {LEGACY_TABLE} WHERE name LIKE ? AND name NOT IN"
        f" (SELECT name FROM {RECORD_TABLE} WHERE migration_set = ?) ORDER BY rowid",
        [set_name, f"{namespace}:%", set_name],
    )


def applied_names(db: sqlite_utils.Database | sqlite3.Connection) -> set[str]:
    """Every step recorded in either record table (reads only; empty for a new file)."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    done: set[str] = set()
    if LEGACY_TABLE in tables:
        done |= {row[0] for row in db.execute(f"SELECT name FROM {LEGACY_TABLE}")}
    if RECORD_TABLE in tables:
        done |= {row[0] for row in db.execute(f"SELECT name FROM {RECORD_TABLE}")}
    return done


def add_column(db: sqlite_utils.Database, table: str, column: str, col_type: Any) -> None:
    """Add ``column`` to ``table`` unless it is there already (a step an earlier version ran halfway)."""
    if column not in db[table].columns_dict:
        db[table].add_column(column, col_type)


def run_again_safely(script: str) -> str:
    """``script`` with every CREATE TABLE/INDEX/VIEW made ``IF NOT EXISTS`` (steps earlier versions
    ran outside a transaction are rerun this way to repair a catalog they left half-created)."""
    return re.sub(
        r"\bCREATE (TABLE|INDEX|VIEW|UNIQUE INDEX|TRIGGER) (?!IF NOT EXISTS)",
        r"CREATE \1 IF NOT EXISTS ",
        script,
    )


migrations = Migrations("core")


@migrations("001_initial")
def m001_initial(db: sqlite_utils.Database) -> None:
    # SQL, not the table API: CHECK constraints, composite keys and views are not expressible there.
    db.executescript(
        run_again_safely(
            """
        CREATE TABLE photos (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            root TEXT,
            size INTEGER,
            mtime_ns INTEGER,
            content_hash TEXT,
            width INTEGER,
            height INTEGER,
            taken_at TEXT,
            subsec TEXT,
            camera TEXT,
            lens TEXT,
            orientation INTEGER,
            phash TEXT,
            status TEXT NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'missing', 'error')),
            error TEXT,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL
        );
        CREATE INDEX idx_photos_hash ON photos(content_hash);
        CREATE INDEX idx_photos_status ON photos(status);
        CREATE INDEX idx_photos_taken ON photos(taken_at);

        CREATE TABLE scorers (
            id INTEGER PRIMARY KEY,
            scorer_id TEXT NOT NULL,
            version TEXT NOT NULL,
            weights_sha256 TEXT NOT NULL DEFAULT '',
            parent INTEGER REFERENCES scorers(id),
            active INTEGER NOT NULL DEFAULT 1,
            created TEXT NOT NULL,
            config TEXT NOT NULL DEFAULT '{}',
            UNIQUE (scorer_id, version, weights_sha256)
        );

        CREATE TABLE scores (
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            scorer_pk INTEGER NOT NULL REFERENCES scorers(id),
            score REAL,
            distribution TEXT,
            extra TEXT,
            reasons TEXT,
            created TEXT NOT NULL,
            PRIMARY KEY (photo_id, scorer_pk)
        );
        CREATE INDEX idx_scores_scorer ON scores(scorer_pk, score);

        CREATE TABLE score_errors (
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            scorer_pk INTEGER NOT NULL REFERENCES scorers(id),
            error TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (photo_id, scorer_pk)
        );

        CREATE TABLE tags (
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            scorer_pk INTEGER NOT NULL REFERENCES scorers(id),
            tag TEXT NOT NULL,
            probability REAL NOT NULL,
            PRIMARY KEY (photo_id, scorer_pk, tag)
        );
        CREATE INDEX idx_tags_tag ON tags(tag, probability);

        CREATE TABLE embeddings (
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL,
            created TEXT NOT NULL,
            PRIMARY KEY (photo_id, model)
        );

        CREATE TABLE ratings (
            id INTEGER PRIMARY KEY,
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            stars INTEGER CHECK (stars IS NULL OR stars BETWEEN 0 AND 5),
            decision TEXT CHECK (decision IS NULL OR decision IN ('pick', 'reject', 'none')),
            label TEXT,
            source TEXT NOT NULL,
            reason TEXT,
            at TEXT NOT NULL
        );
        CREATE INDEX idx_ratings_photo ON ratings(photo_id, id);

        CREATE TABLE preferences (
            id INTEGER PRIMARY KEY,
            winner_photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            loser_photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            source TEXT NOT NULL,
            at TEXT NOT NULL
        );

        CREATE TABLE groups (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('burst', 'duplicate')),
            created TEXT NOT NULL
        );
        CREATE TABLE group_members (
            group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            rank INTEGER,
            PRIMARY KEY (group_id, photo_id)
        );
        CREATE INDEX idx_group_members_photo ON group_members(photo_id);

        CREATE TABLE scan_runs (
            id INTEGER PRIMARY KEY,
            root TEXT NOT NULL,
            started TEXT NOT NULL,
            finished TEXT,
            files_seen INTEGER DEFAULT 0,
            files_scored INTEGER DEFAULT 0,
            errors INTEGER DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'running'
        );

        CREATE TABLE training_runs (
            id INTEGER PRIMARY KEY,
            scorer_pk INTEGER REFERENCES scorers(id),
            base_scorer_id TEXT,
            params TEXT,
            metrics TEXT,
            started TEXT NOT NULL,
            finished TEXT,
            status TEXT NOT NULL DEFAULT 'running',
            out_dir TEXT
        );

        -- The latest rating event per photo; NULL fields mean "not set" (a clear writes stars 0 and
        -- decision 'none').
        CREATE VIEW current_ratings AS
            SELECT r.photo_id, r.stars, r.decision, r.label, r.source, r.at
            FROM ratings r
            WHERE r.id = (SELECT MAX(id) FROM ratings WHERE photo_id = r.photo_id);

        -- One score per (photo, scorer id): the active scorer version first, then the newest.
        CREATE VIEW current_scores AS
            SELECT photo_id, scorer_id, score, distribution, reasons, extra, scorer_pk FROM (
                SELECT s.photo_id, sc.scorer_id, s.score, s.distribution, s.reasons, s.extra,
                       s.scorer_pk,
                       ROW_NUMBER() OVER (
                           PARTITION BY s.photo_id, sc.scorer_id
                           ORDER BY sc.active DESC, sc.id DESC
                       ) AS rn
                FROM scores s JOIN scorers sc ON sc.id = s.scorer_pk
            ) WHERE rn = 1;
        """
        )
    )


@migrations("002_near_duplicate_signatures")
def m002_near_duplicate_signatures(db: sqlite_utils.Database) -> None:
    """``photos.signature``: the near-duplicate signature (culler.imaging.signatures), filled by the next scan
    of each file; ``group_members.frame_defect``: what comparing a frame with its siblings found."""
    add_column(db, "photos", "signature", bytes)
    add_column(db, "group_members", "frame_defect", str)


@migrations("003_archive_root_index")
def m003_archive_root_index(db: sqlite_utils.Database) -> None:
    """The photos under one scanned folder, as an index: an incremental grouping reads a new shoot's
    folder through it (issue #32: a new shoot is grouped against its own shoot window and folders,
    not the archive; its time window reads ``idx_photos_taken``)."""
    db.execute("CREATE INDEX IF NOT EXISTS idx_photos_root ON photos(root, taken_at)")


@migrations("004_shooting_data")
def m004_shooting_data(db: sqlite_utils.Database) -> None:
    """The shooting data from EXIF, filled by the scan's decode worker: ``exposure_time`` (seconds),
    ``f_number``, ``iso`` and ``focal_length`` (mm). Photos scanned before stay NULL until a rescan
    decodes them again (``culler scan --rescore``)."""
    for column, kind in (
        ("exposure_time", float),
        ("f_number", float),
        ("iso", int),
        ("focal_length", float),
    ):
        add_column(db, "photos", column, kind)


@migrations("005_rating_fields")
def m005_rating_fields(db: sqlite_utils.Database) -> None:
    """``ratings.fields``: which of stars, decision and label a rating event set (comma separated),
    the rest being carried over from the state before. It tells a person pressing X on the cull's
    proposed reject (now their decision) from a star given to a photo the cull rejected (still the
    cull's reject). NULL on older events: a field counts as set where its value changed."""
    add_column(db, "ratings", "fields", str)


@migrations("006_faces")
def m006_faces(db: sqlite_utils.Database) -> None:
    """``faces``: every face a scorer found in a photo (``ScoreResult.extra["faces"]``), one row each
    with its box, landmarks and verdicts, so lists and filters need not parse JSON; ``people``: the
    people faces are assigned to (``faces.person_id``), named by the photographer."""
    # SQL: the table API has no form for the composite UNIQUE and the SET NULL action.
    db.executescript(
        """
        CREATE TABLE people (
            id INTEGER PRIMARY KEY,
            name TEXT UNIQUE,
            created TEXT NOT NULL
        );
        CREATE TABLE faces (
            id INTEGER PRIMARY KEY,
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            scorer_pk INTEGER NOT NULL REFERENCES scorers(id) ON DELETE CASCADE,
            face_index INTEGER NOT NULL,
            x INTEGER NOT NULL, y INTEGER NOT NULL, w INTEGER NOT NULL, h INTEGER NOT NULL,
            image_w INTEGER, image_h INTEGER,
            confidence REAL,
            main INTEGER NOT NULL DEFAULT 1,
            landmarks TEXT,
            eyes TEXT NOT NULL DEFAULT 'unknown',
            eyes_confidence REAL,
            focus TEXT NOT NULL DEFAULT 'unknown',
            focus_confidence REAL,
            descriptor BLOB,
            person_id INTEGER REFERENCES people(id) ON DELETE SET NULL,
            UNIQUE (photo_id, scorer_pk, face_index)
        );
        CREATE INDEX idx_faces_photo ON faces(photo_id);
        CREATE INDEX idx_faces_person ON faces(person_id);
        """
    )


@migrations("007_personal_ranker")
def m007_personal_ranker(db: sqlite_utils.Database) -> None:
    """``personal_rankers``: rankers learned from the photographer's own decisions
    (culler.decide.ranker): the model as JSON, what it was measured at on held-out shoots, and
    whether it beat culler's default ranking there (only then does ``culler cull`` use it)."""
    db["personal_rankers"].create(
        {
            "id": int,
            "created": str,
            "model": str,
            "evaluation": str,
            "beats_default": int,
            "active": int,
        },
        pk="id",
        not_null={"created", "model", "evaluation", "beats_default", "active"},
        defaults={"beats_default": 0, "active": 1},
        if_not_exists=True,
    )


@migrations("008_capture_files")
def m008_capture_files(db: sqlite_utils.Database) -> None:
    """``photo_files``: the further files of one capture (issue #30). A camera set to RAW+JPEG writes
    ``IMG_0001.CR3`` and ``IMG_0001.JPG``; they are one photo, whose ``photos`` row holds the file it
    is scored from (the JPEG or HEIC, the cheapest decode) and whose other files (the RAW) are rows
    here, with their size and mtime as the scan last saw them. Catalogs from before hold the two
    files as two photos: the next scan folds them into one, keeping the newer hand rating."""
    # Plain SQL rather than sqlite-utils' create(): the files go with their photo (ON DELETE CASCADE).
    db.execute(
        "CREATE TABLE IF NOT EXISTS photo_files ("
        " path TEXT PRIMARY KEY,"
        " photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,"
        " kind TEXT, size INTEGER, mtime_ns INTEGER)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS idx_photo_files_photo ON photo_files(photo_id)")


@migrations("009_grid_standing_rating")
def m009_grid_standing_rating(db: sqlite_utils.Database) -> None:
    """``rating_now``: each rated photo's newest rating event (stars, decision), kept by triggers on
    the append-only ``ratings`` table, so the grid of a lifetime archive sorts by stars, filters by
    flag and counts picks and rejects from indexes instead of grouping every rating event (issue #32).
    Every writer appends to ``ratings``; the triggers follow each insert (and a photo's deletion,
    which cascades to its events). Filled once from the events a catalog already holds."""
    # One statement at a time: a trigger's body holds semicolons of its own.
    for statement in (
        "CREATE TABLE IF NOT EXISTS rating_now (photo_id INTEGER PRIMARY KEY,"
        " rating_id INTEGER NOT NULL, stars INTEGER, decision TEXT)",
        "CREATE INDEX IF NOT EXISTS idx_rating_now_stars ON rating_now(stars)",
        "CREATE INDEX IF NOT EXISTS idx_rating_now_decision ON rating_now(decision)",
        "CREATE TRIGGER IF NOT EXISTS rating_now_insert AFTER INSERT ON ratings"
        " WHEN NEW.id >= COALESCE("
        "(SELECT rating_id FROM rating_now WHERE photo_id = NEW.photo_id), NEW.id)"
        " BEGIN INSERT OR REPLACE INTO rating_now (photo_id, rating_id, stars, decision)"
        " VALUES (NEW.photo_id, NEW.id, NEW.stars, NEW.decision); END",
        "CREATE TRIGGER IF NOT EXISTS rating_now_delete AFTER DELETE ON ratings"
        " WHEN OLD.id = (SELECT rating_id FROM rating_now WHERE photo_id = OLD.photo_id)"
        " BEGIN DELETE FROM rating_now WHERE photo_id = OLD.photo_id;"
        " INSERT INTO rating_now (photo_id, rating_id, stars, decision)"
        " SELECT photo_id, id, stars, decision FROM ratings"
        " WHERE photo_id = OLD.photo_id ORDER BY id DESC LIMIT 1; END",
        "INSERT OR REPLACE INTO rating_now (photo_id, rating_id, stars, decision)"
        " SELECT r.photo_id, r.id, r.stars, r.decision FROM ratings r"
        " JOIN (SELECT MAX(id) AS id FROM ratings GROUP BY photo_id) last ON last.id = r.id",
    ):
        db.execute(statement)


@migrations("010_compact_signatures")
def m010_compact_signatures(db: sqlite_utils.Database) -> None:
    """Near-duplicate signatures of about 800 bytes instead of 1,105 (version 2: the 32×32 thumbnail
    compressed losslessly; culler.imaging.signatures). This step only records the
    rewrite as to do (``_data_upgrades``); ``culler.catalog.upgrades`` then rewrites the photos in
    batches with a progress bar, resumable, never touching a rating. Version 1 signatures stay
    readable meanwhile. Nothing to rewrite (a new catalog): recorded as finished at once."""
    from culler.catalog import upgrades

    upgrades.register(db, "compact_signatures")


@migrations("011_compact_score_json")
def m011_compact_score_json(db: sqlite_utils.Database) -> None:
    """Score details (``scores.extra``) as compact JSON, integer grids as bytes
    (culler.catalog.score_json: a technical score's details on 45 real photos went from 1,606 bytes
    to 961 on average). Records the rewrite of the rows stored before as to do, as
    ``010_compact_signatures`` does; those rows read as they are meanwhile."""
    from culler.catalog import upgrades

    upgrades.register(db, "compact_score_json")


@migrations("012_scan_folder_state")
def m012_scan_folder_state(db: sqlite_utils.Database) -> None:
    """``idx_photos_folder_state``: each photo's path, size, mtime and status in one index (issue
    #32). A rescan that changed nothing proves it folder by folder (``culler.scan.unchanged``),
    reading each folder's rows down this index alone: the table's rows, a signature each, are about
    1.9 KB a photo, and at a million photos reading them was half of the rescan. About 80 bytes a
    photo; building it on a million-photo catalog reads the table once."""
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_photos_folder_state ON photos(path, size, mtime_ns, status)"
    )


#: The photo columns grouping reads (the facts of ``culler.catalog.groups.FACTS_SQL``): a change to
#: one of them is logged by :func:`m013_grouping_change_log`'s triggers.
GROUPING_FACT_COLUMNS = (
    "content_hash",
    "taken_at",
    "subsec",
    "camera",
    "root",
    "signature",
    "status",
)


@migrations("013_grouping_change_log")
def m013_grouping_change_log(db: sqlite_utils.Database) -> None:
    """What changed since the last grouping, kept by triggers (issue #32). ``grouping_log`` gets a
    row (an ever-growing sequence number, the photo) whenever a photo is added or deleted, one of
    the facts grouping reads changes (content hash, capture time, sub-seconds, camera, folder,
    signature, status) or one of its embeddings is added, changed or deleted;
    ``grouping_changes.generation`` goes up whenever a stored group or member changes. A grouping
    records the last sequence number it read and the groups' generation, so "has anything changed
    since?" reads a row or two, and an incremental grouping reads the photos logged since, instead
    of comparing every photo's facts (about 4 s at a million photos). A rescan that rewrites a row
    with the same values logs nothing (the trigger compares old and new). Catalogs grouped before
    this step have nothing recorded: their next grouping compares the facts as before."""
    log = "INSERT INTO grouping_log (photo_id) VALUES ({row}.{column})"
    bump = "UPDATE grouping_changes SET generation = generation + 1 WHERE what = 'groups'"
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in GROUPING_FACT_COLUMNS)
    # One statement at a time: a trigger's body holds semicolons of its own.
    for statement in (
        # AUTOINCREMENT: a sequence number is never reused after the log is emptied.
        "CREATE TABLE IF NOT EXISTS grouping_log"
        " (seq INTEGER PRIMARY KEY AUTOINCREMENT, photo_id INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS grouping_changes"
        " (what TEXT PRIMARY KEY, generation INTEGER NOT NULL)",
        "INSERT OR IGNORE INTO grouping_changes (what, generation) VALUES ('groups', 0)",
        "CREATE TRIGGER IF NOT EXISTS grouping_photo_added AFTER INSERT ON photos"
        f" BEGIN {log.format(row='NEW', column='id')}; END",
        "CREATE TRIGGER IF NOT EXISTS grouping_photo_deleted AFTER DELETE ON photos"
        f" BEGIN {log.format(row='OLD', column='id')}; END",
        "CREATE TRIGGER IF NOT EXISTS grouping_photo_changed AFTER UPDATE OF"
        f" {', '.join(GROUPING_FACT_COLUMNS)} ON photos WHEN {changed}"
        f" BEGIN {log.format(row='NEW', column='id')}; END",
        "CREATE TRIGGER IF NOT EXISTS grouping_embedding_added AFTER INSERT ON embeddings"
        f" BEGIN {log.format(row='NEW', column='photo_id')}; END",
        "CREATE TRIGGER IF NOT EXISTS grouping_embedding_changed AFTER UPDATE ON embeddings"
        f" BEGIN {log.format(row='OLD', column='photo_id')};"
        f" {log.format(row='NEW', column='photo_id')}; END",
        "CREATE TRIGGER IF NOT EXISTS grouping_embedding_deleted AFTER DELETE ON embeddings"
        f" BEGIN {log.format(row='OLD', column='photo_id')}; END",
        *(
            f"CREATE TRIGGER IF NOT EXISTS grouping_{table}_{event.lower()} AFTER {event} ON {table}"
            f" BEGIN {bump}; END"
            for table in ("groups", "group_members")
            for event in ("INSERT", "UPDATE", "DELETE")
        ),
    ):
        db.execute(statement)


@migrations("014_packed_score_details")
def m014_packed_score_details(db: sqlite_utils.Database) -> None:
    """Score details and reasons (``scores.extra``, ``scores.reasons``) in a versioned binary
    layout (culler.catalog.score_pack: known keys as one byte, grids as bytes, decimals as
    digits; a technical score's details on 45 real photos went from 959 bytes to 263),
    stored as BLOBs in the same columns; and each score's time (``scores.created``) as
    milliseconds since 1970 (13 digits instead of 29 characters of ISO text; readers get the ISO
    text back from culler.catalog.timestamps.iso). Records the rewrite of the rows stored before
    as to do, as ``010_compact_signatures`` does; those rows read as they are meanwhile."""
    from culler.catalog import upgrades

    upgrades.register(db, "pack_score_extra")
    upgrades.register(db, "pack_score_reasons")
    upgrades.register(db, "score_times_ms")


@migrations("015_embedding_model_counts")
def m015_embedding_model_counts(db: sqlite_utils.Database) -> None:
    """``embedding_models``: how many cached embeddings each model has, kept by triggers (issue
    #32). Grouping compares by the model with the most embeddings, and every incremental grouping
    asked which that is with a ``GROUP BY`` over every embedding: about a second at a million
    photos, whatever the size of the new shoot. Now it reads a row per model. Filled once from the
    embeddings already cached. An ``INSERT OR REPLACE`` of a photo's embedding (what a rescan
    writes) deletes the old row firing delete triggers only when the connection has recursive
    triggers on (sqlite-utils turns them on, a plain connection has them off): when off, the row it
    replaces is uncounted before the insert."""
    counted = "INSERT INTO embedding_models (model, photos) VALUES (NEW.model, 1)"
    counted += " ON CONFLICT (model) DO UPDATE SET photos = photos + 1"
    uncounted = "UPDATE embedding_models SET photos = photos - 1 WHERE model = {row}.model"
    replaced = (
        uncounted.format(row="NEW") + " AND EXISTS (SELECT 1 FROM embeddings"
        " WHERE photo_id = NEW.photo_id AND model = NEW.model)"
        " AND NOT (SELECT recursive_triggers FROM pragma_recursive_triggers)"
    )
    for statement in (
        "CREATE TABLE IF NOT EXISTS embedding_models"
        " (model TEXT PRIMARY KEY, photos INTEGER NOT NULL)",
        "DELETE FROM embedding_models",
        "INSERT INTO embedding_models (model, photos)"
        " SELECT model, COUNT(*) FROM embeddings GROUP BY model",
        "CREATE TRIGGER IF NOT EXISTS embedding_model_replaced BEFORE INSERT ON embeddings"
        f" BEGIN {replaced}; END",
        "CREATE TRIGGER IF NOT EXISTS embedding_model_added AFTER INSERT ON embeddings"
        f" BEGIN {counted}; END",
        "CREATE TRIGGER IF NOT EXISTS embedding_model_deleted AFTER DELETE ON embeddings"
        f" BEGIN {uncounted.format(row='OLD')}; END",
        "CREATE TRIGGER IF NOT EXISTS embedding_model_moved AFTER UPDATE OF model ON embeddings"
        f" BEGIN {uncounted.format(row='OLD')}; {counted}; END",
    ):
        db.execute(statement)


@migrations("016_larger_pages")
def m016_larger_pages(db: sqlite_utils.Database) -> None:
    """8 KB pages instead of SQLite's default 4 KB (issue #32 goal 5). A photo's row holds a
    signature of about 860 bytes, so a 4 KB page holds four rows and the unused space left at its
    end; at 8 KB that space is shared by twice as many rows (a real catalog at 100,000 photos:
    about 160 B a photo less; list and grid reads measured no slower). New catalogs are made with
    8 KB pages (culler.catalog.core). An older catalog gets them through the space reclaim's
    ``VACUUM`` (culler.catalog.upgrades.vacuum), recorded here as to do: it runs with a progress
    bar on the next command run in a terminal, like the other data upgrades, and waits while
    another process has the catalog open."""
    from culler.catalog import upgrades

    upgrades.register_page_size(db)


@migrations("017_unused_hash_index")
def m017_unused_hash_index(db: sqlite_utils.Database) -> None:
    """Drop ``idx_photos_hash`` (issue #32 goal 5): no statement of culler looks a photo up, joins,
    groups or sorts by its content hash (a moved file is matched in memory by size, then hash:
    culler.scan.plan), so the index only cost every scan's insert and 41 bytes a photo of a real
    catalog. EXPLAIN QUERY PLAN of every read of list, show, groups, cull, the grid pages, a
    regroup, an incremental grouping and a no-change rescan uses every other photo index and
    never this one (docs/scale.md). The pages it held are given back by the space reclaim."""
    from culler.catalog import upgrades

    exists = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'idx_photos_hash'"
    ).fetchone()
    if exists:
        db.execute("DROP INDEX idx_photos_hash")
        if db.execute("SELECT 1 FROM photos LIMIT 1").fetchone():
            upgrades.register_reclaim(db)


@migrations("018_compact_photo_rows_and_grouping_facts")
def m018_compact_photo_rows_and_grouping_facts(db: sqlite_utils.Database) -> None:
    """Photo rows and grouping facts in fewer bytes (issue #32, the catalog's size): no dHash
    (``photos.phash``, 16 hex characters that nothing has read since near-duplicate signatures
    replaced it; the column stays, NULL), ``first_seen``/``last_seen`` as milliseconds since 1970
    (13 digits instead of 29 characters of ISO text; readers get the ISO text back from
    culler.catalog.timestamps.iso), and the grouping plugin's recorded facts as an 8-byte digest
    instead of about 77 bytes of text (culler.catalog.groups.facts_digest). Records the rewrite of
    the rows stored before as to do, as ``010_compact_signatures`` does; readers read both forms
    meanwhile. The grouping plugin's table is the plugin's: rewritten only where it has facts."""
    from culler.catalog import upgrades

    upgrades.register(db, "compact_photo_rows")
    if "facts" in db["grouping_state"].columns_dict:  # an empty dict: no such table
        upgrades.register(db, "grouping_fact_digests")


@migrations("019_scores_without_rowid")
def m019_scores_without_rowid(db: sqlite_utils.Database) -> None:
    """``scores`` as a ``WITHOUT ROWID`` table keyed (photo_id, scorer_pk), with ``created`` an
    INTEGER column (issue #32): the table's rowids and the index its primary key needed
    (``sqlite_autoindex_scores_1``, 37 B a photo of a real catalog) go, and a score's time is
    stored as the number it is (milliseconds, culler.catalog.timestamps) instead of its 13 digits
    as text (the old column's TEXT affinity). About 70 B a photo of a real catalog.

    Changing a table's layout means copying it: about 1.3 s at 100,000 photos (300,000 score
    rows), so about 13 s at a million, too long in one migration. This step makes the new table
    (``scores_v2``, culler.catalog.score_table), keeps it in step with ``scores`` by triggers and
    records the copy as a data upgrade (``scores_without_rowid``: batches with a progress bar,
    resumable, culler.catalog.upgrades); readers read ``scores`` until the copy's last batch
    swaps the tables. A catalog without a score row (a new one) is swapped here at once."""
    from culler.catalog import score_table, upgrades
    from culler.catalog.timestamps import now

    score_table.prepare(db)
    upgrades.register(db, "scores_without_rowid")
    # The score upgrades still to do went by rowid; they go by photo now, from the start (a row
    # already rewritten is left as it is). The copy stores every time as a number itself.
    db.execute(
        f"UPDATE {upgrades.TABLE} SET last_key = 0 WHERE finished IS NULL AND name IN"
        " ('compact_score_json', 'pack_score_extra', 'pack_score_reasons')"
    )
    db.execute(
        f"UPDATE {upgrades.TABLE} SET finished = ? WHERE finished IS NULL"
        " AND name = 'score_times_ms'",
        [now()],
    )
    if not db.execute("SELECT 1 FROM scores LIMIT 1").fetchone():
        score_table.swap(db)


@migrations("022_signature_context_rice")
def m022_signature_context_rice(db: sqlite_utils.Database) -> None:
    """Near-duplicate signatures in version 3 (issue #32, the catalog's size): the 32×32 thumbnail
    in LOCO-I's median-edge residuals and Rice codes chosen per gradient context, about 90 bytes a
    photo smaller than version 2 and exactly as lossless (culler.imaging.signatures). Records the
    rewrite of the version-1 and -2 signatures as to do (``context_rice_signatures``: batches coded
    together with a progress bar, resumable, culler.catalog.upgrades), as
    ``010_compact_signatures`` does; readers read every version meanwhile. The rewrite changes no
    grouping fact, so it leaves nothing in the grouping change log."""
    from culler.catalog import upgrades

    upgrades.register(db, "context_rice_signatures")


@migrations("023_compact_photo_table")
def m023_compact_photo_table(db: sqlite_utils.Database) -> None:
    """``photos`` made again in a compact form (issue #32, the catalog's size;
    culler.catalog.photo_table): no ``UNIQUE`` index of its own on ``path`` (uniqueness is kept
    by triggers that look the path up down ``idx_photos_folder_state``, which leads with it), the
    content hash as 16 bytes instead of 32 hex characters, first/last seen times as INTEGER
    columns and no ``phash`` column. A new table means a copy of every row with foreign keys off, which a migration's
    transaction cannot do: this step records it as a whole step (culler.catalog.upgrades), run in
    one transaction on the next command run in a terminal (on any open for a small catalog);
    readers read both forms meanwhile. A catalog without a photo (a new one) is made compact
    here at once: no row refers to a photo, so nothing can cascade."""
    from culler.catalog import photo_table, upgrades

    if db.execute("SELECT 1 FROM photos LIMIT 1").fetchone() is None:
        photo_table.rebuild(db)
    else:
        upgrades.register_whole_step(db, photo_table.STEP)


@migrations("024_technical_details_without_grid")
def m024_technical_details_without_grid(db: sqlite_utils.Database) -> None:
    """Score details without the technical scorer's per-tile sharpness map (issue #32, the
    catalog's size): ``sharpness_grid`` with ``sharpness_grid_tile`` and ``scored_size``, about 150
    of a real photo's 1,850 bytes, read only by the loupe's overlay, which now computes it for the
    photo it shows from the file (``Scorer.details_on_demand``: the scan's decode, the scan's
    grid). Records the rewrite of the rows that hold one as a data upgrade
    (``technical_details_without_grid``, culler.catalog.upgrades: batches with a progress bar,
    resumable, about 0.1 ms a row); the overlay draws a grid still stored as it is meanwhile."""
    from culler.catalog import upgrades

    upgrades.register(db, "technical_details_without_grid")


@migrations("025_sixteen_kb_pages")
def m025_sixteen_kb_pages(db: sqlite_utils.Database) -> None:
    """16 KB pages instead of 8 KB (issue #32 goal 5). A photo's row is about 950 bytes (its
    signature 770), so an 8 KB page holds eight and leaves the rest of its end unused; a 16 KB
    page shares that end among twice as many rows (a real catalog at 100,000 photos: 1,501 to
    1,480 B a photo; the no-op regroup, a shoot's grouping, ``list``, the GUI's open and re-sort
    and ``cull --dry-run`` timed the same, docs/scale.md). Recorded as the space reclaim's
    ``VACUUM`` (culler.catalog.upgrades.vacuum), run like ``016_larger_pages``'s."""
    from culler.catalog import upgrades

    upgrades.register_page_size(db)


@migrations("026_scan_roots_table")
def m026_scan_roots_table(db: sqlite_utils.Database) -> None:
    """Each scan folder kept once, in ``roots (id, path)``, and a photo's ``root`` its id there
    instead of the folder's text (issue #32, the catalog's size: 17 bytes a row and again in
    ``idx_photos_root`` for a short folder, about 50 for a wedding's; culler.catalog.roots).
    Records the rewrite of the text roots as a data upgrade (``scan_roots_as_ids``,
    culler.catalog.upgrades: batches with a progress bar, resumable); readers read both forms
    meanwhile and after (rows written with a text root). The folder read back is the same text,
    so the rewrite leaves nothing in the grouping change log."""
    from culler.catalog import roots, upgrades

    db.execute(
        f"CREATE TABLE IF NOT EXISTS {roots.TABLE}"
        " (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE)"
    )
    upgrades.register(db, roots.UPGRADE)
