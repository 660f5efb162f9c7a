"""The signature's thumbnail comes back exactly, and so does every lossless coding the size figures
of docs/scale.md ("The thumbnail's lossless coding") were measured with (benchmarks/signature_codec.py
``--lossless``): a size measured for a coding that does not decode, or decodes something else, would
be no figure at all.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from culler.imaging import signatures
from culler.imaging.signatures import Signature
from culler.testing import sample_image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import signature_codec  # noqa: E402

SIDE = signatures.THUMB_SIDE
CODINGS = list(signature_codec.LOSSLESS.items())


def _real_thumbnails() -> list[np.ndarray]:
    return [signatures.compute(sample_image(n)).thumb for n in ("chelsea", "astronaut", "moon")]


def _smooth(draw_values: np.ndarray) -> np.ndarray:
    """A thumbnail with a photo's smoothness: a random walk along rows and columns."""
    steps = draw_values.astype(np.int32) % 9 - 4
    return (np.cumsum(np.cumsum(steps, axis=0), axis=1) + 128).astype(np.uint8)


@pytest.mark.parametrize("name", signature_codec.edge_cases())
def test_stored_signature_gives_back_every_edge_case(name: str) -> None:
    thumb = signature_codec.edge_cases()[name]
    sig = signatures.compute(sample_image("coffee"))
    stored = Signature(sig.dct, sig.layout, thumb).to_bytes()
    back = Signature.from_bytes(stored)
    assert back is not None and stored[0] == signatures.VERSION
    assert np.array_equal(back.thumb, thumb)
    assert np.array_equal(back.dct, sig.dct) and np.array_equal(back.layout, sig.layout)


@pytest.mark.parametrize(("name", "coding"), CODINGS, ids=[n for n, _ in CODINGS])
def test_each_measured_coding_is_exact(name: str, coding) -> None:
    encode, decode = coding
    cases = [*signature_codec.edge_cases().values(), *_real_thumbnails()]
    for thumb in cases:
        assert np.array_equal(decode(encode(thumb)), thumb), name


@pytest.mark.parametrize(("name", "coding"), CODINGS[1:4], ids=[n for n, _ in CODINGS[1:4]])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=arrays(np.uint8, (SIDE, SIDE)), smooth=st.booleans())
def test_each_measured_coding_is_exact_on_any_thumbnail(
    name: str, coding, values: np.ndarray, smooth: bool
) -> None:
    encode, decode = coding
    thumb = _smooth(values) if smooth else values
    assert np.array_equal(decode(encode(thumb)), thumb)


@pytest.mark.parametrize(("name", "coding"), CODINGS[1:4], ids=[n for n, _ in CODINGS[1:4]])
def test_a_damaged_stream_decodes_to_a_flat_thumbnail_not_an_error(name: str, coding) -> None:
    encode, decode = coding
    packed = encode(_real_thumbnails()[0])
    for damaged in (b"", packed[:3], packed[: len(packed) // 2], b"\xff" * 40):
        back = decode(damaged)
        assert back.shape == (SIDE, SIDE) and back.dtype == np.uint8


def test_context_coding_is_the_smallest_and_the_stored_one_the_largest() -> None:
    """What the docs' table reports, in order, on real photos: v2 > planar+LZMA > MED+LZMA >
    MED+Rice with gradient contexts."""
    thumbs = _real_thumbnails()
    sizes = {name: sum(len(enc(t)) for t in thumbs) for name, (enc, _) in CODINGS}
    order = [name for name, _ in CODINGS[:4]]
    assert [sizes[n] for n in order] == sorted((sizes[n] for n in order), reverse=True)


def test_the_batch_decoder_gives_what_the_single_one_gives() -> None:
    cases = [*signature_codec.edge_cases().values(), *_real_thumbnails()]
    packed = [signature_codec.med_rice_encode(t) for t in cases]
    batch = signature_codec.med_rice_decode_batch([*packed, b"\xff" * 40, b""])
    assert np.array_equal(batch[: len(cases)], np.stack(cases))
    assert not batch[len(cases) :].any()  # damaged streams: flat, the others unharmed


# -- version 3: the stored coding (MED + context Rice codes, decoded in batches) -------------------


def test_version_3_is_the_measured_context_coding_in_another_order() -> None:
    """The stored coding spends exactly the bytes of the benchmark's context Rice coder (the same
    codes, written along diagonals so that a batch decodes a diagonal at a time), and fewer than
    version 2 on real photos."""
    thumbs = _real_thumbnails()
    stored = signatures.pack_thumbnails(np.stack(thumbs))
    assert [len(p) for p in stored] == [len(signature_codec.med_rice_encode(t)) for t in thumbs]
    assert sum(map(len, stored)) < sum(len(signatures._pack(t)) for t in thumbs)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=arrays(np.uint8, (3, SIDE, SIDE)),
    smooth=st.lists(st.booleans(), min_size=3, max_size=3),
)
def test_version_3_is_exact_on_any_thumbnails_alone_or_together(values, smooth) -> None:
    thumbs = np.stack([_smooth(v) if s else v for v, s in zip(values, smooth)])
    together = signatures.pack_thumbnails(thumbs)
    assert together == [signatures.pack_thumbnails(t[None])[0] for t in thumbs]
    assert np.array_equal(signatures.unpack_thumbnails(together), thumbs)
    for packed, thumb in zip(together, thumbs):
        assert np.array_equal(signatures.unpack_thumbnails([packed])[0], thumb)


def test_version_3_codes_batches_larger_than_a_chunk_exactly(monkeypatch) -> None:
    cases = [*signature_codec.edge_cases().values(), *_real_thumbnails()]
    whole = signatures.pack_thumbnails(np.stack(cases))
    monkeypatch.setattr(signatures, "_DECODE_CHUNK", 4)
    monkeypatch.setattr(signatures, "_ENCODE_CHUNK", 3)
    packed = signatures.pack_thumbnails(np.stack(cases))
    assert packed == whole
    assert np.array_equal(signatures.unpack_thumbnails(packed), np.stack(cases))


def test_a_damaged_version_3_stream_is_flat_and_leaves_its_batch_unharmed() -> None:
    thumbs = _real_thumbnails()
    packed = signatures.pack_thumbnails(np.stack(thumbs))
    damaged = [
        b"",
        packed[0][:3],
        packed[0][: len(packed[0]) // 2],
        b"\xff" * 40,
        b"\x99\x99\x99" + packed[0][3:],  # a Rice parameter no encoder writes
    ]
    back = signatures.unpack_thumbnails([*damaged, *packed])
    assert not back[: len(damaged)].any()
    assert np.array_equal(back[len(damaged) :], np.stack(thumbs))


def test_every_version_reads_back_the_same_signature_and_compacts_to_what_a_scan_stores() -> None:
    for name in ("chelsea", "moon"):
        image = sample_image(name)
        v1 = signatures.legacy_bytes(image)
        old = Signature.from_bytes(v1)
        v2 = bytes([2]) + v1[1 : signatures.HEADER] + signatures._pack(old.thumb)
        v3 = signatures.compute_bytes(image)
        assert v3[0] == 3 and len(v3) < len(v2) < len(v1)
        for blob in (v1, v2, v3):
            sig = Signature.from_bytes(blob)
            assert np.array_equal(sig.thumb, old.thumb)
            assert np.array_equal(sig.dct, old.dct) and np.array_equal(sig.layout, old.layout)
        assert signatures.compact_many([v1, v2, v3, b"\x07" * 10]) == [v3, v3, v3, None]


def test_decoding_thumbnails_together_gives_what_each_gives_alone() -> None:
    blobs = [signatures.compute_bytes(sample_image(n)) for n in ("chelsea", "coffee", "moon")]
    blobs.append(signatures.legacy_bytes(sample_image("astronaut")))
    alone = [Signature.from_bytes(b).thumb for b in blobs]
    together = [Signature.from_bytes(b) for b in blobs]
    assert not any(s.decoded for s in together[:3]) and together[3].decoded
    assert signatures.decode_thumbnails([*together, None]) == 3
    assert all(s.decoded for s in together)
    assert all(np.array_equal(s.thumb, t) for s, t in zip(together, alone))
    assert signatures.decode_thumbnails(together) == 0  # nothing left to decode
