"""The technical-quality scorer: sharpness and blur, exposure, noise and JPEG damage, no weights needed.

culler's embedded default. It runs inside the decode workers, so a technical-only scan never imports
torch. The score is a weighted geometric mean of four 0–1 sub-scores, so one severe defect (a blurred
frame, blown highlights) pulls the whole score down instead of being averaged away. Every sub-score
saturates slowly, so good photos spread out instead of tying at 10 (docs/scorers-technical.md has the
calibration). Defects named with confidence go to ``extra["defects"]``; intentional softness (fog, long
exposures, low key, shallow depth of field, smooth graphics) is never one.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from culler_plugins.technical import metrics, shutter
from culler_plugins.technical.sharpness import (
    Sharpness,
    analyse,
    direction_name,
    ramp,
    sharp_part,
    sharpness_grid,
)
from PIL import Image, ImageChops

from culler.api import (
    HIGHLIGHT_LEVEL,
    SHADOW_LEVEL,
    SHOOTING_KEY,
    Scorer,
    ScoreResult,
    hookimpl,
    luminance_histogram,
)

__version__ = "2.0"

WEIGHTS = {"sharpness": 0.45, "exposure": 0.25, "noise": 0.15, "compression": 0.15}
#: Smallest side (pixels) on which sharpness, noise and blocks can be measured.
MIN_SIDE = 8
#: Sharpness sub-score of a frame with no structure to judge (smooth graphic, dense fog): neither
#: rewarded as crisp nor punished as blurred.
UNJUDGED_SHARPNESS = 0.7
#: Share of the missing sharpness given back to a soft frame with no blur defect (intent respected).
SOFTNESS_RELIEF = 0.3
#: Share of the sharpness sub-score taken away by a motion blur or missed focus found with certainty.
BLUR_PENALTY = 0.5
#: Share of the exposure sub-score an underexposure found with certainty takes away.
UNDEREXPOSURE_PENALTY = 0.85
#: From this JPEG quality on, a file's own quantisation makes no visible block edges.
FINE_QUALITY = 70
#: Share of the blockiness penalty that blocking inherited from an earlier encode costs.
INHERITED_BLOCKING_SHARE = 0.3
#: A defect is reported from this confidence on (``culler cull`` rejects on reported defects).
DEFECT_CONFIDENCE = 0.5


class TechnicalScorer(Scorer):
    id = "technical"
    # 3: underexposure counts, clipping on luminance (the histogram's definition), compression from
    # this file's own quantisation. 4: the exposure time weighs the motion-blur confidence.
    version = "4"
    kind = "score"
    description = (
        "Sharpness, motion blur and missed focus (tile-based), exposure, noise and JPEG damage; "
        "no weights needed."
    )
    input_size = 1024
    batch_size = 1
    runs_in_worker = True
    role = "technical"
    #: The per-tile sharpness map the loupe's overlay draws: computed for the photo on screen
    #: (:meth:`details_on_demand`), not stored for every photo (about 140 bytes a photo, issue #32).
    details_on_demand_keys = ("sharpness_grid", "sharpness_grid_tile", "scored_size")

    def score_batch(self, images: list[Image.Image]) -> list[ScoreResult]:
        return [self.score_one(im) for im in images]

    def score_one(self, image: Image.Image) -> ScoreResult:
        width, height = image.size
        if min(width, height) < MIN_SIDE:
            return ScoreResult(
                score=None,
                reasons=[
                    f"too small to judge: {width}×{height} px (sharpness, noise and exposure need "
                    f"at least {MIN_SIDE} px on each side)"
                ],
                extra={"too_small": True, "defects": []},
            )
        # EXIF's exposure time and focal length (the scan's decode worker puts them here).
        shooting = image.info.get(SHOOTING_KEY)
        shooting = shooting if isinstance(shooting, dict) else None
        image = image if image.mode == "RGB" else image.convert("RGB")
        y, (measured_sigma, sigma) = _luminance_and_noise(image)
        sharp = analyse(y, sigma, shooting)
        small = image.reduce(2) if min(image.size) >= 2 * MIN_SIDE else image
        expo = metrics.exposure(
            luminance_histogram(np.asarray(small)), _brightest(small).histogram()
        )
        period = image.info.get("culler.block_period")
        blocks = metrics.blockiness(y, int(period)) if period else 1.0
        quality = image.info.get("culler.jpeg_quality")
        parts = {
            "sharpness": _sharpness_part(sharp),
            "exposure": _exposure_part(expo),
            # Linear near 0 so even σ ≈ 1 keeps a photo off a perfect 10; Gaussian beyond.
            "noise": math.exp(-sigma / 10.0 - (sigma / 8.0) ** 2),
            "compression": _compression_part(quality, blocks),
        }
        score = 10.0 * math.prod(max(v, 0.02) ** WEIGHTS[k] for k, v in parts.items())
        defects = _defects(sharp, expo, sigma, quality, blocks, shooting)
        return ScoreResult(
            score=round(score, 3),
            reasons=_sharpness_reasons(sharp, parts["sharpness"], defects)
            + _other_reasons(expo, sigma, quality, blocks),
            extra={
                **{k: round(v, 4) for k, v in parts.items()},
                "defects": defects,
                "subject_sharpness": round(sharp.subject, 3),
                "background_sharpness": round(sharp.background, 3),
                "blur": _blur_extra(sharp),
                "noise_sigma": round(sigma, 3),
                "noise_sigma_measured": round(measured_sigma, 3),
                "mean_luminance": round(expo["mean"], 2),
                # One definition of clipping, the GUI histogram's too (culler.imaging.clipping):
                # percent of pixels with Rec. 709 luminance >= 250 / <= 5.
                "highlights_clipped_percent": round(expo["highlights"] * 100, 3),
                "shadows_crushed_percent": round(expo["shadows"] * 100, 3),
                "clipping_levels": [SHADOW_LEVEL, HIGHLIGHT_LEVEL],
                "white_point": expo["white_point"],
                "underexposure": round(underexposure(expo), 3),
                "blockiness": round(blocks, 4),
                "jpeg_quality": quality,
            },
        )

    def details_on_demand(self, image: Image.Image) -> dict[str, Any]:
        """The per-tile sharpness map :meth:`score_one` measures, for the overlay: ``sharpness_grid``
        (rows × columns of sub-scores ×100, −1 where a tile is too flat to judge),
        ``sharpness_grid_tile`` (a tile's side in pixels of ``image``) and ``scored_size``."""
        width, height = image.size
        if min(width, height) < MIN_SIDE:
            return {}
        y, (_, sigma) = _luminance_and_noise(image if image.mode == "RGB" else image.convert("RGB"))
        grid, tile = sharpness_grid(y, sigma)
        return {"sharpness_grid": grid, "sharpness_grid_tile": tile, "scored_size": [width, height]}


def _luminance_and_noise(image: Image.Image) -> tuple[np.ndarray, tuple[float, float]]:
    """An RGB image's luminance as float32 and its noise (σ measured, σ with texture discounted)."""
    y = np.asarray(image.convert("L"), dtype=np.float32)
    return y, metrics.noise_estimate(y)


def _sharpness_part(sharp: Sharpness) -> float:
    """Sharpness sub-score; frames with little structure lean towards neutral rather than 0 or 1."""
    if not sharp.grid:
        return UNJUDGED_SHARPNESS
    # Detail drowned in noise does not look sharp, however well the noise is subtracted.
    measured = sharp_part(sharp.subject) * (0.5 + 0.5 * sharp.clean)
    # Softness that is no focus miss and no motion blur (mist, soft light, a lens's character)
    # costs less than a named blur: up to SOFTNESS_RELIEF of the missing sharpness is given back.
    blur = max(sharp.focus_confidence, sharp.motion_confidence)
    measured += (1.0 - blur) * SOFTNESS_RELIEF * (1.0 - measured)
    # A named blur halves what is left: a frame smeared along one direction can keep a high
    # all-direction ratio (crisp fine texture across the motion) and must still rank below its sibling.
    measured *= 1.0 - BLUR_PENALTY * blur
    return sharp.structure * measured + (1.0 - sharp.structure) * UNJUDGED_SHARPNESS


def _brightest(image: Image.Image) -> Image.Image:
    """Per pixel, the brightest of R, G and B (HSV's value): a lit subject of saturated blue is bright
    there though its luminance is low. PIL's C loops: numpy's max over the channel axis took 10 ms."""
    r, g, b = image.split()
    return ImageChops.lighter(ImageChops.lighter(r, g), b)


def underexposure(expo: dict[str, float]) -> float:
    """0–1: how sure it is that the frame is underexposed rather than low key.

    Both are dark on average. A low-key photo keeps a lit subject: its brightest 1 % reaches the
    upper tones on its brightest channel (white point ≥ 170). An underexposed frame has nothing bright anywhere: the whole
    tonal range is squeezed into the shadows (white point ≤ 110). Darkness counts from a mean of 70
    and fully at 35.
    """
    return ramp(expo["mean"], 70.0, 35.0) * ramp(expo["white_point"], 170.0, 110.0)


def _exposure_part(expo: dict[str, float]) -> float:
    highlight_pen = min(1.0, expo["highlights"] / 0.25)
    # Crushed shadows cost less than blown highlights: dark frames are often low key on purpose.
    shadow_pen = 0.3 * min(1.0, expo["shadows"] / 0.4)
    # Quartic: mid-tones anywhere from ~60 to ~180 cost little; dark frames less than bright ones.
    off = expo["mean"] - 120.0
    mean_term = 1.0 - min(1.0, (off / (150.0 if off < 0 else 110.0)) ** 4)
    # No black anywhere (the darkest 1 % above 60): a washed-out, lifted frame.
    washed_out = 0.4 * ramp(expo["black_floor"], 50.0, 120.0)
    # Underexposed (dark with nothing bright): most of the sub-score goes, so a frame at a mean of
    # 36/255 ranks below well-exposed ones; a low-key frame (a lit subject) keeps the mild curve.
    under = 1.0 - UNDEREXPOSURE_PENALTY * underexposure(expo)
    return max(0.0, 1.0 - highlight_pen - shadow_pen - washed_out) * mean_term * under


def inherited_blocking(quality: int | None, blocks: float) -> bool:
    """Whether block edges in a JPEG come from an earlier, rougher encode rather than from this file.

    This file's quantisation (its quality, read from its own tables) is what it did to the photo; at
    quality ≥ :data:`FINE_QUALITY` it cannot make visible 8×8 steps, so steps there were in the
    pixels before this file was saved (a re-saved web copy, a scan of a print).
    """
    return quality is not None and quality >= FINE_QUALITY and blocks >= 1.1


def _compression_part(quality: int | None, blocks: float) -> float:
    quality_pen = (
        min(1.0, ((95.0 - quality) / 85.0) ** 2) if quality is not None and quality < 95 else 0
    )
    block_pen = ramp(blocks, 1.1, 1.7)
    if inherited_blocking(quality, blocks):
        # Damage an earlier encode left costs a little (the blocks are there to see), not the whole
        # sub-score: it says nothing of how this file was saved.
        block_pen *= INHERITED_BLOCKING_SHARE
    return 1.0 - max(quality_pen, block_pen)


def _defects(
    sharp: Sharpness,
    expo: dict[str, float],
    sigma: float,
    quality: int | None,
    blocks: float,
    shooting: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Defects a photographer would reject for, each with a confidence (see ``ScoreResult``)."""
    found = []
    if sharp.motion_confidence >= DEFECT_CONFIDENCE:
        found.append(
            (
                "motion_blur",
                sharp.motion_confidence,
                f"motion blur ({direction_name(sharp.blur_angle)}){_at_shutter(sharp, shooting)}",
            )
        )
    elif sharp.focus_confidence >= DEFECT_CONFIDENCE:
        found.append(
            ("missed_focus", sharp.focus_confidence, "missed focus: nothing in the frame is sharp")
        )
    # A quarter of the frame at pure white on a bright frame: blown, not a bright detail or a sun.
    clipping = min(ramp(expo["highlights"], 0.15, 0.35), ramp(expo["mean"], 140.0, 170.0))
    # A frame with no structure left at all is a blank canvas (a white graphic) as much as a blown
    # photo: not named.
    if clipping >= DEFECT_CONFIDENCE and sharp.judged:
        found.append(
            (
                "clipping",
                clipping,
                f"highlights blown: {expo['highlights'] * 100:.0f} % of the frame is pure white",
            )
        )
    under = underexposure(expo)
    if under >= DEFECT_CONFIDENCE:
        found.append(
            (
                "underexposed",
                under,
                f"underexposed: mean brightness {expo['mean']:.0f}/255 and nothing brighter than "
                f"{expo['white_point']:.0f} (a low-key photo keeps a lit subject)",
            )
        )
    noise = ramp(sigma, 9.0, 12.0)
    if noise >= DEFECT_CONFIDENCE:
        found.append(("noise", noise, f"heavy noise (σ ≈ {sigma:.0f} levels)"))
    # This file's quantisation when it is a JPEG (its quality, from its own tables); blocking is the
    # evidence only where there are no tables (a PNG or TIFF saved from a JPEG).
    if quality is not None:
        compression = ramp(quality, 30.0, 15.0)
        what = f"heavy JPEG compression (quality ≈ {quality})"
    else:
        compression = ramp(blocks, 1.35, 1.6)
        what = f"heavy JPEG compression in an earlier encode ({blocks:.2f}× steps at block edges)"
    if compression >= DEFECT_CONFIDENCE:
        found.append(("compression", compression, what))
    return [
        {"defect": d, "confidence": round(c, 2), "reason": r, "reject": d not in NOT_REJECTED}
        for d, c, r in found
    ]


#: Defects worth naming that are no reason to reject a photo on their own: grain and compression
#: can be a style or a client's export, and a personal model may well prefer such a frame; an
#: underexposed frame is often saved from its RAW (it ranks low, and loses to a sibling in a burst).
NOT_REJECTED = ("noise", "compression", "underexposed")


def _sharpness_reasons(sharp: Sharpness, part: float, defects: list[dict[str, Any]]) -> list[str]:
    for defect in defects:
        if defect["defect"] in ("motion_blur", "missed_focus"):
            return [defect["reason"]]
    if not sharp.judged:
        return ["no fine structure to judge sharpness on (smooth, misty or very dark scene)"]
    if part >= 0.75:
        soft_background = sharp_part(sharp.background) < 0.5 * part
        return ["sharp subject, soft background" if soft_background else "sharp"]
    return [
        "soft: little fine detail, but not clearly a focus miss or motion blur "
        "(haze, soft light, shallow focus or a slight focus error)"
    ]


def _other_reasons(
    expo: dict[str, float], sigma: float, quality: int | None, blocks: float
) -> list[str]:
    reasons = []
    if expo["highlights"] >= 0.01:
        reasons.append(f"highlights clipped {expo['highlights'] * 100:.0f} %")
    if expo["shadows"] >= 0.05:
        reasons.append(f"shadows crushed {expo['shadows'] * 100:.0f} %")
    if expo["mean"] > 190:
        reasons.append(f"overexposed (mean brightness {expo['mean']:.0f}/255)")
    elif expo["mean"] < 45:
        reasons.append(f"dark (mean brightness {expo['mean']:.0f}/255)")
    if sigma >= 4.0:
        reasons.append(f"noisy (noise σ ≈ {sigma:.1f} levels)")
    if quality is not None and quality < 50:
        reasons.append(f"heavy JPEG compression (quality ≈ {quality})")
    elif inherited_blocking(quality, blocks) and blocks >= 1.3:
        reasons.append(
            f"block edges from an earlier, rougher JPEG encode ({blocks:.2f}× step at block "
            f"edges; this file is quality ≈ {quality})"
        )
    elif blocks >= 1.3:
        reasons.append(f"visible JPEG blocking ({blocks:.2f}× step at block edges)")
    return reasons


def _at_shutter(sharp: Sharpness, shooting: dict[str, Any] | None) -> str:
    """ ", at 1/15 s (slower than hand-holdable)" when the exposure time is known and weighed in."""
    if not sharp.shutter_risk:
        return ""
    seconds = float((shooting or {})["exposure_time"])
    how = "slower than hand-holdable" if sharp.shutter_risk > 0 else "a fast shutter"
    return f", at {shutter.exposure_text(seconds)} ({how})"


def _blur_extra(sharp: Sharpness) -> dict[str, Any]:
    """Compact blur facts for the loupe overlay and for ranking code."""
    return {
        "direction_deg": sharp.blur_angle,
        "direction": direction_name(sharp.blur_angle),
        "anisotropy": round(sharp.anisotropy, 2),
        "along": round(sharp.along, 3),
        "across": round(sharp.across, 3),
        "motion_confidence": round(sharp.motion_confidence, 2),
        "motion_evidence": round(sharp.motion_evidence, 2),
        "shutter_risk": round(sharp.shutter_risk, 2),
        "focus_confidence": round(sharp.focus_confidence, 2),
        "judged_fraction": round(sharp.coverage, 3),
    }


@hookimpl
def register_scorers(register):
    register(TechnicalScorer)
