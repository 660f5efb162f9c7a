"""Why the signature's thumbnail is stored losslessly (issue #32 goal 5, benchmarks/signature_codec.py).

A real crop sits on the strict rule's tone threshold: any coding of the thumbnail that is not exact
moves it across. If the evidence or its thresholds are re-measured, re-run the benchmark before
making the thumbnail smaller (docs/scale.md, "The signature at the size the evidence uses").
"""

from __future__ import annotations

import numpy as np
from PIL import ImageEnhance

from culler.decide.grouping import NEAR, STRICT, signature_match
from culler.imaging import signatures
from culler.imaging.signatures import Signature, pixel_agreement
from culler.testing import sample_image


def _six_bits(sig: Signature) -> Signature:
    """The thumbnail quantised to 6 bits over its own range (1 grey level RMS), read back."""
    t = sig.thumb.astype(np.float64)
    lo, span = t.min(), max(np.ptp(t), 1.0)
    back = np.rint(lo + np.rint((t - lo) / span * 63) / 63 * span).astype(np.uint8)
    return Signature(sig.dct, sig.layout, back)


def _chelsea_and_crop() -> tuple[Signature, Signature, Signature]:
    image = sample_image("chelsea")
    w, h = image.size
    crop = image.crop((w // 25, h // 25, w - w // 25, h - h // 25))
    return (
        signatures.compute(image),
        signatures.compute(ImageEnhance.Brightness(image).enhance(1.2)),
        signatures.compute(crop),
    )


def test_a_real_crop_passes_the_strict_rule_by_less_than_a_lossy_thumbnail_moves_it():
    original, brightened, crop = _chelsea_and_crop()
    for photo in (original, brightened):
        tone, detail = pixel_agreement(photo, crop)
        assert STRICT.tone <= tone < STRICT.tone + 0.001 and detail >= STRICT.detail
        assert signature_match(photo, crop, STRICT) and signature_match(photo, crop, NEAR)
        # Stored and read back (version 2), the verdicts are the same: the coding is exact.
        stored = [Signature.from_bytes(s.to_bytes()) for s in (photo, crop)]
        assert pixel_agreement(*stored) == (tone, detail)
        assert signature_match(*stored, STRICT)
        # 6 bits a pixel (675 bytes a signature instead of 864) drops the crop out of the report.
        coarse = [_six_bits(s) for s in (photo, crop)]
        assert pixel_agreement(*coarse)[0] < STRICT.tone
        assert not signature_match(*coarse, STRICT)
        assert signature_match(*coarse, NEAR)
