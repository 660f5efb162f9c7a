"""Image-quality measurements that need no learned weights: sharpness, blur direction, exposure, noise,
JPEG blockiness.

All functions take a luminance array (float32, 0–255) and are vectorised numpy (about 10 ms for a
1024-pixel image on one core, the scorer's whole budget being ~15 ms).

Sharpness is measured as a *ratio of scales*, not as an amount of contrast: per tile and per direction,
the energy of 1-pixel differences over the energy of differences between 4×4-pixel block means. An edge
that is sharp at 1024 px gives a ratio of about 1 in every direction whatever its contrast (so fog and
low-key frames are not "blurry"), an edge smeared over 4 px or more gives about 0.25, and motion blur
gives about 0.25 *along* the motion and much more across it (the edges parallel to the motion stay
sharp: that is what a maximum-Laplacian measure missed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from culler.api import clipping_from_histogram

#: Block size of the coarse scale: blur wider than this many pixels reads as fully smooth.
COARSE = 4
#: Directions examined for blur, in degrees counter-clockwise from horizontal (as the photo is seen).
ANGLES = np.arange(0, 180, 15)
#: Coarse gradient energy (levels² per block step) below which a tile is too flat to judge sharpness.
DETAIL_FLOOR = 12.0
#: A direction whose coarse energy is below this share of the strongest direction's cannot show
#: that the frame is sharp along it (its ratio is mostly rounding noise) …
INFORMATIVE = 0.15
#: … and below this share it cannot show blur either.
INFORMATIVE_BLUR = 0.02


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Rec. 601 luma of an (H, W, 3) uint8 array as float32."""
    rgb = rgb.astype(np.float32)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def noise_sigma(y: np.ndarray) -> float:
    """Gaussian noise standard deviation (Immerkær 1996), measured where the image is flat.

    The mask [[1,-2,1],[-2,4,-2],[1,-2,1]] cancels smooth gradients; its response on pure noise has
    standard deviation 6σ. Flat places are chosen per 4×4 block from the block means' gradients (the
    flattest half of the blocks): choosing them per pixel would pick exactly the pixels where the noise
    happened to be small, and read σ = 20 as 12.
    """
    return noise_estimate(y)[0]


def noise_estimate(y: np.ndarray) -> tuple[float, float]:
    """(σ as :func:`noise_sigma` measures it, σ with fine texture discounted).

    Where even the flattest half of the frame is textured (grass, gravel), the mask reads texture as
    noise. Noise barely moves 4×4 block means (their σ is a quarter), texture does: when the blocks'
    median step is several times σ, σ is mostly texture and is discounted, by up to half.
    """
    h, w = (y.shape[0] // COARSE) * COARSE, (y.shape[1] // COARSE) * COARSE
    if min(h, w) < 2 * COARSE:
        return 0.0, 0.0
    y = y[:h, :w]
    blocks = block_means(y)
    g = np.zeros_like(blocks)
    g[:, :-1] += np.abs(np.diff(blocks, axis=1))
    g[:-1, :] += np.abs(np.diff(blocks, axis=0))
    step = _median(g.ravel())
    flat = g <= step
    # The mask is separable ([1,-2,1] down, then across). Every other row is plenty for a median.
    v = y[0:-2:2] - 2 * y[1:-1:2] + y[2::2]
    r = v[:, :-2] - 2 * v[:, 1:-1] + v[:, 2:]
    # Response row i is centred on image row 2i+1 (block (2i+1)//4: each block row twice), column j
    # on image column j+1 (block (j+1)//4: the first block three times, then four each).
    mask = flat.repeat(2, axis=0)[: r.shape[0]].repeat(COARSE, axis=1)[:, 1 : 1 + r.shape[1]]
    a = np.abs(r[mask])
    if a.size == 0:
        return 0.0, 0.0
    # median(|N(0, s)|) = 0.6745 s
    sigma = float(_median(a) / 0.6745 / 6.0)
    # Pure noise gives a block step of about 0.6–1 σ; photos of grass about 4 σ.
    texture = step / max(sigma, 0.25)
    return sigma, sigma * min(1.0, max(0.5, 2.5 / max(texture, 1e-6)))


def _median(x: np.ndarray) -> float:
    """Median by partial sort (np.median sorts more than it needs to)."""
    k = x.size // 2
    return float(np.partition(x, k)[k])


@dataclass
class TileGrid:
    """Per-tile gradient statistics at two scales (arrays of shape rows × cols × 3: xx, xy, yy)."""

    fine: np.ndarray
    coarse: np.ndarray
    #: Tile side in pixels; tiles start at the top-left corner.
    side: int = 0

    @property
    def shape(self) -> tuple[int, int]:
        return self.fine.shape[:2]

    def detail(self) -> np.ndarray:
        """Coarse gradient energy per tile: how much structure there is to judge sharpness on."""
        return self.coarse[..., 0] + self.coarse[..., 2]

    def ratio(self) -> np.ndarray:
        """Per-tile sharpness, all directions together: ~1 for a sharp edge, ~0.25 for a blurred one."""
        return scale_ratio(self.fine[..., 0] + self.fine[..., 2], self.detail())

    def directional_ratio(self, tiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sharpness per direction in :data:`ANGLES`, the selected tiles' energies pooled, and which
        directions have structure to tell (each direction's coarse energy over the strongest one's:
        a frame of horizontal lines says little about horizontal blur)."""
        fine = directional(self.fine.reshape(-1, 3)[tiles].sum(axis=0))
        coarse = directional(self.coarse.reshape(-1, 3)[tiles].sum(axis=0))
        return scale_ratio(fine, coarse), coarse / max(float(coarse.max()), 1e-9)


def scale_ratio(fine: np.ndarray, coarse: np.ndarray) -> np.ndarray:
    # ×COARSE: an ideal step edge puts 1/COARSE of its coarse energy into the fine scale.
    return COARSE * np.maximum(fine, 0.0) / np.maximum(coarse, 1e-6)


def directional(tensor: np.ndarray) -> np.ndarray:
    """Energy of the derivative along each direction in :data:`ANGLES` from a (…, 3) structure tensor.

    Angles are counter-clockwise as the photo is seen; image rows grow downwards, hence the minus sign.
    """
    t = np.radians(ANGLES)
    c, s = np.cos(t), -np.sin(t)
    xx, xy, yy = tensor[..., 0, None], tensor[..., 1, None], tensor[..., 2, None]
    return np.maximum(xx * c * c + 2 * xy * c * s + yy * s * s, 0.0)


def tile_layout(height: int, width: int, target: int = 16) -> tuple[int, int, int]:
    """(rows, cols, tile side): square tiles, a multiple of :data:`COARSE`, about ``target`` along the
    longer side, at least 8 px; (0, 0, 0) when the image cannot hold one tile."""
    side = max(2 * COARSE, (max(height, width) // target) // COARSE * COARSE)
    rows, cols = height // side, width // side
    if rows == 0 or cols == 0:
        side = min(height, width) // COARSE * COARSE
        if side < 2 * COARSE:
            return 0, 0, 0
        rows, cols = height // side, width // side
    return rows, cols, side


def gradient_tiles(y: np.ndarray, sigma: float, target: int = 16) -> TileGrid | None:
    """Structure tensors per tile at the pixel scale and at the :data:`COARSE` block scale, with the
    noise's share removed. None when the image is too small for one tile."""
    # One pixel is kept beyond the tiles: the gradient cells sit between pixels.
    rows, cols, side = tile_layout(y.shape[0] - 1, y.shape[1] - 1, target)
    if rows == 0:
        return None
    fine = _tensor_tiles(y[: rows * side + 1, : cols * side + 1], rows, cols)
    hb, wb = rows * side // COARSE, cols * side // COARSE
    small = block_means(y[: hb * COARSE, : wb * COARSE])
    coarse = _tensor_tiles(np.pad(small, ((0, 1), (0, 1)), mode="edge"), rows, cols)
    # Cell-centred gradients of white noise: E[gx²] = E[gy²] = σ², E[gx·gy] = 0. A 4×4 block mean
    # divides the noise variance by 16. 8-bit rounding alone adds a variance of 1/12 even where the
    # noise estimate reads 0.
    noise = max(sigma**2, 1 / 12)
    for tensor, var in ((fine, noise), (coarse, noise / COARSE**2)):
        tensor -= np.array([var, 0.0, var], dtype=tensor.dtype)
    return TileGrid(fine=fine, coarse=coarse, side=side)


def _tensor_tiles(y: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Mean gx², gx·gy, gy² per tile over the (h−1)×(w−1) cells between pixels.

    The gradient is taken at the centre of each 2×2 pixel cell, where gx ± gy are true diagonal
    differences, so both diagonals are measured alike (forward differences from one corner would see
    one diagonal and not the other).
    """
    dx = y[:, 1:] - y[:, :-1]
    dy = y[1:] - y[:-1]
    gx = dx[:-1] + dx[1:]  # 2 × the cell's gradient; the ×¼ is applied to the tile means
    gy = dy[:, :-1] + dy[:, 1:]
    th, tw = gx.shape[0] // rows, gx.shape[1] // cols

    sums = np.stack(
        [
            tile_sums(gx * gx, rows, cols),
            tile_sums(gx * gy, rows, cols),
            tile_sums(gy * gy, rows, cols),
        ],
        axis=-1,
    )
    return sums * (0.25 / (th * tw))


def tile_sums(a: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Sum of ``a`` over each cell of a rows × cols grid (``a``'s sides divisible by them).

    Two small matrix products: numpy's sum over two inner axes of a reshaped array takes ~10× longer.
    """
    h, w = a.shape
    th, tw = h // rows, w // cols
    by_rows = np.ones(th, dtype=a.dtype) @ a.reshape(rows, th, w)
    return by_rows.reshape(rows, cols, tw) @ np.ones(tw, dtype=a.dtype)


def block_means(y: np.ndarray, size: int = COARSE) -> np.ndarray:
    """Means of the size × size blocks of ``y`` (its sides divisible by ``size``)."""
    return tile_sums(y, y.shape[0] // size, y.shape[1] // size) / size**2


def blockiness(y: np.ndarray, period: int = 8) -> float:
    """Ratio of the mean horizontal+vertical step across block boundaries to the step inside blocks.

    1.0 means no block grid; heavy JPEG compression gives 1.5 and more. Only meaningful when the image
    still has the encoder's 8×8 grid at ``period`` pixels (decoded at 1:1, or DCT-scaled by a power of 2).
    """
    if period < 2 or min(y.shape) < 4 * period:
        return 1.0
    # Every fourth row (column) still averages hundreds of lines per profile, at a quarter the cost.
    dx = np.abs(np.diff(y[::4], axis=1)).mean(axis=0)
    dy = np.abs(np.diff(y[:, ::4], axis=0)).mean(axis=1)
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


def exposure(
    luma_histogram: list[int] | np.ndarray, value_histogram: list[int] | np.ndarray | None = None
) -> dict[str, float]:
    """Mean brightness, clipping, the black floor and the white point from a 256-bin luminance
    histogram (Rec. 709 luma, :func:`culler.api.luminance_histogram`).

    ``highlights`` and ``shadows`` are the shares of pixels at or beyond culler's clipping levels
    (:mod:`culler.imaging.clipping`: luminance ≥ 250, ≤ 5), the definition the GUI's histogram uses.
    ``black_floor`` is the level the darkest 1 % of the frame stays under; ``white_point`` the level
    the brightest 1 % reaches on each pixel's brightest channel (``value_histogram``, HSV's value;
    luminance when not given), so a lit subject of saturated blue counts as bright: a low-key photo
    keeps a lit subject (a high white point), an underexposed one has nothing bright anywhere.
    """
    counts = np.asarray(luma_histogram, dtype=np.float64)
    total = max(1.0, float(counts.sum()))
    cumulative = np.cumsum(counts) / total
    value = counts if value_histogram is None else np.asarray(value_histogram, dtype=np.float64)
    value_cumulative = np.cumsum(value) / max(1.0, float(value.sum()))
    clipped = clipping_from_histogram(counts)
    return {
        "mean": float((np.arange(256) * counts).sum() / total),
        "highlights": clipped.highlights_percent / 100.0,
        "shadows": clipped.shadows_percent / 100.0,
        "black_floor": float(np.searchsorted(cumulative, 0.01)),
        "white_point": float(np.searchsorted(value_cumulative, 0.99)),
    }
