-- A catalog written by culler at schema steps: core:001_initial, plugin:grouping_001_state
-- (tests/test_catalog_migrations.py opens it with today's culler; made by an earlier version's own code)
BEGIN TRANSACTION;
CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL);
INSERT INTO "_migrations" VALUES('core:001_initial','2026-12-06T05:05:53+00:00');
INSERT INTO "_migrations" VALUES('plugin:grouping_001_state','2026-12-06T05:05:53+00:00');
CREATE TABLE embeddings (
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL,
            created TEXT NOT NULL,
            PRIMARY KEY (photo_id, model)
        );
CREATE TABLE group_members (
            group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            rank INTEGER,
            PRIMARY KEY (group_id, photo_id)
        );
CREATE TABLE grouping_state ( photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE, phash TEXT, has_vector INTEGER NOT NULL DEFAULT 0);
CREATE TABLE groups (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('burst', 'duplicate')),
            created TEXT NOT NULL
        );
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
INSERT INTO "photos" VALUES(1,'/shoot/IMG_4011.jpg','/shoot',1001,1000000000000000001,'hash1',600,400,'2024-05-01T10:00:01',NULL,'Canon EOS R5',NULL,NULL,NULL,'ok',NULL,'2024-05-01T10:00:00+00:00','2024-05-01T10:00:00+00:00');
INSERT INTO "photos" VALUES(2,'/shoot/IMG_4012.jpg','/shoot',1002,1000000000000000002,'hash2',600,400,'2024-05-01T10:00:02',NULL,'Canon EOS R5',NULL,NULL,NULL,'ok',NULL,'2024-05-01T10:00:00+00:00','2024-05-01T10:00:00+00:00');
INSERT INTO "photos" VALUES(3,'/shoot/IMG_4013.jpg','/shoot',1003,1000000000000000003,'hash3',600,400,'2024-05-01T10:00:03',NULL,'Canon EOS R5',NULL,NULL,NULL,'ok',NULL,'2024-05-01T10:00:00+00:00','2024-05-01T10:00:00+00:00');
INSERT INTO "photos" VALUES(4,'/shoot/IMG_4014.jpg','/shoot',1004,1000000000000000004,'hash4',600,400,'2024-05-01T10:00:04',NULL,'Canon EOS R5',NULL,NULL,NULL,'ok',NULL,'2024-05-01T10:00:00+00:00','2024-05-01T10:00:00+00:00');
CREATE TABLE preferences (
            id INTEGER PRIMARY KEY,
            winner_photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            loser_photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            source TEXT NOT NULL,
            at TEXT NOT NULL
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
INSERT INTO "ratings" VALUES(1,1,5,'pick','Red','gui',NULL,'2024-05-01T10:00:00+00:00');
INSERT INTO "ratings" VALUES(2,3,1,'reject',NULL,'cli',NULL,'2024-05-01T10:00:00+00:00');
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
CREATE TABLE score_errors (
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            scorer_pk INTEGER NOT NULL REFERENCES scorers(id),
            error TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (photo_id, scorer_pk)
        );
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
INSERT INTO "scorers" VALUES(1,'technical','1.0','',NULL,1,'2024-05-01T10:00:00+00:00','{}');
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
INSERT INTO "scores" VALUES(1,1,6.0,NULL,NULL,NULL,'2024-05-01T10:00:00+00:00');
INSERT INTO "scores" VALUES(2,1,7.0,NULL,NULL,NULL,'2024-05-01T10:00:00+00:00');
INSERT INTO "scores" VALUES(3,1,8.0,NULL,NULL,NULL,'2024-05-01T10:00:00+00:00');
INSERT INTO "scores" VALUES(4,1,9.0,NULL,NULL,NULL,'2024-05-01T10:00:00+00:00');
CREATE TABLE tags (
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            scorer_pk INTEGER NOT NULL REFERENCES scorers(id),
            tag TEXT NOT NULL,
            probability REAL NOT NULL,
            PRIMARY KEY (photo_id, scorer_pk, tag)
        );
INSERT INTO "tags" VALUES(2,1,'sunset',0.9);
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
CREATE INDEX idx_photos_hash ON photos(content_hash);
CREATE INDEX idx_photos_status ON photos(status);
CREATE INDEX idx_photos_taken ON photos(taken_at);
CREATE INDEX idx_scores_scorer ON scores(scorer_pk, score);
CREATE INDEX idx_tags_tag ON tags(tag, probability);
CREATE INDEX idx_ratings_photo ON ratings(photo_id, id);
CREATE INDEX idx_group_members_photo ON group_members(photo_id);
CREATE VIEW current_ratings AS
            SELECT r.photo_id, r.stars, r.decision, r.label, r.source, r.at
            FROM ratings r
            WHERE r.id = (SELECT MAX(id) FROM ratings WHERE photo_id = r.photo_id);
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
COMMIT;
