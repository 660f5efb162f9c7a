"""Where the photo is sharp, whether it is blurred along one direction, and how sure we are.

Built on :mod:`metrics`' per-tile scale ratios (≈1 sharp, ≈0.25 smeared over 4 px or more). Three
questions, each answered only from tiles with enough structure to judge (flat sky, fog, smooth gradients
and dark areas are left out, so they can neither make a photo "blurry" nor hide a blurred subject):

* **subject sharpness** — the sharpest few tiles, pooled: a sharp subject on a soft background counts
  as sharp (shallow depth of field is a choice);
* **motion blur** — on the most detailed third of the tiles, energy per direction: camera shake and
  subject motion leave one direction smooth and the perpendicular one crisp;
* **missed focus** — even the sharpest tiles are smooth in every direction while the frame has plenty
  of coarse structure (edges exist, they are just not sharp anywhere).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import metrics, shutter

#: Ratio at which the sharpness sub-score starts (everything smeared over ≥ 4 px reads ~0.25–0.3).
BLURRED_RATIO = 0.27
#: Ratio scale of the sharpness sub-score: 1 − exp(−(ratio − BLURRED_RATIO) / SHARP_SCALE).
SHARP_SCALE = 0.6


def ramp(x: float, lo: float, hi: float) -> float:
    """0 at ``lo``, 1 at ``hi``, clipped (works for lo > hi too)."""
    return float(min(1.0, max(0.0, (x - lo) / (hi - lo))))


def sharp_part(ratio: float) -> float:
    """The 0–1 sharpness sub-score of a scale ratio; saturates slowly so sharp photos still spread."""
    return float(_sharp_parts(np.asarray(ratio)))


@dataclass
class Sharpness:
    """What the tile analysis found. Ratios are :func:`metrics.TileGrid.ratio` values."""

    #: False when no tile has enough structure to judge (smooth graphics, dense fog, a tiny image).
    judged: bool = False
    #: The sharpest tiles pooled, the blurriest direction weighing in (what the sub-score uses).
    subject: float = 0.0
    #: The sharpest tiles pooled, all directions together.
    subject_any: float = 0.0
    #: Median ratio of the judged tiles (a soft background next to a sharp subject reads low).
    background: float = 0.0
    #: Direction of the least sharpness on the most detailed third of the frame, degrees counter-clockwise
    #: from horizontal (0 horizontal, 90 vertical), and how much sharper the perpendicular is (≥ 1).
    blur_angle: int = 0
    anisotropy: float = 1.0
    #: That third's ratio along the blur direction and across it (the sharpest direction).
    along: float = 0.0
    across: float = 0.0
    motion_confidence: float = 0.0
    #: The motion confidence from the pixels alone, before the shutter speed weighed in.
    motion_evidence: float = 0.0
    #: −1…1: what the exposure time says about motion (:func:`shutter.shutter_risk`; 0 unknown).
    shutter_risk: float = 0.0
    focus_confidence: float = 0.0
    #: Tiles judged / all tiles.
    coverage: float = 0.0
    #: 0–1: how much structure the measured tiles have (weighs the measurement against neutral).
    structure: float = 0.0
    #: 0–1: share of the sharpest tiles' fine-scale energy that is detail rather than noise.
    clean: float = 1.0
    #: Per-tile sharpness sub-score ×100 (row-major, top row first); −1 where the tile is too flat.
    grid: list[list[int]] = field(default_factory=list)
    #: Side of a grid tile in pixels of the scored image, tiles starting at its top-left corner.
    tile: int = 0


def analyse(y: np.ndarray, sigma: float, shooting: dict[str, Any] | None = None) -> Sharpness:
    """Measure sharpness and blur on a luminance array whose noise level ``sigma`` is known.

    ``shooting`` is the photo's EXIF shooting data (``culler.api.SHOOTING_KEY``): its exposure time
    moves the motion-blur confidence (:func:`shutter.weigh`), never the other measurements."""
    tiles = metrics.gradient_tiles(y, sigma)
    if tiles is None:
        return Sharpness()
    detail, ratio, judged, grid = _tile_scores(tiles)
    result = Sharpness(grid=grid.reshape(tiles.shape).tolist(), tile=tiles.side)
    # Tiles ranked by fine-scale energy: where the finest detail is (the subject, if anything is
    # sharp). Ranking by the ratio itself would favour nearly flat tiles, whose ratio is mostly noise.
    fine = tiles.fine[..., 0].ravel() + tiles.fine[..., 2].ravel()
    if judged.any():
        candidates = np.flatnonzero(judged)
        by_detail = candidates[np.argsort(fine[candidates])[::-1]]
    else:  # nothing clearly structured: measure on the most detailed tiles, trust it less
        by_detail = np.argsort(fine)[::-1][: max(1, fine.size // 20)]
    top = by_detail[: max(2, math.ceil(by_detail.size / 20))]
    busiest = by_detail[: max(len(top), by_detail.size // 3)]
    subject_any = float(metrics.scale_ratio(*_pooled_trace(tiles, top)))
    top_dirs, top_support = tiles.directional_ratio(top)
    usable = top_support >= metrics.INFORMATIVE_BLUR
    subject_worst = float(top_dirs[usable].min()) if usable.any() else subject_any
    result.subject_any = subject_any
    result.subject = math.sqrt(subject_any * subject_worst)
    fine_top, _ = _pooled_trace(tiles, top)
    result.clean = fine_top / (fine_top + 2 * max(sigma**2, 1 / 12) * len(top) + 1e-6)
    result.structure = ramp(
        float(detail[top].mean()), 0.25 * metrics.DETAIL_FLOOR, 2 * metrics.DETAIL_FLOOR
    )
    if not judged.any():
        return result
    result.judged = True
    result.background = float(np.median(ratio[judged]))
    result.coverage = float(judged.mean())
    _judge_blur(result, tiles, busiest, detail, sigma, shooting)
    return result


def sharpness_grid(y: np.ndarray, sigma: float) -> tuple[list[list[int]], int]:
    """:attr:`Sharpness.grid` and :attr:`Sharpness.tile` alone, as :func:`analyse` computes them
    (the overlay's per-tile map, computed when it is shown instead of stored for every photo)."""
    tiles = metrics.gradient_tiles(y, sigma)
    if tiles is None:
        return [], 0
    grid = _tile_scores(tiles)[3]
    return grid.reshape(tiles.shape).tolist(), tiles.side


def _tile_scores(
    tiles: metrics.TileGrid,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per tile (flat): detail, sharpness ratio, whether it has the detail to be judged, and its
    sharpness sub-score ×100 (−1 where it has not)."""
    detail, ratio = tiles.detail().ravel(), tiles.ratio().ravel()
    judged = detail >= max(metrics.DETAIL_FLOOR, 0.02 * float(detail.max()))
    grid = np.where(judged, np.round(100 * _sharp_parts(ratio)), -1).astype(int)
    return detail, ratio, judged, grid


def _judge_blur(
    result: Sharpness,
    tiles: metrics.TileGrid,
    busiest: np.ndarray,
    detail: np.ndarray,
    sigma: float,
    shooting: dict[str, Any] | None = None,
) -> None:
    """Fill in blur direction and the motion-blur / missed-focus confidences."""
    dirs, support = tiles.directional_ratio(busiest)
    if not (support >= metrics.INFORMATIVE).any():
        return
    lo = int(np.argmin(np.where(support >= metrics.INFORMATIVE_BLUR, dirs, np.inf)))
    hi = int(np.argmax(np.where(support >= metrics.INFORMATIVE, dirs, -np.inf)))
    result.blur_angle = int(metrics.ANGLES[lo])
    result.along, result.across = float(dirs[lo]), float(dirs[hi])
    result.anisotropy = float(dirs[hi] / max(dirs[lo], 1e-3))
    # How much of the fine-scale energy is real detail rather than sensor noise (noise corrupts both).
    fine_signal, _ = _pooled_trace(tiles, busiest)
    noise = 2 * max(sigma**2, 1 / 12) * len(busiest)  # per-tile means of gx² + gy², summed
    clean = ramp(fine_signal / (fine_signal + noise + 1e-6), 0.5, 0.8)
    floor = metrics.DETAIL_FLOOR
    structure = ramp(float(detail[busiest].mean()), floor, 3 * floor)
    smear = min(
        ramp(result.along, 0.65, 0.45),  # smooth along the motion …
        ramp(result.across, 0.45, 0.6),  # … crisp across it
        ramp(result.anisotropy, 1.5, 2.0),
    )
    result.shutter_risk = shutter.shutter_risk(shooting)
    result.motion_evidence = min(smear, clean, structure)
    # The shutter speed moves the smear's shape evidence (a smear at 1/15 s is likelier motion, at
    # 1/2000 s likelier something else), never the noise and structure gates.
    result.motion_confidence = min(shutter.weigh(smear, shooting), clean, structure)
    result.focus_confidence = min(ramp(result.subject_any, 0.34, 0.30), clean, structure)


def _sharp_parts(ratio: np.ndarray) -> np.ndarray:
    return np.maximum(0.0, 1.0 - np.exp(-(ratio - BLURRED_RATIO) / SHARP_SCALE))


def _pooled_trace(tiles: metrics.TileGrid, which: np.ndarray) -> tuple[float, float]:
    """(fine, coarse) gradient energy of the selected tiles, summed over both axes."""
    fine = tiles.fine.reshape(-1, 3)[which]
    coarse = tiles.coarse.reshape(-1, 3)[which]
    return float((fine[:, 0] + fine[:, 2]).sum()), float((coarse[:, 0] + coarse[:, 2]).sum())


def direction_name(angle: int) -> str:
    """How a photographer says a blur direction (angles counter-clockwise from horizontal)."""
    a = angle % 180
    if a < 23 or a >= 158:
        return "horizontal"
    if 68 <= a < 113:
        return "vertical"
    return "diagonal ↗" if a < 90 else "diagonal ↘"
