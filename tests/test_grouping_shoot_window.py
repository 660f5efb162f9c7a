"""A new shoot is grouped against its own shoot window and the folders it shares, not the archive
(issue #32, goals 2 and 4).

On a realistic multi-folder archive (wedding days shot on two bodies, each day in its own folder,
untimed exports of every day in one shared folder; signatures of real photographs and their
exports, crops and re-framings): adding a shoot and regrouping incrementally stores exactly what a
full grouping of the same catalog stores, members in the same order; the incremental regroup reads
only the stored groups its changes reach, and the work SQLite does for it does not grow with the
archive (counted in virtual-machine steps, not timed); the reads it makes go down indexes.
"""

from __future__ import annotations

import datetime as dt
import random
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_grouping_order import variants

from culler.catalog import open_catalog
from culler.decide import cull, grouping
from culler.decide.cull import update_groups

SHARED = "/archive/exports"


def _day(
    rng: random.Random, when: dt.datetime, folder: str, frames: int, exports: int
) -> list[tuple]:
    """One shoot: ``frames`` frames on each of two bodies (bursts, repeats of a scene a few minutes
    apart, pauses), in ``folder``; and ``exports`` untimed copies of its frames in the shared
    exports folder (some the identical file, some re-encoded)."""
    sigs = variants()
    rows = []
    for camera in ("Z9", "R5"):
        t = when + dt.timedelta(seconds=rng.randrange(0, 120))
        for k in range(frames):
            t += dt.timedelta(seconds=rng.choice([0.5, 1, 1, 2, 45, 400, 1500]))
            stem = f"{folder}/{camera}_{k:03d}"
            rows.append(
                (f"{stem}.jpg", folder, t.isoformat(), camera, stem, sigs[rng.randrange(len(sigs))])
            )
    for k in range(exports):
        path, _, _, _, content, sig = rows[rng.randrange(len(rows))]
        same_file = rng.random() < 0.3
        rows.append(
            (
                f"{SHARED}/{Path(folder).name}-{k}.jpg",
                SHARED,
                None,
                "",
                content if same_file else f"{path}-export{k}",
                sig,
            )
        )
    return rows


def _archive(rng: random.Random, days: int, frames: int, exports: int) -> list[tuple]:
    rows = []
    for d in range(days):
        when = dt.datetime(2023, 5, 6, 11) + dt.timedelta(days=7 * d, hours=rng.randrange(0, 6))
        rows += _day(rng, when, f"/archive/{when:%Y-%m-%d}", frames, exports)
    return rows


def _score(catalog, rows: list[tuple], values: dict[str, float]) -> None:
    """A technical score for each photo of ``rows`` (by path), as a scan writes them."""
    pk = catalog.scorer_pk("technical", "1.0")
    ids = {r["path"]: r["id"] for r in catalog.grouping_photos()}
    with catalog.transaction() as conn:
        conn.executemany(
            "INSERT OR REPLACE INTO scores (photo_id, scorer_pk, score, created) VALUES (?, ?, ?, ?)",
            [(ids[r[0]], pk, values[r[0]], "t") for r in rows],
        )


def _stored(catalog) -> set[tuple[str, tuple[str, ...]]]:
    """The stored groups by path: kind and members in rank order."""
    path = {r["id"]: r["path"] for r in catalog.grouping_photos()}
    return {(g.kind, tuple(path[m] for m in g.members)) for g in grouping.stored_groups(catalog)}


def _no_full_reads(catalog, monkeypatch) -> None:
    """Fail if the catalog's every stored group is read, or the catalog is grouped in full."""

    def refused(*args, **kwargs):
        raise AssertionError("an incremental grouping read the whole archive")

    monkeypatch.setattr(catalog, "group_rows", refused)
    monkeypatch.setattr(catalog, "grouping_photos", refused)
    monkeypatch.setattr(cull, "compute_groups", refused)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(0, 2**32 - 1),
    days=st.integers(1, 3),
    overlap=st.booleans(),
    new_exports=st.integers(0, 4),
    rescored=st.integers(0, 3),
    gone=st.integers(0, 2),
)
def test_a_shoot_grouped_incrementally_is_what_a_full_grouping_stores(
    seed, days, overlap, new_exports, rescored, gone, monkeypatch
):
    rng = random.Random(seed)
    archive = _archive(rng, days, frames=7, exports=3)
    if overlap:  # a second shooter's card of the last day, imported a week later, in its own folder
        last = max(dt.datetime.fromisoformat(r[2]) for r in archive if r[2])
        when = last - dt.timedelta(minutes=rng.randrange(0, 50))
    else:
        when = dt.datetime(2024, 6, 1, 14)
    shoot = _day(rng, when, f"/import/{when:%Y-%m-%d}-card2", 6, new_exports)
    values = {
        r[0]: v for r, v in zip(archive + shoot, rng.sample(range(10_000), len(archive + shoot)))
    }
    again = {r[0]: rng.randrange(10_000, 20_000) for r in rng.sample(archive, rescored)}
    lost = [r[0] for r in rng.sample(archive, gone)]
    with tempfile.TemporaryDirectory() as tmp, monkeypatch.context() as patch:
        grown = open_catalog(Path(tmp) / "grown.db")
        whole = open_catalog(Path(tmp) / "whole.db")
        try:
            grown.insert_signed_photos(archive)
            _score(grown, archive, values)
            update_groups(grown, full=True)
            # The new shoot arrives, scored; a few old photos are scored again, a few go missing.
            grown.insert_signed_photos(shoot)
            _score(grown, shoot, values)
            _score(grown, [r for r in archive if r[0] in again], again)
            with grown.transaction() as conn:
                conn.executemany(
                    "UPDATE photos SET status = 'missing' WHERE path = ?", [(p,) for p in lost]
                )
            _no_full_reads(grown, patch)
            update_groups(grown)
            patch.undo()
            # The same photos, scores and losses in a catalog grouped in full once.
            whole.insert_signed_photos(shoot + archive)  # another order: other ids
            _score(whole, shoot + archive, values | again)
            with whole.transaction() as conn:
                conn.executemany(
                    "UPDATE photos SET status = 'missing' WHERE path = ?", [(p,) for p in lost]
                )
            update_groups(whole, full=True)
            assert _stored(grown) == _stored(whole)
            # And settled: the next regroup changes nothing.
            assert update_groups(grown) == {
                "groups": len(_stored(whole)),
                "added": 0,
                "removed": 0,
                "examined": 0,
            }
        finally:
            grown.close()
            whole.close()


def _steps_of_a_new_shoot(tmp: Path, days: int) -> tuple[int, dict[str, int]]:
    """SQLite virtual-machine steps (in thousands) of the incremental regroup after a new shoot
    in its own folder, on an archive of ``days`` shoots grouped in full; and what it wrote."""
    rng = random.Random(days)
    catalog = open_catalog(tmp / f"archive-{days}.db")
    try:
        archive = _archive(rng, days, frames=12, exports=4)
        catalog.insert_signed_photos(archive)
        _score(catalog, archive, {r[0]: rng.random() for r in archive})
        update_groups(catalog, full=True)
        shoot = _day(random.Random(0), dt.datetime(2031, 6, 1, 14), "/new", 12, 0)
        catalog.insert_signed_photos(shoot)
        _score(catalog, shoot, {r[0]: k for k, r in enumerate(shoot)})
        steps = [0]

        def count() -> int:
            steps[0] += 1
            return 0

        catalog.conn.set_progress_handler(count, 1000)
        written = update_groups(catalog)
        catalog.conn.set_progress_handler(None, 0)
        return steps[0], written
    finally:
        catalog.close()


def test_the_work_of_a_new_shoot_does_not_grow_with_the_archive(tmp_path):
    small, written = _steps_of_a_new_shoot(tmp_path, 3)
    large, written_large = _steps_of_a_new_shoot(tmp_path, 24)  # eight times the archive
    assert written["added"] >= 2 and written["added"] == written_large["added"]
    assert written_large["groups"] > 4 * written["groups"]  # the archive's groups are all there
    # The same shoot costs the same in a catalog eight times larger (reading every stored group,
    # or every photo's status, was one step per row: eight times the archive, eight times that).
    assert large <= small * 1.25 + 5, (small, large)


def test_the_shoot_window_and_folder_reads_go_down_indexes(tmp_path):
    catalog = open_catalog(tmp_path / "culler.db")
    try:
        catalog.insert_signed_photos(_archive(random.Random(1), 2, frames=5, exports=2))
        plans = []
        catalog.conn.set_trace_callback(plans.append)
        catalog.photos_shot_between("Z9", "2023-05-06T00:00:00", "2023-05-07T00:00:00")
        catalog.photos_under_root(SHARED)
        catalog.photos_under_root("/archive/2023-05-06", untimed_only=True)
        catalog.photos_under_root("", untimed_only=True)
        catalog.root_sizes([SHARED, ""], at_most=3)
        catalog.group_rows_of([1, 2])
        catalog.conn.set_trace_callback(None)
        # and one look-up of each named folder's id in ``roots`` (026_scan_roots_table)
        assert len(plans) == 9 + 3
        for sql in plans:
            plan = " ".join(r[3] for r in catalog.execute(f"EXPLAIN QUERY PLAN {sql}"))
            assert "SCAN" not in plan.replace("SCAN (subquery", ""), (sql, plan)
            assert "idx_photos_status" not in plan, (sql, plan)
    finally:
        catalog.close()


def test_folder_sizes_are_counted_no_further_than_asked(tmp_path):
    catalog = open_catalog(tmp_path / "culler.db")
    try:
        rows = _day(random.Random(2), dt.datetime(2024, 1, 1), "/a", 4, 3)
        rows += [(f"/none/{k}.jpg", None, None, "", f"n{k}", variants()[0]) for k in range(3)]
        rows += [(f"/empty/{k}.jpg", "", None, "", f"e{k}", variants()[1]) for k in range(2)]
        catalog.insert_signed_photos(rows)
        with catalog.transaction() as conn:
            conn.execute("UPDATE photos SET status = 'missing' WHERE path = '/a/Z9_000.jpg'")
        exact = catalog.root_sizes(["/a", SHARED, "", "/elsewhere"])
        assert exact == {"/a": 7, SHARED: 3, "": 5, "/elsewhere": 0}
        assert catalog.root_sizes(["/a", SHARED, "", "/elsewhere"], at_most=3) == {
            "/a": 4,
            SHARED: 3,
            "": 4,
            "/elsewhere": 0,
        }
        assert sorted(catalog.photos_under_root("", untimed_only=True)) == sorted(
            r["id"] for r in catalog.grouping_photos() if not r["root"]
        )
    finally:
        catalog.close()


@pytest.mark.parametrize("rescore", [False, True])
def test_a_regroup_writes_only_the_groups_that_changed(tmp_path, rescore):
    catalog = open_catalog(tmp_path / "culler.db")
    try:
        rng = random.Random(3)
        archive = _archive(rng, 3, frames=8, exports=2)
        catalog.insert_signed_photos(archive)
        _score(catalog, archive, {r[0]: i for i, r in enumerate(archive)})
        update_groups(catalog, full=True)
        before = {g.id: g for g in grouping.stored_groups(catalog)}
        shoot = _day(rng, dt.datetime(2025, 1, 1, 12), "/new", 6, 0)
        catalog.insert_signed_photos(shoot)
        _score(catalog, shoot, {r[0]: i for i, r in enumerate(shoot)})
        moved = next(g for g in before.values() if len(g.members) > 2)
        if rescore:  # its worst frame is now its best
            path = {r["id"]: r["path"] for r in catalog.grouping_photos()}[moved.members[-1]]
            _score(catalog, [r for r in archive if r[0] == path], {path: 10**6})
        writes = []
        real = catalog.replace_groups

        def recording(keep, add, drop, *rest):
            drop = list(drop)
            writes.append((dict(keep), list(add), drop))
            return real(keep, add, drop, *rest)

        catalog.replace_groups = recording
        written = update_groups(catalog)
        ((keep, add, drop),) = writes
        after = {g.id: g for g in grouping.stored_groups(catalog)}
        assert written["groups"] == len(after) == len(before) + len(add) and len(add) >= 1
        assert written["removed"] == 0 and drop == []
        # Only the re-ranked groups (those holding the photo scored again) are written again;
        # every other stored group is left as it was.
        best = moved.members[-1]
        reranked = {gid for gid, g in before.items() if rescore and best in g.members}
        assert moved.id in reranked or not rescore
        assert set(keep) == reranked
        for gid, group in before.items():
            if gid in reranked:
                assert after[gid].members == [best, *(m for m in group.members if m != best)]
            else:
                assert after[gid].members == group.members
    finally:
        catalog.close()


def test_a_frame_gone_from_a_burst_splits_it_and_its_halves_may_be_copies(tmp_path):
    """Two frames of one picture shot 3 s apart, joined into one burst by the frame between them:
    when that frame goes missing the burst splits, and the two are near-duplicates across the
    split, as a full grouping finds (they were never stored as a duplicate group while one burst)."""
    sigs = variants()
    start = dt.datetime(2024, 5, 1, 15)
    rows = [
        (f"/s/{name}.jpg", "/s", (start + dt.timedelta(seconds=t)).isoformat(), "Z9", name, sig)
        for name, t, sig in (("a", 0, sigs[0]), ("b", 1.5, sigs[18]), ("c", 3, sigs[1]))
    ]
    catalog = open_catalog(tmp_path / "culler.db")
    try:
        catalog.insert_signed_photos(rows)
        update_groups(catalog, full=True)
        path = {r["id"]: r["path"] for r in catalog.grouping_photos()}
        assert [
            (g.kind, sorted(path[m] for m in g.members)) for g in grouping.stored_groups(catalog)
        ] == [("burst", ["/s/a.jpg", "/s/b.jpg", "/s/c.jpg"])]
        with catalog.transaction() as conn:
            conn.execute("UPDATE photos SET status = 'missing' WHERE path = '/s/b.jpg'")
        update_groups(catalog)
        found = [
            (g.kind, sorted(path[m] for m in g.members)) for g in grouping.stored_groups(catalog)
        ]
        assert found == [("duplicate", ["/s/a.jpg", "/s/c.jpg"])]
        update_groups(catalog, full=True)
        assert _stored(catalog) and len(grouping.stored_groups(catalog)) == 1
        assert [sorted(g.members) for g in grouping.stored_groups(catalog)] == [
            sorted(pid for pid, p in path.items() if p in ("/s/a.jpg", "/s/c.jpg"))
        ]
    finally:
        catalog.close()


def _model_counts(catalog) -> dict[str, int]:
    counted = dict(catalog.execute("SELECT model, photos FROM embedding_models WHERE photos > 0"))
    actual = dict(catalog.execute("SELECT model, COUNT(*) FROM embeddings GROUP BY model"))
    assert counted == actual  # the triggers' counts are the embeddings'
    return counted


@pytest.mark.parametrize("recursive", [True, False])
def test_the_embedding_model_grouping_compares_by_is_read_from_counts_kept_by_triggers(
    tmp_path, recursive
):
    from culler.catalog import migrations

    catalog = open_catalog(tmp_path / "culler.db")
    # sqlite-utils turns recursive triggers on (a replaced row then fires delete triggers); a
    # plain connection, as ``culler list`` opens, has them off: the counts hold either way.
    catalog.execute(f"PRAGMA recursive_triggers = {int(recursive)}")
    try:
        catalog.insert_signed_photos(_day(random.Random(4), dt.datetime(2024, 1, 1), "/a", 3, 0))
        ids = [r["id"] for r in catalog.grouping_photos()]
        with catalog.transaction():
            for pid in ids[:4]:
                catalog.store_embedding(pid, "clip-b", [1.0, 0.0])
            for pid in ids[:3]:
                catalog.store_embedding(pid, "clip-a", [0.0, 1.0])
        assert _model_counts(catalog) == {"clip-b": 4, "clip-a": 3}
        assert catalog.default_embedding_model() == "clip-b"
        # A rescan stores the same photos' vectors again (INSERT OR REPLACE): counted once.
        with catalog.transaction():
            for pid in ids[:4]:
                catalog.store_embedding(pid, "clip-b", [0.5, 0.5])
        catalog.save_embeddings("clip-a", {pid: np.array([0.0, 1.0]) for pid in ids[:4]})
        assert _model_counts(catalog) == {"clip-b": 4, "clip-a": 4}
        assert catalog.default_embedding_model() == "clip-a"  # a tie: the first name
        with catalog.transaction() as conn:
            catalog.forget_content(ids[:1])  # the file changed: its embeddings go
            conn.execute("DELETE FROM photos WHERE id = ?", [ids[1]])  # cascades
            conn.execute("UPDATE embeddings SET model = 'clip-b' WHERE photo_id = ?", [ids[5]])
        assert _model_counts(catalog) == {"clip-b": 2, "clip-a": 2}
        assert catalog.execute("PRAGMA recursive_triggers").fetchone()[0] == recursive
        # A catalog made before the counts: the step fills them from the cached embeddings.
        with catalog.transaction() as conn:
            for name in ("replaced", "added", "deleted", "moved"):
                conn.execute(f"DROP TRIGGER embedding_model_{name}")
            conn.execute("DROP TABLE embedding_models")
        assert catalog.default_embedding_model() == "clip-a"  # counted over the embeddings
        migrations.m015_embedding_model_counts(catalog.db)
        assert _model_counts(catalog) == {"clip-b": 2, "clip-a": 2}
    finally:
        catalog.close()
