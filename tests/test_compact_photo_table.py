"""The ``photos`` table made again in its compact form (issue #32, ``023_compact_photo_table``,
culler.catalog.photo_table): an earlier version's catalog keeps every photo under its id with its
ratings, scores, tags, groups, files and search words; readers see the same values; a path stays
unique without the ``UNIQUE`` index; the grouping sees nothing changed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from culler.catalog import open_catalog, photo_table, upgrades
from culler.catalog.groups import DIGEST_FUNCTION, FACTS_SQL, STATE_TABLE
from culler.imaging.signatures import SQL_READABLE

DUMP = Path(__file__).parent / "catalogs" / "schema-2.sql"
HASHES = [f"{i * 2654435761 % (1 << 128):032x}" for i in range(1, 13)]
ISO = "2019-06-01T14:03:07.250+00:00"


def earlier_catalog(path: Path) -> Path:
    """An earlier version's catalog (schema 2) with photos hashed as hex text, first/last seen as
    ISO text and as digits, a dHash, ratings, tags, groups, a hand tag and a RAW beside a JPEG."""
    conn = sqlite3.connect(path)
    conn.executescript(DUMP.read_text(encoding="utf-8"))
    conn.executemany(
        "INSERT INTO photos (id, path, root, content_hash, taken_at, camera, status, phash,"
        " first_seen, last_seen) VALUES (?, ?, '/shoot', ?, ?, 'X-T4', ?, 'ffee', ?, ?)",
        [
            (
                100 + i,
                f"/shoot/{i:03d}.jpg",
                h,
                f"2024-05-0{1 + i % 3}T10:00:0{i % 10}",
                "missing" if i == 3 else "ok",
                ISO if i % 2 else "1717243387250",
                "1717243387250",
            )
            for i, h in enumerate(HASHES)
        ],
    )
    conn.execute("UPDATE photos SET content_hash = 'not-a-digest' WHERE id = 111")
    conn.executemany(
        "INSERT INTO ratings (photo_id, stars, decision, source, at) VALUES (?, ?, ?, 'gui', 't')",
        [(100 + i, i % 6, "pick" if i % 2 else None) for i in range(12)],
    )
    conn.execute("INSERT INTO scorers (id, scorer_id, version, created) VALUES (9, 'q', '1', 't')")
    conn.executemany(
        "INSERT INTO scores (photo_id, scorer_pk, score, created) VALUES (?, 9, ?, '1717243387250')",
        [(100 + i, i / 10) for i in range(12)],
    )
    conn.executemany(
        "INSERT INTO tags (photo_id, scorer_pk, tag, probability) VALUES (?, 9, 'bride', 0.9)",
        [(101,), (105,)],
    )
    conn.execute("INSERT INTO groups (id, kind, created) VALUES (70, 'burst', 't')")
    conn.executemany(
        "INSERT INTO group_members (group_id, photo_id, rank) VALUES (70, ?, ?)",
        [(104, 0), (105, 1)],
    )
    conn.commit()
    conn.close()
    return path


KEPT = (
    "SELECT id FROM photos ORDER BY id",
    "SELECT photo_id, stars, decision, label FROM current_ratings ORDER BY photo_id",
    "SELECT photo_id, scorer_pk, score FROM scores ORDER BY 1, 2",
    "SELECT * FROM tags ORDER BY 1, 2, 3",
    "SELECT * FROM groups ORDER BY id",
    "SELECT group_id, photo_id, rank FROM group_members ORDER BY 1, 2",
    "SELECT path, photo_id, kind FROM photo_files ORDER BY 1",
    "SELECT photo_id, tag, present FROM user_tags ORDER BY 1, 2",
)


def kept(path: Path) -> list:
    conn = sqlite3.connect(path)
    try:
        return [conn.execute(sql).fetchall() for sql in KEPT]
    finally:
        conn.close()


def forms(path: Path) -> dict[str, set[str]]:
    """The storage class of the content hash and first/last seen times of the photos
    :func:`earlier_catalog` added (the dump's own keep times no clock of culler wrote, as text)."""
    conn = sqlite3.connect(path)
    try:
        return {
            column: {
                r[0]
                for r in conn.execute(
                    f"SELECT DISTINCT typeof({column}) FROM photos WHERE id >= 100"
                )
            }
            for column in ("content_hash", "first_seen", "last_seen")
        }
    finally:
        conn.close()


def test_an_earlier_catalog_keeps_every_photo_and_reads_the_same(tmp_path, monkeypatch):
    path = earlier_catalog(tmp_path / "culler.db")
    ids = range(100, 112)
    with monkeypatch.context() as m:  # the table as an earlier version left it
        m.setattr(upgrades.UpgradesMixin, "upgrade_data", lambda self, *a, **k: [])
        with open_catalog(path, create=False) as catalog:
            assert photo_table.STEP in catalog.pending_data_upgrades()
            before = [catalog.photo(i) for i in ids]
            grid = catalog.grid_photos()
            states = catalog.photo_states()
            grouping = catalog.grouping_photos()
            hashes = catalog.photo_paths(ids)
            catalog.execute(
                "INSERT INTO photo_files (path, photo_id, kind) VALUES ('/shoot/004.RAF', 104, 'raw')"
            )
            catalog.conn.commit()
            # A scan meanwhile stores bytes in the old table; readers give the hex text all the same.
            with catalog.transaction():
                new = catalog.upsert_photo("/shoot/new.jpg", "/shoot", 5, 6, content_hash=HASHES[2])
            assert catalog.photo(new)["content_hash"] == HASHES[2]
            assert catalog.photo_paths([new]) == {new: ("/shoot/new.jpg", HASHES[2])}
            catalog.execute("DELETE FROM photos WHERE id = ?", [new])
            catalog.conn.commit()
    assert forms(path)["content_hash"] == {"text"}
    kept_before = kept(path)
    with open_catalog(path, create=False, progress=lambda *a: None) as catalog:
        assert catalog.pending_data_upgrades() == []
        assert photo_table.is_compact(catalog.conn)
        assert [catalog.photo(i) for i in ids] == before  # every key, every value
        assert catalog.grid_photos() == grid
        assert catalog.photo_states() == states
        assert catalog.grouping_photos() == grouping
        assert catalog.photo_paths(ids) == hashes
        assert sorted(catalog.search_photo_ids("bride")) == [101, 105]
        assert catalog.search_photo_ids("004.RAF") == [104]
        assert before[0]["content_hash"] == HASHES[0] and before[0]["phash"] is None
        assert before[1]["first_seen"] == ISO
        names = {r[0] for r in catalog.execute("SELECT name FROM sqlite_master")}
        assert "sqlite_autoindex_photos_1" not in names and "photos_compact" not in names
        assert catalog.execute("PRAGMA foreign_key_check").fetchall() == []
        assert catalog.execute("PRAGMA foreign_keys").fetchone() == (1,)  # on again
    assert kept(path) == kept_before
    # 16 bytes a digest (the one hash that is no digest stays text), times as numbers.
    assert forms(path) == {
        "content_hash": {"blob", "text"},
        "first_seen": {"integer"},
        "last_seen": {"integer"},
    }


def test_a_new_catalog_is_made_compact_at_once(tmp_path):
    with open_catalog(tmp_path / "culler.db") as catalog:
        assert photo_table.is_compact(catalog.conn)
        assert catalog.pending_data_upgrades() == []


def test_a_path_stays_unique_without_its_own_index(tmp_path):
    with open_catalog(tmp_path / "culler.db") as catalog:
        with catalog.transaction():
            a = catalog.upsert_photo("/s/a.jpg", "/s", 10, 1, content_hash=HASHES[0])
            b = catalog.upsert_photo("/s/b.jpg", "/s", 20, 2)
            # The same path again updates its row in place (what a rescan of a changed file does).
            assert catalog.upsert_photo("/s/a.jpg", "/s", 11, 3, content_hash=HASHES[1]) == a
        assert catalog.photo(a)["size"] == 11 and catalog.photo(a)["content_hash"] == HASHES[1]
        assert catalog.photo_total() == 2
        for sql, params in (
            (
                "INSERT INTO photos (path, status, first_seen, last_seen) VALUES (?, 'ok', 1, 1)",
                ["/s/a.jpg"],
            ),
            ("UPDATE photos SET path = ? WHERE id = ?", ["/s/a.jpg", b]),
        ):
            with (
                pytest.raises(sqlite3.IntegrityError, match=photo_table.DUPLICATE),
                catalog.transaction() as conn,
            ):
                conn.execute(sql, params)
        with catalog.transaction() as conn:  # a row renamed to its own path, or another one
            conn.execute("UPDATE photos SET path = path, size = 21 WHERE id = ?", [b])
            catalog.record_move(b, "/s/c.jpg", "/s", 4)
        assert catalog.photo_by_path("/s/c.jpg")["id"] == b
        plan = " ".join(
            r[3]
            for r in catalog.execute(
                "EXPLAIN QUERY PLAN SELECT 1 FROM photos WHERE path = ?", ["/s/a.jpg"]
            )
        )
        assert "idx_photos_folder_state" in plan  # the lookup the triggers make


def test_a_regroup_after_the_rebuild_examines_no_photo(tmp_path, monkeypatch):
    """Grouping facts recorded from the old table (hashes as hex text) match the compact table's:
    no photo counts as changed, and the rebuild logs no change."""
    path = earlier_catalog(tmp_path / "culler.db")
    with monkeypatch.context() as m:
        m.setattr(upgrades.UpgradesMixin, "upgrade_data", lambda self, *a, **k: [])
        with open_catalog(path, create=False) as catalog:
            catalog.execute(
                f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (photo_id INTEGER PRIMARY KEY,"
                " facts BLOB)"
            )
            facts = FACTS_SQL.format(readable=SQL_READABLE.format(column="p.signature"))
            with catalog.transaction() as conn:
                conn.execute(
                    f"INSERT INTO {STATE_TABLE} (photo_id, facts) SELECT p.id,"
                    f" {DIGEST_FUNCTION}({facts}) FROM photos p WHERE p.status = 'ok'",
                    [None],
                )
            assert catalog.grouping_changed_ids(None) == []
            logged = catalog.grouping_log_position()
    with open_catalog(path, create=False, progress=lambda *a: None) as catalog:
        assert photo_table.is_compact(catalog.conn)
        assert catalog.grouping_changed_ids(None) == []
        assert catalog.grouping_log_position() == logged


def test_without_room_for_the_copy_the_table_waits_for_a_later_open(tmp_path, monkeypatch):
    """The copy is written whole into the WAL before it commits: on a disk without room for it,
    the step stays to do and the catalog reads as it is."""
    import shutil
    from collections import namedtuple

    path = earlier_catalog(tmp_path / "culler.db")
    usage = namedtuple("usage", "total used free")
    with monkeypatch.context() as m:
        m.setattr(shutil, "disk_usage", lambda _: usage(1 << 30, 1 << 30, 4096))
        with open_catalog(path, create=False, progress=lambda *a: None) as catalog:
            assert photo_table.STEP in catalog.pending_data_upgrades()
            assert not photo_table.is_compact(catalog.conn)
            assert catalog.photo(100)["content_hash"] == HASHES[0]
    with open_catalog(path, create=False, progress=lambda *a: None) as catalog:
        assert catalog.pending_data_upgrades() == []
        assert photo_table.is_compact(catalog.conn)
        assert catalog.photo(100)["content_hash"] == HASHES[0]
