"""``scores`` as a WITHOUT ROWID table with INTEGER times (migration ``019_scores_without_rowid``,
culler.catalog.score_table): an older catalog's score rows all read as before after the copy,
writes made while the copy is half done reach the new table, the SQL that turns a stored time into
milliseconds agrees with culler.catalog.timestamps, and the score log stands in for rowid order."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from culler.api import ScoreResult
from culler.catalog import open_catalog, score_json, score_table, timestamps, upgrades

DUMPS = sorted((Path(__file__).parent / "catalogs").glob("schema-*.sql"))

#: Times as the rows of earlier versions hold them: ISO text of culler's clock, a number's digits
#: (what the TEXT column made of the milliseconds the previous version wrote), and two that are not
#: of culler's clock (kept as they are).
TIMES = (
    "2019-06-01T14:03:07.250+00:00",
    "2024-02-29T23:59:59.999+00:00",
    "1733480000123",
    "1970-01-01T00:00:00.000+00:00",
    "2024-05-01T10:00:00+00:00",
    "t",
)


def rows_as_read(path: Path) -> dict[tuple[int, int], tuple]:
    """Every score row as readers see it (score_json.load, timestamps.iso)."""
    conn = sqlite3.connect(path)
    try:
        return {
            (r[0], r[1]): (
                r[2],
                r[3],
                score_json.load(r[4]),
                score_json.load(r[5]),
                timestamps.iso(r[6]),
            )
            for r in conn.execute(f"SELECT {score_table.COLUMNS} FROM scores")
        }
    finally:
        conn.close()


def without_grid(rows: dict[tuple[int, int], tuple]) -> dict[tuple[int, int], tuple]:
    """``rows_as_read`` once the stored sharpness grids are dropped."""
    return {
        key: (
            score,
            distribution,
            {k: v for k, v in extra.items() if k not in upgrades.GRID_KEYS}
            if isinstance(extra, dict)
            else extra,
            *rest,
        )
        for key, (score, distribution, extra, *rest) in rows.items()
    }


def schema_of(path: Path) -> tuple[str, set[str], set[str]]:
    conn = sqlite3.connect(path)
    try:
        (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'scores'").fetchone()
        indexes = {  # the b-trees of the table's indexes (pragma_index_list names the table's key)
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'scores'"
            )
        }
        types = {r[0] for r in conn.execute("SELECT DISTINCT typeof(created) FROM scores")}
        return sql, indexes, types
    finally:
        conn.close()


def older_catalog(path: Path, photos: int = 12) -> Path:
    """A catalog at schema 2 (an earlier version's own dump, ``scores`` a rowid table with a TEXT
    time) with three scorers' rows for each photo in every stored form: spaced and compact JSON
    and packed details, no details, a distribution, each kind of stored time."""
    conn = sqlite3.connect(path)
    conn.executescript(DUMPS[-1].read_text(encoding="utf-8"))
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executemany(
        "INSERT INTO photos (id, path, root, status, first_seen, last_seen)"
        " VALUES (?, ?, '/old', 'ok', 't', 't')",
        [(100 + i, f"/old/{i}.jpg") for i in range(photos)],
    )
    pks = []
    for sid in ("technical", "faces", "colourfulness"):
        conn.execute(
            "INSERT INTO scorers (scorer_id, version, created) VALUES (?, '1', 't')", [sid]
        )
        pks.append(conn.execute("SELECT MAX(id) FROM scorers").fetchone()[0])
    grid = [[(r * 7 + c * 13) % 102 - 1 for c in range(9)] for r in range(6)]
    details = {"sharpness": 0.8651, "sharpness_grid": grid, "blur": {"direction": "diagonal ↗"}}
    forms = [
        (json.dumps(details), json.dumps(["soft: little fine detail"])),
        (score_json.dump(details), score_json.dump(["no faces found"])),
        (score_json.store(details), score_json.store(["a reason", "σ 2.5"])),
        (None, None),
    ]
    rows = []
    for i in range(photos):
        for k, pk in enumerate(pks):
            extra, reasons = forms[(i + k) % len(forms)]
            distribution = json.dumps([0.25, 0.75]) if k == 2 else None
            score = None if (i + k) % 5 == 0 else i / 10 + k
            rows.append(
                (100 + i, pk, score, distribution, extra, reasons, TIMES[(i + k) % len(TIMES)])
            )
    conn.executemany(
        "INSERT INTO scores (photo_id, scorer_pk, score, distribution, extra, reasons, created)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.execute(
        "INSERT INTO ratings (photo_id, stars, decision, source, at) VALUES (100, 5, 'pick', 'gui', 't')"
    )
    conn.commit()
    conn.close()
    return path


def test_the_sql_that_turns_a_stored_time_into_milliseconds_agrees_with_timestamps():
    conn = sqlite3.connect(":memory:")
    values = [*TIMES, timestamps.now(), "", "12a", "2024-05-01T10:00:00.123+02:00", 5, None]
    values += [timestamps.iso(ms) for ms in (0, 1, 999, 86_399_999, 1_733_480_000_123)]
    for value in values:
        (got,) = conn.execute(f"SELECT {score_table.created_ms('?1')}", [value]).fetchone()
        if isinstance(value, str) and value.isdigit():
            assert got == int(value)
        elif timestamps.to_ms(value) is not None:
            assert got == timestamps.to_ms(value) and timestamps.iso(got) == value
        else:
            assert got == value  # not culler's clock: left as it is
        assert timestamps.iso(got) == timestamps.iso(value)


def test_an_older_catalog_keeps_every_score_row_in_the_table_without_rowids(tmp_path):
    path = older_catalog(tmp_path / "culler.db")
    before = rows_as_read(path)
    # The dump's own rows and three scorers' for each of the 12 photos added.
    assert len(before) > 36 and "WITHOUT ROWID" not in schema_of(path)[0]
    with open_catalog(path, create=False) as catalog:
        assert catalog.pending_data_upgrades() == []
        assert catalog.current_rating(100)["stars"] == 5
        assert {s["scorer_id"] for s in catalog.scores_for(101)} == {
            "technical",
            "faces",
            "colourfulness",
        }
    # Every score, distribution, detail, reason and time; the sharpness grids are dropped by
    # the later step 024_technical_details_without_grid (the overlay computes them when shown).
    assert rows_as_read(path) == without_grid(before)
    assert any(isinstance(row[2], dict) and "sharpness_grid" in row[2] for row in before.values())
    sql, indexes, types = schema_of(path)
    assert "WITHOUT ROWID" in sql and "created INTEGER" in sql
    assert indexes == {"idx_scores_scorer"}  # the primary key is the table: no autoindex
    assert types == {"integer", "text"}  # text: only the two times culler's clock did not write
    conn = sqlite3.connect(path)
    try:
        leftovers = conn.execute(
            "SELECT name FROM sqlite_master WHERE name LIKE 'scores_v2%'"
        ).fetchall()
        assert leftovers == []  # the copy's table and triggers are gone
        assert conn.execute("SELECT COUNT(*) FROM current_scores").fetchone()[0] == len(before)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT photo_id FROM scores WHERE scorer_pk = 1"
            " AND score IS NOT NULL ORDER BY score DESC, photo_id DESC LIMIT 50"
        ).fetchall()
        assert "COVERING INDEX idx_scores_scorer" in " ".join(r[-1] for r in plan)
    finally:
        conn.close()


def test_writes_while_the_copy_is_half_done_reach_the_new_table(tmp_path, monkeypatch):
    path = older_catalog(tmp_path / "culler.db", photos=30)
    monkeypatch.setattr(upgrades, "SILENT_ROWS", 10)  # no one to show progress: it waits
    with open_catalog(path, create=False) as catalog:
        assert "scores_without_rowid" in catalog.pending_data_upgrades()
        with catalog.transaction() as conn:  # the copy's first batch, as the upgrade runs it
            last = score_table.copy_batch(conn, 0, 10)
            conn.execute(
                f"UPDATE {upgrades.TABLE} SET last_key = ? WHERE name = 'scores_without_rowid'",
                [last],
            )
        assert 100 < last < 120 and not score_table.is_swapped(catalog.conn)
        pk = catalog.scorer_pk("technical", "1")
        with catalog.transaction():
            # A photo already copied and one not yet scored again, a score deleted, a photo gone.
            catalog.store_score(101, pk, ScoreResult(score=9.5, extra={"a": [1, 2]}), "technical")
            catalog.store_score(120, pk, ScoreResult(score=1.5, reasons=["r"]), "technical")
            catalog.execute("DELETE FROM scores WHERE photo_id = 102 AND scorer_pk = ?", [pk])
            catalog.execute("DELETE FROM photos WHERE id IN (103, 125)")
            catalog.execute("UPDATE scores SET score = 4.25 WHERE photo_id = 104")
        during = rows_as_read(path)
        assert during[(101, pk)][0] == 9.5 and (102, pk) not in during
        assert not any(key[0] in (103, 125) for key in during)
        catalog.upgrade_data(progress=lambda *a: None, batch=4)
        assert score_table.is_swapped(catalog.conn)
    assert rows_as_read(path) == without_grid(during)  # grids dropped by step 024


def test_the_score_log_stands_in_for_rowid_order(tmp_path):
    folder = tmp_path / "shoot"
    with open_catalog(tmp_path / "culler.db") as catalog:
        assert score_table.is_swapped(catalog.conn)  # a new catalog: the new table at once
        pk = catalog.scorer_pk("technical", "1")
        with catalog.transaction():
            ids = [
                catalog.upsert_photo(str(folder / f"{i}.jpg"), str(folder), 1000, i)
                for i in range(3)
            ]
        with catalog.transaction():
            for pid in ids:
                catalog.store_score(pid, pk, ScoreResult(score=5.0), "technical")
        # No grouping recorded: nothing is logged (an ungrouped catalog keeps no log).
        assert catalog.execute(f"SELECT COUNT(*) FROM {score_table.LOG}").fetchone()[0] == 0
        mark = catalog.scoring_watermark().partition("; ")[0].rpartition("/")[2]
        assert mark == "log0"
        with catalog.transaction() as conn:  # a grouping recorded that saw every score
            score_table.arm_log(conn, 0)
        assert catalog.photos_scored_after(mark) == set()
        with catalog.transaction():
            catalog.store_score(ids[1], pk, ScoreResult(score=6.0), "technical")
        assert catalog.photos_scored_after(mark) == {ids[1]}
        newer = catalog.scoring_watermark().partition("; ")[0].rpartition("/")[2]
        assert newer == "log1" and catalog.photos_scored_after(newer) == set()
        assert catalog.photos_scored_after("None") == {ids[1]}
        # A mark of the rowid table (recorded before the copy) cannot be compared: rank anew.
        assert catalog.photos_scored_after("12") is None
        with catalog.transaction() as conn:  # the next grouping drops what it saw
            score_table.arm_log(conn, 1)
        assert catalog.execute(f"SELECT seq FROM {score_table.LOG}").fetchall() == [(0,)]


@pytest.mark.parametrize("photos", [1, 7, 8])
def test_copy_batches_end_on_a_whole_photo(tmp_path, photos):
    path = older_catalog(tmp_path / "culler.db", photos=photos)
    conn = sqlite3.connect(path)
    try:
        score_table.prepare(conn)
        batches, last = 0, 0
        while (nxt := score_table.copy_batch(conn, last, 4)) is not None:
            # About 4 rows a batch (3 a photo): a photo's rows are never split between batches.
            copied = conn.execute(f"SELECT COUNT(*) FROM {score_table.NEW}").fetchone()[0]
            upto = conn.execute("SELECT COUNT(*) FROM scores WHERE photo_id <= ?", [nxt])
            assert nxt > last and copied == upto.fetchone()[0]
            batches, last = batches + 1, nxt
        total = conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0]
        assert last == 99 + photos and batches >= total // 6
    finally:
        conn.close()


def test_a_score_written_while_the_first_grouping_runs_is_seen_by_the_next(tmp_path, monkeypatch):
    """A scan beside the first cull: the score it writes between the grouping reading the
    watermark and storing its groups makes the next cull rank that photo's group again."""
    from culler.decide import cull

    folder = tmp_path / "shoot"
    with open_catalog(tmp_path / "culler.db") as catalog:
        pk = catalog.scorer_pk("technical", "1")
        with catalog.transaction():
            ids = [
                catalog.upsert_photo(str(folder / f"{i}.jpg"), str(folder), 1000, i)
                for i in range(3)
            ]
            for pid in ids:
                catalog.store_score(pid, pk, ScoreResult(score=5.0), "technical")
        assert not score_table.is_armed(catalog.conn)  # no grouping yet: nothing logged
        grouping = cull.compute_groups

        def meanwhile(*args, **kwargs):
            with catalog.transaction():  # another writer, while this grouping runs
                catalog.store_score(ids[2], pk, ScoreResult(score=7.0), "technical")
            return grouping(*args, **kwargs)

        monkeypatch.setattr(cull, "compute_groups", meanwhile)
        cull.update_groups(catalog)
        monkeypatch.setattr(cull, "compute_groups", grouping)
        options = cull.GroupingOptions()
        now = cull.grouping_watermark(catalog, options)
        assert cull._rescored_since_last_grouping(catalog, now) == {ids[2]}
        cull.update_groups(catalog)  # that grouping saw it: the log is empty again
        now = cull.grouping_watermark(catalog, options)
        assert cull._rescored_since_last_grouping(catalog, now) == set()
