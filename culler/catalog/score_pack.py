"""Score details (``scores.extra``, ``scores.reasons``) as a versioned binary layout (issue #32).

A technical score's details were 959 bytes of compact JSON on a real photograph (45 real photos,
``benchmarks/catalog_compact.py --real``): about 400 of them the same 30 key names on every row,
the 17 × 17 sharpness grid as base64 (one byte a cell plus a third), and two dozen decimals written
out as text. The catalog now stores a BLOB:

* one header byte that names the layout's version and that no JSON text starts with (0xC1 for
  version 1: a byte that never occurs in UTF-8), so a reader tells it from the JSON rows stored
  before and from later layouts;
* every value tagged in one byte: ``None``/``False``/``True``, an int from 0 to 191 in the tag
  itself, other ints as zigzag varints, strings inline (UTF-8) or as a number in the version's
  :data:`WORDS` table (the keys of the bundled scorers' details and their frequent values: a key is
  one byte), lists, dicts (keys in order), and a rectangular grid of small ints (−1…254) as one byte
  a cell, raw-DEFLATEd when that is smaller (a 17 × 17 sharpness grid: 289 → 137 bytes on average
  over 45 real photos);
* a float as the decimal the scorer rounded it to (``0.8651`` is the digits 8651 and 4 decimals:
  three bytes, the decimals in the tag) whenever that decimal reads back as the very same double
  (``m / 10**d`` is correctly rounded, as the text ``"0.8651"`` is), otherwise its eight IEEE
  bytes. **No precision is given up**: every float reads back bit for bit, so no float32/float16
  question arises.

Third-party scorers' keys and values go through the same layout (inline strings): nothing a plugin
can put in ``extra`` is refused or changed. What a reader gets is exactly what it got from the JSON
(the value after a JSON round trip: tuples as lists, numpy values as Python numbers), through
:func:`culler.catalog.score_json.load`, the one load function (tests/test_score_pack.py checks the
round trip on real scans and on generated values).

:data:`WORDS` only grows by a new version: the entries of version 1 never change meaning.

**Version 2** (header 0xC0) adds, after version 1's words (same numbers), the bundled scorers'
frequent reasons and the fixed starts of their worded ones (:data:`PREFIXES`: "colourfulness ",
"highlights clipped ", …), and a tag for a string that begins with one of those starts, the rest
inline: a real photo's reasons went from 56 bytes to about 25 (``colourfulness 36`` 20 → 7 bytes).
Version 1 rows are left as they are and read as before (the reader takes each row's words from
its header); rewriting them would save about 30 bytes a photo of a catalog scanned before, at a
pass over every score row, and the next rescore of a photo writes version 2 anyway.

The sharpness grid keeps its coding: every lossless alternative measured on the real grids
(``benchmarks/grid_codec.py``, docs/scale.md) is either larger or needs a bit-level decoder in
Python more than ten times slower, for about 16 bytes a photo. Scans no longer store that grid
(the overlay computes it for the photo it shows; migration ``024_technical_details_without_grid``
drops it from older catalogs), but the coding stays for rows not yet upgraded and for any
plugin's grid.
"""

from __future__ import annotations

import math
import struct
import zlib
from typing import Any

#: The first byte of a packed value, by layout version: bytes that never occur in UTF-8 text (0xC0,
#: 0xC1, 0xF5…0xFF), so no JSON row starts with one.
HEADERS = {1: 0xC1, 2: 0xC0}
#: The layout written now.
VERSION = 2
_VERSIONS = {header: version for version, header in HEADERS.items()}

# Tags (one byte before each value).
_NONE, _FALSE, _TRUE, _INT, _FLOAT, _STR, _WORD, _LIST, _DICT, _GRID, _GRID_Z = range(11)
#: Version 2: a string that starts with one of the version's :data:`PREFIXES` (a word), then the
#: rest of it inline ("colourfulness 36": the word "colourfulness ", then "36").
_PREFIXED = 11
#: A decimal with d decimals is tag _DECIMAL + d (d = 0 … _MAX_DECIMALS), then its digits.
_DECIMAL = 16
#: Tags from here on are the ints 0 … 255 - _SMALL themselves.
_SMALL = 64
_SMALL_MAX = 255 - _SMALL
#: A grid: at least this many rows of equal length, every cell an int in −1…254.
GRID_MIN_ROWS = 3
#: At most this many decimals are tried for the short form of a float.
_MAX_DECIMALS = 9

#: Strings stored as their number in the table (by version). Keys first, then frequent values.
WORDS: dict[int, tuple[str, ...]] = {
    1: (
        # the technical scorer's details
        "sharpness",
        "exposure",
        "noise",
        "compression",
        "defects",
        "subject_sharpness",
        "background_sharpness",
        "sharpness_grid",
        "sharpness_grid_tile",
        "scored_size",
        "blur",
        "direction_deg",
        "direction",
        "anisotropy",
        "along",
        "across",
        "motion_confidence",
        "motion_evidence",
        "shutter_risk",
        "focus_confidence",
        "judged_fraction",
        "noise_sigma",
        "noise_sigma_measured",
        "mean_luminance",
        "highlights_clipped_percent",
        "shadows_crushed_percent",
        "clipping_levels",
        "white_point",
        "underexposure",
        "blockiness",
        "jpeg_quality",
        "black_floor",
        "too_small",
        "highlights",
        "shadows",
        "mean",
        "defect",
        "confidence",
        "reason",
        "reject",
        "motion_blur",
        "missed_focus",
        "clipping",
        "underexposed",
        "horizontal",
        "vertical",
        "diagonal ↗",
        "diagonal ↘",
        # the faces scorer's details
        "faces",
        "size",
        "box",
        "main",
        "main_faces",
        "count",
        "counts",
        "detector_score",
        "eyes",
        "eyes_confidence",
        "eye_aspect",
        "eye_aspect_spread",
        "eye_landmarks",
        "focus",
        "focus_ratio",
        "blur_anisotropy",
        "blur_direction",
        "blur_direction_name",
        "landmarks",
        "open",
        "closed",
        "unknown",
        "sharp",
        "soft",
        "motion",
        "penalty",
        "candidates",
        "failed",
        # frequent reasons
        "no faces found",
        "soft: little fine detail, but not clearly a focus miss or motion blur"
        " (haze, soft light, shallow focus or a slight focus error)",
    )
}
#: Version 2: version 1's words (their numbers unchanged), then the bundled scorers' frequent reasons
#: and the fixed starts of their worded ones (:data:`PREFIXES`). A reason was stored as its text:
#: 20 of a real photo's 56 bytes of reasons were "colourfulness 36", 34 "sharp subject, soft
#: background" (45 real photos, ``benchmarks/catalog_compact.py --real``).
PREFIXES: dict[int, tuple[str, ...]] = {
    1: (),
    2: (
        # the technical scorer's worded reasons (plugins/technical)
        "highlights clipped ",
        "shadows crushed ",
        "dark (mean brightness ",
        "overexposed (mean brightness ",
        "noisy (noise σ ≈ ",
        "heavy noise (σ ≈ ",
        "heavy JPEG compression (quality ≈ ",
        "heavy JPEG compression in an earlier encode (",
        "block edges from an earlier, rougher JPEG encode (",
        "visible JPEG blocking (",
        "motion blur (",
        "underexposed: mean brightness ",
        "highlights blown: ",
        "too small to judge: ",
        # the faces scorer's (plugins/faces)
        "1 face, ",
        # the colourfulness example scorer's (examples/culler-colourfulness)
        "colourfulness ",
    ),
}
WORDS[2] = WORDS[1] + (  # ("sharp", a frequent reason, is a word of version 1 already)
    "sharp subject, soft background",
    "1 face, sharp, eyes open",
    *PREFIXES[2],
)
_INDEX = {version: {w: i for i, w in enumerate(words)} for version, words in WORDS.items()}
#: Per version: (prefix, its word number), the longest first.
_PREFIX_INDEX = {
    version: sorted(((p, _INDEX[version][p]) for p in prefixes), key=lambda x: -len(x[0]))
    for version, prefixes in PREFIXES.items()
}


class PackError(ValueError):
    """A packed value that cannot be read (damaged or of an unknown version)."""


def is_packed(stored: Any) -> bool:
    """Whether a stored ``extra``/``reasons`` value is in this layout (not JSON text)."""
    return (
        isinstance(stored, bytes | bytearray | memoryview)
        and len(stored) > 1
        and (stored[0] in _VERSIONS)
    )


def pack(value: Any, version: int = VERSION) -> bytes:
    """``value`` (JSON data: what ``json.loads`` gives) in the binary layout (of ``version``:
    today's unless a test asks for an earlier one)."""
    out = bytearray((HEADERS[version],))
    _write(out, value, _INDEX[version], _PREFIX_INDEX[version])
    return bytes(out)


def unpack(data: bytes | bytearray | memoryview) -> Any:
    """What :func:`pack` was given."""
    data = bytes(data)
    if len(data) < 2 or data[0] not in _VERSIONS:
        raise PackError("not a packed score detail of a known version")
    try:
        value, end = _read(data, 1, WORDS[_VERSIONS[data[0]]])
    except (IndexError, ValueError, struct.error, zlib.error) as exc:
        raise PackError(f"damaged packed score detail ({exc})") from None
    if end != len(data):
        raise PackError("packed score detail has trailing bytes")
    return value


# -- writing -------------------------------------------------------------------------------------


def _varint(out: bytearray, n: int) -> None:
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _zigzag(n: int) -> int:
    return n * 2 if n >= 0 else -n * 2 - 1


def _write_str(
    out: bytearray, text: str, index: dict[str, int], prefixes: list[tuple[str, int]]
) -> None:
    word = index.get(text)
    if word is not None:
        out.append(_WORD)
        _varint(out, word)
        return
    for prefix, number in prefixes:
        if text.startswith(prefix):
            raw = text[len(prefix) :].encode("utf-8", "surrogatepass")
            out.append(_PREFIXED)
            _varint(out, number)
            _varint(out, len(raw))
            out += raw
            return
    raw = text.encode("utf-8", "surrogatepass")
    out.append(_STR)
    _varint(out, len(raw))
    out += raw


def _write_key(out: bytearray, key: str, index: dict[str, int]) -> None:
    """A dict key without a tag: even = word number × 2, odd = inline UTF-8 length × 2 + 1."""
    word = index.get(key)
    if word is not None:
        _varint(out, word * 2)
    else:
        raw = key.encode("utf-8", "surrogatepass")
        _varint(out, len(raw) * 2 + 1)
        out += raw


def _decimal(x: float) -> tuple[int, int] | None:
    """``(mantissa, decimals)`` with ``mantissa / 10**decimals`` the same double as ``x``, or None."""
    if not math.isfinite(x) or (x == 0.0 and math.copysign(1.0, x) < 0):
        return None
    text = repr(x)
    if "e" in text or "E" in text:
        return None
    whole, _, frac = text.partition(".")
    decimals = len(frac.rstrip("0"))
    if decimals > _MAX_DECIMALS:
        return None
    mantissa = int(whole + frac[:decimals]) if decimals else int(whole)
    if (mantissa / 10**decimals if decimals else float(mantissa)) != x:
        return None
    return mantissa, decimals


def _grid(value: list) -> bytes | None:
    if len(value) < GRID_MIN_ROWS or type(value[0]) is not list:
        return None
    width = len(value[0])
    if width < 2 or any(type(row) is not list or len(row) != width for row in value):
        return None
    flat = [cell for row in value for cell in row]
    # A bool is not a grid cell (type, not isinstance).
    if any(type(cell) is not int for cell in flat) or min(flat) < -1 or max(flat) > 254:
        return None
    return bytes(cell + 1 for cell in flat)


def _write(
    out: bytearray, value: Any, index: dict[str, int], prefixes: list[tuple[str, int]]
) -> None:
    if value is None:
        out.append(_NONE)
    elif value is True:
        out.append(_TRUE)
    elif value is False:
        out.append(_FALSE)
    elif type(value) is int:
        if 0 <= value <= _SMALL_MAX:
            out.append(_SMALL + value)
        else:
            out.append(_INT)
            _varint(out, _zigzag(value))
    elif type(value) is float:
        short = _decimal(value)
        if short is None:
            out.append(_FLOAT)
            out += struct.pack("<d", value)
        else:
            out.append(_DECIMAL + short[1])
            _varint(out, _zigzag(short[0]))
    elif type(value) is str:
        _write_str(out, value, index, prefixes)
    elif type(value) is list:
        cells = _grid(value)
        if cells is not None:
            squeezed = _deflate(cells)
            out.append(_GRID_Z if len(squeezed) < len(cells) else _GRID)
            _varint(out, len(value[0]))
            _varint(out, len(value))
            if len(squeezed) < len(cells):
                _varint(out, len(squeezed))
                out += squeezed
            else:
                out += cells
            return
        out.append(_LIST)
        _varint(out, len(value))
        for item in value:
            _write(out, item, index, prefixes)
    elif type(value) is dict:
        out.append(_DICT)
        _varint(out, len(value))
        for key, item in value.items():
            _write_key(out, key, index)
            _write(out, item, index, prefixes)
    else:
        raise TypeError(f"not JSON data: {type(value).__name__}")


def _deflate(cells: bytes) -> bytes:
    # Run-length matching: a sharpness grid's runs are of one value (4 bytes fewer than the default).
    z = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_RLE)
    return z.compress(cells) + z.flush()


# -- reading -------------------------------------------------------------------------------------


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        n |= (byte & 0x7F) << shift
        if byte < 0x80:
            return n, pos
        shift += 7


def _unzigzag(n: int) -> int:
    return n >> 1 if not n & 1 else -((n + 1) >> 1)


def _read_text(data: bytes, pos: int, length: int) -> tuple[str, int]:
    end = pos + length
    if end > len(data):
        raise ValueError("string runs past the end")
    return data[pos:end].decode("utf-8", "surrogatepass"), end


#: 10**d for the decimals a short float may have.
_POW10 = [10**d for d in range(_MAX_DECIMALS + 1)]
#: A grid cell's byte to its value (byte - 1), for ``map`` (a C loop).
_CELL = list(range(-1, 255))


def _read(data: bytes, pos: int, words: tuple[str, ...]) -> tuple[Any, int]:
    # The most frequent tags first, one-byte varints read inline: readers such as the whole-archive
    # cull unpack a technical score's details for every photo.
    tag = data[pos]
    pos += 1
    if tag >= _SMALL:
        return tag - _SMALL, pos
    if tag >= _DECIMAL:
        decimals = tag - _DECIMAL
        if decimals > _MAX_DECIMALS:
            raise ValueError(f"unknown tag {tag}")
        n = data[pos]
        if n < 0x80:
            pos += 1
        else:
            n, pos = _read_varint(data, pos)
        mantissa = n >> 1 if not n & 1 else -((n + 1) >> 1)
        return (mantissa / _POW10[decimals] if decimals else float(mantissa)), pos
    if tag == _DICT:
        count, pos = _read_varint(data, pos)
        obj = {}
        for _ in range(count):
            k = data[pos]
            if k < 0x80:
                pos += 1
            else:
                k, pos = _read_varint(data, pos)
            if k & 1:
                key, pos = _read_text(data, pos, k >> 1)
            else:
                key = words[k >> 1]
            value_tag = data[pos]
            if value_tag >= _SMALL:  # a small int, inline (as the decimal below: no call)
                obj[key] = value_tag - _SMALL
                pos += 1
            elif _DECIMAL <= value_tag <= _DECIMAL + _MAX_DECIMALS:
                n = data[pos + 1]
                if n < 0x80:
                    pos += 2
                else:
                    n, pos = _read_varint(data, pos + 1)
                mantissa = n >> 1 if not n & 1 else -((n + 1) >> 1)
                decimals = value_tag - _DECIMAL
                obj[key] = mantissa / _POW10[decimals] if decimals else float(mantissa)
            else:
                obj[key], pos = _read(data, pos, words)
        return obj, pos
    if tag == _WORD:
        n, pos = _read_varint(data, pos)
        return words[n], pos
    if tag == _LIST:
        count, pos = _read_varint(data, pos)
        items = []
        for _ in range(count):
            item, pos = _read(data, pos, words)
            items.append(item)
        return items, pos
    if tag == _NONE:
        return None, pos
    if tag == _TRUE:
        return True, pos
    if tag == _FALSE:
        return False, pos
    if tag == _INT:
        n, pos = _read_varint(data, pos)
        return _unzigzag(n), pos
    if tag == _FLOAT:
        return struct.unpack_from("<d", data, pos)[0], pos + 8
    if tag == _STR:
        length, pos = _read_varint(data, pos)
        return _read_text(data, pos, length)
    if tag == _PREFIXED and len(words) > len(WORDS[1]):  # not a tag of version 1
        n, pos = _read_varint(data, pos)
        length, pos = _read_varint(data, pos)
        rest, pos = _read_text(data, pos, length)
        return words[n] + rest, pos
    if tag in (_GRID, _GRID_Z):
        width, pos = _read_varint(data, pos)
        rows, pos = _read_varint(data, pos)
        if tag == _GRID_Z:
            length, pos = _read_varint(data, pos)
            cells = zlib.decompress(data[pos : pos + length], -15)
            pos += length
        else:
            cells = data[pos : pos + width * rows]
            pos += width * rows
        if len(cells) != width * rows or not width:
            raise ValueError("grid cells missing")
        cell = _CELL.__getitem__
        return [list(map(cell, cells[i : i + width])) for i in range(0, width * rows, width)], pos
    raise ValueError(f"unknown tag {tag}")
