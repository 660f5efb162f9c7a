"""Scan folders kept once each in ``roots`` (issue #32, migration ``026_scan_roots_table``,
culler.catalog.roots): writers store a folder's id, readers give its text whichever form a row
holds, the rewrite of an older catalog's text roots changes no grouping fact, and a condition on a
folder still reads a range of ``idx_photos_root``."""

from __future__ import annotations

import pytest
from test_grouping_change_log import _logged, _never, _shoot

from culler.catalog import open_catalog, roots, upgrades
from culler.catalog.groups import _root_is
from culler.decide.cull import grouping_watermark, update_groups
from culler.decide.grouping import GroupingOptions, compute_groups


@pytest.fixture
def catalog(tmp_path):
    catalog = open_catalog(tmp_path / "culler.db")
    yield catalog
    catalog.close()


def _forms(catalog) -> dict[str, int]:
    return dict(
        catalog.execute(
            f"SELECT CASE WHEN {roots.is_id_sql()} THEN 'id' ELSE 'text' END, COUNT(*)"
            " FROM photos GROUP BY 1"
        )
    )


def _reads(catalog) -> dict:
    """Everything that reads a photo's folder, as a reader sees it."""
    ids = [r["id"] for r in catalog.grouping_photos()]
    return {
        "grouping": [(r["id"], r["root"]) for r in catalog.grouping_photos()],
        "of": [(r["id"], r["root"]) for r in catalog.grouping_photos_of(ids[:3])],
        "rows": [catalog.photo(i)["root"] for i in ids],
        "by_path": [catalog.photo_by_path(r["path"])["root"] for r in catalog.grouping_photos()],
        "roots": catalog.photo_roots(),
        "under_a": sorted(catalog.photos_under_root("/a")),
        "sizes": catalog.root_sizes(["/a", "/b", "/nowhere"]),
        "sizes_at_most": catalog.root_sizes(["/a", "/b"], at_most=2),
    }


def _as_older_catalog(catalog) -> None:
    """The rewrite recorded as to do again, as ``026`` records it for a catalog of text roots."""
    with catalog.transaction() as conn:
        conn.execute(
            f"UPDATE {upgrades.TABLE} SET finished = NULL, last_key = 0 WHERE name = ?",
            [roots.UPGRADE],
        )


def test_text_roots_are_rewritten_as_ids_reading_the_same_and_nothing_regroups(catalog):
    # Rows with text roots, as every catalog before 026 holds them (and as tests insert them).
    catalog.insert_signed_photos(_shoot("/a", 4, 10) + _shoot("/b", 3, 12, "R5"))
    update_groups(catalog, full=True)
    assert _forms(catalog) == {"text": 7}
    before = _reads(catalog)
    assert before["roots"] == ["/a", "/b"] and before["sizes"]["/nowhere"] == 0
    assert before["sizes"] == {"/a": 4, "/b": 3, "/nowhere": 0}
    watermark = grouping_watermark(catalog, GroupingOptions())
    assert catalog.grouping_unchanged(_never, watermark)
    _as_older_catalog(catalog)
    assert catalog.data_upgrade_rows(roots.UPGRADE) == 7
    done = []
    finished = catalog.upgrade_data(progress=lambda *a: done.append(a), batch=3)
    what = upgrades.UPGRADES[roots.UPGRADE].what
    assert roots.UPGRADE in finished and [d[1:] for d in done if d[0] == what][-1] == (7, 7)
    assert _forms(catalog) == {"id": 7}
    assert [tuple(r) for r in catalog.execute("SELECT id, path FROM roots ORDER BY id")] == [
        (1, "/a"),
        (2, "/b"),
    ]
    assert _reads(catalog) == before
    # The rewrite changed no grouping fact: nothing logged, the no-op regroup examines nothing.
    assert _logged(catalog) == []
    assert catalog.grouping_unchanged(_never, watermark)
    assert catalog.grouping_changed_ids(catalog.default_embedding_model()) == []
    _, run = compute_groups(catalog, full=False)
    assert (run.changed, run.examined) == (set(), set())


def test_a_half_rewritten_folder_reads_as_one(catalog):
    """Rows of one folder in both forms (a rewrite stopped between batches, or a text root inserted
    after it): one folder for every reader, and grouping compares them as one folder."""
    catalog.insert_signed_photos(_shoot("/a", 4, 10))
    _as_older_catalog(catalog)
    catalog.upgrade_data(progress=lambda *a: None)
    catalog.insert_signed_photos(
        _shoot("/a", 7, 10)[4:] + [("/x/one.jpg", "", None, "", "h", None)]
    )
    assert _forms(catalog) == {"id": 4, "text": 4}
    assert catalog.photo_roots() == ["/a"]
    assert len(catalog.photos_under_root("/a")) == 7
    assert catalog.root_sizes(["/a"]) == {"/a": 7}
    assert catalog.root_sizes(["/a"], at_most=4) == {"/a": 5}  # counted no further
    assert {r["root"] for r in catalog.grouping_photos()} == {"/a", ""}
    assert catalog.photos_under_root("") == [8]
    # A folder never recorded as an id: its text alone.
    assert _root_is(catalog.conn, "/b") == [("root = ?", ["/b"])]


def test_each_condition_on_a_folder_reads_a_range_of_its_index(catalog):
    catalog.insert_signed_photos(_shoot("/a", 2, 10))
    _as_older_catalog(catalog)
    catalog.upgrade_data(progress=lambda *a: None)
    conditions = _root_is(catalog.conn, "/a")
    assert [params for _, params in conditions] == [["1"], ["/a"]]
    for where, params in conditions:
        plan = " ".join(
            r[3]
            for r in catalog.execute(
                f"EXPLAIN QUERY PLAN SELECT id FROM photos WHERE {where}"
                " AND taken_at IS NULL AND +status = 'ok'",
                params,
            )
        )
        assert "USING INDEX idx_photos_root (root=? AND taken_at=?)" in plan, plan


def test_writers_store_the_folder_once(catalog, tmp_path):
    with catalog.transaction():
        first = catalog.upsert_photo("/shoot/a.jpg", "/shoot", 10, 1, status="ok")
        catalog.upsert_photo("/shoot/b.jpg", "/shoot", 10, 1, status="ok")
        catalog.upsert_photo("/other/c.jpg", "/other", 10, 1, status="ok")
        catalog.upsert_photo("/loose.jpg", "", 10, 1, status="ok")
    assert _forms(catalog) == {"id": 3, "text": 1}  # no folder: stored as it was ("")
    assert catalog.execute("SELECT COUNT(*) FROM roots").fetchone()[0] == 2
    assert catalog.photo(first)["root"] == "/shoot"
    assert catalog.photo_by_path("/loose.jpg")["root"] == ""
    with catalog.transaction():
        catalog.record_move(first, "/later/a.jpg", "/later", 2)
    assert catalog.photo(first)["root"] == "/later"
    assert catalog.photo_roots() == ["/later", "/other", "/shoot"]
    moved = tmp_path / "picked" / "a.jpg"
    catalog.settle_move(first, moved)
    assert catalog.photo(first)["root"] == str(moved.parent)
    assert _forms(catalog) == {"id": 3, "text": 1}
    catalog.rate(first, stars=5, decision="pick", source="gui")
    assert [p["root"] for p in catalog.picks()] == [str(moved.parent)]
