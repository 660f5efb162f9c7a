"""Near-duplicate signatures: what a photo looks like, in about 800 bytes, computed during the scan's
one read.

A 64-bit dHash alone cannot tell a foggy lake from a dune at dusk: dark, smooth and low-contrast photos
share most of their bits. A signature therefore carries three independent pieces of evidence:

* ``dct``: a 256-bit DCT hash (16×16 low frequencies of a 64×64 grey copy, each bit "above the
  median"), used to find candidates quickly (banding) and as a first filter;
* ``layout``: a 4×4 colour layout (mean Y, Cb, Cr per cell), which tells a blue lake from a sand dune;
* ``thumb``: a 32×32 grey thumbnail, on which a candidate pair is confirmed pixel by pixel after
  aligning it (small shifts and centre crops of up to 15 %) and matching tones (so brightened and
  lightly cropped exports still match).

Stored as one BLOB (``photos.signature``), version 2 (migration ``010_compact_signatures``, issue
#32): a version byte, the hash (32 bytes), the layout (48) and the thumbnail *losslessly*
compressed: each pixel less its left and upper neighbours plus the upper-left one (undone by two
cumulative sums), then raw DEFLATE (run-length matches). On 45 real photographs the thumbnail takes
783 bytes on average (1,005 at most), on the 200 real-photo crops of
``benchmarks/grouping_scale.py`` 679: a signature of 760–870 bytes instead of 1,105. Lossless because the pair evidence is sensitive where it matters
most: quantising the thumbnail to 6 bits over its own range lost 1 of 500 planted copies at 20,000
photos (a smooth picture's detail correlation fell from 0.77 to 0.48), 5 and 4 bits more. So every
comparison gives exactly what it gave before, and grouping recall cannot change.

``benchmarks/signature_codec.py`` measured the smaller codings (docs/scale.md, "The signature at
the size the evidence uses"): a JPEG-like DCT of the thumbnail, plain and noise-shaped quantisation,
24×24 and 16×16 thumbnails. Every one of them changes a real verdict: scikit-image's ``chelsea``
and its 4 %-a-side crop agree at tone 0.95002 against the strict rule's 0.95, and even a DCT coding
that moves 8 % of the pixels by one grey level (and is larger than this one) drops that pair below
it and loses one of 491 planted copies at 20,000 photos. So the thumbnail stays lossless.

The lossless codings that would be smaller were measured with their decoders too
(``signature_codec.py --lossless``, docs/scale.md "The thumbnail's lossless coding"): LOCO-I's
median predictor with Rice codes for six gradient contexts takes 692 bytes instead of 783, but it
decodes pixel by pixel in Python, 0.84–0.94 ms a thumbnail against this coding's 23–38 µs (+5.8–6.6 s
for the 7,248 decodes of a 20,000-photo grouping run); with LZMA instead it saves 56 bytes at
0.26–0.36 ms, WebP lossless 50 bytes at 10 ms an encode. So this coding stays until grouping decodes its candidates'
thumbnails in batches (the context coder decodes 845 at a time in 110–113 µs each).

Version 1 blobs (1,105 bytes, the thumbnail as 1,024 raw bytes) are still read: a catalog being
compacted holds both, and :func:`compact` rewrites one as version 2. The thumbnail of a version-2
blob is decompressed on first use: grouping reads every photo's hash and layout, but the thumbnails
of candidate pairs only.
"""

from __future__ import annotations

import zlib

import numpy as np
from PIL import Image

VERSION = 2
DCT_INPUT = 64
DCT_SIDE = 16  # 16×16 coefficients: 256 bits
LAYOUT_SIDE = 4
THUMB_SIDE = 32
_DCT_BYTES = DCT_SIDE * DCT_SIDE // 8
_LAYOUT_BYTES = LAYOUT_SIDE * LAYOUT_SIDE * 3
#: Version byte, hash and layout: what precedes the compressed thumbnail.
HEADER = 1 + _DCT_BYTES + _LAYOUT_BYTES
#: Version 1 (culler before the compact catalog): the thumbnail as 1,024 raw bytes.
V1_SIZE = HEADER + THUMB_SIDE * THUMB_SIDE
#: Whether the blob in ``{column}`` is one :meth:`Signature.from_bytes` reads, in SQL (the grouping
#: facts compare it with "has a signature" in Python).
SQL_READABLE = (
    "({column} IS NOT NULL AND ((length({column}) = "
    + str(V1_SIZE)
    + " AND substr({column}, 1, 1) = x'01') OR (length({column}) > "
    + str(HEADER)
    + " AND substr({column}, 1, 1) = x'02')))"
)


class Signature:
    """One photo's signature (see the module's docstring)."""

    __slots__ = ("_packed", "_thumb", "dct", "layout")

    def __init__(
        self,
        dct: np.ndarray,
        layout: np.ndarray,
        thumb: np.ndarray | None = None,
        *,
        packed: bytes | None = None,
    ) -> None:
        self.dct = dct  # (4,) uint64: the 256-bit hash
        self.layout = layout  # (4, 4, 3) uint8: mean Y, Cb, Cr per cell
        self._thumb = thumb
        self._packed = packed  # the compressed thumbnail, until it is first read

    @property
    def thumb(self) -> np.ndarray:
        """(32, 32) uint8: the grey thumbnail. A blob whose thumbnail does not decompress reads as a
        flat one (it then agrees with nothing)."""
        if self._thumb is None:
            self._thumb = _unpack(self._packed or b"")
        return self._thumb

    def to_bytes(self) -> bytes:
        """The version-2 blob."""
        packed = self._packed if self._thumb is None else _pack(self._thumb)
        return (
            bytes([VERSION])
            + self.dct.astype(">u8").tobytes()
            + self.layout.astype(np.uint8).tobytes()
            + bytes(packed or b"")
        )

    @classmethod
    def from_bytes(cls, blob: bytes) -> Signature | None:
        """The signature in ``blob`` (version 2, or 1 from catalogs not yet compacted), or None for a
        blob of another version or size (a rescan fills it)."""
        if not blob or len(blob) <= HEADER:
            return None
        if blob[0] == 1 and len(blob) == V1_SIZE:
            view = np.frombuffer(blob, dtype=np.uint8, offset=1)
            thumb = view[_DCT_BYTES + _LAYOUT_BYTES :].reshape(THUMB_SIDE, THUMB_SIDE)
            return cls(*_hash_and_layout(view), thumb)
        if blob[0] != VERSION:
            return None
        view = np.frombuffer(blob, dtype=np.uint8, offset=1, count=HEADER - 1)
        return cls(*_hash_and_layout(view), packed=bytes(blob[HEADER:]))


def _pack(thumb: np.ndarray) -> bytes:
    """The thumbnail less its left and upper neighbours plus the upper-left one (mod 256), deflated."""
    t = np.ascontiguousarray(thumb, dtype=np.uint8)
    d = t.copy()
    d[1:] -= t[:-1]
    d[:, 1:] -= d[:, :-1].copy()
    # Run-length matches only: the differences hold few long repeats, and this is 2 % smaller and
    # faster than the default search (694 → 679 bytes on benchmarks/grouping_scale.py's crops).
    encoder = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_RLE)
    return encoder.compress(d.tobytes()) + encoder.flush()


def _unpack(packed: bytes) -> np.ndarray:
    try:
        raw = zlib.decompress(packed, -15)
    except zlib.error:
        raw = b""
    if len(raw) != THUMB_SIDE * THUMB_SIDE:
        return np.zeros((THUMB_SIDE, THUMB_SIDE), np.uint8)
    d = np.frombuffer(raw, np.uint8).reshape(THUMB_SIDE, THUMB_SIDE)
    return np.cumsum(np.cumsum(d, axis=1, dtype=np.uint8), axis=0, dtype=np.uint8)


def _hash_and_layout(view: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dct = view[:_DCT_BYTES].view(">u8").astype(np.uint64)
    layout = view[_DCT_BYTES : _DCT_BYTES + _LAYOUT_BYTES].reshape(LAYOUT_SIDE, LAYOUT_SIDE, 3)
    return dct, layout


def compact(blob: bytes) -> bytes | None:
    """A stored signature as version 2 (a version-1 blob rewritten, exactly what :func:`compute`
    stores for the same photo; a version-2 blob unchanged); None for a blob no version reads."""
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
    return Signature(*_reduced(image))


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
