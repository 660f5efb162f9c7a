"""Grouping is a function of the photos, not of the order they are visited (issue #32, goal 4; #31.9).

Signatures of real sample photographs edited the way exports and re-framings are (resized, re-encoded,
brightened, cropped a few per cent, shifted by a pixel or two) are placed into random small catalogs
(random cameras, capture times, folders, shared files); then:

* ``evidence(i, j)`` answers as ``evidence(j, i)`` for every pair;
* a regroup with nothing changed stores nothing new and removes nothing;
* the groups do not depend on the order photos entered the catalog;
* identical frames cost a bounded number of candidates per photo.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageEnhance

from culler.catalog import open_catalog
from culler.decide import grouping
from culler.decide.grouping import (
    GroupingOptions,
    PhotoSet,
    candidate_pairs,
    compute_groups,
    evidence,
    find_duplicates,
    write_groups,
)
from culler.imaging.signatures import Signature, compute, pixel_agreement
from culler.testing import sample_image


def _export(image: Image.Image) -> Image.Image:
    small = image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    ImageEnhance.Brightness(small).enhance(1.2).save(buffer, "JPEG", quality=75)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def _crop(image: Image.Image, share: float, dx: int = 0, dy: int = 0) -> Image.Image:
    w, h = image.size
    x, y = int(w * share), int(h * share)
    return image.crop((x + dx, y + dy, w - x + dx, h - y + dy))


@functools.cache
def variants() -> list[bytes]:
    """Signatures of three real photos and of their exports, crops and shifted re-framings: pairs
    inside one photo's variants sit near the evidence's limits, where the order used to matter."""
    found = []
    for name in ("astronaut", "chelsea", "coffee"):
        image = sample_image(name)
        edits = [
            image,
            _export(image),
            _crop(image, 0.04),
            _crop(image, 0.07, dx=3),
            _crop(image, 0.10),
            ImageEnhance.Brightness(_crop(image, 0.02, dx=-5)).enhance(0.8),
        ]
        found += [compute(e).to_bytes() for e in edits]
    # scikit-image's rocket and three re-framings of it: each of these pairs was one picture in one
    # order and two in the other before the evidence was made symmetric (tone ~0.93, detail ~0.50).
    rocket = sample_image("rocket")
    edits = [rocket, _crop(rocket, 0.08, -6, 3), _crop(rocket, 0.08), _crop(rocket, 0.03, -6, 3)]
    return found + [compute(e).to_bytes() for e in edits]


def test_pixel_agreement_and_evidence_are_symmetric_on_real_edits():
    sigs = [Signature.from_bytes(b) for b in variants()]
    for a in range(len(sigs)):
        for b in range(a + 1, len(sigs)):
            assert pixel_agreement(sigs[a], sigs[b]) == pixel_agreement(sigs[b], sigs[a])
    rows = [
        {"id": k + 1, "root": "/r", "content_hash": f"h{k}", "signature": s}
        for k, s in enumerate(variants())
    ]
    photos = PhotoSet(rows, {})
    rule = GroupingOptions().evidence
    asked = 0
    for i in range(len(rows)):
        for j in range(i + 1, len(rows)):
            assert evidence(photos, i, j, rule, 0.95) == evidence(photos, j, i, rule, 0.95)
            asked += bool(evidence(photos, i, j, rule, 0.95))
    assert asked >= 6  # the edits of one photo do pair: the symmetry is not of "never"


photo = st.fixed_dictionaries(
    {
        "variant": st.one_of(st.integers(18, 21), st.integers(0, 21)),  # the rocket's often
        "camera": st.sampled_from(["X1", "Z9"]),
        "minute": st.one_of(st.none(), st.integers(0, 90)),  # None: an export without a time
        "second": st.integers(0, 3),
        "root": st.sampled_from(["/a", "/b"]),
        "copy_of": st.one_of(st.none(), st.integers(0, 20)),  # the same file as an earlier photo
    }
)


def _rows(specs: list[dict]) -> list[tuple]:
    start = dt.datetime(2024, 5, 1, 10, 0, 0)
    sigs = variants()
    rows = []
    for k, spec in enumerate(specs):
        source = spec["copy_of"]
        if source is not None and source < k:
            spec = {**specs[source], "root": spec["root"], "copy_of": None}
            content = f"h{source}"
        else:
            content = f"h{k}"
        taken = None
        if spec["minute"] is not None:
            taken = (
                start + dt.timedelta(minutes=spec["minute"], seconds=spec["second"])
            ).isoformat()
        rows.append(
            (
                f"{spec['root']}/p{k}.jpg",
                spec["root"],
                taken,
                spec["camera"] if taken else "",
                content,
                sigs[spec["variant"]],
            )
        )
    return rows


def _insert(catalog, rows: list[tuple]) -> None:
    catalog.insert_signed_photos(rows)


def _by_path(catalog, groups) -> set[tuple[str, frozenset[str]]]:
    path = {r["id"]: r["path"] for r in catalog.grouping_photos()}
    return {(g.kind, frozenset(path[m] for m in g.members)) for g in groups}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(specs=st.lists(photo, min_size=2, max_size=14), order=st.randoms(use_true_random=False))
def test_grouping_does_not_depend_on_the_order_photos_are_visited(specs, order):
    rows = _rows(specs)
    shuffled = list(rows)
    order.shuffle(shuffled)
    with tempfile.TemporaryDirectory() as tmp:
        first = open_catalog(Path(tmp) / "first.db")
        second = open_catalog(Path(tmp) / "second.db")
        try:
            _insert(first, rows)
            _insert(second, shuffled)
            groups, run = compute_groups(first, full=True)
            # The same photos entered in another order: the same groups.
            assert _by_path(first, groups) == _by_path(second, compute_groups(second)[0])
            for group in groups:
                group.members.reverse()  # as a ranking stores them: any member may come first
            counts = write_groups(first, groups, run)
            # Nothing changed: an incremental regroup and a full one both find what is stored.
            for full in (False, True):
                again, run_again = compute_groups(first, full=full)
                assert _by_path(first, again) == _by_path(first, groups)
                written = write_groups(first, again, run_again)
                assert (written["added"], written["removed"]) == (0, 0)
                assert written["groups"] == counts["groups"]
            # A new shoot grouped incrementally against what is stored: what a full grouping finds.
            later = _rows(specs)  # the same photos once more, under new names, later in the day
            later = [
                (f"/later{r[0]}", r[1], r[2] and r[2].replace("T1", "T2", 1), *r[3:])
                for r in later[: len(later) // 2]
            ]
            _insert(first, later)
            _insert(second, later)
            grown, _ = compute_groups(first, full=False)
            assert _by_path(first, grown) == _by_path(second, compute_groups(second)[0])
            dups = {frozenset(g["members"]) for g in find_duplicates(first)}
            dups_second = {frozenset(g["members"]) for g in find_duplicates(second)}
            paths_first = {r["id"]: r["path"] for r in first.grouping_photos()}
            paths_second = {r["id"]: r["path"] for r in second.grouping_photos()}
            assert {frozenset(paths_first[m] for m in d) for d in dups} == {
                frozenset(paths_second[m] for m in d) for d in dups_second
            }
        finally:
            first.close()
            second.close()


def test_identical_frames_have_a_bounded_number_of_candidates_each(monkeypatch):
    """A time-lapse of one static scene: each frame is checked against a bounded number of others,
    and the frames still form one group (linked through their nearest frames)."""
    sig = variants()[0]
    n = 300
    start = dt.datetime(2024, 5, 1, 10, 0, 0)
    rows = [
        {
            "id": k + 1,
            "root": "/lapse",
            "camera": "X1",
            "taken_at": (start + dt.timedelta(seconds=2 * k)).isoformat(),
            "content_hash": f"h{k}",
            "signature": sig,
        }
        for k in range(n)
    ]
    photos = PhotoSet(rows, {})
    monkeypatch.setattr(grouping, "MAX_CANDIDATES", 5)
    pairs = candidate_pairs(photos, GroupingOptions(), range(n))
    per_photo = np.bincount(np.array(list(pairs)).ravel(), minlength=n)
    # Each photo asks for at most 5; others may ask for it too (the nearest of its neighbours).
    assert len(pairs) <= 5 * n
    assert per_photo.max() <= 2 * 5 + 1
    assert grouping.components(grouping.similar_pairs(photos, GroupingOptions())) == [
        list(range(1, n + 1))
    ]
    # Copies of one file (one content hash) in one folder, past the folder's linear search.
    monkeypatch.setattr(grouping, "LINEAR_ROOT", 10)
    copies = PhotoSet(
        [{"id": k + 1, "root": "/r", "content_hash": "same", "signature": sig} for k in range(n)],
        {},
    )
    pairs = candidate_pairs(copies, GroupingOptions(), range(n))
    assert len(pairs) <= 5 * n
    found = grouping.similar_pairs(copies, GroupingOptions(), spanning=True)
    assert len(found) == n - 1  # one check per photo linked
    assert grouping.components(found) == [list(range(1, n + 1))]


# -- a scan that changed nothing regroups nothing (issue #32, goal 2) ------------------------------


def test_a_scan_that_changed_nothing_regroups_nothing(tmp_path, monkeypatch):
    from test_cull import write_burst

    from culler.decide import cull
    from culler.decide.cull import update_groups
    from culler.testing import scan_into

    folder = tmp_path / "shoot"
    write_burst(folder)  # four frames with capture times and sub-seconds
    variants_folder = folder / "exports"
    variants_folder.mkdir()
    sample_image("chelsea").save(variants_folder / "chelsea.jpg", quality=92)
    _export(sample_image("chelsea")).save(variants_folder / "chelsea-web.jpg", quality=75)
    catalog, _ = scan_into(tmp_path / "culler.db", folder, ["technical"])
    try:
        stored = sorted(sorted(g.members) for g in grouping.stored_groups(catalog))
        assert stored and len(stored) >= 2  # the burst and the export beside its original
        model = catalog.default_embedding_model()
        # The facts recorded in Python are the facts SQL reads (sub-seconds, cameras, no camera).
        assert catalog.grouping_unchanged(
            model, cull.grouping_watermark(catalog, GroupingOptions())
        )

        runs = []

        def counting(function):
            def counted(*args, **kwargs):
                runs.append(1)
                return function(*args, **kwargs)

            return counted

        # A regroup runs one of these: the whole grouping, or an incremental one's changes.
        monkeypatch.setattr(cull, "compute_groups", counting(grouping.compute_groups))
        monkeypatch.setattr(cull, "compute_group_changes", counting(grouping.compute_group_changes))
        catalog.close()
        catalog, summary = scan_into(tmp_path / "culler.db", folder, ["technical"])
        assert (summary["groups"], runs) == (len(stored), [])  # the rescan only checked
        assert update_groups(catalog)["examined"] == 0 and runs == []
        assert sorted(sorted(g.members) for g in grouping.stored_groups(catalog)) == stored

        # Each thing a group or a rank depends on makes the next scan regroup.
        one = stored[0][0]
        changes = [
            lambda: catalog.store_embedding(one, "ViT-B-32", [1.0, 0.0]),
            lambda: catalog.execute("UPDATE photos SET camera = 'Z9' WHERE id = ?", [one]),
            lambda: catalog.execute(  # a photo scored again, as a scan writes scores
                "INSERT OR REPLACE INTO scores (photo_id, scorer_pk, score, created)"
                " SELECT photo_id, scorer_pk, score + 1, 1 FROM scores ORDER BY photo_id, scorer_pk LIMIT 1"
            ),
            lambda: catalog.execute("UPDATE scorers SET active = 1 - active"),
        ]
        for change in changes:
            with catalog.transaction():
                change()
            update_groups(catalog)
            assert len(runs) == 1
            update_groups(catalog)  # and then it is settled again
            assert len(runs) == 1
            runs.clear()
    finally:
        catalog.close()


def test_a_regroup_ranks_again_only_the_groups_whose_photos_changed_or_were_scored(
    tmp_path, monkeypatch
):
    from test_cull import write_burst

    from culler.decide import cull
    from culler.decide.cull import update_groups
    from culler.testing import scan_into

    folder = tmp_path / "shoot"
    write_burst(folder)
    exports = folder / "exports"
    exports.mkdir()
    sample_image("chelsea").save(exports / "chelsea.jpg", quality=92)
    _export(sample_image("chelsea")).save(exports / "chelsea-web.jpg", quality=75)
    catalog, _ = scan_into(tmp_path / "culler.db", folder, ["technical"])
    try:
        burst, pair = sorted(grouping.stored_groups(catalog), key=lambda g: g.kind)
        assert (burst.kind, pair.kind) == ("burst", "duplicate")
        ranked = []
        real_rank = cull.rank_groups

        def recording(catalog, groups, ranking=None, scores=None):
            ranked.append(sorted(sorted(g.members) for g in groups))
            return real_rank(catalog, groups, ranking, scores)

        monkeypatch.setattr(cull, "rank_groups", recording)
        # A frame of the burst without a defect scored again, far above the others: only the burst is ranked
        # again, and stored in the order a fresh ranking gives.
        last = next(m for m in burst.members[1:] if m not in burst.frame_defects)
        with catalog.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO scores (photo_id, scorer_pk, score, created)"
                " SELECT photo_id, scorer_pk, 10.0, 'now' FROM scores WHERE photo_id = ?",
                [last],
            )
        update_groups(catalog)
        assert ranked == [[sorted(burst.members)]]
        after = {g.kind: g for g in grouping.stored_groups(catalog)}
        fresh = grouping.Group("burst", sorted(burst.members), frame_defects=burst.frame_defects)
        fresh = real_rank(catalog, [fresh])[0]
        assert after["burst"].members == fresh.members != burst.members  # the score moved it
        assert after["duplicate"].members == pair.members
    finally:
        catalog.close()
