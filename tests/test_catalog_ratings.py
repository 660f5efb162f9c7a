"""The catalog's rating events and its one undo, shared by ``culler rate --undo`` and the GUI."""

from __future__ import annotations

import pytest

from culler.catalog import open_catalog


@pytest.fixture
def catalog(tmp_path):
    with open_catalog(tmp_path / "culler.db") as catalog:
        with catalog.transaction() as conn:
            conn.executemany(
                "INSERT INTO photos (id, path, first_seen, last_seen) VALUES (?, ?, 'x', 'x')",
                [(i, f"/shoot/{i}.jpg") for i in (1, 2, 3)],
            )
        yield catalog


def count_events(catalog) -> int:
    return catalog.execute("SELECT COUNT(*) FROM ratings").fetchone()[0]


def test_a_batch_is_one_undo_step_for_every_photo(catalog):
    catalog.rate(1, stars=2, source="cli")  # a lone event before the batch
    batch = catalog.rate_batch([1, 2], "culler rate decision=pick", source="cli", decision="pick")
    assert batch.states == {
        1: {"stars": 2, "decision": "pick", "label": None},
        2: {"stars": None, "decision": "pick", "label": None},
    }
    restored = catalog.undo_last()
    assert sorted(r["event"] for r in restored) == sorted(batch.event_ids)
    assert catalog.current_rating(1)["stars"] == 2 and catalog.current_rating(1)["decision"] is None
    assert catalog.current_rating(2)["decision"] is None
    assert [r["event"] for r in catalog.undo_last()] == [1]  # further back, not a redo
    assert catalog.undo_last() == []


def test_gui_and_cli_undo_never_undo_the_same_event_twice(catalog):
    pytest.importorskip("PySide6")  # culler.gui's package imports Qt; RatingHistory itself does not
    from culler.gui.ratings import RatingHistory

    history = RatingHistory(catalog)
    history.apply([1, 2], decision="reject", label="reject")
    assert {r["photo_id"] for r in catalog.undo_last()} == {1, 2}  # the CLI undoes the GUI's batch
    events = count_events(catalog)
    assert history.undo() == {}  # already undone: nothing appended
    assert count_events(catalog) == events
    assert catalog.current_ratings([1, 2]) == {
        1: {"stars": None, "decision": None, "label": None, "source": "cli"},
        2: {"stars": None, "decision": None, "label": None, "source": "cli"},
    }


def test_a_sidecar_import_is_undone_alone(catalog):
    catalog.rate_batch([1, 2], "3 stars", source="gui", stars=3)
    catalog.rate(3, decision="reject", source="xmp", reason="sidecar 3.xmp")
    assert [r["photo_id"] for r in catalog.undo_last()] == [3]
    assert {r["photo_id"] for r in catalog.undo_last()} == {1, 2}


def test_bulk_ratings_match_the_per_photo_view(catalog):
    catalog.rate_batch([1, 3], "pick", source="gui", decision="pick", label="Red")
    catalog.rate(3, stars=4, source="cli")
    bulk = catalog.current_ratings()
    assert set(bulk) == {1, 3}
    for pid in (1, 3):
        view = catalog.current_rating(pid)
        assert bulk[pid] == {k: view[k] for k in ("stars", "decision", "label", "source")}
    assert catalog.current_ratings([2]) == {}


def test_rate_batch_refuses_unknown_fields(catalog):
    with pytest.raises(TypeError, match="colour"):
        catalog.rate_batch([1], "x", source="cli", colour="Red")
    assert count_events(catalog) == 0
