"""Signature codecs: the smallest near-duplicate signature whose evidence decides as well (issue #32).

The signature's 32×32 grey thumbnail is most of its bytes (version 2: lossless, about 680–780 of
760–870). Each candidate codec below stores the thumbnail in fewer bytes and decodes it back to the
32×32 the pixel evidence compares. For each it prints, on 45 real photographs
(``benchmarks/technical_calibration.py``) and on the 800 real-photo crops of
``benchmarks/grouping_scale.py``:

* bytes a thumbnail (mean, max) and a whole signature;
* self-agreement: a photo's (tone, detail) against its own coded copy (1.0, 1.0 is lossless), lowest;
* every real same-picture pair (a photo and its brightened copy, its 4 %-a-side crop and its
  half-size JPEG q75 export, all coded): lowest (tone, detail) before -> after and the margin to the
  STRICT and NEAR thresholds; how many pairs change verdict;
* every pair of different real photos: highest (tone, detail) before -> after and how many pairs'
  verdicts change under NEAR and STRICT (``grouping.signature_match``).

    python benchmarks/signature_codec.py                  # every candidate, the tables above
    python benchmarks/signature_codec.py --only dct1 --every  # every pair, before -> after
    python benchmarks/signature_codec.py --grouping dct2  # grouping_scale.py with candidate dct2's
                                                          # thumbnails (--photos/--copies pass on)

Thresholds are those of culler.decide.grouping (NEAR, STRICT): measured, never moved here.

``--lossless`` measures the codings that keep every pixel (``LOSSLESS``: each with its decoder, so
its evidence is version 2's exactly): that each decodes all 45 real thumbnails, the 800 crops and
eleven edge cases (flat, 0/255 extremes, noise, gradients) to the same 1,024 values; bytes a
thumbnail; encode and decode CPU a thumbnail (best of three passes); what the extra decode CPU
comes to for the decodes a grouping does (counted: ``--count-photos N`` runs grouping_scale.py at
N photos, ``--archive DB`` the 2,000-photo shoot of archive_scale.py on a copy of its catalog);
the context coder decoded in batches, and version 3 as stored (one at a time and in batches); and whether the 32-byte hash or the 48-byte colour layout
could be stored smaller (goal 3 of the coding work):

    python benchmarks/signature_codec.py --lossless --count-photos 20000 \
        --archive /tmp/culler-archive/archive-100000.db            # ~4 minutes on 2 shared cores
"""

from __future__ import annotations

import argparse
import io
import itertools
import lzma
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

sys.path.insert(0, str(Path(__file__).parent))

from culler.decide.grouping import NEAR, STRICT, signature_match  # noqa: E402
from culler.imaging import signatures as S  # noqa: E402
from culler.imaging.signatures import Signature, pixel_agreement  # noqa: E402

SIDE = S.THUMB_SIDE


# -- candidate codecs: thumb (32×32 uint8) -> bytes -> thumb ----------------------------------------


def _deflate(raw: bytes) -> bytes:
    enc = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_RLE)
    return enc.compress(raw) + enc.flush()


def lossless(thumb: np.ndarray) -> tuple[int, np.ndarray]:
    """Version 2 as stored today."""
    return len(S._pack(thumb)), thumb


_D = S._dct_matrix(SIDE)  # the orthonormal DCT-II the signature's hash uses
_ZIGZAG = sorted(((u, v) for u in range(SIDE) for v in range(SIDE)), key=lambda p: (p[0] + p[1], p))
_ZZ_INDEX = np.array([u * SIDE + v for u, v in _ZIGZAG])


def dct_codec(step: float, slope: float = 0.0, keep: int = SIDE * SIDE):
    """JPEG-like: orthonormal 2-D DCT, coefficient (u, v) divided by ``step * (1 + slope*(u+v))``
    and rounded, the first ``keep`` in zig-zag order kept, trailing zeros dropped, the rest as
    zig-zag varints deflated; decoded by the inverse DCT, rounded and clipped to 0–255."""
    u = np.add.outer(np.arange(SIDE), np.arange(SIDE))
    q = step * (1.0 + slope * u)

    def codec(thumb: np.ndarray) -> tuple[int, np.ndarray]:
        coefs = _D @ (thumb.astype(np.float64) - 128.0) @ _D.T
        levels = np.rint(coefs / q).astype(np.int64).ravel()[_ZZ_INDEX]
        levels[keep:] = 0
        nz = np.flatnonzero(levels)
        levels = levels[: (nz[-1] + 1) if nz.size else 0]
        zz = np.where(levels >= 0, 2 * levels, -2 * levels - 1)
        out = bytearray()
        for v in zz.tolist():
            while v >= 0x80:
                out.append((v & 0x7F) | 0x80)
                v >>= 7
            out.append(v)
        size = min(len(_deflate(bytes(out))), len(out)) + 1
        full = np.zeros(SIDE * SIDE)
        full[_ZZ_INDEX[: levels.size]] = levels
        coded = full.reshape(SIDE, SIDE) * q
        back = _D.T @ coded @ _D + 128.0
        return size, np.clip(np.rint(back), 0, 255).astype(np.uint8)

    return codec


def smaller(side: int):
    """A ``side``×``side`` thumbnail (box-reduced from the 32×32; stored as v2 stores its own),
    resampled back to 32×32 (bilinear) for the evidence."""

    def codec(thumb: np.ndarray) -> tuple[int, np.ndarray]:
        small = Image.fromarray(thumb).resize((side, side), Image.Resampling.BOX)
        d = np.asarray(small, np.uint8).copy()
        t = d.copy()
        d[1:] -= t[:-1]
        d[:, 1:] -= d[:, :-1].copy()
        size = len(_deflate(d.tobytes()))
        back = np.asarray(small.resize((SIDE, SIDE), Image.Resampling.BILINEAR), np.uint8)
        return size, back

    return codec


def shaped(bits: int):
    """Noise-shaped quantisation: Floyd–Steinberg error diffusion to ``bits`` bits over the
    thumbnail's own range, stored as v2 stores the thumbnail (differences, DEFLATE), decoded back to
    0–255 (the range in two bytes)."""
    levels = (1 << bits) - 1

    def codec(thumb: np.ndarray) -> tuple[int, np.ndarray]:
        t = thumb.astype(np.float64)
        lo, hi = float(t.min()), float(t.max())
        span = max(hi - lo, 1.0)
        x = (t - lo) / span * levels
        out = np.zeros_like(x, dtype=np.int64)
        for i in range(SIDE):
            for j in range(SIDE):
                v = int(np.clip(np.rint(x[i, j]), 0, levels))
                out[i, j] = v
                err = x[i, j] - v
                if j + 1 < SIDE:
                    x[i, j + 1] += err * 7 / 16
                if i + 1 < SIDE:
                    if j > 0:
                        x[i + 1, j - 1] += err * 3 / 16
                    x[i + 1, j] += err * 5 / 16
                    if j + 1 < SIDE:
                        x[i + 1, j + 1] += err * 1 / 16
        d = out.astype(np.uint8)
        t8 = d.copy()
        d[1:] -= t8[:-1]
        d[:, 1:] -= d[:, :-1].copy()
        size = len(_deflate(d.tobytes())) + 2
        back = np.clip(np.rint(lo + out / levels * span), 0, 255).astype(np.uint8)
        return size, back

    return codec


def uniform(bits: int):
    """Plain quantisation to ``bits`` bits over the thumbnail's range (what issue-32-compact tried)."""
    levels = (1 << bits) - 1

    def codec(thumb: np.ndarray) -> tuple[int, np.ndarray]:
        t = thumb.astype(np.float64)
        lo, hi = float(t.min()), float(t.max())
        span = max(hi - lo, 1.0)
        out = np.rint((t - lo) / span * levels).astype(np.int64)
        d = out.astype(np.uint8)
        t8 = d.copy()
        d[1:] -= t8[:-1]
        d[:, 1:] -= d[:, :-1].copy()
        size = len(_deflate(d.tobytes())) + 2
        return size, np.clip(np.rint(lo + out / levels * span), 0, 255).astype(np.uint8)

    return codec


CANDIDATES = {
    "v2-lossless": lossless,
    "dct0.5": dct_codec(0.5),
    "dct1": dct_codec(1.0),
    "dct2": dct_codec(2.0),
    "dct4": dct_codec(4.0),
    "dct1-sloped": dct_codec(1.0, slope=0.1),
    "dct2-sloped": dct_codec(2.0, slope=0.1),
    "dct1-keep512": dct_codec(1.0, keep=512),
    "uniform6": uniform(6),
    "shaped6": shaped(6),
    "shaped5": shaped(5),
    "24x24": smaller(24),
    "16x16": smaller(16),
}


# -- lossless codings, each with its decoder: the evidence is version 2's exactly --------------------
#
# Each is (encode: thumb -> bytes, decode: bytes -> thumb). ``--lossless`` checks every one decodes
# every thumbnail (45 real photos, 800 real crops, flat/noise/gradient/extreme cases) to the same
# 1,024 values and times both directions.

#: LZMA1 without a container: no literal context bits (residuals are nearly independent), a 4 KiB
#: window (the minimum; a thumbnail is 1,024 bytes).
_LZMA_DECODE = [{"id": lzma.FILTER_LZMA1, "lc": 0, "lp": 0, "pb": 0, "dict_size": 4096}]
_LZMA_ENCODE = [_LZMA_DECODE[0] | {"preset": 9 | lzma.PRESET_EXTREME}]


def _lzma_raw(raw: bytes) -> bytes:
    """Raw LZMA1 of ``raw``, its last bytes dropped while the decoder still gives ``raw`` back (the
    end-of-stream marker and the range coder's flush: 6 bytes a thumbnail on average)."""
    packed = lzma.compress(raw, format=lzma.FORMAT_RAW, filters=_LZMA_ENCODE)
    n = len(packed)
    while n > 0 and _unlzma(packed[: n - 1]) == raw:
        n -= 1
    return packed[:n]


def _unlzma(packed: bytes) -> bytes:
    try:
        return lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=_LZMA_DECODE).decompress(
            packed, max_length=SIDE * SIDE
        )
    except lzma.LZMAError:
        return b""


def _zigzag(signed: np.ndarray) -> np.ndarray:
    """Residuals mod 256 as 0, -1, 1, -2, … -> 0, 1, 2, 3, …"""
    s = ((signed + 128) & 255) - 128
    return np.where(s >= 0, 2 * s, -2 * s - 1).astype(np.uint8)


#: zig-zag code -> residual
_UNZIGZAG = [(u >> 1) if not u & 1 else -((u + 1) >> 1) for u in range(256)]


def med_residuals(thumb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LOCO-I's median edge detector over the thumbnail in raster order (the first row predicted
    by its left neighbour, the first column by its upper one, the first pixel by 128): zig-zagged
    residuals, and each pixel's gradient context |a-c| + |b-c| + |d-b| (765 on the edges)."""
    t = thumb.astype(np.int32)
    pred = np.empty_like(t)
    right = np.pad(t, ((0, 0), (0, 1)), mode="edge")
    a, b, c, d = t[1:, :-1], t[:-1, 1:], t[:-1, :-1], right[:-1, 2:]
    hi, lo = np.maximum(a, b), np.minimum(a, b)
    pred[1:, 1:] = np.where(c >= hi, lo, np.where(c <= lo, hi, a + b - c))
    pred[0, 1:], pred[1:, 0], pred[0, 0] = t[0, :-1], t[:-1, 0], 128
    gradient = np.full_like(t, 765)
    gradient[1:, 1:] = np.abs(a - c) + np.abs(b - c) + np.abs(d - b)
    return _zigzag(t - pred).ravel(), gradient.ravel()


def _med_undo(residuals: list[int]) -> np.ndarray:
    """The thumbnail from its MED residuals (raster order), pixel by pixel: each prediction needs
    the pixel just decoded, so this loop is Python's (the fastest form measured)."""
    out = [0] * (SIDE * SIDE)
    x = out[0] = (128 + residuals[0]) & 255
    for j in range(1, SIDE):
        x = out[j] = (x + residuals[j]) & 255
    for i in range(SIDE, SIDE * SIDE, SIDE):
        b = out[i - SIDE]
        a = out[i] = (b + residuals[i]) & 255
        c = b
        for j in range(i + 1, i + SIDE):
            b = out[j - SIDE]
            if c >= a:
                p = (a if a < b else b) if c >= b else a + b - c
            else:
                p = (a if a > b else b) if c <= b else a + b - c
            a = out[j] = (p + residuals[j]) & 255
            c = b
    return np.array(out, np.uint8).reshape(SIDE, SIDE)


def med_lzma_encode(thumb: np.ndarray) -> bytes:
    return _lzma_raw(med_residuals(thumb)[0].tobytes())


def med_lzma_decode(packed: bytes) -> np.ndarray:
    raw = _unlzma(packed)
    if len(raw) != SIDE * SIDE:
        return np.zeros((SIDE, SIDE), np.uint8)
    return _med_undo([_UNZIGZAG[u] for u in raw])


def planar_lzma_encode(thumb: np.ndarray) -> bytes:
    t = np.ascontiguousarray(thumb, dtype=np.uint8)
    d = t.copy()
    d[1:] -= t[:-1]
    d[:, 1:] -= d[:, :-1].copy()
    return _lzma_raw(d.tobytes())


def planar_lzma_decode(packed: bytes) -> np.ndarray:
    raw = _unlzma(packed)
    if len(raw) != SIDE * SIDE:
        return np.zeros((SIDE, SIDE), np.uint8)
    d = np.frombuffer(raw, np.uint8).reshape(SIDE, SIDE)
    return np.cumsum(np.cumsum(d, axis=1, dtype=np.uint8), axis=0, dtype=np.uint8)


#: Gradient classes of the context Rice coder (upper bounds of the first five; 765 is the edges').
RICE_CLASSES = (3, 7, 14, 28, 60)
#: A quotient of this many ones is an escape: the residual follows in 8 bits.
RICE_ESCAPE = 16
_RICE_CLASS = [sum(g > t for t in RICE_CLASSES) for g in range(766)]
_BITS8 = (1 << np.arange(7, -1, -1)).astype(np.int64)


def _rice_bits(u: np.ndarray, k: int) -> int:
    q = u.astype(np.int64) >> k
    return int(np.where(q < RICE_ESCAPE, q + 1 + k, RICE_ESCAPE + 1 + 8).sum())


def med_rice_encode(thumb: np.ndarray) -> bytes:
    """MED residuals, Rice codes with the best parameter k of each of six gradient classes (three
    bytes: a nibble each); every quotient in unary first, in raster order (decodable at once, with no
    k known), then the remainders (k bits each, 8 for an escape)."""
    u, gradient = med_residuals(thumb)
    classes = np.searchsorted(RICE_CLASSES, gradient, side="left")
    ks = [
        min(range(8), key=lambda k, uc=u[classes == c]: _rice_bits(uc, k))
        if (classes == c).any()
        else 0
        for c in range(len(RICE_CLASSES) + 1)
    ]
    k = np.array(ks)[classes]
    q = np.minimum(u.astype(np.int64) >> k, RICE_ESCAPE)
    escaped = q >= RICE_ESCAPE
    unary = np.ones(int((q + 1).sum()), np.uint8)
    unary[np.cumsum(q + 1) - 1] = 0
    widths = np.where(escaped, 8, k)
    values = np.where(escaped, u, u & ((1 << k) - 1))
    rest = np.zeros(int(widths.sum()), np.uint8)
    ends = np.cumsum(widths)
    for bit in range(8):
        has = widths > bit
        rest[ends[has] - 1 - bit] = (values[has] >> bit) & 1
    header = bytes([ks[0] | ks[1] << 4, ks[2] | ks[3] << 4, ks[4] | ks[5] << 4])
    return header + np.packbits(np.concatenate([unary, rest])).tobytes()


def med_rice_decode(packed: bytes) -> np.ndarray:
    if len(packed) < 4:
        return np.zeros((SIDE, SIDE), np.uint8)
    ks = [packed[i // 2] >> (4 * (i % 2)) & 15 for i in range(6)]
    k_of = [min(ks[c], 8) for c in _RICE_CLASS]
    bits = np.unpackbits(np.frombuffer(packed, np.uint8, offset=3))
    zeros = np.flatnonzero(bits == 0)[: SIDE * SIDE]
    if zeros.size < SIDE * SIDE:
        return np.zeros((SIDE, SIDE), np.uint8)
    quotients = (np.diff(zeros, prepend=-1) - 1).tolist()
    rest = np.concatenate([bits[zeros[-1] + 1 :], np.zeros(8, np.uint8)])
    byte_at = (np.lib.stride_tricks.sliding_window_view(rest, 8) @ _BITS8).tolist()
    # MED as _med_undo, each residual read with the Rice parameter of its gradient class (inlined:
    # a call a pixel costs a third more)
    out = [0] * (SIDE * SIDE)
    pos = 0
    for n in range(SIDE * SIDE):
        i, j = divmod(n, SIDE)
        if i and j:
            a, b, c = out[n - 1], out[n - SIDE], out[n - SIDE - 1]
            d = out[n - SIDE + 1] if j + 1 < SIDE else b
            g = abs(a - c) + abs(b - c) + abs(d - b)
            if c >= a:
                p = (a if a < b else b) if c >= b else a + b - c
            else:
                p = (a if a > b else b) if c <= b else a + b - c
        else:
            g, p = 765, (out[n - 1] if j else out[n - SIDE]) if n else 128
        q = quotients[n]
        if pos >= len(byte_at):  # the remainders ran out: not a stream this encoder wrote
            return np.zeros((SIDE, SIDE), np.uint8)
        if q < RICE_ESCAPE:
            k = k_of[g]
            u = (q << k) | (byte_at[pos] >> (8 - k))
            pos += k
        else:
            u = byte_at[pos]
            pos += 8
        out[n] = (p + _UNZIGZAG[u]) & 255
    return np.array(out, np.uint8).reshape(SIDE, SIDE)


_RICE_CLASS_ARRAY = np.array(_RICE_CLASS, np.int64)
_UNZIGZAG_ARRAY = np.array(_UNZIGZAG, np.int64)


def med_rice_decode_batch(packed: list[bytes]) -> np.ndarray:
    """``med_rice_decode`` of many thumbnails at once, ``(n, 32, 32)``: the same pixel-by-pixel
    order, but each step decodes that pixel of every thumbnail with numpy, so the interpreter's
    cost is paid once a pixel for the whole batch instead of once a pixel a thumbnail (what a
    grouping that knew its candidate pairs' photos before comparing them could call once)."""
    n = len(packed)
    ks = np.zeros((n, len(RICE_CLASSES) + 1), np.int64)
    quotients = np.zeros((n, SIDE * SIDE), np.int64)
    starts = np.zeros(n, np.int32)  # bit where each stream's remainders start
    ok = np.ones(n, bool)
    width = max(len(blob) for blob in packed) + 2
    payload = np.zeros((n, width), np.int32)
    for row, blob in enumerate(packed):
        data = np.frombuffer(blob, np.uint8, offset=min(3, len(blob)))
        zeros = np.flatnonzero(np.unpackbits(data) == 0)[: SIDE * SIDE]
        if len(blob) < 4 or zeros.size < SIDE * SIDE:
            ok[row] = False
            continue
        ks[row] = [min(blob[i // 2] >> (4 * (i % 2)) & 15, 8) for i in range(6)]
        quotients[row] = np.diff(zeros, prepend=-1) - 1
        starts[row] = zeros[-1] + 1
        payload[row, : data.size] = data
    last = (width - 2) * 8  # a damaged stream stops here (then: flat)
    payload_flat = payload.ravel()
    row_start = np.arange(n, dtype=np.int32) * width
    classes = len(RICE_CLASSES) + 1
    k_flat = ks.astype(np.int32).ravel()
    k_row = np.arange(n, dtype=np.int32) * classes
    class_of = _RICE_CLASS_ARRAY.astype(np.int32)
    unzigzag = _UNZIGZAG_ARRAY.astype(np.int32)
    q_by_pixel = np.ascontiguousarray(quotients.T, dtype=np.int32)
    out = np.zeros((SIDE * SIDE, n), np.int32)  # pixel-major: each step reads whole rows
    pos = np.zeros(n, np.int32)
    edge_k = ks[:, classes - 1].astype(np.int32)
    for p_ in range(SIDE * SIDE):
        i, j = divmod(p_, SIDE)
        if i and j:
            a, b, c = out[p_ - 1], out[p_ - SIDE], out[p_ - SIDE - 1]
            d = out[p_ - SIDE + 1] if j + 1 < SIDE else b
            g = np.abs(a - c) + np.abs(b - c) + np.abs(d - b)
            k = k_flat[k_row + class_of[g]]
            hi, lo = np.maximum(a, b), np.minimum(a, b)
            pred = np.where(c >= hi, lo, np.where(c <= lo, hi, a + b - c))
        else:
            k = edge_k
            pred = (out[p_ - 1] if j else out[p_ - SIDE]) if p_ else 128
        q = q_by_pixel[p_]
        escaped = q >= RICE_ESCAPE
        bit = np.minimum(starts + pos, last)
        at = row_start + (bit >> 3)
        byte = ((payload_flat[at] << 8 | payload_flat[at + 1]) >> (8 - (bit & 7))) & 255
        u = np.where(escaped, byte, (q << k) | (byte >> (8 - k)))
        pos += np.where(escaped, 8, k)
        out[p_] = (pred + unzigzag[u]) & 255
    out[:, ~ok | (starts + pos > last)] = 0
    return np.ascontiguousarray(out.T).astype(np.uint8).reshape(n, SIDE, SIDE)


def webp_encode(thumb: np.ndarray) -> bytes:
    """WebP lossless (libwebp's slowest, smallest method), its 20-byte RIFF/VP8L header dropped."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(thumb, np.uint8)).save(
        buffer, "WEBP", lossless=True, quality=100, method=6
    )
    data = buffer.getvalue()
    assert data[12:16] == b"VP8L", data[12:16]
    return data[20:]


def webp_decode(packed: bytes) -> np.ndarray:
    body = packed + (b"\0" if len(packed) % 2 else b"")
    riff = b"RIFF" + (12 + len(body)).to_bytes(4, "little") + b"WEBPVP8L"
    data = riff + len(packed).to_bytes(4, "little") + body
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"), np.uint8)


def v3_encode(thumb: np.ndarray) -> bytes:
    return S.pack_thumbnails(thumb[None])[0]


def v3_decode(packed: bytes) -> np.ndarray:
    return S.unpack_thumbnails([packed])[0]


LOSSLESS = {
    "v2: planar + DEFLATE (stored before version 3)": (S._pack, S._unpack),
    "planar + LZMA": (planar_lzma_encode, planar_lzma_decode),
    "MED + LZMA": (med_lzma_encode, med_lzma_decode),
    "MED + Rice, 6 gradient contexts": (med_rice_encode, med_rice_decode),
    "WebP lossless, headerless": (webp_encode, webp_decode),
    "v3: MED + Rice, 6 contexts, along diagonals (as stored), one at a time": (
        v3_encode,
        v3_decode,
    ),
}


# -- measuring -------------------------------------------------------------------------------------


def coded(sig: Signature, codec) -> tuple[int, Signature]:
    size, thumb = codec(np.ascontiguousarray(sig.thumb, np.uint8))
    return size, Signature(sig.dct, sig.layout, thumb)


def export_of(image: Image.Image) -> Image.Image:
    small = image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=75)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


EDITS = ("original", "brightened", "cropped", "exported")
NAMES: list[str] = []
#: ``--every``: print every pair's agreement before -> after, not only the changed verdicts.
EVERY = False


def _pair_line(what: str, before: tuple[float, float], after: tuple[float, float]) -> str:
    margins = " ".join(
        f"{label} {min(after[0] - rule.tone, after[1] - rule.detail):+.4f}"
        for rule, label in ((STRICT, "STRICT"), (NEAR, "NEAR"))
    )
    return (
        f"{what} (tone, detail) {before[0]:.4f}, {before[1]:.4f} -> {after[0]:.4f}, {after[1]:.4f};"
        f" margin after: {margins}"
    )


def real_sets() -> tuple[list[Signature], list[list[Signature]], list[Signature]]:
    """Signatures of the 45 real photos, of their edits (brightened, cropped 4 % a side, exported),
    and of grouping_scale's 800 real-photo crops."""
    import random

    from grouping_scale import base_images, crops
    from technical_calibration import real_photos

    with tempfile.TemporaryDirectory() as tmp:
        named = real_photos(Path(tmp))
    NAMES[:] = [name for name, _ in named]
    photos = [im for _, im in named]
    originals, edits = [], []
    for image in photos:
        w, h = image.size
        originals.append(S.compute(image))
        edits.append(
            [
                S.compute(ImageEnhance.Brightness(image).enhance(1.2)),
                S.compute(image.crop((w // 25, h // 25, w - w // 25, h - h // 25))),
                S.compute(export_of(image)),
            ]
        )
    crop_sigs = [S.compute(c) for c in crops(base_images(), 800, random.Random(0))]
    return originals, edits, crop_sigs


def verdicts(a: Signature, b: Signature) -> tuple[bool, bool]:
    return signature_match(a, b, NEAR), signature_match(a, b, STRICT)


def measure(name: str, codec, originals, edits, crop_sigs) -> None:
    sizes = [coded(s, codec)[0] for s in originals]
    crop_sizes = [coded(s, codec)[0] for s in crop_sigs]
    c_orig = [coded(s, codec)[1] for s in originals]
    c_edits = [[coded(s, codec)[1] for s in e] for e in edits]
    selfs = [pixel_agreement(s, c) for s, c in zip(originals, c_orig, strict=True)]
    # same-picture pairs: original with each edit, and the edits among themselves
    same_before, same_after, same_flips, changed = [], [], 0, []
    for k, (o, co, e, ce) in enumerate(zip(originals, c_orig, edits, c_edits, strict=True)):
        group, cgroup = [o, *e], [co, *ce]
        for i, j in itertools.combinations(range(len(group)), 2):
            same_before.append(pixel_agreement(group[i], group[j]))
            same_after.append(pixel_agreement(cgroup[i], cgroup[j]))
            before, after = verdicts(group[i], group[j]), verdicts(cgroup[i], cgroup[j])
            if EVERY:
                what = f"same {NAMES[k] if NAMES else k}: {EDITS[i]}/{EDITS[j]}"
                print("   ", _pair_line(what, same_before[-1], same_after[-1]))
            if before != after:
                same_flips += 1
                changed.append(
                    f"{NAMES[k] if NAMES else k}: {EDITS[i]}/{EDITS[j]} (tone, detail)"
                    f" {same_before[-1][0]:.4f}, {same_before[-1][1]:.4f} -> {same_after[-1][0]:.4f},"
                    f" {same_after[-1][1]:.4f}; (NEAR, STRICT) {before} -> {after}"
                )
    diff_before, diff_after, diff_flips, diff_pairs = [], [], 0, 0
    for i, j in itertools.combinations(range(len(originals)), 2):
        for kind, a, b, ca, cb in (
            ("original", originals[i], originals[j], c_orig[i], c_orig[j]),
            ("exported", edits[i][2], originals[j], c_edits[i][2], c_orig[j]),
        ):
            diff_pairs += 1
            diff_before.append(pixel_agreement(a, b))
            diff_after.append(pixel_agreement(ca, cb))
            if EVERY:
                what = f"different {NAMES[i] if NAMES else i} ({kind}) / {NAMES[j] if NAMES else j}"
                print("   ", _pair_line(what, diff_before[-1], diff_after[-1]))
            diff_flips += verdicts(a, b) != verdicts(ca, cb)
    sb, sa = np.array(same_before), np.array(same_after)
    db, da = np.array(diff_before), np.array(diff_after)
    header = S.HEADER
    print(f"\n== {name}")
    print(
        f"  thumbnail bytes: real mean {np.mean(sizes):.0f} (max {max(sizes)}), crops mean"
        f" {np.mean(crop_sizes):.0f}; a signature: real {header + np.mean(sizes):.0f},"
        f" crops {header + np.mean(crop_sizes):.0f}"
    )
    st = np.array(selfs)
    print(
        f"  self-agreement after coding, lowest: tone {st[:, 0].min():.4f} detail {st[:, 1].min():.4f}"
    )
    print(
        f"  {len(sb)} same-picture pairs, lowest tone {sb[:, 0].min():.4f} -> {sa[:, 0].min():.4f},"
        f" lowest detail {sb[:, 1].min():.4f} -> {sa[:, 1].min():.4f};"
        f" largest drop tone {np.max(sb[:, 0] - sa[:, 0]):+.4f} detail {np.max(sb[:, 1] - sa[:, 1]):+.4f}"
    )
    for rule, label in ((STRICT, "STRICT"), (NEAR, "NEAR")):
        passed = (sb[:, 0] >= rule.tone) & (sb[:, 1] >= rule.detail)
        margin_b = np.minimum(sb[passed, 0] - rule.tone, sb[passed, 1] - rule.detail)
        margin_a = np.minimum(sa[passed, 0] - rule.tone, sa[passed, 1] - rule.detail)
        print(
            f"    {label}: {passed.sum()} pairs pass on pixels before, {((sa[:, 0] >= rule.tone) & (sa[:, 1] >= rule.detail)).sum()} after;"
            f" smallest margin of those {margin_b.min():+.5f} -> {margin_a.min():+.5f}"
        )
    print(f"    pairs whose NEAR/STRICT verdict changed: {same_flips} of {len(sb)}")
    for line in changed:
        print(f"      {line}")
    print(
        f"  {diff_pairs} different-photo pairs, highest tone {db[:, 0].max():.4f} -> {da[:, 0].max():.4f},"
        f" highest detail {db[:, 1].max():.4f} -> {da[:, 1].max():.4f}; largest rise detail"
        f" {np.max(da[:, 1] - db[:, 1]):+.4f}; verdicts changed: {diff_flips}"
    )
    for rule, label in ((STRICT, "STRICT"), (NEAR, "NEAR")):
        print(
            f"    {label} pixel test passed: {((db[:, 0] >= rule.tone) & (db[:, 1] >= rule.detail)).sum()}"
            f" -> {((da[:, 0] >= rule.tone) & (da[:, 1] >= rule.detail)).sum()}"
        )


def edge_cases() -> dict[str, np.ndarray]:
    """Thumbnails no photo set is sure to hold: flat, extremes, noise, gradients, edges."""
    rng = np.random.default_rng(0)
    ramp = np.arange(SIDE, dtype=np.int32)
    cases = {
        "black": np.zeros((SIDE, SIDE)),
        "white": np.full((SIDE, SIDE), 255),
        "grey": np.full((SIDE, SIDE), 128),
        "checker 0/255": (np.add.outer(ramp, ramp) % 2) * 255,
        "noise": rng.integers(0, 256, (SIDE, SIDE)),
        "noise 0/255": rng.integers(0, 2, (SIDE, SIDE)) * 255,
        "horizontal gradient": np.tile(ramp * 8, (SIDE, 1)),
        "vertical gradient": np.tile(ramp * 8, (SIDE, 1)).T,
        "diagonal gradient": np.add.outer(ramp, ramp) * 4,
        "steep wrap": (np.add.outer(ramp, ramp) * 37) % 256,
        "a dot at each corner": np.pad(np.zeros((SIDE - 2, SIDE - 2)), 1, constant_values=255),
    }
    return {name: np.asarray(t).astype(np.uint8) for name, t in cases.items()}


def _cpu_us(fn, items, repeat: int = 3) -> float:
    """Best of ``repeat`` passes: CPU microseconds per item."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        for item in items:
            fn(item)
        best = min(best, time.process_time() - t0)
    return best / len(items) * 1e6


def measure_lossless(
    real: list[np.ndarray], crop: list[np.ndarray], decodes: dict[str, int]
) -> None:
    """Each lossless coding: exact on every thumbnail, bytes, encode and decode CPU, and what the
    decodes of a grouping would cost (``decodes``: counted decodes of each grouping run)."""
    edges = edge_cases()
    everything = real + crop + list(edges.values())
    base_us = None
    for name, (encode, decode) in LOSSLESS.items():
        wrong = [i for i, t in enumerate(everything) if not np.array_equal(decode(encode(t)), t)]
        real_sizes = [len(encode(t)) for t in real]
        crop_sizes = [len(encode(t)) for t in crop]
        edge_sizes = [len(encode(t)) for t in edges.values()]
        packed = [encode(t) for t in real]
        enc_us = _cpu_us(encode, real)
        dec_us = _cpu_us(decode, packed)
        base_us = dec_us if base_us is None else base_us
        extra = ", ".join(
            f"{what}: {n:,} decodes, {(dec_us - base_us) * n / 1e6:+.2f} s CPU"
            for what, n in decodes.items()
        )
        print(f"\n== {name}")
        print(
            f"  exact on {len(everything) - len(wrong)} of {len(everything)} thumbnails"
            f" ({len(real)} real, {len(crop)} crops, {len(edges)} edge cases)"
            + (f"; WRONG: {wrong[:10]}" if wrong else "")
        )
        print(
            f"  bytes a thumbnail: real mean {np.mean(real_sizes):.1f} (max {max(real_sizes)}),"
            f" crops mean {np.mean(crop_sizes):.1f} (max {max(crop_sizes)}), edge cases"
            f" {min(edge_sizes)}–{max(edge_sizes)}; a signature: real"
            f" {S.HEADER + np.mean(real_sizes):.0f}, crops {S.HEADER + np.mean(crop_sizes):.0f}"
        )
        print(f"  CPU a thumbnail: encode {enc_us:.0f} µs, decode {dec_us:.0f} µs; {extra}")


def measure_batch(thumbs: list[np.ndarray]) -> None:
    """The context Rice coding decoded in batches (``med_rice_decode_batch``): CPU a thumbnail."""
    packed = [med_rice_encode(t) for t in thumbs]
    print("\n== MED + Rice, 6 gradient contexts, decoded in one batch")
    for n in (45, 200, len(thumbs)):
        exact = np.array_equal(med_rice_decode_batch(packed[:n]), np.stack(thumbs[:n]))
        us = _cpu_us(lambda batch: med_rice_decode_batch(batch), [packed[:n]]) / n
        print(f"  {n} thumbnails a batch: {us:.0f} µs a thumbnail, exact: {exact}")
    print("\n== version 3 as stored (culler.imaging.signatures), coded and decoded in one batch")
    stack = np.stack(thumbs)
    stored = S.pack_thumbnails(stack)
    for n in (1, 45, 200, len(thumbs)):
        exact = np.array_equal(S.unpack_thumbnails(stored[:n]), stack[:n])
        us = _cpu_us(S.unpack_thumbnails, [stored[:n]]) / n
        enc = _cpu_us(S.pack_thumbnails, [stack[:n]]) / n
        print(
            f"  {n} thumbnails a batch: decode {us:.0f} µs, encode {enc:.0f} µs a thumbnail,"
            f" exact: {exact}"
        )


def _rice_code_bytes(values: np.ndarray) -> float:
    """Bytes of zig-zagged ``values`` under one Rice code with the best k (3 bits for k)."""
    u = _zigzag(values.astype(np.int32)).astype(np.int64)
    return (min(int(((u >> k) + 1 + k).sum()) for k in range(8)) + 3) / 8


def measure_hash_and_layout(sigs: list[Signature]) -> None:
    """Goal 3: can the 32-byte hash or the 48-byte layout be stored smaller, losslessly?"""
    hashes = np.stack([s.dct.astype(">u8").view(np.uint8) for s in sigs])
    bits = np.unpackbits(hashes, axis=1)
    ones = bits.mean()
    per_bit = bits.mean(axis=0)
    h = -(
        per_bit * np.log2(np.clip(per_bit, 1e-9, 1))
        + (1 - per_bit) * np.log2(np.clip(1 - per_bit, 1e-9, 1))
    )
    best_lzma = np.mean([len(_lzma_raw(row.tobytes())) for row in hashes])
    print(
        f"\n== the 256-bit hash ({len(sigs)} signatures): {ones * 100:.1f} % ones; entropy of each bit"
        f" position over the set, summed: {h.sum() / 8:.1f} bytes (an upper bound on what a model of"
        f" the bit positions could save: {32 - h.sum() / 8:.1f} bytes); raw LZMA of one hash"
        f" {best_lzma:.1f} bytes"
    )
    raw_lzma, planar, luma_from_thumb = [], [], []
    for s in sigs:
        layout = s.layout.astype(np.int32)
        raw_lzma.append(len(_lzma_raw(layout.astype(np.uint8).tobytes())))
        # each channel's 4×4 cells less their planar prediction (the thumbnail's own coding), Rice
        cost = 0.0
        for ch in range(3):
            cells = layout[..., ch]
            d = cells.copy()
            d[1:] -= cells[:-1]
            d[:, 1:] -= d[:, :-1].copy()
            cost += _rice_code_bytes(d.ravel())
        planar.append(cost)
        # luma cells predicted from the thumbnail's 8×8 block means (the grey thumbnail is luma)
        means = np.rint(s.thumb.astype(np.float64).reshape(4, 8, 4, 8).mean(axis=(1, 3)))
        luma = _rice_code_bytes(layout[..., 0].ravel() - means.astype(np.int32).ravel())
        chroma = 0.0
        for ch in (1, 2):
            cells = layout[..., ch]
            d = cells.copy()
            d[1:] -= cells[:-1]
            d[:, 1:] -= d[:, :-1].copy()
            chroma += _rice_code_bytes(d.ravel())
        luma_from_thumb.append(luma + chroma)
    print(
        f"== the 48-byte colour layout: raw LZMA {np.mean(raw_lzma):.1f} bytes; planar differences"
        f" + Rice {np.mean(planar):.1f}; luma from the thumbnail's block means + chroma planar"
        f" + Rice {np.mean(luma_from_thumb):.1f}"
    )


class _Counting:
    """Counts thumbnail decodes (``signatures._unpack``) and pixel comparisons (grouping's
    ``pixel_agreement``) while it is entered."""

    def __enter__(self) -> _Counting:
        import culler.decide.grouping as grouping

        self.decodes = self.comparisons = 0
        self._saved = (S._unpack, grouping.pixel_agreement)
        unpack, compare = self._saved

        def counting_unpack(packed: bytes) -> np.ndarray:
            self.decodes += 1
            return unpack(packed)

        def counting_compare(a: Signature, b: Signature, *args, **kwargs):
            self.comparisons += 1
            return compare(a, b, *args, **kwargs)

        S._unpack, grouping.pixel_agreement = counting_unpack, counting_compare
        return self

    def __exit__(self, *exc) -> None:
        import culler.decide.grouping as grouping

        S._unpack, grouping.pixel_agreement = self._saved

    def line(self, what: str) -> dict[str, int]:
        print(f"{what}: {self.decodes:,} thumbnail decodes, {self.comparisons:,} pixel comparisons")
        return {what: self.decodes}


def count_decodes(photos: int, copies: int) -> dict[str, int]:
    """Thumbnail decodes of grouping_scale.py's full grouping (and its incremental ones)."""
    import contextlib

    import grouping_scale

    sys.argv = ["grouping_scale.py", "--photos", str(photos), "--copies", str(copies)]
    with _Counting() as counted, contextlib.redirect_stdout(io.StringIO()):
        grouping_scale.main()
    return counted.line(f"grouping_scale {photos:,}")


def count_shoot_decodes(db: Path) -> dict[str, int]:
    """Thumbnail decodes of archive_scale.py's "incremental grouping after a 2,000-photo shoot",
    run in this process on a copy of its catalog."""
    import os
    import shutil

    import archive_scale

    os.environ["CULLER_LOAD_PLUGINS"] = "grouping"
    code = next(c for name, _, c in archive_scale.OPERATIONS if name.startswith("incremental"))
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "copy.db"
        shutil.copyfile(db, copy)
        with _Counting() as counted:
            exec(code, {"db": str(copy)})
    return counted.line(f"archive_scale's 2,000-photo shoot ({db.name})")


def run_grouping(name: str, rest: list[str]) -> None:
    """grouping_scale.py with every signature's thumbnail passed through candidate ``name``."""
    import grouping_scale

    codec = CANDIDATES[name]
    original = Signature.to_bytes

    def to_bytes(self: Signature) -> bytes:
        if self._thumb is not None:
            _, thumb = codec(np.ascontiguousarray(self._thumb, np.uint8))
            return original(Signature(self.dct, self.layout, thumb))
        return original(self)

    Signature.to_bytes = to_bytes  # type: ignore[method-assign]
    print(f"grouping_scale with thumbnails coded by {name}")
    sys.argv = ["grouping_scale.py", *rest]
    grouping_scale.main()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="candidates to measure (default: all)")
    parser.add_argument("--grouping", help="run grouping_scale.py with this candidate's thumbnails")
    parser.add_argument(
        "--every", action="store_true", help="print every pair's agreement before -> after"
    )
    parser.add_argument(
        "--lossless",
        action="store_true",
        help="the lossless codings: exact, bytes, encode and decode CPU, hash and layout",
    )
    parser.add_argument(
        "--count-photos",
        type=int,
        default=0,
        help="with --lossless: count the decodes of grouping_scale.py at this size first",
    )
    parser.add_argument(
        "--archive",
        type=Path,
        help="with --lossless: a catalog archive_scale.py built (archive-100000.db): count the"
        " decodes of its incremental grouping after a 2,000-photo shoot (on a copy)",
    )
    args, rest = parser.parse_known_args()
    if args.lossless:
        decodes = count_decodes(args.count_photos, 500) if args.count_photos else {}
        if args.archive:
            decodes |= count_shoot_decodes(args.archive)
        originals, _, crop_sigs = real_sets()
        real = [np.ascontiguousarray(s.thumb) for s in originals]
        crop = [np.ascontiguousarray(s.thumb) for s in crop_sigs]
        measure_lossless(real, crop, decodes)
        measure_batch(real + crop)
        measure_hash_and_layout(originals + crop_sigs)
        return
    if args.grouping:
        run_grouping(args.grouping, rest)
        return
    global EVERY
    EVERY = args.every
    originals, edits, crop_sigs = real_sets()
    for name in args.only or CANDIDATES:
        measure(name, CANDIDATES[name], originals, edits, crop_sigs)


if __name__ == "__main__":
    main()
