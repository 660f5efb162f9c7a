"""Clipping, one definition for everything culler shows: the technical scorer's reasons and figures,
and the histogram in the GUI's Why panel.

**Highlights clipped** is the percentage of pixels whose luminance is at or above
:data:`HIGHLIGHT_LEVEL` (250 of 255); **shadows crushed** the percentage at or below
:data:`SHADOW_LEVEL` (5). Luminance is Rec. 709 luma of the 8-bit sRGB values
(0.2126 R + 0.7152 G + 0.0722 B), the curve a luminance histogram draws. Both are measured on whatever
copy of the photo the caller has (the scorer's 1024 px decode, the GUI's thumbnail): a share of the
pixels barely changes with the size.

The technical scorer stores both under ``extra`` as ``highlights_clipped_percent`` and
``shadows_crushed_percent`` (see docs/scorers-technical.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Luminance at or above which a pixel counts as a clipped highlight.
HIGHLIGHT_LEVEL = 250
#: Luminance at or below which a pixel counts as a crushed shadow.
SHADOW_LEVEL = 5
#: Rec. 709 luma weights of R, G and B.
LUMA_WEIGHTS = (0.2126, 0.7152, 0.0722)


@dataclass(frozen=True)
class Clipping:
    highlights_percent: float
    shadows_percent: float


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Rec. 709 luma (float32, 0–255) of an (…, 3) uint8 or float array."""
    return np.asarray(rgb, dtype=np.float32) @ np.asarray(LUMA_WEIGHTS, dtype=np.float32)


def luminance_histogram(rgb: np.ndarray) -> np.ndarray:
    """256-bin histogram of the rounded luminance (counts)."""
    levels = np.clip(np.rint(luminance(rgb)), 0, 255).astype(np.uint8)
    return np.bincount(levels.ravel(), minlength=256)


def clipping_from_histogram(histogram: np.ndarray | list[int]) -> Clipping:
    """:class:`Clipping` from a 256-bin luminance histogram (of :func:`luminance_histogram`)."""
    counts = np.asarray(histogram, dtype=np.float64)
    total = max(1.0, float(counts.sum()))
    return Clipping(
        highlights_percent=100.0 * float(counts[HIGHLIGHT_LEVEL:].sum()) / total,
        shadows_percent=100.0 * float(counts[: SHADOW_LEVEL + 1].sum()) / total,
    )


def clipping(rgb: np.ndarray) -> Clipping:
    """Highlights clipped and shadows crushed, in percent of the pixels of an (h, w, 3) image."""
    return clipping_from_histogram(luminance_histogram(rgb))
