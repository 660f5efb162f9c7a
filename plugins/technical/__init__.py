"""The technical-quality scorer: sharpness, exposure, noise and JPEG damage, no weights needed.

culler's embedded default. It runs inside the decode workers, so a technical-only scan never imports
torch. The score is a weighted geometric mean of four 0–1 sub-scores, so one severe defect (a blurred
frame, blown highlights) pulls the whole score down instead of being averaged away.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from culler_plugins.technical import metrics
from PIL import Image

from culler.api import Scorer, ScoreResult, hookimpl

__version__ = "1.0"

WEIGHTS = {"sharpness": 0.45, "exposure": 0.25, "noise": 0.15, "compression": 0.15}


def _ramp(x: float, lo: float, hi: float) -> float:
    """0 at ``lo``, 1 at ``hi``, clipped (works for lo > hi too)."""
    return float(min(1.0, max(0.0, (x - lo) / (hi - lo))))


class TechnicalScorer(Scorer):
    id = "technical"
    version = "1"
    kind = "score"
    description = "Sharpness (tile-based), exposure, noise and JPEG damage; no weights needed."
    input_size = 1024
    batch_size = 1
    runs_in_worker = True
    role = "technical"

    GRID: ClassVar[int] = 8

    def score_batch(self, images: list[Image.Image]) -> list[ScoreResult]:
        return [self.score_one(im) for im in images]

    def score_one(self, image: Image.Image) -> ScoreResult:
        y = metrics.luminance(np.asarray(image.convert("RGB")))
        sigma = metrics.noise_sigma(y)
        tiles = metrics.tile_sharpness(y, sigma, self.GRID)
        flat = np.sort(tiles.ravel())[::-1]
        top = flat[: max(1, flat.size // 10)]
        subject = float(top.mean())  # the sharpest tenth: the subject, even on a bokeh background
        background = float(np.median(flat))
        expo = metrics.exposure(y)
        period = image.info.get("culler.block_period")
        blocks = metrics.blockiness(y, int(period)) if period else 1.0
        quality = image.info.get("culler.jpeg_quality")

        sharp = _ramp(math.log10(subject + 1.0), math.log10(6.0), math.log10(301.0))
        highlight_pen = min(1.0, expo["highlights"] / 0.10)
        shadow_pen = 0.6 * min(1.0, expo["shadows"] / 0.25)
        mean_pen = max(0.0, abs(expo["mean"] - 118.0) - 60.0) / 60.0
        exposure = max(0.0, 1.0 - highlight_pen - shadow_pen - mean_pen)
        noise = 1.0 - _ramp(sigma, 1.5, 11.5)
        quality_pen = _ramp(quality, 60.0, 10.0) if quality is not None else 0.0
        compression = 1.0 - max(quality_pen, _ramp(blocks, 1.15, 1.75))
        parts = {
            "sharpness": sharp,
            "exposure": exposure,
            "noise": noise,
            "compression": compression,
        }
        score = 10.0 * math.prod(max(v, 0.02) ** w for k, v in parts.items() for w in [WEIGHTS[k]])

        reasons = []
        if sharp >= 0.75:
            where = " (sharp subject, soft background)" if background < subject / 20 else ""
            reasons.append(f"sharp{where}")
        elif sharp >= 0.4:
            reasons.append("slightly soft: the sharpest area is only moderately detailed")
        else:
            reasons.append("blurry: even the sharpest area is soft (focus miss or motion blur)")
        if expo["highlights"] >= 0.01:
            reasons.append(f"highlights clipped {expo['highlights'] * 100:.0f} %")
        if expo["shadows"] >= 0.05:
            reasons.append(f"shadows crushed {expo['shadows'] * 100:.0f} %")
        if expo["mean"] > 190:
            reasons.append(f"overexposed (mean brightness {expo['mean']:.0f}/255)")
        elif expo["mean"] < 45:
            reasons.append(f"underexposed (mean brightness {expo['mean']:.0f}/255)")
        if sigma >= 4.0:
            reasons.append(f"noisy (noise σ ≈ {sigma:.1f} levels)")
        if quality is not None and quality < 50:
            reasons.append(f"heavy JPEG compression (quality ≈ {quality})")
        elif blocks >= 1.3:
            reasons.append(f"visible JPEG blocking ({blocks:.2f}× step at block edges)")
        return ScoreResult(
            score=round(score, 3),
            reasons=reasons,
            extra={
                **{k: round(v, 4) for k, v in parts.items()},
                "subject_sharpness": round(subject, 2),
                "background_sharpness": round(background, 2),
                "noise_sigma": round(sigma, 3),
                "mean_luminance": round(expo["mean"], 2),
                "highlights_clipped": round(expo["highlights"], 5),
                "shadows_crushed": round(expo["shadows"], 5),
                "blockiness": round(blocks, 4),
                "jpeg_quality": quality,
            },
        )


@hookimpl
def register_scorers(register):
    register(TechnicalScorer)
