"""Item models without a window: row counts, roles, sorting, filtering, stacks, merges, undo."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from culler.catalog import now, open_catalog
from culler.gui.item_models import (
    DecisionRole,
    Filters,
    PhotoFilterProxy,
    PhotoIdRole,
    PhotoListModel,
    ScoreRole,
    ScorerRow,
    ScorerTableModel,
    StackRole,
    StarsRole,
)
from culler.gui.ratings import RatingHistory
from culler.gui.records import PhotoRecord, load_records


def make_models(records):
    model = PhotoListModel()
    model.set_records(records)
    proxy = PhotoFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_sort("name")
    return model, proxy


def names(proxy) -> list[str]:
    return [proxy.index(r, 0).data(Qt.ItemDataRole.DisplayRole) for r in range(proxy.rowCount())]


def synthetic(n=6):
    recs = []
    for i in range(n):
        recs.append(
            PhotoRecord(
                id=i + 1,
                path=f"/shoot/IMG_{i:04d}.jpg",
                taken_at=None if i == 0 else f"2024-05-01T10:00:{59 - i:02d}",
                scores={"technical": float(i), "aesthetic": float(10 - i)} if i != 3 else {},
                tags={"awe": 0.9} if i % 2 else {"sadness": 0.7},
                stars=i % 6,
                decision=("pick", "reject", None)[i % 3],
            )
        )
    return recs


def test_load_records_reads_the_catalog_in_bulk(scanned):
    with open_catalog(scanned) as catalog:
        records = load_records(catalog)
        photo_count = catalog.execute("SELECT COUNT(*) FROM photos").fetchone()[0]
        first = records[0]
        catalog.rate(first.id, stars=4, decision="pick", source="gui")
        again = {r.id: r for r in load_records(catalog)}
    assert len(records) == photo_count == 6
    assert all("technical" in r.scores for r in records)
    assert all(r.content_hash for r in records)
    assert again[first.id].stars == 4 and again[first.id].decision == "pick"


def test_stacks_come_from_groups_best_rank_on_top(scanned):
    with open_catalog(scanned) as catalog:
        ids = [r[0] for r in catalog.execute("SELECT id FROM photos ORDER BY path")]
        gid = catalog.execute(
            "INSERT INTO groups (kind, created) VALUES ('burst', ?)", [now()]
        ).lastrowid
        for rank, pid in enumerate([ids[2], ids[0], ids[1]]):
            catalog.execute(
                "INSERT INTO group_members (group_id, photo_id, rank) VALUES (?, ?, ?)",
                [gid, pid, rank],
            )
        catalog.conn.commit()
        records = {r.id: r for r in load_records(catalog)}
    assert records[ids[2]].is_top and records[ids[2]].group_size == 3
    assert not records[ids[0]].is_top and records[ids[0]].rank == 1
    assert records[ids[3]].group_id is None

    model, proxy = make_models(list(records.values()))
    assert proxy.rowCount() == 4  # the collapsed stack shows its best photo only
    top_row = proxy.mapFromSource(model.index(model.row_of(ids[2])))
    assert top_row.data(StackRole) == (3, False)
    proxy.toggle_stack(gid)
    proxy.resort()
    assert proxy.rowCount() == 6
    shown = [proxy.index(r, 0).data(PhotoIdRole) for r in range(6)]
    start = shown.index(ids[2])
    assert shown[start : start + 3] == [ids[2], ids[0], ids[1]]  # members stay together, by rank


def test_roles_and_row_count():
    model, proxy = make_models(synthetic())
    assert model.rowCount() == 6
    index = model.index(1)
    assert index.data(Qt.ItemDataRole.DisplayRole) == "IMG_0001.jpg"
    assert index.data(PhotoIdRole) == 2
    assert index.data(StarsRole) == 1
    assert index.data(DecisionRole) == "reject"
    assert index.data(StackRole) is None
    assert model.index(2).data(DecisionRole) == ""
    assert index.data(Qt.ItemDataRole.DecorationRole) is None  # no thumbnail cache attached
    proxy.set_sort("score:aesthetic")
    assert model.badge_scorer == "aesthetic"
    assert proxy.index(0, 0).data(ScoreRole) == 10.0


def test_sort_by_score_stars_and_time():
    model, proxy = make_models(synthetic())
    proxy.set_sort("score:technical")
    assert names(proxy) == [f"IMG_{i:04d}.jpg" for i in (5, 4, 2, 1, 0, 3)]  # unscored last
    proxy.set_sort("score:technical", descending=False)
    assert (
        names(proxy)[:2] == ["IMG_0000.jpg", "IMG_0001.jpg"] and names(proxy)[-1] == "IMG_0003.jpg"
    )
    proxy.set_sort("stars")
    stars = [proxy.index(r, 0).data(StarsRole) for r in range(proxy.rowCount())]
    assert stars == sorted(stars, reverse=True)
    proxy.set_sort("taken")
    assert names(proxy) == [f"IMG_{i:04d}.jpg" for i in (5, 4, 3, 2, 1, 0)]  # no date last
    proxy.set_sort("name", descending=True)
    assert names(proxy) == sorted(names(proxy), reverse=True)
    proxy.set_sort("decision")
    assert [proxy.index(r, 0).data(DecisionRole) for r in range(6)] == [
        "pick",
        "pick",
        "",
        "",
        "reject",
        "reject",
    ]


@pytest.mark.parametrize(
    "filters, expected",
    [
        (Filters(decision="pick"), {0, 3}),
        (Filters(decision="reject"), {1, 4}),
        (Filters(decision="unflagged"), {2, 5}),
        (Filters(min_stars=4), {4, 5}),
        (Filters(tag="awe"), {1, 3, 5}),
        (Filters(text="img_0002"), {2}),
        (Filters(text="awe 10:00:54"), {5}),
        (Filters(statuses=frozenset({"error"})), {4}),
    ],
)
def test_filters(filters, expected):
    records = synthetic()
    records[4].status, records[4].error = "error", "truncated file"
    model, proxy = make_models(records)
    proxy.set_filters(filters)
    assert set(names(proxy)) == {f"IMG_{i:04d}.jpg" for i in expected}


def test_min_score_filters_on_the_sort_scorer():
    model, proxy = make_models(synthetic())
    proxy.set_sort("score:technical")
    proxy.set_filters(Filters(min_score=4.0))
    assert names(proxy) == ["IMG_0005.jpg", "IMG_0004.jpg"]


def test_merge_updates_in_place_and_appends():
    model, proxy = make_models(synthetic(3))
    changed = []
    model.dataChanged.connect(lambda a, b, roles=(): changed.append(a.row()))
    fresh = synthetic(5)
    fresh[1].scores["technical"] = 9.5
    assert model.merge_records(fresh) == (1, 2)
    assert changed == [1]
    assert model.rowCount() == 5 and model.record(2).scores["technical"] == 9.5
    proxy.resort()
    assert proxy.rowCount() == 5


def test_scorer_table_model_toggles():
    rows = [
        ScorerRow("clip", "score", "clip", "", "installed", "", False),
        ScorerRow("technical", "score", "technical", "", "none needed", "", True),
    ]
    model = ScorerTableModel(rows)
    assert model.rowCount() == 2 and model.columnCount() == 5
    assert model.index(1, 0).data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsUserCheckable
    model.setData(model.index(0, 0), Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    assert model.enabled_ids() == ["clip", "technical"]


def test_a_scorer_without_its_weights_is_never_ticked_on():
    # Issue #29: the Models tab ticked "On" scorers that had no weights (and so never ran).
    rows = [ScorerRow("clip", "score", "clip", "", "missing", "culler models pull clip", True)]
    model = ScorerTableModel(rows)
    assert model.index(0, 4).data() == "culler models pull clip"
    assert model.index(0, 0).data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    assert not model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsUserCheckable
    tip = model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert "Install its weights first: culler models pull clip" in tip


def test_rating_history_writes_at_once_and_undo_appends(catalog):
    pid = catalog.execute(
        "INSERT INTO photos (path, first_seen, last_seen) VALUES ('/a.jpg', ?, ?)", [now(), now()]
    ).lastrowid
    catalog.conn.commit()
    history = RatingHistory(catalog)
    history.apply([pid], decision="pick", label="pick")
    history.apply([pid], stars=3)
    assert catalog.current_rating(pid)["stars"] == 3
    assert history.undo() == {pid: {"stars": None, "decision": "pick", "label": None}}
    assert catalog.current_rating(pid)["decision"] == "pick"
    assert catalog.current_rating(pid)["stars"] is None
    history.undo()
    assert catalog.current_rating(pid)["decision"] is None
    events = catalog.query("SELECT id, source, reason FROM ratings ORDER BY id")
    assert len(events) == 4 and {e["source"] for e in events} == {"gui"}
    # the CLI's undo format: `culler rate --undo` and Ctrl+Z are one mechanism
    assert events[-1]["reason"] == f"undo of event #{events[0]['id']}"
    assert not history.can_undo()
