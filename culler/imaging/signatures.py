"""Near-duplicate signatures: what a photo looks like, in 851 bytes, computed during the scan's one read.

A 64-bit dHash alone cannot tell a foggy lake from a dune at dusk: dark, smooth and low-contrast photos
share most of their bits. A signature therefore carries three independent pieces of evidence:

* ``dct``: a 256-bit DCT hash (16×16 low frequencies of a 64×64 grey copy, each bit "above the
  median"), used to find candidates quickly (banding) and as a first filter;
* ``layout``: a 4×4 colour layout (mean Y, Cb, Cr per cell), which tells a blue lake from a sand dune;
* ``thumb``: a 32×32 grey thumbnail, on which a candidate pair is confirmed pixel by pixel after
  aligning it (small shifts and centre crops of up to 15 %) and matching tones (so brightened and
  lightly cropped exports still match).

Stored as one BLOB (``photos.signature``), version 2 (``0XX_compact_signatures``, issue #32): a
version byte, the hash (32 bytes), the layout (48), the thumbnail's darkest and brightest grey (2)
and the thumbnail in :data:`THUMB_BITS` bits a pixel over that range (768 bytes): 851 bytes, was
1,105. The pair evidence only reads the thumbnail through Pearson correlations (of tones and of
high-pass detail, after bilinear zooms), which a linear stretch of either thumbnail leaves alone, so
stretching each thumbnail to its own range before quantising costs only the rounding: on 45 real
photographs a 6-bit thumbnail agrees with its 8-bit self at tone ≥ 0.997 and detail ≥ 0.990 (5 bits:
0.988 / 0.961, and a pair of real edits lost 0.016 of tone; 4 bits: 0.950, the strict rule's
threshold itself), and grouping recall on the real-photo benchmarks is unchanged (docs/culling.md). Version 1 blobs (32 + 48 + 1,024 bytes of
8-bit grey) are still read, and :func:`compact` rewrites one as version 2.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

VERSION = 2
DCT_INPUT = 64
DCT_SIDE = 16  # 16×16 coefficients: 256 bits
LAYOUT_SIDE = 4
THUMB_SIDE = 32
#: Bits a thumbnail pixel is stored in, over the thumbnail's own darkest-to-brightest range.
THUMB_BITS = 6
_LEVELS = (1 << THUMB_BITS) - 1
_DCT_BYTES = DCT_SIDE * DCT_SIDE // 8
_LAYOUT_BYTES = LAYOUT_SIDE * LAYOUT_SIDE * 3
_THUMB_BYTES = THUMB_SIDE * THUMB_SIDE * THUMB_BITS // 8
SIZE = 1 + _DCT_BYTES + _LAYOUT_BYTES + 2 + _THUMB_BYTES
#: Version 1 (culler before the compact catalog): the thumbnail in 8-bit grey.
V1_SIZE = 1 + _DCT_BYTES + _LAYOUT_BYTES + THUMB_SIDE * THUMB_SIDE
#: The blob sizes :meth:`Signature.from_bytes` reads (a photo "has a signature" when it has one).
READABLE_SIZES = (SIZE, V1_SIZE)


class Signature:
    """One photo's signature. Read from a version-2 blob, the thumbnail is unpacked on first use:
    grouping reads every photo's hash and layout but the thumbnails of candidate pairs only."""

    __slots__ = ("_codes", "_thumb", "dct", "layout", "tones")

    def __init__(
        self,
        dct: np.ndarray,
        layout: np.ndarray,
        thumb: np.ndarray | None = None,
        tones: tuple[int, int] = (0, 255),
        *,
        codes: np.ndarray | None = None,
    ) -> None:
        self.dct = dct  # (4,) uint64: the 256-bit hash
        self.layout = layout  # (4, 4, 3) uint8: mean Y, Cb, Cr per cell
        #: The thumbnail's darkest and brightest grey (0–255) before it was stretched.
        self.tones = tones
        self._thumb = thumb
        self._codes = codes  # the packed bit planes, until the thumbnail is first read

    @property
    def thumb(self) -> np.ndarray:
        """(32, 32) uint8: the grey thumbnail stretched to 0–255 over ``tones`` in
        :data:`THUMB_BITS` steps (read from a version-1 blob: the grey levels as they were)."""
        if self._thumb is None:
            self._thumb = _STEPS[_unpack(self._codes)].reshape(THUMB_SIDE, THUMB_SIDE)
        return self._thumb

    def to_bytes(self) -> bytes:
        """The version-2 blob (a version-1 signature is quantised on the way: :func:`compact`)."""
        if self._thumb is None:
            packed, tones = self._codes, self.tones
        else:
            codes, tones = _codes(self._thumb, self.tones)
            packed = _pack(codes)
        return (
            bytes([VERSION])
            + self.dct.astype(">u8").tobytes()
            + self.layout.astype(np.uint8).tobytes()
            + bytes(tones)
            + packed.astype(np.uint8).tobytes()
        )

    @classmethod
    def from_bytes(cls, blob: bytes) -> Signature | None:
        """The signature in ``blob`` (version 2, or 1 from catalogs not yet compacted), or None for a
        blob of another version or size (a rescan fills it)."""
        if not blob:
            return None
        if len(blob) == V1_SIZE and blob[0] == 1:
            view = np.frombuffer(blob, dtype=np.uint8, offset=1)
            thumb = view[_DCT_BYTES + _LAYOUT_BYTES :].reshape(THUMB_SIDE, THUMB_SIDE)
            return cls(*_hash_and_layout(view), thumb)
        if len(blob) != SIZE or blob[0] != VERSION:
            return None
        view = np.frombuffer(blob, dtype=np.uint8, offset=1)
        start = _DCT_BYTES + _LAYOUT_BYTES
        tones = (int(view[start]), int(view[start + 1]))
        return cls(*_hash_and_layout(view), tones=tones, codes=view[start + 2 :])


#: The codes are stored as :data:`THUMB_BITS` bit planes of 1,024 bits each, the highest first
#: (numpy packs and unpacks planes in C).
_PAD = np.zeros((8 - THUMB_BITS, THUMB_SIDE * THUMB_SIDE), np.uint8)


def _pack(codes: np.ndarray) -> np.ndarray:
    return np.packbits(np.unpackbits(codes[None, :], axis=0)[8 - THUMB_BITS :])


def _unpack(packed: np.ndarray) -> np.ndarray:
    planes = np.unpackbits(packed).reshape(THUMB_BITS, -1)
    return np.packbits(np.concatenate((_PAD, planes)), axis=0)[0]


#: The grey each code reads back as: code × 255 / levels, the full range (zooms resample it finely).
_STEPS = np.round(np.arange(_LEVELS + 1) * 255.0 / _LEVELS).astype(np.uint8)


def _stretched(codes: np.ndarray) -> np.ndarray:
    return _STEPS[codes]


def _codes(thumb: np.ndarray, tones: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """The thumbnail's :data:`THUMB_BITS`-bit codes (flat) and the grey range they span.

    A thumbnail already quantised (every value one of :data:`_STEPS`, as :func:`compute` and
    :meth:`Signature.from_bytes` make them) keeps its codes and range, so a signature read from the
    catalog writes back the same bytes; any other (a version-1 thumbnail) is quantised first."""
    flat = thumb.astype(np.uint8).ravel()
    known = _CODE_OF[flat]
    if (known >= 0).all():
        return known.astype(np.uint8), tones
    stretched, tones = quantise_thumb(thumb)
    return _CODE_OF[stretched.ravel()].astype(np.uint8), tones


_CODE_OF = np.full(256, -1, np.int16)
_CODE_OF[_STEPS] = np.arange(_LEVELS + 1)


def quantise_thumb(thumb: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """A grey thumbnail as version 2 stores it: stretched over its own darkest-to-brightest range
    and rounded to :data:`THUMB_BITS` bits (returned as 0–255 greys), with that range."""
    flat = thumb.astype(np.uint8).ravel()
    lo, hi = int(flat.min()), int(flat.max())
    span = max(hi - lo, 1)
    codes = np.floor((flat.astype(np.float64) - lo) * _LEVELS / span + 0.5).astype(np.uint8)
    return _stretched(codes).reshape(thumb.shape), (lo, hi)


def _hash_and_layout(view: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dct = view[:_DCT_BYTES].view(">u8").astype(np.uint64)
    layout = view[_DCT_BYTES : _DCT_BYTES + _LAYOUT_BYTES].reshape(LAYOUT_SIDE, LAYOUT_SIDE, 3)
    return dct, layout


def compact(blob: bytes) -> bytes | None:
    """A stored signature as version 2: a version-1 blob quantised (exactly what :func:`compute`
    stores for the same thumbnail), a version-2 blob unchanged; None for a blob no version reads."""
    sig = Signature.from_bytes(blob)
    if sig is None:
        return None
    return bytes(blob) if blob[0] == VERSION else sig.to_bytes()


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


def _reduced(image: Image.Image) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(256-bit hash, 4×4 YCbCr layout, 32×32 grey thumbnail in 8 bits) of an image."""
    rgb = image.convert("RGB")
    if max(rgb.size) > 4 * DCT_INPUT:
        rgb = rgb.copy()
        rgb.thumbnail((4 * DCT_INPUT, 4 * DCT_INPUT), Image.Resampling.BOX)
    grey = rgb.convert("L")
    grey64 = np.asarray(grey.resize((DCT_INPUT, DCT_INPUT), Image.Resampling.BOX), np.float64)
    thumb = np.asarray(grey.resize((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BOX), np.uint8)
    ycc = rgb.convert("YCbCr").resize((LAYOUT_SIDE, LAYOUT_SIDE), Image.Resampling.BOX)
    return dct_hash(grey64), np.asarray(ycc, np.uint8), thumb


def compute(image: Image.Image) -> Signature:
    """The signature of an RGB image (any size; it is reduced with a box filter first)."""
    dct, layout, thumb = _reduced(image)
    return Signature(dct, layout, *quantise_thumb(thumb))


def legacy_bytes(image: Image.Image) -> bytes:
    """The version-1 blob culler stored before the compact catalog (1,105 bytes: the thumbnail in
    8-bit grey): what tests and benchmarks build older catalogs from."""
    dct, layout, thumb = _reduced(image)
    return bytes([1]) + dct.astype(">u8").tobytes() + layout.tobytes() + thumb.tobytes()


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
