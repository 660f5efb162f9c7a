"""Image-quality measurements that need no learned weights: sharpness, exposure, noise, JPEG blockiness.

All functions take a luminance array (float32, 0–255). They are vectorised numpy, about 20 ms for a
1024-pixel image on one core.
"""

from __future__ import annotations

import numpy as np

#: Sum of squared taps of the 4-neighbour Laplacian: the variance it adds per unit of noise variance.
LAPLACIAN_NOISE_GAIN = 20.0


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Rec. 601 luma of an (H, W, 3) uint8 array as float32."""
    rgb = rgb.astype(np.float32)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def laplacian(y: np.ndarray) -> np.ndarray:
    return y[1:-1, :-2] + y[1:-1, 2:] + y[:-2, 1:-1] + y[2:, 1:-1] - 4.0 * y[1:-1, 1:-1]


def noise_sigma(y: np.ndarray) -> float:
    """Gaussian noise standard deviation (Immerkær 1996), made robust to edges with a median.

    The mask [[1,-2,1],[-2,4,-2],[1,-2,1]] cancels smooth gradients; its response on pure noise has
    standard deviation 6σ. Using the median absolute response over the flattest half of the image keeps
    texture and edges from reading as noise.
    """
    if min(y.shape) < 4:
        return 0.0
    # Every other row is plenty for a median and halves the cost (~8 ms at 1024 px instead of ~30).
    top, mid, bot = y[:-2:2], y[1:-1:2], y[2::2]
    r = (
        top[:, :-2] - 2 * top[:, 1:-1] + top[:, 2:]
        - 2 * mid[:, :-2] + 4 * mid[:, 1:-1] - 2 * mid[:, 2:]
        + bot[:, :-2] - 2 * bot[:, 1:-1] + bot[:, 2:]
    ).ravel()  # fmt: skip
    a = np.abs(r)
    # Keep only flat places: gradient magnitude below its median. Noise is measured where there is no detail.
    g = (np.abs(bot[:, 1:-1] - top[:, 1:-1]) + np.abs(mid[:, 2:] - mid[:, :-2])).ravel()
    flat = a[g <= _median(g)]
    if flat.size == 0:
        return 0.0
    # median(|N(0, s)|) = 0.6745 s
    return float(_median(flat) / 0.6745 / 6.0)


def _median(x: np.ndarray) -> float:
    """Median by partial sort (np.median sorts more than it needs to)."""
    k = x.size // 2
    return float(np.partition(x, k)[k])


def tile_sharpness(y: np.ndarray, sigma: float, grid: int = 8) -> np.ndarray:
    """Laplacian variance per tile on a grid × grid layout, with the noise's share removed."""
    lap = laplacian(y)
    h, w = lap.shape
    th, tw = max(1, h // grid), max(1, w // grid)
    tiles = lap[: th * grid, : tw * grid].reshape(grid, th, grid, tw).transpose(0, 2, 1, 3)
    var = tiles.reshape(grid, grid, -1).var(axis=2)
    return np.maximum(var - LAPLACIAN_NOISE_GAIN * sigma**2, 0.0)


def blockiness(y: np.ndarray, period: int = 8) -> float:
    """Ratio of the mean horizontal+vertical step across block boundaries to the step inside blocks.

    1.0 means no block grid; heavy JPEG compression gives 1.5 and more. Only meaningful when the image
    still has the encoder's 8×8 grid at ``period`` pixels (decoded at 1:1, or DCT-scaled by a power of 2).
    """
    if period < 2 or min(y.shape) < 4 * period:
        return 1.0
    dx = np.abs(np.diff(y, axis=1)).mean(axis=0)
    dy = np.abs(np.diff(y, axis=0)).mean(axis=1)
    ratios = []
    for d in (dx, dy):
        n = (len(d) // period) * period
        if n < period * 2:
            continue
        d = d[:n].reshape(-1, period)
        boundary = d[:, period - 1].mean()
        inside = d[:, : period - 1].mean()
        ratios.append((boundary + 1e-3) / (inside + 1e-3))
    return float(np.mean(ratios)) if ratios else 1.0


def exposure(y: np.ndarray) -> dict[str, float]:
    return {
        "mean": float(y.mean()),
        "highlights": float((y >= 250).mean()),
        "shadows": float((y <= 5).mean()),
    }
