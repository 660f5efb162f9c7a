"""Near-duplicate signatures: what a photo looks like, in 1.1 KB, computed during the scan's one read.

A 64-bit dHash alone cannot tell a foggy lake from a dune at dusk: dark, smooth and low-contrast photos
share most of their bits. A signature therefore carries three independent pieces of evidence:

* ``dct``: a 256-bit DCT hash (16×16 low frequencies of a 64×64 grey copy, each bit "above the
  median"), used to find candidates quickly (banding) and as a first filter;
* ``layout``: a 4×4 colour layout (mean Y, Cb, Cr per cell), which tells a blue lake from a sand dune;
* ``thumb``: a 32×32 grey thumbnail, on which a candidate pair is confirmed pixel by pixel after
  aligning it (small shifts) and matching tones (so brightened exports still match).

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


def layout_distance(a: Signature, b: Signature) -> float:
    """How different the colour layouts are: mean absolute difference of the chroma cells (0–255),
    after removing each photo's mean luma, so a brightened copy still matches its original."""
    la, lb = a.layout.astype(np.float32), b.layout.astype(np.float32)
    luma = np.abs((la[..., 0] - la[..., 0].mean()) - (lb[..., 0] - lb[..., 0].mean())).mean()
    chroma = np.abs(la[..., 1:] - lb[..., 1:]).mean()
    return float(max(luma / 2.0, chroma))


def _standardise(x: np.ndarray) -> np.ndarray | None:
    x = x - x.mean()
    norm = np.sqrt((x * x).sum())
    return None if norm < 1e-6 else x / norm


def _highpass(x: np.ndarray) -> np.ndarray:
    """Detail left after a 3×3 box blur: the structure a smooth gradient does not have."""
    pad = np.pad(x, 1, mode="edge")
    blur = sum(pad[i : i + x.shape[0], j : j + x.shape[1]] for i in range(3) for j in range(3)) / 9
    return x - blur


def pixel_agreement(a: Signature, b: Signature, max_shift: int = 2) -> tuple[float, float]:
    """(tone correlation, detail correlation) of the two 32×32 thumbnails at their best alignment.

    Tone correlation is invariant to brightness and contrast edits; detail correlation compares the
    high-pass residue, which two different smooth photos (fog, dusk, a dark gradient) do not share
    even when their tones correlate. Shifts of up to ``max_shift`` pixels absorb small crops.
    """
    ta, tb = a.thumb.astype(np.float64), b.thumb.astype(np.float64)
    ha, hb = _highpass(ta), _highpass(tb)
    best = (-1.0, -1.0)
    m = max_shift
    core_a = (slice(m, THUMB_SIDE - m), slice(m, THUMB_SIDE - m))
    sa, da = _standardise(ta[core_a]), _standardise(ha[core_a])
    for dy in range(-m, m + 1):
        for dx in range(-m, m + 1):
            window = (slice(m + dy, THUMB_SIDE - m + dy), slice(m + dx, THUMB_SIDE - m + dx))
            sb, db = _standardise(tb[window]), _standardise(hb[window])
            tone = float((sa * sb).sum()) if sa is not None and sb is not None else 0.0
            detail = float((da * db).sum()) if da is not None and db is not None else 0.0
            if tone + detail > sum(best):
                best = (tone, detail)
    return best
