"""Score details are stored compact (issue #32 goal 5) and read back exactly as handed in."""

from __future__ import annotations

import json

import numpy as np
import pytest
from culler_plugins.technical import TechnicalScorer

from culler.catalog import open_catalog, score_json
from culler.plugin.scorers import ScoreResult
from culler.testing import sample_image


@pytest.fixture(scope="module")
def technical():
    """A technical score of a real photograph at the scan's size, with the sharpness grid it
    stored before the grid was computed on demand (older catalogs hold rows like this one)."""
    image = sample_image("astronaut").resize((1024, 1024))
    scorer = TechnicalScorer()
    result = scorer.score_one(image)
    result.extra = {**result.extra, **scorer.details_on_demand(image)}
    return result


def test_a_technical_extra_is_stored_in_under_60_percent_and_read_back_exactly(technical):
    extra = technical.extra
    assert "sharpness_grid" in extra
    stored = score_json.dump(extra)
    assert score_json.load(stored) == json.loads(json.dumps(extra))
    assert len(stored.encode()) < 0.6 * len(json.dumps(extra).encode())
    assert "$grid" in stored and ", " not in stored.replace("\\", "")


def test_a_technical_extra_as_a_scan_stores_it_now_is_a_fifth_of_its_json(technical):
    """Without the grid (computed when shown) and packed (culler.catalog.score_pack)."""
    extra = {
        k: v
        for k, v in technical.extra.items()
        if not k.startswith(("sharpness_grid", "scored_size"))
    }
    stored = score_json.store(extra)
    assert score_json.load(stored) == json.loads(json.dumps(extra))
    assert len(stored) < 0.2 * len(json.dumps(extra).encode())


@pytest.mark.parametrize(
    "value",
    [
        {"grid": [[1, 2, 3], [4, 5, 6], [-1, 254, 0]]},
        {"not a grid (a value over 254)": [[1, 2], [3, 255], [0, 0]]},
        {"ragged": [[1, 2], [3], [4, 5]]},
        {"bools": [[True, False], [False, True], [True, True]]},
        {"floats": [[0.5, 1.0], [1.5, 2.0], [0.0, 0.0]]},
        {"two rows": [[1, 2], [3, 4]]},
        {"$grid": "a plugin's own key"},
        {"$grid": [0, "AA=="]},
        {"text": "σ ≈ 4 × ↗", "nested": [{"deep": [[0, 1], [2, 3], [4, 5], [6, 7]]}]},
        [],
        "plain",
    ],
)
def test_every_value_reads_back_as_it_was_stored(value):
    assert score_json.load(score_json.dump(value)) == value


def test_numpy_values_are_stored_as_plain_numbers():
    value = {"a": np.float32(0.5), "b": np.arange(3), "grid": np.zeros((3, 4), np.int64)}
    assert score_json.load(score_json.dump(value)) == {
        "a": 0.5,
        "b": [0, 1, 2],
        "grid": [[0] * 4] * 3,
    }


def test_older_rows_read_as_they_are_and_are_compacted_on_open(tmp_path, technical, monkeypatch):
    """A row an earlier culler stored (spaced JSON, grid as text) reads the same before and after
    the ``compact_score_json`` upgrade rewrites it (straight to today's packed form); a row stored
    so already is left alone."""
    from culler.catalog import upgrades

    path = tmp_path / "culler.db"
    with open_catalog(path) as catalog:
        pk = catalog.scorer_pk("technical", "4")
        with catalog.transaction() as conn:
            for i in (1, 2):
                conn.execute(
                    "INSERT INTO photos (id, path, status, first_seen, last_seen)"
                    " VALUES (?, ?, 'ok', 't', 't')",
                    [i, f"/p/{i}.jpg"],
                )
            catalog.store_score(1, pk, technical, "technical")  # this version: packed
            conn.execute(
                "INSERT INTO scores (photo_id, scorer_pk, score, extra, reasons, created)"
                " VALUES (2, ?, 5.0, ?, ?, 't')",
                [pk, json.dumps(technical.extra), json.dumps(technical.reasons)],
            )
            conn.execute(
                f"UPDATE {upgrades.TABLE} SET finished = NULL WHERE name = 'compact_score_json'"
            )
        old = catalog.scores_for(2)[0]["extra"]
        assert old == catalog.scores_for(1)[0]["extra"] == json.loads(json.dumps(technical.extra))
        assert catalog.data_upgrade_rows("compact_score_json") >= 1
    with open_catalog(path, progress=lambda *a: None) as catalog:
        assert catalog.pending_data_upgrades() == []
        assert catalog.scores_for(2)[0]["extra"] == old
        rows = dict(catalog.execute("SELECT photo_id, extra FROM scores").fetchall())
    assert rows[1] == rows[2] == score_json.store(technical.extra)
    assert isinstance(rows[1], bytes)


def test_store_score_writes_compact_reasons(tmp_path):
    with open_catalog(tmp_path / "culler.db") as catalog:
        pk = catalog.scorer_pk("x", "1")
        with catalog.transaction() as conn:
            conn.execute(
                "INSERT INTO photos (id, path, status, first_seen, last_seen)"
                " VALUES (1, '/a.jpg', 'ok', 't', 't')"
            )
            catalog.store_score(1, pk, ScoreResult(score=1.0, reasons=["a", "σ b"]), "x")
        (reasons,) = catalog.execute("SELECT reasons FROM scores").fetchone()
        assert reasons == '["a","σ b"]'
        assert catalog.scores_for(1)[0]["reasons"] == ["a", "σ b"]
