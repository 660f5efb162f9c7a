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
``med-rice-lossless`` is a size estimate only (the Rice code lengths of LOCO-I's median-predictor
residuals; no decoder is written): being lossless, its evidence is version 2's by construction.
"""

from __future__ import annotations

import argparse
import io
import itertools
import sys
import tempfile
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


def _zz_rice_bytes(residual: np.ndarray, block: int = 16) -> int:
    """Bytes of zig-zagged residuals under Rice codes with a best k per block of ``block`` (3 bits)."""
    u = np.where(residual >= 0, 2 * residual, -2 * residual - 1).ravel().astype(np.int64)
    bits = 0
    for s in range(0, u.size, block):
        blk = u[s : s + block]
        bits += min(int(((blk >> k) + 1 + k).sum()) for k in range(9)) + 3
    return (bits + 7) // 8


def med_rice(thumb: np.ndarray) -> tuple[int, np.ndarray]:
    """Lossless, LOCO-I's median edge predictor and Rice codes (size only: evidence is identical)."""
    t = thumb.astype(np.int32)
    a = np.zeros_like(t)
    b = np.zeros_like(t)
    c = np.zeros_like(t)
    a[:, 1:], b[1:], c[1:, 1:] = t[:, :-1], t[:-1], t[:-1, :-1]
    a[:, 0] = c[:, 0] = b[:, 0]
    b[0, :] = c[0, :] = a[0, :]
    hi, lo = np.maximum(a, b), np.minimum(a, b)
    pred = np.where(c >= hi, lo, np.where(c <= lo, hi, a + b - c))
    pred[0, 0] = 128
    return _zz_rice_bytes(t - pred), thumb


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
    "med-rice-lossless": med_rice,
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
    args, rest = parser.parse_known_args()
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
