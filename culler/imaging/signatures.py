"""Near-duplicate signatures: what a photo looks like, in about 770 bytes, computed during the scan's
one read.

A 64-bit dHash alone cannot tell a foggy lake from a dune at dusk: dark, smooth and low-contrast photos
share most of their bits. A signature therefore carries three independent pieces of evidence:

* ``dct``: a 256-bit DCT hash (16×16 low frequencies of a 64×64 grey copy, each bit "above the
  median"), used to find candidates quickly (banding) and as a first filter;
* ``layout``: a 4×4 colour layout (mean Y, Cb, Cr per cell), which tells a blue lake from a sand dune;
* ``thumb``: a 32×32 grey thumbnail, on which a candidate pair is confirmed pixel by pixel after
  aligning it (small shifts and centre crops of up to 15 %) and matching tones (so brightened and
  lightly cropped exports still match).

Stored as one BLOB (``photos.signature``), version 3 (migration ``022_signature_context_rice``,
issue #32): a version byte, the hash (32 bytes), the layout (48) and the thumbnail *losslessly*
coded: each pixel less LOCO-I's median edge prediction from its left, upper and upper-left
neighbours, Rice coded with the parameter that is shortest for its gradient context
(|a−c| + |b−c| + |d−b| in six classes; the six parameters in three bytes), every quotient in unary
first and then the remainders, pixels taken along the anti-diagonals ``2 i + j`` so that each of
94 steps depends only on earlier ones (:func:`pack_thumbnails`, :func:`unpack_thumbnails`). On 45
real photographs the thumbnail takes 692 bytes on average instead of version 2's 783, on the
crops of ``benchmarks/grouping_scale.py`` 604 instead of 690: a signature of about 690–775 bytes.
A thumbnail decodes pixel by pixel (each prediction needs the pixel just decoded), so it is
decoded in batches, numpy across the thumbnails one diagonal at a time: grouping collects the
photos its candidate pairs will compare and decodes them together first
(:func:`decode_thumbnails`, ``culler.decide.grouping.prefetch_thumbnails``); one thumbnail alone
costs a few milliseconds. Lossless because the pair evidence is sensitive where it matters
most: quantising the thumbnail to 6 bits over its own range lost 1 of 500 planted copies at 20,000
photos (a smooth picture's detail correlation fell from 0.77 to 0.48), 5 and 4 bits more. So every
comparison gives exactly what it gave before, and grouping recall cannot change.

``benchmarks/signature_codec.py`` measured the smaller codings (docs/scale.md, "The signature at
the size the evidence uses"): a JPEG-like DCT of the thumbnail, plain and noise-shaped quantisation,
24×24 and 16×16 thumbnails. Every one of them changes a real verdict: scikit-image's ``chelsea``
and its 4 %-a-side crop agree at tone 0.95002 against the strict rule's 0.95, and even a DCT coding
that moves 8 % of the pixels by one grey level (and is larger than this one) drops that pair below
it and loses one of 491 planted copies at 20,000 photos. So the thumbnail stays lossless.

The lossless codings were measured with their decoders too (``signature_codec.py --lossless``,
docs/scale.md "The thumbnail's lossless coding" and "Signature version 3"): this one is the
smallest; LZMA after the same predictor saves 56 bytes instead of 91, WebP lossless 50 at 10 ms an
encode.

Versions 1 (1,105 bytes, the thumbnail as 1,024 raw bytes) and 2 (the thumbnail as planar
differences, raw DEFLATE: migration ``010_compact_signatures``) are still read: a catalog being
upgraded holds them beside version 3, and :func:`compact_many` rewrites them as version 3 in
batches (the data upgrades of culler.catalog.upgrades). A stored thumbnail is decoded on first
use: grouping reads every photo's hash and layout, but the thumbnails of candidate pairs only.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import numpy as np
from PIL import Image

VERSION = 3
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
    + " AND substr({column}, 1, 1) IN (x'02', x'03'))))"
)


class Signature:
    """One photo's signature (see the module's docstring)."""

    __slots__ = ("_packed", "_thumb", "_version", "dct", "layout")

    def __init__(
        self,
        dct: np.ndarray,
        layout: np.ndarray,
        thumb: np.ndarray | None = None,
        *,
        packed: bytes | None = None,
        version: int = VERSION,
    ) -> None:
        self.dct = dct  # (4,) uint64: the 256-bit hash
        self.layout = layout  # (4, 4, 3) uint8: mean Y, Cb, Cr per cell
        self._thumb = thumb
        self._packed = packed  # the compressed thumbnail, until it is first read
        self._version = version  # the coding of ``_packed`` (2 or 3)

    @property
    def thumb(self) -> np.ndarray:
        """(32, 32) uint8: the grey thumbnail. A blob whose thumbnail does not decompress reads as a
        flat one (it then agrees with nothing)."""
        if self._thumb is None:
            decode_thumbnails([self])
        return self._thumb

    @property
    def decoded(self) -> bool:
        """Whether the thumbnail is at hand (read from a version-1 blob, computed or decoded)."""
        return self._thumb is not None

    def to_bytes(self) -> bytes:
        """The version-3 blob."""
        if self._thumb is None and self._version == VERSION:
            packed = self._packed
        else:
            packed = pack_thumbnails(self.thumb[None])[0]
        return (
            bytes([VERSION])
            + self.dct.astype(">u8").tobytes()
            + self.layout.astype(np.uint8).tobytes()
            + bytes(packed or b"")
        )

    @classmethod
    def from_bytes(cls, blob: bytes) -> Signature | None:
        """The signature in ``blob`` (version 3, or 2 or 1 from catalogs not yet upgraded), or None
        for a blob of another version or size (a rescan fills it)."""
        if not blob or len(blob) <= HEADER:
            return None
        if blob[0] == 1 and len(blob) == V1_SIZE:
            view = np.frombuffer(blob, dtype=np.uint8, offset=1)
            thumb = view[_DCT_BYTES + _LAYOUT_BYTES :].reshape(THUMB_SIDE, THUMB_SIDE)
            return cls(*_hash_and_layout(view), thumb)
        if blob[0] not in (2, VERSION):
            return None
        view = np.frombuffer(blob, dtype=np.uint8, offset=1, count=HEADER - 1)
        return cls(*_hash_and_layout(view), packed=bytes(blob[HEADER:]), version=blob[0])


def decode_thumbnails(sigs: Iterable[Signature | None]) -> int:
    """Decode the thumbnails of ``sigs`` not yet decoded, the version-3 ones all together
    (:func:`unpack_thumbnails`: about a tenth of the CPU of decoding them one at a time); return how
    many were decoded. What grouping calls with the photos of its candidate pairs before comparing
    them: each comparison then finds its thumbnails at hand, exactly as they were stored."""
    pending = [s for s in sigs if s is not None and s._thumb is None]
    batch = [s for s in pending if s._version == VERSION]
    for sig, thumb in zip(batch, unpack_thumbnails([s._packed or b"" for s in batch])):
        sig._thumb = thumb
    for sig in pending:
        if sig._thumb is None:
            sig._thumb = _unpack(sig._packed or b"")
    return len(pending)


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
    """Version 2's thumbnail (:func:`_pack`)."""
    try:
        raw = zlib.decompress(packed, -15)
    except zlib.error:
        raw = b""
    if len(raw) != THUMB_SIDE * THUMB_SIDE:
        return np.zeros((THUMB_SIDE, THUMB_SIDE), np.uint8)
    d = np.frombuffer(raw, np.uint8).reshape(THUMB_SIDE, THUMB_SIDE)
    return np.cumsum(np.cumsum(d, axis=1, dtype=np.uint8), axis=0, dtype=np.uint8)


# -- version 3: the thumbnail in MED residuals and context Rice codes -----------------------------

#: Gradient classes of the context Rice coder: upper bounds of the first five (LOCO-I's gradient
#: |a-c| + |b-c| + |d-b|); the sixth holds larger gradients and the first row and column.
RICE_CLASSES = (3, 7, 14, 28, 60)
_CLASSES = len(RICE_CLASSES) + 1
#: A quotient of this many ones is an escape: the residual follows in 8 bits.
RICE_ESCAPE = 16
#: Largest Rice parameter tried (a nibble of the header each).
_MAX_K = 8
_EDGE = 2 * 765  # added to an edge pixel's gradient: always the last class
#: Rice parameter header: three bytes, a nibble for each class.
_K_BYTES = _CLASSES // 2
#: Pixels are coded along anti-diagonals ``2 i + j = t`` (94 steps), a step's pixels by row: every
#: neighbour a pixel's prediction and context need (left, upper-left, upper, upper-right) lies on
#: an earlier step, so a decoder does a whole step of every thumbnail at once.
_STEPS = [
    (t, max(0, (t - THUMB_SIDE + 2) // 2), min(THUMB_SIDE - 1, t // 2))
    for t in range(3 * THUMB_SIDE - 2)
]
_ORDER = np.array([i * THUMB_SIDE + t - 2 * i for t, lo, hi in _STEPS for i in range(lo, hi + 1)])
_CLASS_OF = np.searchsorted(np.array(RICE_CLASSES), np.arange(2 * _EDGE), side="left").astype(
    np.int16
)
#: Zig-zag code -> residual (codes from 256 on come only from a damaged stream).
_UNZIGZAG = np.array([(u >> 1) if not u & 1 else -((u + 1) >> 1) for u in range(4096)], np.int16)


def _med(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LOCO-I's median edge predictor over ``(n, 32, 32)`` thumbnails (int32): (prediction,
    gradient class) of every pixel. The first row is predicted by its left neighbour, the first
    column by its upper one, the first pixel by 128; the last column's upper-right neighbour is
    its upper one."""
    pred = np.empty_like(t)
    right = np.concatenate([t, t[:, :, -1:]], axis=2)
    a, b, c, d = t[:, 1:, :-1], t[:, :-1, 1:], t[:, :-1, :-1], right[:, :-1, 2:]
    hi, lo = np.maximum(a, b), np.minimum(a, b)
    pred[:, 1:, 1:] = np.where(c >= hi, lo, np.where(c <= lo, hi, a + b - c))
    pred[:, 0, 1:], pred[:, 1:, 0], pred[:, 0, 0] = t[:, 0, :-1], t[:, :-1, 0], 128
    gradient = np.full_like(t, _EDGE)
    gradient[:, 1:, 1:] = np.abs(a - c) + np.abs(b - c) + np.abs(d - b)
    return pred, _CLASS_OF[gradient]


def _code_bits() -> np.ndarray:
    """``[u, k]``: the bits of zig-zagged residual ``u``'s code with Rice parameter ``k``."""
    q = np.arange(256)[:, None] >> np.arange(_MAX_K + 1)[None, :]
    return np.where(q < RICE_ESCAPE, q + 1 + np.arange(_MAX_K + 1), RICE_ESCAPE + 1 + 8)


_CODE_BITS = _code_bits()


def pack_thumbnails(thumbs: np.ndarray) -> list[bytes]:
    """Version 3's coding of ``(n, 32, 32)`` uint8 thumbnails, all at once (numpy across them).

    Each pixel less its MED prediction (mod 256, zig-zagged: 0, -1, 1, … as 0, 1, 2, …) is Rice
    coded with the parameter k that makes its gradient class's codes shortest in this thumbnail
    (three bytes: a nibble per class). In diagonal order (:data:`_ORDER`): every quotient in
    unary first (decodable at once, before any k is known), then the remainders (k bits each; a
    quotient of :data:`RICE_ESCAPE` ones is followed by the residual in 8 bits)."""
    stack = np.asarray(thumbs, np.uint8).reshape(-1, THUMB_SIDE, THUMB_SIDE)
    return [
        packed
        for at in range(0, len(stack), _ENCODE_CHUNK)
        for packed in _pack_chunk(stack[at : at + _ENCODE_CHUNK])
    ]


#: Thumbnails coded together at most: their working arrays (a few MB) stay small enough not to
#: cost more in page faults than the batch saves.
_ENCODE_CHUNK = 64


def _pack_chunk(stack: np.ndarray) -> list[bytes]:
    t = stack.astype(np.int32)
    n = len(t)
    pred, classes = _med(t)
    signed = ((t - pred + 128) & 255) - 128
    u = np.where(signed >= 0, 2 * signed, -2 * signed - 1).reshape(n, -1)[:, _ORDER]
    classes = classes.reshape(n, -1)[:, _ORDER].astype(np.int64)
    # Bits each parameter costs each class of each thumbnail (its residuals' histogram times each
    # code's length); the smallest k of the cheapest.
    slot = (np.arange(n)[:, None] * _CLASSES + classes) * 256 + u
    histogram = np.bincount(slot.ravel(), minlength=n * _CLASSES * 256).reshape(-1, 256)
    ks = (histogram @ _CODE_BITS).argmin(axis=1).reshape(n, _CLASSES)
    k = np.take_along_axis(ks, classes, axis=1)
    q = np.minimum(u >> k, RICE_ESCAPE)
    escaped = q >= RICE_ESCAPE
    widths = np.where(escaped, 8, k)
    values = np.where(escaped, u, u & ((1 << k) - 1))
    unary = (q + 1).sum(axis=1)
    length = unary + widths.sum(axis=1)
    nbytes = (length + 7) // 8
    start = np.concatenate([[0], np.cumsum(nbytes * 8)[:-1]])
    bits = np.zeros(int(nbytes.sum()) * 8, np.uint8)
    # the unary quotients: ones, each ended by a zero
    ones = np.zeros(bits.size + 1, np.int8)
    ones[start] = 1  # each row's unary codes start on a byte of their own
    ones[start + unary] -= 1
    bits[:] = np.cumsum(ones[:-1], dtype=np.int8)
    bits[(start[:, None] + np.cumsum(q + 1, axis=1) - 1).ravel()] = 0
    # the remainders, most significant bit first
    ends = start[:, None] + unary[:, None] + np.cumsum(widths, axis=1)
    for bit in range(8):
        has = widths > bit
        bits[ends[has] - 1 - bit] = (values[has] >> bit) & 1
    packed = np.packbits(bits)
    offsets = np.concatenate([[0], np.cumsum(nbytes)])
    header = (ks[:, 0::2] | ks[:, 1::2] << 4).astype(np.uint8)
    return [header[r].tobytes() + packed[offsets[r] : offsets[r + 1]].tobytes() for r in range(n)]


def unpack_thumbnails(packed: list[bytes]) -> np.ndarray:
    """``(n, 32, 32)`` uint8: the thumbnails of version-3 codings (:func:`pack_thumbnails`), all at
    once: each of the 94 diagonal steps decodes its pixels of every thumbnail with a few numpy
    operations, so the interpreter's cost is paid once a step for the whole batch. A stream this
    encoder did not write decodes as a flat thumbnail (it then agrees with nothing)."""
    out = np.zeros((len(packed), THUMB_SIDE, THUMB_SIDE), np.uint8)
    for at in range(0, len(packed), _DECODE_CHUNK):
        out[at : at + _DECODE_CHUNK] = _unpack_chunk(packed[at : at + _DECODE_CHUNK])
    return out


#: Thumbnails decoded together at most (about 60 MB of working arrays).
_DECODE_CHUNK = 2048
_WIDTH = THUMB_SIDE + 2  # a decoded thumbnail's row, between a column of 128s and a copied one


def _unpack_chunk(packed: list[bytes]) -> np.ndarray:
    n = len(packed)
    if n == 0:
        return np.zeros((0, THUMB_SIDE, THUMB_SIDE), np.uint8)
    pixels = THUMB_SIDE * THUMB_SIDE
    sizes = np.array([max(len(b) - _K_BYTES, 0) for b in packed])
    width = int(sizes.max()) + 2
    # Each payload, then ones (no quotient ends there), then 1,024 zeros: every row has 1,024
    # quotient ends; those past its payload mark a stream this encoder did not write.
    raw = np.full((n, width + pixels // 8), 255, np.uint8)
    raw[:, width:] = 0
    heads = np.zeros((n, _K_BYTES), np.uint8)
    for r, blob in enumerate(packed):
        if len(blob) > _K_BYTES:
            heads[r] = np.frombuffer(blob, np.uint8, count=_K_BYTES)
            raw[r, : sizes[r]] = np.frombuffer(blob, np.uint8, offset=_K_BYTES)
    ks = np.empty((n, _CLASSES), np.int16)
    ks[:, 0::2], ks[:, 1::2] = heads & 15, heads >> 4
    ok = (sizes > 0) & (ks <= _MAX_K).all(axis=1)
    # The quotients: the first 1,024 zero bits of each stream end them. Only the bytes up to the
    # one where every stream has had its 1,024th zero are searched.
    zeros_to = np.cumsum(_ZERO_BITS[raw], axis=1, dtype=np.int16)
    reach = int((zeros_to < pixels).sum(axis=1).max()) + 1
    found = np.flatnonzero(np.unpackbits(~raw[:, :reach]))  # the zero bits, stream after stream
    first = np.concatenate([[0], np.cumsum(zeros_to[:, reach - 1], dtype=np.intp)[:-1]])
    span = np.arange(n, dtype=np.intp)[:, None] * (reach * 8)
    ends = (found[first[:, None] + np.arange(pixels)] - span).T  # (1024, n): each quotient's end
    quotients = np.diff(ends, axis=0, prepend=-1).astype(np.int16) - 1
    # An escape reads 8 bits with no quotient: as a Rice code with k = 8 and a quotient of 0.
    escape_k = np.where(quotients >= RICE_ESCAPE, 8, 0).astype(np.int16)
    quotients[escape_k > 0] = 0
    ok &= ends[-1] < sizes * 8
    # pairs[b, r]: bytes b and b + 1 of stream r (the remainders are read from them)
    data = raw.T.astype(np.int32)
    pairs = ((data[:-1] << 8) | data[1:]).ravel()
    last = (sizes * 8).astype(np.int32)  # a damaged stream reads no further
    column = np.arange(n, dtype=np.intp)
    position = (ends[-1] + 1).astype(np.int32)  # the remainders start after the quotients
    # k_of[g, r]: stream r's Rice parameter for a pixel of gradient g (edge pixels: g + _EDGE)
    k_of = np.where(ok[:, None], ks, 0).T[_CLASS_OF].reshape(-1)
    # Pixel-major (each pixel of every thumbnail side by side): a step's operations read rows.
    image = np.full(((THUMB_SIDE + 1) * _WIDTH, n), 128, np.int16)
    done, stride = 0, _WIDTH - 2
    for (t, lo, hi), edge in zip(_STEPS, _STEP_EDGES):
        first = _WIDTH + 1 + t + stride * lo
        stop = first + stride * (hi - lo) + 1
        a = image[first - 1 : stop - 1 : stride]
        b = image[first - _WIDTH : stop - _WIDTH : stride]
        c = image[first - _WIDTH - 1 : stop - _WIDTH - 1 : stride]
        d = image[first - _WIDTH + 1 : stop - _WIDTH + 1 : stride]
        g = np.abs(a - c) + np.abs(b - c) + np.abs(d - b) + edge
        k = k_of[g.astype(np.intp) * n + column]
        k = np.maximum(k, escape_k[done : done + hi - lo + 1])
        q = quotients[done : done + hi - lo + 1]
        done += hi - lo + 1
        ends = np.cumsum(k, axis=0, dtype=np.int32)
        bit = np.minimum(position + ends - k, last)
        byte = (pairs[(bit >> 3) * n + column] >> (8 - (bit & 7))) & 255
        u = (q << k) | (byte >> (8 - k))  # < 4,096
        position += ends[-1]
        high, low = np.maximum(a, b), np.minimum(a, b)
        pred = np.where(c >= high, low, np.where(c <= low, high, a + b - c))
        image[first:stop:stride] = (pred + ((u >> 1) ^ -(u & 1))) & 255  # zig-zag undone
        if t - 2 * lo == THUMB_SIDE - 1:  # the last column: its copy is the next row's d
            image[(lo + 2) * _WIDTH - 1] = image[(lo + 2) * _WIDTH - 2]
    ok &= position <= last
    image[:, ~ok] = 0
    grid = image.T.reshape(n, THUMB_SIDE + 1, _WIDTH)[:, 1:, 1 : THUMB_SIDE + 1]
    return grid.astype(np.uint8)


#: Zero bits in each byte value.
_ZERO_BITS = np.array([8 - bin(v).count("1") for v in range(256)], np.int16)


def _step_edges() -> list[np.ndarray]:
    """For each step, what its pixels add to their gradient: :data:`_EDGE` in the first row and
    column (the last class), 0 elsewhere."""
    edges = []
    for t, lo, hi in _STEPS:
        i = np.arange(lo, hi + 1)
        edges.append(np.where((i == 0) | (t - 2 * i == 0), _EDGE, 0).astype(np.int16)[:, None])
    return edges


_STEP_EDGES = _step_edges()


def _hash_and_layout(view: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dct = view[:_DCT_BYTES].view(">u8").astype(np.uint64)
    layout = view[_DCT_BYTES : _DCT_BYTES + _LAYOUT_BYTES].reshape(LAYOUT_SIDE, LAYOUT_SIDE, 3)
    return dct, layout


def compact(blob: bytes) -> bytes | None:
    """A stored signature as version 3 (a version-1 or -2 blob rewritten, exactly what
    :func:`compute` stores for the same photo; a version-3 blob unchanged); None for a blob no
    version reads."""
    return compact_many([blob])[0]


def compact_many(blobs: list[bytes]) -> list[bytes | None]:
    """:func:`compact` of many blobs, their thumbnails decoded and coded again all together (the
    data upgrade ``context_rice_signatures``: numpy across the batch)."""
    sigs = [Signature.from_bytes(b) if b else None for b in blobs]
    todo = [i for i, s in enumerate(sigs) if s is not None and blobs[i][0] != VERSION]
    decode_thumbnails(sigs[i] for i in todo)
    packed = pack_thumbnails(np.stack([sigs[i].thumb for i in todo])) if todo else []  # type: ignore[union-attr]
    out: list[bytes | None] = [bytes(b) if s is not None else None for b, s in zip(blobs, sigs)]
    for i, thumb in zip(todo, packed):
        out[i] = bytes([VERSION]) + bytes(blobs[i][1:HEADER]) + thumb
    return out


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


def legacy_bytes(image: Image.Image, version: int = 1) -> bytes:
    """The blob an earlier culler stored: version 1 before the compact catalog (1,105 bytes: the
    thumbnail in 8-bit grey), version 2 before version 3 (the thumbnail deflated): what tests and
    benchmarks build older catalogs from."""
    dct, layout, thumb = _reduced(image)
    packed = thumb.tobytes() if version == 1 else _pack(thumb)
    return bytes([version]) + dct.astype(">u8").tobytes() + layout.tobytes() + packed


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
