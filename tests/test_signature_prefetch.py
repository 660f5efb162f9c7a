"""Grouping decodes the thumbnails its pixel checks need all together before comparing (version-3
signatures decode in batches, culler.imaging.signatures), and finds exactly what comparing them
one at a time finds, on real photos and their edits stored in every signature version."""

from __future__ import annotations

import pytest
from PIL import ImageEnhance

from culler.catalog import open_catalog
from culler.decide import grouping
from culler.decide.grouping import GroupingOptions, PhotoSet, find_duplicates, similar_pairs
from culler.imaging import signatures
from culler.testing import sample_image

NAMES = ("astronaut", "coffee", "chelsea", "rocket", "camera", "moon")


def _edits(name: str):
    image = sample_image(name)
    w, h = image.size
    yield image
    yield ImageEnhance.Brightness(image).enhance(1.15)
    yield image.crop((w // 25, h // 25, w - w // 25, h - h // 25))
    yield image.resize((w // 2, h // 2))


@pytest.fixture(scope="module")
def images():
    return [im for name in NAMES for im in _edits(name)]


def _blob(image, version: int) -> bytes:
    if version == signatures.VERSION:
        return signatures.compute_bytes(image)
    return signatures.legacy_bytes(image, version=version)


def _photo_set(images, versions) -> PhotoSet:
    rows = [
        {"id": i + 1, "signature": _blob(im, versions[i % len(versions)]), "root": "/shoot"}
        for i, im in enumerate(images)
    ]
    return PhotoSet(rows, {})


@pytest.mark.parametrize("versions", [(3,), (1, 2, 3)], ids=["version 3", "every version"])
def test_prefetched_grouping_finds_exactly_what_one_at_a_time_finds(images, versions, monkeypatch):
    prefetched = similar_pairs(_photo_set(images, versions), GroupingOptions())
    monkeypatch.setattr(grouping, "prefetch_thumbnails", lambda *args: 0)
    alone = similar_pairs(_photo_set(images, versions), GroupingOptions())
    assert prefetched == alone
    grouped = {frozenset(c) for c in grouping.components(prefetched)}
    assert len(grouped) >= len(NAMES) - 1  # the edits of (nearly) every photo are found


def test_the_pixel_checks_find_every_thumbnail_decoded_by_one_batch(images, monkeypatch):
    photos = _photo_set(images, (3,))
    calls = []
    batch_decode = signatures.unpack_thumbnails

    def counting(packed):
        calls.append(len(packed))
        return batch_decode(packed)

    monkeypatch.setattr(signatures, "unpack_thumbnails", counting)
    found = similar_pairs(photos, GroupingOptions())
    assert found and len(calls) == 1  # one batch; no comparison decoded a thumbnail alone
    needed = {i for pair in found for i in pair}
    assert calls[0] >= len(needed)
    undecoded = [pid for pid, s in zip(photos.ids, photos.sigs) if not s.decoded]
    assert not needed & set(undecoded)


def test_nothing_to_compare_decodes_nothing(images):
    photos = _photo_set(images[:1], (3,))
    assert grouping.prefetch_thumbnails(photos, [], GroupingOptions().evidence) == 0
    assert not photos.sigs[0].decoded


def test_the_archive_wide_search_finds_the_same_with_and_without_the_prefetch(
    tmp_path, images, monkeypatch
):
    with open_catalog(tmp_path / "culler.db") as catalog:
        catalog.insert_signed_photos(
            (f"/a/{i}.jpg", f"/a/{i % 3}", None, None, None, _blob(im, 3))
            for i, im in enumerate(images)
        )
        prefetched = find_duplicates(catalog)
        monkeypatch.setattr(grouping, "prefetch_thumbnails", lambda *args: 0)
        assert find_duplicates(catalog) == prefetched
    assert len(prefetched) >= len(NAMES) - 1
