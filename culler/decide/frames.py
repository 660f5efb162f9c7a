"""Best-of-burst by comparing frames with each other: registration, local detail, directional blur.

A frame's sharpness means little on its own (fog, a smooth sky, shallow depth of field), but two frames
of one moment show the same content: register them coarsely (phase correlation on a small grey copy),
then compare the detail of the same regions in four directions. A frame that lost detail in every
direction missed focus; one that lost it along one direction but kept it across is motion blur or
camera shake. Pixels come from the scan's cached thumbnails when they are large enough, else from a
reduced decode of the file.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from culler.catalog import Catalog
from culler.imaging.images import ImageError, open_photo
from culler.scan.decode import THUMB_SIDE, thumb_dir, thumb_path

log = logging.getLogger(__name__)

#: Long side, in pixels, of the copies frames are compared on (measured in docs/culling.md).
FRAME_SIDE = 1024
#: A frame is flagged when the detail it keeps on the winner's content falls below this fraction.
LOST_DETAIL = 0.5
#: Motion blur: the weakest direction keeps at most this fraction of the strongest one's ratio …
DIRECTIONAL = 0.6
#: … and the strongest (across the motion) keeps at least this much of the sharp frame's detail: a
#: motion blur leaves edges along the motion crisp, a defocus softens every direction, and on a scene
#: whose edges run mostly one way it can still lose unevenly (measured in docs/culling.md).
KEPT_ACROSS = 0.35
#: A direction whose detail in the sharp frame is below this share of the richest direction's says
#: nothing about blur along it.
INFORMATIVE = 0.1
#: Registered frames whose coarse content correlates less than this are not compared.
ALIGNED = 0.9
_DIRECTIONS = ("horizontal", "diagonal ↗", "vertical", "diagonal ↘")
_GRID = 6
_PRESMOOTH = 0.8
_FLOOR = 4.0  # squared grey levels per pixel: below this a tile is flat


def thumbs_dir(catalog: Catalog) -> Path:
    return thumb_dir(catalog.path)


def load_grey(catalog: Catalog, photo_ids: list[int], side: int = FRAME_SIDE) -> dict[int, Any]:
    """Grey float32 copies (long side about ``side``) of the photos that can be read."""
    frames = {}
    for pid, (path, chash) in catalog.photo_paths(photo_ids).items():
        image = None
        thumb = thumb_path(thumbs_dir(catalog), chash) if chash else None
        if side <= THUMB_SIDE and thumb is not None and thumb.exists():
            try:
                image = Image.open(thumb).convert("L")
            except OSError:
                image = None
        if image is None:
            try:
                image = open_photo(path, side)[0].convert("L")
            except (ImageError, OSError) as exc:
                log.debug("frame comparison: cannot read %s: %s", path, exc)
                continue
        frames[pid] = np.asarray(image, dtype=np.float32)
    return frames


def _common_size(frames: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    import cv2

    h = min(f.shape[0] for f in frames.values())
    w = min(f.shape[1] for f in frames.values())
    return {
        pid: f if f.shape == (h, w) else cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA)
        for pid, f in frames.items()
    }


def _shift(reference: np.ndarray, frame: np.ndarray) -> tuple[int, int]:
    """(dx, dy) that moves ``frame`` onto ``reference``, from phase correlation on half-size copies
    (coarse is enough: tiles are compared, not pixels)."""
    import cv2

    half = (reference.shape[1] // 2, reference.shape[0] // 2)
    a = cv2.resize(reference, half, interpolation=cv2.INTER_AREA)
    b = cv2.resize(frame, half, interpolation=cv2.INTER_AREA)  # new arrays: phaseCorrelate
    window = cv2.createHanningWindow(half, cv2.CV_32F)  # applies its window in place
    (dx, dy), _ = cv2.phaseCorrelate(a, b, window)
    return int(round(2 * dx)), int(round(2 * dy))


def _overlap(a: np.ndarray, b: np.ndarray, dx: int, dy: int) -> tuple[np.ndarray, np.ndarray]:
    """The regions of ``a`` and ``b`` that show the same content when ``b`` is shifted by (dx, dy)."""
    h, w = a.shape
    ya, yb = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xa, xb = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    return a[ya, xa], b[yb, xb]


def noise_sigma(grey: np.ndarray) -> float:
    """Standard deviation of white noise in a grey image (Immerkær's fast estimator)."""
    import cv2

    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
    response = np.abs(cv2.filter2D(grey, cv2.CV_32F, kernel))[1:-1, 1:-1]
    return float(np.sqrt(np.pi / 2) * response.mean() / 6.0)


def _noise_gain() -> np.ndarray:
    """Energy per direction that unit white noise leaves in :func:`directional_energy`."""
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 1, (6 * 32, 6 * 32)).astype(np.float32)
    return _raw_energy(noise).mean(axis=(0, 1))


def directional_energy(grey: np.ndarray) -> np.ndarray:
    """(grid, grid, 4) energy of second derivatives per tile in four directions, minus what the
    frame's own sensor noise contributes (a noisy frame must not pass for a sharper one)."""
    global _GAIN
    if _GAIN is None:
        _GAIN = _noise_gain()
    energy = _raw_energy(grey) - _GAIN * noise_sigma(grey) ** 2
    return np.maximum(energy, 0.0)


_GAIN = None


def _raw_energy(grey: np.ndarray) -> np.ndarray:
    import cv2

    smooth = cv2.GaussianBlur(grey, (0, 0), _PRESMOOTH)
    # Second derivatives: a blur of one or two pixels takes most of their energy (first derivatives
    # of a strong edge keep too much), and sensor noise was taken out by the light blur above.
    dxx = cv2.Sobel(smooth, cv2.CV_32F, 2, 0, ksize=3)
    dyy = cv2.Sobel(smooth, cv2.CV_32F, 0, 2, ksize=3)
    dxy = cv2.Sobel(smooth, cv2.CV_32F, 1, 1, ksize=3)
    d45 = (dxx + dyy) / 2 - dxy  # second derivative along the ↗ diagonal (y grows downwards)
    d135 = (dxx + dyy) / 2 + dxy
    maps = (dxx * dxx, d45 * d45, dyy * dyy, d135 * d135)
    h, w = grey.shape
    th, tw = h // _GRID, w // _GRID
    out = np.zeros((_GRID, _GRID, 4), dtype=np.float64)
    for d, m in enumerate(maps):
        cut = m[: th * _GRID, : tw * _GRID].reshape(_GRID, th, _GRID, tw)
        out[..., d] = cut.mean(axis=(1, 3))
    return out


def _agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of the coarse content of two aligned regions (1 = the same scene, registered)."""
    import cv2

    a = cv2.GaussianBlur(a, (0, 0), 3.0)
    b = cv2.GaussianBlur(b, (0, 0), 3.0)
    a, b = a - a.mean(), b - b.mean()
    norm = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum()) / norm if norm > 0 else 0.0


def detail_ratios(reference: np.ndarray, frame: np.ndarray) -> np.ndarray | None:
    """Per direction, how much of the reference's detail the frame keeps on the same content (median
    over the reference's detailed tiles; NaN for a direction the reference has too little detail in
    to tell); None when the frames cannot be registered well enough
    to compare regions (a recomposed shot, a smooth frame phase correlation cannot lock on)."""
    dx, dy = _shift(reference, frame)
    a, b = _overlap(reference, frame, dx, dy)
    if min(a.shape) < 4 * _GRID or _agreement(a, b) < ALIGNED:
        return None
    ea, eb = directional_energy(a), directional_energy(b)
    total = ea.sum(axis=2).ravel()
    # Only tiles with real detail in the reference say anything: fog, sky and bokeh keep a ratio
    # near 1 whatever happened to the frame.
    busy = total >= max(np.percentile(total, 50), 0.1 * total.max(), _FLOOR)
    if not busy.any():
        return None
    ratios = (eb.reshape(-1, 4)[busy] + _FLOOR) / (ea.reshape(-1, 4)[busy] + _FLOOR)
    kept = np.sqrt(np.median(ratios, axis=0))  # energies are squared derivatives
    # A direction the reference has almost no detail in (along vertical stripes) keeps "all" of its
    # nothing: it can tell neither blur nor sharpness, so it is left out (NaN).
    support = np.median(ea.reshape(-1, 4)[busy], axis=0)
    kept[support < INFORMATIVE * float(support.max())] = np.nan
    return kept


def compare_frames(frames: dict[int, np.ndarray]) -> dict[int, dict[str, Any]]:
    """What is wrong with each frame compared with the sharpest: {photo id: {"defect", "direction",
    "detail", "reason"}} for frames that lost detail (motion blur or missed focus); sharp frames are
    not listed. ``reason`` ends with the comparison and is completed by the caller with the winner."""
    if len(frames) < 2:
        return {}
    frames = _common_size(frames)
    ids = list(frames)
    # The reference: the frame with the most detail as shot (drift changes the content a little,
    # which is why the frames are then compared with it region by region).
    best = max(ids, key=lambda pid: float(np.median(directional_energy(frames[pid]).sum(axis=2))))
    report = {}
    for pid in ids:
        if pid == best:
            continue
        ratios = detail_ratios(frames[best], frames[pid])
        if ratios is None:
            continue
        weakest, strongest = int(np.nanargmin(ratios)), int(np.nanargmax(ratios))
        kept = float(np.nanmean(ratios))
        if ratios[weakest] >= LOST_DETAIL:
            continue
        directional = (
            ratios[weakest] / max(ratios[strongest], 1e-6) < DIRECTIONAL
            and ratios[strongest] >= KEPT_ACROSS
        )
        if directional:
            defect, words = "motion_blur", f"motion blur ({_DIRECTIONS[weakest]})"
        elif kept < LOST_DETAIL:
            defect, words = "missed_focus", "missed focus"
        else:
            continue
        report[pid] = {
            "defect": defect,
            "direction": _DIRECTIONS[weakest] if directional else None,
            "detail": round(kept, 3),
            "weakest": round(float(ratios[weakest]), 3),
            "best": best,
            "reason": f"{words}: {kept * 100:.0f} % of the detail",
        }
    return report


def analyse_group(catalog: Catalog, members: list[int], side: int = FRAME_SIDE) -> dict:
    """Frame defects of one group's members (empty when fewer than two can be read)."""
    try:
        return compare_frames(load_grey(catalog, members, side))
    except Exception as exc:  # a comparison that fails leaves ranking to the scores
        log.warning("frame comparison failed for photos %s: %s", members, exc)
        return {}


def backfill_signatures(catalog: Catalog, limit: int | None = None) -> int:
    """Signatures for photos scanned before they existed, from the cached thumbnails (no decode of
    the originals). Returns how many were filled; photos without a thumbnail wait for a rescan."""
    from culler.imaging import signatures

    rows = []
    folder = thumbs_dir(catalog)
    if not folder.is_dir():
        return 0
    for pid, chash in catalog.photos_without_signature()[:limit]:
        thumb = thumb_path(folder, chash)
        try:
            with Image.open(thumb) as image:
                rows.append((pid, signatures.compute_bytes(image.convert("RGB"))))
        except OSError:
            continue
    if rows:
        catalog.set_signatures(rows)
    return len(rows)
