"""The grid's paged model (a lifetime archive): the first page only, the rest as the view fetches more,
and pages that hold exactly what a whole load holds for the same photos. No window."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt

from culler.catalog import now
from culler.gui.item_models import Filters, PhotoFilterProxy, PhotoListModel, RecordRole
from culler.gui.records import RecordPager, load_records


def fill(catalog, n: int) -> list[int]:
    """``n`` photos in two folders written out of path order, two versions of a scorer (the older one
    active), a tag on every third, a rating on every second, a burst across a page boundary and a
    duplicate pair; returns the ids in path order."""
    old = catalog.scorer_pk("technical", "1.0")
    new = catalog.scorer_pk("technical", "2.0")
    clip = catalog.scorer_pk("clip", "1.0")
    catalog.execute("UPDATE scorers SET active = 0 WHERE id = ?", [new])
    catalog.conn.commit()
    rows = []
    for i in range(n):
        folder = "/archive/2019/b" if i % 2 else "/archive/2018/a"
        rows.append(
            (i + 1, f"{folder}/IMG_{(n - i):05d}.jpg", folder, f"2019-01-01T10:00:{i % 60:02d}")
        )
    with catalog.transaction() as conn:
        conn.executemany(
            "INSERT INTO photos (id, path, root, taken_at, status, first_seen, last_seen)"
            " VALUES (?, ?, ?, ?, 'ok', 't', 't')",
            rows,
        )
        for pid in range(1, n + 1):
            conn.execute(
                "INSERT INTO scores (photo_id, scorer_pk, score, created) VALUES (?, ?, ?, 't')",
                [pid, old, pid / n],
            )
            conn.execute(
                "INSERT INTO scores (photo_id, scorer_pk, score, created) VALUES (?, ?, ?, 't')",
                [pid, new, 0.5],
            )
            conn.execute(
                "INSERT INTO scores (photo_id, scorer_pk, score, created) VALUES (?, ?, ?, 't')",
                [pid, clip, 1 - pid / n],
            )
            if pid % 3 == 0:
                conn.execute("INSERT INTO tags VALUES (?, ?, 'awe', 0.8)", [pid, clip])
    ordered = [r[0] for r in catalog.execute("SELECT id FROM photos ORDER BY path")]
    for pid in ordered[::2]:
        catalog.rate(pid, stars=3, decision="pick", source="gui")
    for kind, members in (("burst", ordered[8:13]), ("duplicate", [ordered[1], ordered[-1]])):
        gid = catalog.execute(
            "INSERT INTO groups (kind, created) VALUES (?, ?)", [kind, now()]
        ).lastrowid
        for rank, pid in enumerate(members):
            catalog.execute(
                "INSERT INTO group_members (group_id, photo_id, rank) VALUES (?, ?, ?)",
                [gid, pid, rank],
            )
    catalog.conn.commit()
    return ordered


def paged_models(catalog, page_size: int):
    model = PhotoListModel()
    model.set_pager(RecordPager(catalog, page_size=page_size))
    proxy = PhotoFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_sort("path")
    return model, proxy


def test_pages_hold_what_a_whole_load_holds(catalog):
    ordered = fill(catalog, 40)
    pager = RecordPager(catalog, page_size=7)
    paged = []
    while not pager.exhausted:
        paged += pager.next_page()
    assert pager.total == pager.loaded == 40
    assert [r.id for r in paged] == ordered  # keyset pages: every photo once, in path order
    whole = {r.id: r for r in load_records(catalog)}
    assert {r.id: r for r in paged} == whole  # scores (active version), tags, ratings, stacks
    burst = [r for r in paged if r.group_kind == "burst"]
    assert [r.group_size for r in burst] == [5] * 5  # the burst crosses pages 2 and 3 (7 a page)
    assert whole[ordered[0]].scores["technical"] == ordered[0] / 40  # the active, older version
    assert whole[ordered[-1]].group_kind == "duplicate" and not whole[ordered[-1]].is_top


def test_the_model_shows_the_first_page_and_fetches_more_as_asked(catalog):
    ordered = fill(catalog, 30)
    model, proxy = paged_models(catalog, page_size=10)
    assert model.rowCount() == 10 and model.total == 30 and model.paged
    assert proxy.canFetchMore(QModelIndex())  # the view's scroll asks through the proxy
    proxy.fetchMore(QModelIndex())
    assert model.rowCount() == 20
    # still the prefix by path, nothing skipped (a burst's frames go in capture order inside it)
    assert {r.id for r in model.records} == set(ordered[:20])
    model.fetchMore()
    assert model.rowCount() == 30 and not model.paged and not model.canFetchMore()
    model.fetchMore()  # nothing left: a no-op
    assert model.rowCount() == 30


def whole_order(catalog, sort: str, descending: bool, filters: Filters) -> list:
    """What a whole load sorted and filtered in Python shows: (sort value, id) per row."""
    whole = PhotoListModel()
    whole.set_records(load_records(catalog))
    proxy = PhotoFilterProxy()
    proxy.setSourceModel(whole)
    proxy.set_filters(filters)
    proxy.set_sort(sort, descending)
    return [proxy.index(r, 0).data(RecordRole) for r in range(proxy.rowCount())]


ORDERS = [
    ("path", True, Filters()),
    ("taken", False, Filters()),
    ("taken", True, Filters(decision="pick")),
    ("score:technical", True, Filters()),
    ("score:technical", False, Filters(min_score=0.5)),
    ("score:clip", True, Filters(decision="unflagged")),
    ("stars", True, Filters()),
    ("stars", False, Filters(min_stars=3)),
    ("path", False, Filters(decision="reject")),
    ("score:technical", True, Filters(text="2018")),
    ("taken", False, Filters(tag="awe")),
    ("score:clip", True, Filters(tag="awe", min_stars=3)),
]


@pytest.mark.parametrize(("sort", "descending", "filters"), ORDERS)
def test_other_sorts_and_filters_page_from_sql_in_the_order_a_whole_load_shows(
    catalog, sort, descending, filters
):
    # Issue #32 goal 3: a sort by score, capture time or stars, or a flag, stars or search filter,
    # read the whole catalog; now each reads one page in that order and the rest as the view scrolls.
    fill(catalog, 30)
    catalog.rate(catalog.execute("SELECT id FROM photos ORDER BY path").fetchall()[3][0], stars=5)
    model, proxy = paged_models(catalog, page_size=4)
    proxy.set_filters(filters)
    proxy.set_sort(sort, descending)
    expected = whole_order(catalog, sort, descending, filters)
    assert model.rowCount() <= 4 and (model.rowCount() > 0) == bool(expected)  # one page read
    assert model.pager.order.sort == sort
    model.fetch_all()
    proxy.refilter()
    shown = [proxy.index(r, 0).data(RecordRole) for r in range(proxy.rowCount())]
    value = proxy._value
    # A frame a search finds inside a burst sorts at its own value here, at its stack's in a whole
    # load: the order is compared on photos outside stacks and stack tops.
    alone = [value(r) for r in shown if r.group_id is None or r.is_top]
    assert alone == [
        value(r) for r in expected if r.group_id is None or r.is_top
    ]  # ties may differ
    assert sorted(r.id for r in shown) == sorted(r.id for r in expected)
    assert all(
        r.scores == whole.scores
        for r, whole in zip(sorted(shown, key=lambda r: r.id), sorted(expected, key=lambda r: r.id))
    )


def test_a_sort_or_filter_sql_cannot_serve_reads_the_rest(catalog):
    fill(catalog, 30)
    model, proxy = paged_models(catalog, page_size=10)
    proxy.set_sort("name")
    assert model.rowCount() == 30 and not model.paged
    model, proxy = paged_models(catalog, page_size=10)
    catalog.rate(
        catalog.execute("SELECT id FROM photos").fetchone()[0], decision="pick", source="auto"
    )
    proxy.set_filters(Filters(decision="proposals"))  # who decided needs each rating's history
    assert model.rowCount() == 30 and not model.paged
    assert proxy.rowCount() == 1
    # a filtered page set, then an order SQL cannot serve: every photo, not just the filter's
    model, proxy = paged_models(catalog, page_size=10)
    proxy.set_filters(Filters(decision="pick"))
    assert model.pager.order.filtered and model.rowCount() == 10
    proxy.set_sort("decision")
    assert model.rowCount() == 30


def test_whole_catalog_counts_come_from_sql_and_follow_every_rating(catalog):
    ordered = fill(catalog, 30)
    counts = catalog.grid_counts()
    whole = load_records(catalog)
    assert counts == {
        "photos": 30,
        "pick": sum(r.flagged == "pick" for r in whole),
        "reject": 0,
        "unrated": sum(not r.flagged and not r.stars for r in whole),
    }
    batch = catalog.rate_batch(ordered[1:4], "reject", source="gui", decision="reject")
    assert catalog.grid_counts()["reject"] == 3
    catalog.undo_batch(batch)
    assert catalog.grid_counts() == counts
    standing = {pid: (r["stars"], r["decision"]) for pid, r in catalog.current_ratings().items()}
    now = {
        r[0]: (r[1], r[2])
        for r in catalog.execute("SELECT photo_id, stars, decision FROM rating_now")
    }
    assert now == standing
    catalog.execute("DELETE FROM photos WHERE id = ?", [ordered[0]])  # its events go with it
    catalog.conn.commit()
    assert catalog.grid_counts()["photos"] == 29
    assert (
        catalog.execute("SELECT 1 FROM rating_now WHERE photo_id = ?", [ordered[0]]).fetchone()
        is None
    )


def test_merge_of_a_paged_model_keeps_one_row_per_photo(catalog):
    ordered = fill(catalog, 30)
    model, proxy = paged_models(catalog, page_size=10)
    catalog.rate(ordered[1], stars=5, source="gui")
    from culler.gui.records import load_page

    changed, added = model.merge_records(load_page(catalog, catalog.grid_page(None, 10)))
    assert (changed, added) == (1, 0)
    assert model.record(ordered[1]).stars == 5
    model.fetch_all()
    assert sorted(r.id for r in model.records) == sorted(ordered)  # no photo twice


def test_the_window_opens_a_large_catalog_paged_and_reads_the_rest_for_another_sort(
    window, qtbot, scanned, monkeypatch
):
    import culler.gui.main_window as main_window
    import culler.gui.records as records

    monkeypatch.setattr(main_window, "PAGED_FROM", 4)  # the six sample photos count as an archive
    monkeypatch.setattr(records, "PAGE_SIZE", 2)
    window.open_catalog(scanned)
    window.show()
    qtbot.waitExposed(window)
    assert window.filter_bar.sort_key() == "taken"  # a shoot's order, paged from idx_photos_taken
    assert window.model.total == 6 and 2 <= window.model.rowCount() < 6
    assert "loaded" in window.counts.text()
    window.filter_bar.use_sort("stars")
    window._sort_changed()
    assert window.model.pager.order.sort == "stars" and window.model.rowCount() < 6
    window.filter_bar.use_sort("name")  # no index serves it: every photo is read
    window._sort_changed()
    assert window.model.rowCount() == 6 and not window.model.paged
    # the whole catalog's counts, counted in a worker: they arrive, and follow a rating
    qtbot.waitUntil(
        lambda: "0 picks" in window.counts.text() and "6 unrated" in window.counts.text()
    )
    window.grid.setFocus()
    window.auto_advance = False
    qtbot.keyClick(window.grid, Qt.Key.Key_P)
    qtbot.waitUntil(
        lambda: "1 picks" in window.counts.text() and "5 unrated" in window.counts.text()
    )
    assert "6 shown of 6" in window.counts.text().replace(",", "")


def test_an_older_catalog_upgrades_with_its_standing_ratings_in_rating_now(tmp_path):
    # Migration 009_grid_standing_rating fills rating_now from the events a catalog already holds.
    import sqlite3
    from pathlib import Path

    from culler.catalog import open_catalog

    dump = sorted((Path(__file__).parent.parent / "catalogs").glob("schema-*.sql"))[-1]
    path = tmp_path / "culler.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(dump.read_text())
    with open_catalog(path, create=False) as catalog:
        standing = {
            pid: (r["stars"], r["decision"]) for pid, r in catalog.current_ratings().items()
        }
        assert standing  # the dump holds ratings: a pick of 5 stars, a reject
        rows = catalog.execute("SELECT photo_id, stars, decision FROM rating_now").fetchall()
        assert {r[0]: (r[1], r[2]) for r in rows} == standing
        assert catalog.grid_counts()["pick"] == sum(d == "pick" for _s, d in standing.values())
