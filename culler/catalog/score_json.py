"""How a score's ``extra`` and ``reasons`` are stored: compact JSON, and integer grids as bytes.

A technical score's ``extra`` on a real photograph was 1,606 bytes of JSON, of which 671 were its
``sharpness_grid`` (17 × 17 small integers written out as decimal text) and about 270 the spaces
after every comma and colon. Scorers keep handing over plain JSON-able values; the catalog stores

* JSON without the spaces, and UTF-8 as UTF-8 (``σ``, ``×``, ``↗`` in two or three bytes, not a
  six-byte ``\\uXXXX`` escape);
* every rectangular grid of small integers (a list of at least :data:`MIN_ROWS` rows of equal
  length, every value an int in −1…254) as ``{"$grid": [columns, base64 of value + 1]}``: one
  byte a cell instead of two to four characters.

On 45 real photographs a technical ``extra`` went from 1,606 to 961 bytes on average.

Every reader in the catalog parses with :func:`load`, which gives back exactly the lists that were
handed in, so nothing outside this layer sees the difference; rows stored before (spaced JSON) read as
they are, and the ``compact_score_json`` data upgrade rewrites them.

Since then the catalog stores score details as :func:`store` writes them: the binary layout of
:mod:`culler.catalog.score_pack` (a technical score's details on the same photos: 959 -> 263
bytes), or this compact JSON where that is shorter (a short reason of a scorer's own). :func:`load`
reads all three forms; the ``pack_score_extra`` and ``pack_score_reasons`` data upgrades rewrite
older rows.
"""

from __future__ import annotations

import base64
import json
import sys
from typing import Any

from culler.catalog import score_pack

#: The key of an encoded grid (a dict with this one key).
GRID_KEY = "$grid"
#: A list of lists is encoded from this many rows on (a 2×2 matrix is cheaper as text).
MIN_ROWS = 3


def dump(value: Any) -> str:
    """``value`` as the compact JSON the catalog stores."""
    return json.dumps(
        _encode(value), separators=(",", ":"), ensure_ascii=False, default=_json_default
    )


def load(text: str | bytes | None) -> Any:
    """What :func:`store` or :func:`dump` stored (or an older row's plain JSON), as the value
    handed in: the one function every reader of ``scores.extra`` and ``scores.reasons`` parses with."""
    if text is None:
        return None
    if score_pack.is_packed(text):
        return score_pack.unpack(text)  # type: ignore[arg-type]
    return json.loads(text, object_hook=_decode)


def store(value: Any) -> str | bytes:
    """``value`` as the catalog stores it now: packed (:mod:`culler.catalog.score_pack`), or the
    compact JSON of :func:`dump` when that is shorter. :func:`load` gives back what a JSON round
    trip of ``value`` gives (tuples as lists, numpy values as Python numbers), as before."""
    # The plain JSON round trip (C code) gives the value readers get; grids are packed smaller
    # than dump() writes them, so packed is shorter than dump() whenever it is shorter than this.
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    plain = json.loads(text)
    packed = score_pack.pack(plain)
    return packed if len(packed) < len(text.encode("utf-8")) else dump(plain)


def repack(stored: Any) -> str | bytes | None:
    """An older row's JSON ``extra``/``reasons`` as :func:`store` writes it now (the
    ``pack_score_*`` data upgrades); None when it is stored so already or is not JSON (left as
    it is)."""
    if stored is None or score_pack.is_packed(stored):
        return None
    try:
        new = store(load(stored))
    except (ValueError, TypeError):
        return None
    return None if new == stored else new


def _is_grid(value: list) -> bool:
    if len(value) < MIN_ROWS or not all(isinstance(row, list) for row in value):
        return False
    width = len(value[0])
    if width < 2 or any(len(row) != width for row in value):
        return False
    return all(
        type(cell) is int and -1 <= cell <= 254  # bools are ints in Python: not a grid cell
        for row in value
        for cell in row
    )


def _encode(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        value = list(value)
        if _is_grid(value):
            cells = bytes(cell + 1 for row in value for cell in row)
            return {GRID_KEY: [len(value[0]), base64.b64encode(cells).decode("ascii")]}
        return [_encode(v) for v in value]
    np = sys.modules.get("numpy")  # a numpy value means numpy is loaded; never load it here
    if np is not None and isinstance(value, np.ndarray):
        return _encode(value.tolist())
    return value


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and GRID_KEY in obj:
        spec = obj[GRID_KEY]
        if isinstance(spec, list) and len(spec) == 2 and isinstance(spec[0], int) and spec[0] > 0:
            cells = [b - 1 for b in base64.b64decode(spec[1])]
            return [cells[i : i + spec[0]] for i in range(0, len(cells), spec[0])]
    return obj


def _json_default(value: Any) -> Any:
    """Plugins put numpy numbers and arrays in ``extra``; store them as plain JSON."""
    np = sys.modules.get("numpy")  # a numpy value means numpy is loaded; never load it here
    if np is not None and isinstance(value, np.generic):
        return value.item()
    if np is not None and isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
