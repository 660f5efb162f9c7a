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
