"""Cropped exports are still near-duplicates of their originals, and distinct photos still are not."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from test_grouping import _distinct_photos, _scan, grouped_stems

from culler.decide.grouping import (
    NEAR,
    BandIndex,
    GroupingOptions,
    PhotoSet,
    candidate_pairs,
    signature_match,
)
from culler.imaging.signatures import compute, pixel_agreement
from culler.testing import sample_image


def cropped_export(image: Image.Image, crop: float) -> Image.Image:
    """An editor's export: ``crop`` of each side trimmed, half size, JPEG quality 75."""
    w, h = image.size
    dx, dy = int(w * crop), int(h * crop)
    small = image.crop((dx, dy, w - dx, h - dy)).resize(((w - 2 * dx) // 2, (h - 2 * dy) // 2))
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=75)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def test_cropped_exports_are_grouped_with_their_originals_and_nothing_else(tmp_path):
    folder = tmp_path / "library"
    folder.mkdir()
    for name, image in _distinct_photos().items():
        image.save(folder / f"{name}.jpg", quality=92)
    pairs = {"coffee": 0.05, "astronaut": 0.07, "rocket": 0.05}
    for name, crop in pairs.items():
        image = sample_image(name)
        image.save(folder / f"{name}.jpg", quality=92)
        cropped_export(image, crop).save(folder / f"{name}_web.jpg", quality=75)
    names = grouped_stems(_scan(folder, tmp_path / "culler.db"))
    assert sorted(names) == sorted([[n, f"{n}_web"] for n in pairs]), names


def test_a_crop_needs_the_zoomed_alignment_and_the_folder_scan_finds_it():
    """Without zooming the thumbnails a 7 % crop does not line up, and its hash shares no 16-bit
    band with the original's: the untimed copy is found by comparing it with its whole folder."""
    original = sample_image("astronaut")
    a, b = compute(original), compute(cropped_export(original, 0.07))
    plain = pixel_agreement(a, b, zooms=())
    zoomed = pixel_agreement(a, b)
    assert plain[0] < NEAR.tone or plain[1] < NEAR.detail
    assert zoomed[0] >= NEAR.tone and zoomed[1] >= NEAR.detail
    assert signature_match(a, b, NEAR)
    others = [compute(sample_image(n)) for n in ("coffee", "chelsea", "rocket", "camera")]
    rows = [
        {"id": i, "signature": s.to_bytes(), "root": "/shoot"}
        for i, s in enumerate([a, *others, b])
    ]
    photos = PhotoSet(rows, {})
    copy = len(rows) - 1
    assert 0 not in BandIndex(photos, np.arange(len(rows))).candidates(copy)
    assert (0, copy) in candidate_pairs(photos, GroupingOptions(), [copy])
    assert not any(signature_match(o, b, NEAR) for o in others)
