"""The grouping change log (migration ``013_grouping_change_log``, issue #32): triggers name the photos
whose grouping facts may have changed and count changes to the stored groups, so a regroup with
nothing changed reads a row or two, and an incremental grouping compares only the logged photos.
Catalogs grouped before the log existed fall back to comparing every photo's facts, once."""

from __future__ import annotations

import datetime as dt

import pytest
from test_grouping_order import _by_path, variants

from culler.catalog import open_catalog
from culler.decide import grouping
from culler.decide.cull import grouping_watermark, update_groups
from culler.decide.grouping import GroupingOptions, compute_groups, write_groups


def _shoot(prefix: str, n: int, hour: int, camera: str = "Z9") -> list[tuple]:
    """``n`` frames a second apart (one burst) of real photos' signatures, in folder ``prefix``."""
    start = dt.datetime(2024, 5, 1, hour, 0, 0)
    sigs = variants()
    return [
        (
            f"{prefix}/p{k}.jpg",
            prefix,
            (start + dt.timedelta(seconds=k)).isoformat(),
            camera,
            f"{prefix}-h{k}",
            sigs[k % len(sigs)],
        )
        for k in range(n)
    ]


def _logged(catalog) -> list[int]:
    return [r[0] for r in catalog.execute("SELECT photo_id FROM grouping_log ORDER BY seq")]


@pytest.fixture
def catalog(tmp_path):
    catalog = open_catalog(tmp_path / "culler.db")
    yield catalog
    catalog.close()


def _never() -> str | None:
    raise AssertionError("every photo's facts were compared")


def test_the_triggers_log_what_grouping_reads_and_nothing_else(catalog):
    catalog.insert_signed_photos(_shoot("/a", 3, 10))
    ids = [r["id"] for r in catalog.grouping_photos()]
    assert _logged(catalog) == ids  # each new photo
    with catalog.transaction() as conn:
        conn.execute("DELETE FROM grouping_log")
    with catalog.transaction() as conn:
        # A rescan rewriting the same values, and the columns grouping does not read: nothing.
        conn.execute("UPDATE photos SET camera = camera, taken_at = taken_at, last_seen = 'x'")
    assert _logged(catalog) == []
    with catalog.transaction() as conn:
        conn.execute("UPDATE photos SET camera = 'R5' WHERE id = ?", [ids[0]])
        conn.execute("UPDATE photos SET status = 'missing' WHERE id = ?", [ids[1]])
    with catalog.transaction():
        catalog.store_embedding(ids[2], "ViT-B-32", [1.0, 0.0])
    assert _logged(catalog) == [ids[0], ids[1], ids[2]]
    with catalog.transaction() as conn:
        conn.execute("DELETE FROM photos WHERE id = ?", [ids[2]])  # and its embedding, cascaded
    assert _logged(catalog)[3:] == [ids[2], ids[2]]
    before = catalog.groups_generation()
    with catalog.transaction() as conn:
        conn.execute("INSERT INTO groups (kind, created) VALUES ('burst', 'now')")
    assert catalog.groups_generation() == before + 1


def test_a_regroup_with_nothing_changed_reads_the_log_not_the_photos(catalog):
    catalog.insert_signed_photos(_shoot("/a", 4, 10) + _shoot("/b", 3, 12, "R5"))
    update_groups(catalog, full=True)
    assert grouping.stored_groups(catalog)
    assert _logged(catalog) == []  # what was read is not kept
    watermark = grouping_watermark(catalog, GroupingOptions())
    assert catalog.grouping_unchanged(_never, watermark)
    # Something grouping reads changes: the log alone says so.
    first = catalog.grouping_photos()[0]["id"]
    with catalog.transaction() as conn:
        conn.execute("UPDATE photos SET taken_at = '2024-05-02T09:00:00' WHERE id = ?", [first])
    assert not catalog.grouping_unchanged(_never, watermark)
    update_groups(catalog)
    assert catalog.grouping_unchanged(_never, watermark)
    # Groups changed behind grouping's back: not unchanged, and the next grouping is a full one.
    with catalog.transaction() as conn:
        conn.execute("DELETE FROM groups WHERE id = (SELECT MIN(id) FROM groups)")
    assert not catalog.groups_as_recorded()
    assert not catalog.grouping_unchanged(_never, watermark)


def test_a_catalog_grouped_before_the_log_compares_the_facts_once(catalog):
    catalog.insert_signed_photos(_shoot("/a", 4, 10))
    update_groups(catalog, full=True)
    # As a catalog grouped before migration 013 is: no position recorded.
    with catalog.transaction() as conn:
        conn.execute("DELETE FROM grouping_run WHERE key IN ('log_position', 'groups_generation')")
    watermark = grouping_watermark(catalog, GroupingOptions())
    assert catalog.grouping_logged_since() is None
    calls = []

    def model() -> str | None:
        calls.append(1)
        return catalog.default_embedding_model()

    assert catalog.grouping_unchanged(model, watermark) and calls == [1]
    assert catalog.grouping_unchanged(model, watermark) and calls == [1]  # now from the log
    # Without a position an older catalog's photo changes are still found by the comparison.
    with catalog.transaction() as conn:
        conn.execute("DELETE FROM grouping_run WHERE key = 'log_position'")
        conn.execute("UPDATE photos SET camera = 'R5' WHERE id = 1")
    assert not catalog.grouping_unchanged(model, watermark) and calls == [1, 1]


def test_facts_an_earlier_version_recorded_as_text_read_as_unchanged(catalog):
    """Grouping records each photo's facts as an 8-byte digest (migration 018); the text an
    earlier version recorded compares equal to it, in Python and in SQL, so an upgraded catalog
    regroups nothing, and the data upgrade rewrites the text as the same digests."""
    from culler.catalog import upgrades
    from culler.catalog.groups import FACTS_SQL, facts_digest
    from culler.imaging.signatures import SQL_READABLE

    catalog.insert_signed_photos(_shoot("/a", 4, 10) + _shoot("/b", 3, 12, "R5"))
    update_groups(catalog, full=True)
    digests = catalog.grouping_facts()
    assert len(digests) == 7 and all(type(d) is bytes and len(d) == 8 for d in digests.values())
    model = catalog.default_embedding_model()
    text = FACTS_SQL.format(readable=SQL_READABLE.format(column="p.signature"))
    with catalog.transaction() as conn:  # as an earlier version recorded them, with no log position
        conn.execute(
            f"UPDATE grouping_state SET facts = (SELECT {text} FROM photos p"
            " WHERE p.id = grouping_state.photo_id)",
            [model],
        )
        conn.execute("DELETE FROM grouping_run WHERE key = 'log_position'")
    texts = dict(catalog.execute("SELECT photo_id, facts FROM grouping_state").fetchall())
    assert all(t.startswith("/a-h") or t.startswith("/b-h") for t in texts.values())
    assert {pid: facts_digest(t) for pid, t in texts.items()} == digests
    assert catalog.grouping_facts() == digests
    assert catalog.grouping_changed_ids(model) == []
    watermark = grouping_watermark(catalog, GroupingOptions())
    assert catalog.grouping_unchanged(lambda: model, watermark)
    _, run = compute_groups(catalog, GroupingOptions(), full=True)
    assert run.changed == set()
    fact_upgrade = upgrades.UPGRADES["grouping_fact_digests"]
    with catalog.transaction() as conn:
        conn.execute(
            f"INSERT OR REPLACE INTO {upgrades.TABLE} (name, last_key) VALUES (?, 0)",
            [fact_upgrade.name],
        )
    catalog._run_upgrade(fact_upgrade, len(texts), None, 3)
    assert dict(catalog.execute("SELECT photo_id, facts FROM grouping_state").fetchall()) == digests


def test_an_incremental_grouping_compares_only_the_logged_photos(catalog, tmp_path, monkeypatch):
    catalog.insert_signed_photos(_shoot("/a", 6, 10) + _shoot("/b", 5, 14, "R5"))
    groups, run = compute_groups(catalog, full=True)
    write_groups(catalog, groups, run)
    before = {r["id"] for r in catalog.grouping_photos()}
    later = _shoot("/c", 4, 16) + [("/c/copy.jpg", "/c", None, "", "/a-h0", variants()[0])]
    catalog.insert_signed_photos(later)
    new = {r["id"] for r in catalog.grouping_photos()} - before
    compared = []
    real = catalog.grouping_changed_ids

    def recording(model, among=None):
        compared.append(among)
        return real(model, among)

    monkeypatch.setattr(catalog, "grouping_changed_ids", recording)
    grown, run = compute_groups(catalog, full=False)
    assert compared == [new]  # the new shoot, not the archive
    assert run.changed == new
    # The same groups as a full grouping of a catalog that holds the same photos.
    other = open_catalog(tmp_path / "other.db")
    try:
        other.insert_signed_photos(_shoot("/a", 6, 10) + _shoot("/b", 5, 14, "R5") + later)
        assert _by_path(catalog, grown) == _by_path(other, compute_groups(other)[0])
    finally:
        other.close()
    written = write_groups(catalog, grown, run)
    assert written["added"] >= 1
    # A photo gone missing and one broken: found from the log, their recorded facts dropped by id.
    # (A deleted photo takes its group membership with it: the groups are then not as recorded,
    # and the next grouping is a full one.)
    first, second = sorted(new)[:2]
    with catalog.transaction() as conn:
        conn.execute("UPDATE photos SET status = 'missing' WHERE id = ?", [first])
        conn.execute("UPDATE photos SET status = 'error' WHERE id = ?", [second])
    compared.clear()
    shrunk, run = compute_groups(catalog, full=False)
    assert run.gone == {first, second} and compared == [{first, second}]
    write_groups(catalog, shrunk, run)
    recorded = {r[0] for r in catalog.execute("SELECT photo_id FROM grouping_state")}
    assert not recorded & {first, second}
    assert recorded == {r["id"] for r in catalog.grouping_photos()}
    again, run_again = compute_groups(catalog, full=False)
    assert (run_again.changed, run_again.examined) == (set(), set())
    assert write_groups(catalog, again, run_again)["added"] == 0


def test_without_the_grouping_plugins_tables_the_log_is_still_kept_short(catalog):
    with catalog.transaction() as conn:
        conn.execute("DROP TABLE grouping_run")  # as with the grouping plugin not loaded
    catalog.insert_signed_photos(_shoot("/a", 4, 10))
    assert len(_logged(catalog)) == 4
    update_groups(catalog)
    assert _logged(catalog) == [] and grouping.stored_groups(catalog)
