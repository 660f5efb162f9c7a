"""Near-duplicate signatures: what a photo looks like, in 1.1 KB, computed during the scan's one read.

A 64-bit dHash alone cannot tell a foggy lake from a dune at dusk: dark, smooth and low-contrast photos
share most of their bits. A signature therefore carries three independent pieces of evidence:

* ``dct``: a 256-bit DCT hash (16×16 low frequencies of a 64×64 grey copy, each bit "above the
  median"), used to find candidates quickly (banding) and as a first filter;
* ``layout``: a 4×4 colour layout (mean Y, Cb, Cr per cell), which tells a blue lake from a sand dune;
* ``thumb``: a 32×32 grey thumbnail, on which a candidate pair is confirmed pixel by pixel after
  aligning it (small shifts and centre crops of up to 15 %) and matching tones (so brightened and
  lightly cropped exports still match).

Stored as one BLOB (``photos.signature``): a version byte, then 32 + 48 + 1024 bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

VERSION = 1
DCT_INPUT = 64
DCT_SIDE = 16  # 16×16 coefficients: 256 bits
LAYOUT_SIDE = 4
THUMB_SIDE = 32
_DCT_BYTES = DCT_SIDE * DCT_SIDE // 8
_LAYOUT_BYTES = LAYOUT_SIDE * LAYOUT_SIDE * 3
_THUMB_BYTES = THUMB_SIDE * THUMB_SIDE
SIZE = 1 + _DCT_BYTES + _LAYOUT_BYTES + _THUMB_BYTES


@dataclass(frozen=True)
class Signature:
    dct: np.ndarray  # (4,) uint64: the 256-bit hash
    layout: np.ndarray  # (4, 4, 3) uint8: mean Y, Cb, Cr per cell
    thumb: np.ndarray  # (32, 32) uint8 grey

    def to_bytes(self) -> bytes:
        return (
            bytes([VERSION])
            + self.dct.astype(">u8").tobytes()
            + self.layout.astype(np.uint8).tobytes()
            + self.thumb.astype(np.uint8).tobytes()
        )

    @classmethod
    def from_bytes(cls, blob: bytes) -> Signature | None:
        """The signature in ``blob``, or None for a blob of another version or size (rescan fills it)."""
        if not blob or len(blob) != SIZE or blob[0] != VERSION:
            return None
        view = np.frombuffer(blob, dtype=np.uint8, offset=1)
        dct = view[:_DCT_BYTES].view(">u8").astype(np.uint64)
        layout = view[_DCT_BYTES : _DCT_BYTES + _LAYOUT_BYTES].reshape(LAYOUT_SIDE, LAYOUT_SIDE, 3)
        thumb = view[_DCT_BYTES + _LAYOUT_BYTES :].reshape(THUMB_SIDE, THUMB_SIDE)
        return cls(dct, layout, thumb)


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * x + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


_DCT = _dct_matrix(DCT_INPUT)[:DCT_SIDE]


def dct_hash(grey64: np.ndarray) -> np.ndarray:
    """256 bits: each low-frequency DCT coefficient above (1) or below (0) their median."""
    coefs = _DCT @ grey64 @ _DCT.T
    flat = coefs.ravel()
    bits = flat > np.median(flat[1:])  # the DC term would dominate the median
    return np.packbits(bits).view(">u8").astype(np.uint64)


def compute(image: Image.Image) -> Signature:
    """The signature of an RGB image (any size; it is reduced with a box filter first)."""
    rgb = image.convert("RGB")
    if max(rgb.size) > 4 * DCT_INPUT:
        rgb = rgb.copy()
        rgb.thumbnail((4 * DCT_INPUT, 4 * DCT_INPUT), Image.Resampling.BOX)
    grey = rgb.convert("L")
    grey64 = np.asarray(grey.resize((DCT_INPUT, DCT_INPUT), Image.Resampling.BOX), np.float64)
    thumb = np.asarray(grey.resize((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BOX), np.uint8)
    ycc = rgb.convert("YCbCr").resize((LAYOUT_SIDE, LAYOUT_SIDE), Image.Resampling.BOX)
    return Signature(dct_hash(grey64), np.asarray(ycc, np.uint8), thumb)


def compute_bytes(image: Image.Image) -> bytes:
    """What the scan stores in ``photos.signature``."""
    return compute(image).to_bytes()


# -- comparing -------------------------------------------------------------------------------------


def popcount64(x: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x)
    table = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
    return table[x.view(np.uint8)].reshape(*x.shape, 8).sum(-1)


def hash_distance(a: Signature, b: Signature) -> int:
    """Bits (of 256) in which the DCT hashes differ."""
    return int(popcount64(a.dct ^ b.dct).sum())


def _low_frequency_mask() -> np.ndarray:
    low = np.zeros((DCT_SIDE, DCT_SIDE), dtype=bool)
    low[: DCT_SIDE // 2, : DCT_SIDE // 2] = True
    return np.packbits(low.ravel()).view(">u8").astype(np.uint64)


#: The 64 lowest-frequency bits of the hash (its top-left 8×8 block), as four masks.
LOW_FREQUENCY = _low_frequency_mask()


def low_hash_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bits (of 64) in which the lowest frequencies of DCT hashes ``a`` and ``b`` (``(…, 4)`` uint64
    arrays) differ. A crop or a zoom moves the high frequencies of the 256-bit hash around (a 5 %
    crop per side flips about 76 of 256 bits) but leaves the lowest ones mostly alone (16 of 64)."""
    return popcount64((a ^ b) & LOW_FREQUENCY).sum(axis=-1)


def layout_distance(a: Signature, b: Signature) -> float:
    """How different the colour layouts are: mean absolute difference of the chroma cells (0–255),
    after removing each photo's mean luma, so a brightened copy still matches its original."""
    (luma_a, chroma_a), (luma_b, chroma_b) = layout_features(a.layout), layout_features(b.layout)
    return float(layout_distances(luma_a, chroma_a, luma_b, chroma_b))


def layout_features(layouts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What :func:`layout_distances` compares, for one ``(4, 4, 3)`` layout or ``(n, 4, 4, 3)``:
    the luma cells less their mean (``(…, 16)``) and the chroma cells (``(…, 32)``)."""
    cells = layouts.astype(np.float32).reshape(*layouts.shape[:-3], 16, 3)
    luma = cells[..., 0]
    return luma - luma.mean(axis=-1, keepdims=True), cells[..., 1:].reshape(*cells.shape[:-2], 32)


def layout_distances(
    luma: np.ndarray, chroma: np.ndarray, luma_1: np.ndarray, chroma_1: np.ndarray
) -> np.ndarray:
    """Layout distance of each photo's features (``(n, 16)``, ``(n, 32)``) to one photo's."""
    luma_d = np.abs(luma - luma_1).mean(axis=-1)
    return np.maximum(luma_d / 2.0, np.abs(chroma - chroma_1).mean(axis=-1))


def _highpass(x: np.ndarray) -> np.ndarray:
    """Detail left after a 3×3 box blur: the structure a smooth gradient does not have."""
    pad = np.pad(x, 1, mode="edge")
    blur = sum(pad[i : i + x.shape[0], j : j + x.shape[1]] for i in range(3) for j in range(3)) / 9
    return x - blur


#: Centre crops tried when aligning two thumbnails (the share of the side kept): an export cropped by
#: up to 7.5 % per side still lines up with its original.
ZOOMS = (0.95, 0.9, 0.85)
#: Zooms are tried only when the tones already correlate this much unaligned: every 5–7 % crop of 72
#: real photos did (lowest 0.39), 87 % of pairs of distinct photos do not.
ZOOM_GATE = 0.35


def _zoomed(thumb: np.ndarray, keep: float) -> np.ndarray:
    """The centre ``keep`` of a thumbnail, resampled back to its full size."""
    side = thumb.shape[0]
    inset = side * (1.0 - keep) / 2.0
    box = (inset, inset, side - inset, side - inset)
    im = Image.fromarray(thumb.astype(np.uint8))
    return np.asarray(
        im.transform((side, side), Image.Transform.EXTENT, box, Image.Resampling.BILINEAR)
    )


def pixel_agreement(
    a: Signature, b: Signature, max_shift: int = 2, zooms: tuple[float, ...] = ZOOMS
) -> tuple[float, float]:
    """(tone correlation, detail correlation) of the two 32×32 thumbnails at their best alignment.

    Tone correlation is invariant to brightness and contrast edits; detail correlation compares the
    high-pass residue, which two different smooth photos (fog, dusk, a dark gradient) do not share
    even when their tones correlate. Shifts of up to ``max_shift`` pixels absorb small offsets; when
    the thumbnails do not agree as they are, the centre of each is zoomed by ``zooms`` in turn, so a
    cropped copy (either way round) lines up with its original.

    Symmetric: the pair is compared in one canonical order (by signature bytes), so
    ``pixel_agreement(a, b) == pixel_agreement(b, a)`` and grouping does not depend on the order
    photos are visited (the core of one thumbnail is matched against the other's shifted windows,
    which is not symmetric by itself).
    """
    if _canonical_key(b) < _canonical_key(a):
        a, b = b, a
    best = _shifted_agreement(a.thumb, b.thumb, max_shift)
    if best[0] < ZOOM_GATE or sum(best) >= 1.9:
        return best  # unrelated (a crop keeps tones correlated) or already aligned
    for keep in zooms:
        for zoomed, other in ((_zoomed(a.thumb, keep), b.thumb), (a.thumb, _zoomed(b.thumb, keep))):
            found = _shifted_agreement(zoomed, other, max_shift)
            if sum(found) > sum(best):
                best = found
    return best


def _canonical_key(s: Signature) -> bytes:
    """The order :func:`pixel_agreement` compares a pair in (the stored bytes: the same on every run)."""
    return (
        s.thumb.astype(np.uint8).tobytes()
        + s.dct.astype(np.uint64).tobytes()
        + s.layout.astype(np.uint8).tobytes()
    )


def _shifted_agreement(a: np.ndarray, b: np.ndarray, max_shift: int) -> tuple[float, float]:
    """Best (tone, detail) correlation of ``a``'s core with ``b``'s windows shifted by up to
    ``max_shift`` pixels each way (all shifts at once: one array of windows)."""
    ta, tb = a.astype(np.float64), b.astype(np.float64)
    m, side = max_shift, THUMB_SIDE - 2 * max_shift
    core = (slice(m, THUMB_SIDE - m), slice(m, THUMB_SIDE - m))
    shifts = [(dy, dx) for dy in range(-m, m + 1) for dx in range(-m, m + 1)]
    scores = []
    for x, y in ((ta, tb), (_highpass(ta), _highpass(tb))):
        windows = np.stack([y[m + dy : m + dy + side, m + dx : m + dx + side] for dy, dx in shifts])
        scores.append(_correlations(x[core], windows))
    total = scores[0] + scores[1]
    k = int(np.argmax(total))
    return float(scores[0][k]), float(scores[1][k])


def _correlations(x: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """Pearson correlation of ``x`` with each of ``windows`` (0 where either is flat)."""
    x = x - x.mean()
    w = windows - windows.mean(axis=(1, 2), keepdims=True)
    norms = np.sqrt((x * x).sum() * (w * w).sum(axis=(1, 2)))
    dots = (w * x).sum(axis=(1, 2))
    return np.where(norms > 1e-6, dots / np.maximum(norms, 1e-12), 0.0)
