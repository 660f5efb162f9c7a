"""What makes two photos one picture, and which photos are compared at all (culler/decide/grouping.py).

Each rule is pinned at its limit: signatures of real sample photographs, edited as a photographer's
exports are (resized, brightened, re-encoded), and copies of them whose hash bits, colour layouts or
embeddings the test changes by a known amount, so that every expected answer follows from the
limits written in ``culler/decide/grouping.py``, never from running it.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from culler.decide import grouping
from culler.decide.grouping import (
    NEAR,
    Evidence,
    GroupingOptions,
    PhotoSet,
    compute_groups,
    evidence,
    signature_match,
    similar_pairs,
    stored_groups,
    write_groups,
)
from culler.imaging.signatures import (
    DCT_SIDE,
    Signature,
    compute,
    hash_distance,
    layout_distance,
    low_hash_distance,
    pixel_agreement,
)
from culler.testing import sample_image


def _signature(sample: str, side: int | None = None) -> bytes:
    image = sample_image(sample)
    return compute(image.resize((side, side)) if side else image).to_bytes()


def _photo_set(rows: list[dict], vectors: dict[int, list[float]] | None = None) -> PhotoSet:
    rows = [{"id": i + 1, "root": "/shoot", **row} for i, row in enumerate(rows)]
    return PhotoSet(
        rows, {pid: np.asarray(v, dtype=np.float32) for pid, v in (vectors or {}).items()}
    )


def test_the_evidence_names_why_two_photos_are_one_picture():
    from culler.decide.grouping import NEAR, STRICT

    photos = _photo_set(
        [
            {"content_hash": "h1", "signature": _signature("astronaut")},
            {"content_hash": "h1", "signature": _signature("astronaut")},  # the same file
            {"content_hash": "h2", "signature": _signature("astronaut", 256)},  # a web export
            {"content_hash": "h3", "signature": _signature("coffee")},
            {"content_hash": "h4"},  # scanned before signatures existed
        ]
    )
    assert evidence(photos, 0, 1, NEAR, 0.95) == "identical file"
    assert evidence(photos, 0, 2, NEAR, 0.95) == "same picture (signatures and pixels match)"
    assert evidence(photos, 0, 2, STRICT, None) == "same picture (signatures and pixels match)"
    assert evidence(photos, 0, 3, NEAR, 0.95) is None
    assert evidence(photos, 0, 4, NEAR, 0.95) is None
    assert evidence(photos, 4, 0, NEAR, 0.95) is None


def test_embeddings_confirm_or_veto_as_the_search_asks():
    from culler.decide.grouping import NEAR, STRICT

    same, web = _signature("astronaut"), _signature("astronaut", 256)
    # Photos 1 and 2: the same picture by signature; 3 and 4: no signatures.
    rows = [{"signature": same}, {"signature": web}, {}, {}]
    # 1 and 2 point different ways (cosine 0); 3 and 4 at cosine 0.6 (3-4-5: exact in float32).
    photos = _photo_set(rows, {1: [1, 0], 2: [0, 1], 3: [1, 0], 4: [3, 4]})
    threshold = float(np.float32(0.6))
    assert (
        evidence(photos, 2, 3, NEAR, threshold) == "nearly the same content (CLIP similarity 0.600)"
    )
    assert evidence(photos, 2, 3, NEAR, 0.61) is None
    assert (
        evidence(photos, 2, 3, STRICT, None) is None
    )  # the archive search never trusts them alone
    # Within a shoot the signatures suffice; across the archive embeddings that disagree veto them.
    assert evidence(photos, 0, 1, NEAR, 0.95) == "same picture (signatures and pixels match)"
    assert evidence(photos, 0, 1, STRICT, None) is None
    # Embeddings that agree let the signatures decide.
    agree = _photo_set(rows, {1: [1, 0], 2: [1, 0]})
    assert evidence(agree, 0, 1, STRICT, None) == "same picture (signatures and pixels match)"
    # An embedding on one side only says nothing.
    one = _photo_set(rows, {2: [0, 1]})
    assert evidence(one, 0, 1, STRICT, None) == "same picture (signatures and pixels match)"


def test_frames_are_compared_with_the_frames_of_their_camera_within_the_window():
    times = {"a": 0, "b": 10, "c": 20, "d": 30, "e": 100}
    rows = [
        {"camera": "X1", "taken_at": f"2024-05-01T10:{t // 60:02d}:{t % 60:02d}"}
        for t in times.values()
    ]
    rows.append({"camera": "Z9", "taken_at": "2024-05-01T10:00:20"})
    photos = _photo_set(rows)
    assert sorted(photos.window_neighbours(2, 10.0).tolist()) == [1, 2, 3]  # b, c, d
    assert photos.window_neighbours(4, 10.0).tolist() == [4]


def test_the_duplicates_report_finds_copies_across_folders_and_years_largest_group_first(
    catalog, tmp_path
):
    from culler.decide.grouping import find_duplicates

    photos = {
        # name: (folder, capture time, content hash, signature)
        "cat": ("2023", "2023-06-01T09:00:00", "c1", _signature("chelsea")),
        "cat-web": ("exports", None, "c2", _signature("chelsea", 200)),
        "astronaut": ("2024", "2024-05-01T10:00:00", "a1", _signature("astronaut")),
        "astronaut-backup": ("backup", "2024-05-01T10:00:00", "a1", _signature("astronaut")),
        "astronaut-web": ("exports", "2025-01-01T12:00:00", "a2", _signature("astronaut", 256)),
        "coffee": ("2024", "2024-05-01T10:00:05", "k1", _signature("coffee")),
    }
    ids = {}
    with catalog.transaction():
        for name, (folder, taken, content, signature) in photos.items():
            root = str(tmp_path / folder)
            ids[name] = catalog.upsert_photo(
                f"{root}/{name}.jpg",
                root,
                1000,
                1,
                taken_at=taken,
                camera="TestCam X1" if taken else None,
                content_hash=content,
                signature=signature,
            )
    assert find_duplicates(catalog) == [
        {
            "members": sorted(ids[n] for n in ("astronaut", "astronaut-backup", "astronaut-web")),
            "reason": "identical file; same picture (signatures and pixels match)",
        },
        {
            "members": sorted(ids[n] for n in ("cat", "cat-web")),
            "reason": "same picture (signatures and pixels match)",
        },
    ]


# -- the signatures' evidence, at each of its limits ------------------------------------------------


def _export(image: Image.Image) -> Image.Image:
    """What a photographer sends a client: smaller, brighter, re-encoded at a low JPEG quality."""
    brighter = ImageEnhance.Brightness(image.convert("RGB").resize((300, 300))).enhance(1.2)
    buffer = io.BytesIO()
    brighter.save(buffer, "JPEG", quality=20)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


@pytest.fixture(scope="module")
def original() -> Signature:
    return compute(sample_image("astronaut"))


@pytest.fixture(scope="module")
def export(original) -> Signature:
    return compute(_export(sample_image("astronaut")))


def _bits(signature: Signature) -> np.ndarray:
    """The 256 hash bits as the 16×16 grid of DCT coefficients they stand for (row = frequency)."""
    raw = np.unpackbits(signature.dct.astype(">u8").view(np.uint8))
    return raw.reshape(DCT_SIDE, DCT_SIDE).copy()


#: The hash's 64 lowest-frequency bits (the top-left 8×8 block), row by row.
LOW_BITS = [(r, c) for r in range(8) for c in range(8)]
#: The others, highest column first: the first 16 fall one in each row of the grid, which is one
#: 16-bit band of the band index each.
HIGH_BITS = [(r, c) for c in range(15, 7, -1) for r in range(DCT_SIDE)] + [
    (r, c) for r in range(8, DCT_SIDE) for c in range(8)
]


def _flipped(signature: Signature, low: int = 0, high: int = 0) -> Signature:
    """``signature`` with ``low`` of its lowest-frequency hash bits and ``high`` others flipped."""
    bits = _bits(signature)
    for r, c in LOW_BITS[:low] + HIGH_BITS[:high]:
        bits[r, c] ^= 1
    dct = np.packbits(bits.ravel()).view(">u8").astype(np.uint64)
    return Signature(dct, signature.layout, signature.thumb)


def _tinted(signature: Signature, chroma: int) -> Signature:
    """``signature`` with ``chroma`` added to the blue and red difference of every layout cell."""
    layout = signature.layout.astype(np.int64)
    layout[..., 1:] += int(chroma)
    assert layout.max() <= 255  # no cell clipped: the layout distance is exactly ``chroma``
    return Signature(signature.dct, layout.astype(np.uint8), signature.thumb)


def test_the_helpers_change_the_hash_and_the_layout_by_exactly_what_they_say(original):
    crop = _flipped(original, low=20, high=45)
    assert hash_distance(original, crop) == 65
    assert int(low_hash_distance(original.dct, crop.dct)) == 20
    assert layout_distance(original, _tinted(original, 16)) == 16.0
    # One bit flipped in each row: no 16-bit band of the hash left in common.
    banded = _flipped(original, high=16)
    assert not (banded.dct.view(np.uint16) == original.dct.view(np.uint16)).any()


def test_each_limit_of_the_signature_evidence_is_inclusive(original, export):
    d = hash_distance(original, export)
    low = int(low_hash_distance(original.dct, export.dct))
    apart = layout_distance(original, export)
    tone, detail = pixel_agreement(original, export)
    # An edited copy, not the same file: every measure is off its perfect value.
    assert d > 0 and low > 0 and apart > 0 and detail < 1
    exact = Evidence(d, apart, tone, detail)
    assert signature_match(original, export, exact)
    for stricter in (
        Evidence(d - 1, apart, tone, detail),  # too far apart, and no crop allowance (low 0)
        Evidence(d, apart - 1 / 64, tone, detail),
        Evidence(d, apart, float(np.nextafter(tone, 2.0)), detail),
        Evidence(d, apart, tone, float(np.nextafter(detail, 2.0))),
    ):
        assert not signature_match(original, export, stricter), stricter


def test_a_copy_far_apart_in_its_hash_is_held_to_the_low_frequency_and_crop_layout_limits(
    original, export
):
    d = hash_distance(original, export)
    low = int(low_hash_distance(original.dct, export.dct))
    apart = layout_distance(original, export)
    tone, detail = pixel_agreement(original, export)
    crop = Evidence(d - 1, apart, tone, detail, low_distance=low, crop_layout=apart)
    assert signature_match(original, export, crop)  # far, at both crop limits exactly
    assert not signature_match(
        original, export, Evidence(d - 1, apart, tone, detail, low, crop_layout=apart - 1 / 64)
    )  # the crop's layout limit applies, not the looser one for close hashes
    assert not signature_match(
        original, export, Evidence(d - 1, apart, tone, detail, low - 1, crop_layout=apart)
    )
    # Close in the whole hash, the pair is held to the layout limit for close hashes and not asked
    # about its low frequencies.
    near = Evidence(d, apart, tone, detail, low_distance=low - 1, crop_layout=255.0)
    assert signature_match(original, export, near)
    assert not signature_match(
        original, export, Evidence(d, apart - 1 / 64, tone, detail, low, crop_layout=255.0)
    )


def test_colours_further_apart_than_the_layout_limit_are_another_picture_though_grey_pixels_agree(
    original,
):
    assert pixel_agreement(original, _tinted(original, 17)) == pytest.approx((1.0, 1.0))
    assert signature_match(original, _tinted(original, NEAR.layout_distance), NEAR)
    assert not signature_match(original, _tinted(original, NEAR.layout_distance + 1), NEAR)


# -- which photos are compared: the search, at each of its limits ------------------------------------


def test_near_duplicates_are_found_up_to_each_limit_of_the_search(original):
    variants = {
        "original": original,
        "21 low bits": _flipped(original, low=21),  # at a hash distance of 21, the limit set below
        "crop": _flipped(original, low=20, high=45),  # 65 apart, low frequencies at the limit
        "crop, low 21": _flipped(original, low=21, high=44),
        "layout 16": _tinted(original, 16),  # close hashes: layouts up to 16 apart
        "layout 17": _tinted(original, 17),
        "crop, layout 8": _tinted(_flipped(original, high=65), 8),  # a crop: layouts up to 8
        "crop, layout 9": _tinted(_flipped(original, high=65), 9),
    }
    photos = _photo_set([{"signature": s.to_bytes()} for s in variants.values()])
    options = GroupingOptions(hash_distance=21)
    names = list(variants)
    found = [names[b - 1] for a, b in similar_pairs(photos, options, among=[1])]
    assert found == ["21 low bits", "crop", "layout 16", "crop, layout 8"]
    # The cheap vectorised test lets through to the pixel comparison only those.
    others = np.arange(1, len(names))
    assert grouping._close(photos, 0, others, options).tolist() == [1, 2, 4, 6]
    assert grouping._close(photos, 0, np.array([3]), options).tolist() == []


def test_embeddings_pair_photos_at_exactly_the_clip_limit_and_never_hide_a_signature_match(
    original, export
):
    limit = float(np.float32(0.6))  # cosine of (1, 0) and (3, 4): exact in float32
    photos = _photo_set(
        [{}, {}, {"signature": original.to_bytes()}, {"signature": export.to_bytes()}],
        # 1 and 2 have no signatures (scanned before them); 3 has an embedding pointing elsewhere,
        # its export 4 has none.
        {1: [1, 0], 2: [3, 4], 3: [0, -1]},
    )
    options = GroupingOptions(clip_similarity=limit)
    assert similar_pairs(photos, options) == [(1, 2), (3, 4)]
    # Photo 3's own embedding, pointing away from everything, does not hide its export from it.
    assert similar_pairs(photos, options, among=[3]) == [(3, 4)]
    # An embedding that disagrees is not let through to the evidence.
    assert grouping._close(photos, 2, np.array([0]), options).tolist() == []


def test_the_shoot_window_is_measured_to_the_hundredth_of_a_second(original):
    def pairs(subsec: str) -> list[tuple[int, int]]:
        frame = {"camera": "X1", "signature": original.to_bytes()}
        rows = [
            {**frame, "taken_at": "2024-05-01T10:00:00", "subsec": "40"},
            {**frame, "taken_at": "2024-05-01T11:00:00", "subsec": subsec},
        ]
        return similar_pairs(_photo_set(rows), GroupingOptions(shoot_window=3600.0))

    assert pairs("30") == [(1, 2)]  # 3599.9 s apart: one shoot
    assert pairs("50") == []  # 3600.1 s: two shoots, however alike


def _export_beside_original(original: Signature, export: Signature) -> PhotoSet:
    return _photo_set(
        [
            {"camera": "X1", "taken_at": "2024-05-01T10:00:00", "signature": original.to_bytes()},
            {"signature": export.to_bytes()},  # an export: no capture time
        ]
    )


def test_an_untimed_export_is_compared_with_every_photo_of_its_folder_while_it_is_small(
    monkeypatch, original
):
    export = _flipped(original, high=16)  # shares no hash band with its original
    photos = _export_beside_original(original, export)
    monkeypatch.setattr(grouping, "LINEAR_ROOT", 2)  # a folder of 2 is still compared linearly
    options = GroupingOptions()
    # Whichever of the two changed since the last grouping finds the other.
    assert similar_pairs(photos, options, among=[1]) == [(1, 2)]
    assert similar_pairs(photos, options, among=[2]) == [(1, 2)]
    monkeypatch.setattr(grouping, "LINEAR_ROOT", 1)  # past the limit only the bands find it
    assert similar_pairs(photos, options) == []


def test_past_the_linear_limit_the_hash_bands_pair_an_export_with_its_original(
    monkeypatch, original
):
    photos = _export_beside_original(original, _flipped(original, high=3))
    monkeypatch.setattr(grouping, "LINEAR_ROOT", 0)
    assert similar_pairs(photos, GroupingOptions(), among=[1]) == [(1, 2)]
    assert similar_pairs(photos, GroupingOptions(), among=[2]) == [(1, 2)]


# -- incremental grouping ----------------------------------------------------------------------------


def _add(catalog, folder, name: str, **columns) -> int:
    with catalog.transaction():
        return catalog.upsert_photo(str(folder / f"{name}.jpg"), str(folder), 1000, 1, **columns)


def _group(catalog, **options) -> tuple[list[list[int]], grouping.GroupingRun]:
    groups, run = compute_groups(catalog, **options)
    write_groups(catalog, groups, run)
    return sorted(sorted(g.members) for g in stored_groups(catalog)), run


def test_a_photo_whose_camera_folder_or_subsecond_changed_is_compared_again(catalog, tmp_path):
    ids = [
        _add(catalog, tmp_path, f"f{i}", taken_at=f"2024-05-01T10:00:0{i}", camera="X1")
        for i in range(3)
    ]
    _group(catalog)
    assert compute_groups(catalog, full=False)[1].examined == set()
    assert compute_groups(catalog)[1].examined == set(ids)  # full unless asked otherwise
    # The first change takes the photo out of the burst of three: the rest of the burst is compared
    # again too (a burst split in two may hold a near-duplicate pair across the split). After it
    # the photo is in no group, and only it is compared.
    for column, value, examined in (
        ("camera", "Z9", set(ids)),
        ("root", str(tmp_path / "moved"), {ids[0]}),
        ("subsec", "50", {ids[0]}),
    ):
        with catalog.transaction() as conn:
            conn.execute(f"UPDATE photos SET {column} = ? WHERE id = ?", [value, ids[0]])
        _, run = _group(catalog, full=False)
        assert (run.changed, run.examined) == ({ids[0]}, examined), column


def test_an_incremental_grouping_keeps_a_duplicate_group_whose_copy_was_deleted(
    catalog, tmp_path, original, export
):
    copies = [
        _add(catalog, tmp_path, name, content_hash=name, signature=s.to_bytes())
        for name, s in (("a", original), ("b", export), ("c", _flipped(original, low=2)))
    ]
    other = _add(catalog, tmp_path, "coffee", content_hash="k", signature=_signature("coffee"))
    assert _group(catalog)[0] == [copies]
    with catalog.transaction() as conn:
        catalog.mark_missing([copies[2]])
        conn.execute("UPDATE photos SET content_hash = 'edited' WHERE id = ?", [other])
    assert _group(catalog, full=False)[0] == [copies[:2]]


def test_an_incremental_grouping_keeps_a_group_its_embeddings_made(catalog, tmp_path):
    # Scanned before signatures: two photos only their CLIP embeddings tie together.
    pair = [_add(catalog, tmp_path, name, content_hash=name) for name in ("a", "b")]
    other = _add(catalog, tmp_path, "coffee", content_hash="k", signature=_signature("coffee"))
    with catalog.transaction():
        for pid in pair:
            catalog.store_embedding(pid, "ViT-B-32", [0.6, 0.8])
        catalog.store_embedding(other, "ViT-B-32", [1.0, 0.0])
    assert _group(catalog)[0] == [pair]
    with catalog.transaction() as conn:
        conn.execute("UPDATE photos SET content_hash = 'edited' WHERE id = ?", [other])
    grouped, run = _group(catalog, full=False)
    assert (grouped, run.examined) == ([pair], {other})


# -- capture times, bursts and shoots ----------------------------------------------------------------


def test_capture_times_are_instants_with_their_sub_seconds():
    from culler.decide.grouping import capture_time

    base = capture_time("2024-05-01T10:00:00")
    # The same instant written in two time zones is one time.
    assert capture_time("2024-05-01T10:00:00+02:00") == capture_time("2024-05-01T09:00:00+01:00")
    assert capture_time("2024-05-01T10:00:00", "05") == pytest.approx(base + 0.05, abs=1e-6)
    assert capture_time("2024-05-01T10:00:00", "12AB") == pytest.approx(base + 0.12, abs=1e-6)
    # A hostile field is read no further than its first 64 characters.
    assert capture_time("2024-05-01T10:00:00", "x" * 64 + "5") == base


def test_frames_exactly_the_burst_gap_apart_are_one_burst():
    from culler.decide.grouping import find_bursts

    frames = [
        {"id": i, "camera": "X1", "taken_at": f"2024-05-01T10:00:0{2 * i}"} for i in range(3)
    ]  # 2 s apart
    assert find_bursts(frames, 2.0) == [[0, 1, 2]]
    assert find_bursts(frames, 1.9) == []


def test_a_shoot_is_one_camera_within_the_window_whatever_folder_its_photos_are_in(original):
    sig = original.to_bytes()

    def pairs(*frames: tuple[str, str, str]) -> list[tuple[int, int]]:
        rows = [
            {"camera": camera, "taken_at": taken, "root": root, "signature": sig}
            for camera, taken, root in frames
        ]
        return similar_pairs(_photo_set(rows), GroupingOptions(shoot_window=3600.0))

    # The card copied into two folders: still one shoot; exactly an hour apart: still one shoot.
    assert pairs(("X1", "2024-05-01T10:00:00", "/a"), ("X1", "2024-05-01T11:00:00", "/b")) == [
        (1, 2)
    ]
    # Two cameras in one folder at the same second: two shoots (a second shooter's frame of the
    # same scene is not a copy).
    assert pairs(("X1", "2024-05-01T10:00:00", "/a"), ("Z9", "2024-05-01T10:00:00", "/a")) == []


def test_a_photo_takes_only_its_nearest_members_from_a_hash_band(monkeypatch, original):
    photos = _export_beside_original(original, _flipped(original, high=3))
    monkeypatch.setattr(grouping, "LINEAR_ROOT", 0)
    # The export (no capture time) looks in the bands of every photo: each band it shares holds
    # exactly the two of them, and its one nearest member there is the original.
    monkeypatch.setattr(grouping, "BUCKET_NEIGHBOURS", 1)
    assert similar_pairs(photos, GroupingOptions(), among=[2]) == [(1, 2)]
    monkeypatch.setattr(grouping, "BUCKET_NEIGHBOURS", 0)  # only itself: the band pairs nothing
    assert similar_pairs(photos, GroupingOptions(), among=[2]) == []
