"""Numbered schema migrations: small functions applied once, in order, recorded in ``_migrations``.

Core migrations live here; plugins add their own through the ``register_migrations`` hook. A migration is
``fn(db)`` taking a ``sqlite_utils.Database``; it must only add (tables, columns, indexes), never drop data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlite_utils

MigrationFn = Callable[[sqlite_utils.Database], None]


class Migrations:
    """An ordered set of named migrations; calling the instance with a name returns a decorator."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.steps: list[tuple[str, MigrationFn]] = []

    def __call__(self, name: str) -> Callable[[MigrationFn], MigrationFn]:
        def decorator(fn: MigrationFn) -> MigrationFn:
            self.steps.append((f"{self.namespace}:{name}", fn))
            return fn

        return decorator

    def apply(self, db: sqlite_utils.Database) -> list[str]:
        """Apply the steps not yet recorded; return the names applied."""
        db.execute(
            "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        done = {row[0] for row in db.execute("SELECT name FROM _migrations").fetchall()}
        applied = []
        for name, fn in self.steps:
            if name in done:
                continue
            with db.conn:
                fn(db)
                db.execute(
                    "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                    [name, dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")],
                )
            applied.append(name)
        return applied


migrations = Migrations("core")


@migrations("001_initial")
def m001_initial(db: sqlite_utils.Database) -> None:
    db.executescript(
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


@migrations("002_near_duplicate_signatures")
def m002_near_duplicate_signatures(db: sqlite_utils.Database) -> None:
    """``photos.signature``: the near-duplicate signature (culler.imaging.signatures), filled by the next scan
    of each file; ``group_members.frame_defect``: what comparing a frame with its siblings found."""
    db.execute("ALTER TABLE photos ADD COLUMN signature BLOB")
    db.execute("ALTER TABLE group_members ADD COLUMN frame_defect TEXT")


@migrations("003_personal_ranker")
def m003_personal_ranker(db: sqlite_utils.Database) -> None:
    """``personal_rankers``: rankers learned from the photographer's own decisions
    (culler.decide.ranker): the model as JSON, what it was measured at on held-out shoots, and
    whether it beat culler's default ranking there (only then does ``culler cull`` use it)."""
    db.execute(
        """
        CREATE TABLE personal_rankers (
            id INTEGER PRIMARY KEY,
            created TEXT NOT NULL,
            model TEXT NOT NULL,
            evaluation TEXT NOT NULL,
            beats_default INTEGER NOT NULL DEFAULT 0,
            active INTEGER NOT NULL DEFAULT 1
        )
        """
    )
