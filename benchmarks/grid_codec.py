"""Lossless codings of the technical scorer's ``sharpness_grid`` (issue #32 goal 5): bytes and
decode time of each on the real photographs' grids of a catalog.

The grids come from a catalog's technical scores (``benchmarks/catalog_compact.py --real --keep
DIR`` scans 45 real photographs with the default scorers; its copies repeat the same grids, so each
distinct grid counts once). Every coding is checked to give back every cell exactly. Prints, per
coding, the mean and largest bytes a grid, and for the one stored today and the smallest the time
to decode one.

    python benchmarks/grid_codec.py DIR/real-20000.db

Scans no longer store the grid (``Scorer.details_on_demand``: the overlay computes it for the photo
it shows), so DIR must hold a catalog a version before migration
``024_technical_details_without_grid`` scanned, not yet opened by this one.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
import zlib
from collections import Counter
from math import log2
from pathlib import Path

Grid = list[list[int]]


def grids_of(db: Path) -> list[Grid]:
    from culler.catalog import score_json

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        seen: dict[str, Grid] = {}
        for (extra,) in conn.execute(
            "SELECT s.extra FROM scores s JOIN scorers sc ON sc.id = s.scorer_pk"
            " WHERE sc.scorer_id = 'technical' AND s.extra IS NOT NULL"
        ):
            grid = (score_json.load(extra) or {}).get("sharpness_grid")
            if grid:
                seen.setdefault(json.dumps(grid), grid)
        return list(seen.values())
    finally:
        conn.close()


def cells(grid: Grid) -> bytes:
    return bytes(c + 1 for row in grid for c in row)


def deflate(data: bytes, strategy: int) -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, -15, 9, strategy)
    return z.compress(data) + z.flush()


STRATEGIES = (zlib.Z_DEFAULT_STRATEGY, zlib.Z_RLE, zlib.Z_HUFFMAN_ONLY, zlib.Z_FILTERED)


def best_deflate(data: bytes) -> int:
    return min(len(data), *(len(deflate(data, s)) for s in STRATEGIES))


def differences(grid: Grid, vertical: bool) -> bytes:
    out, above = [], [0] * len(grid[0])
    for row in grid:
        if vertical:
            out += [(c + 1 - a) % 256 for c, a in zip(row, above)]
            above = [c + 1 for c in row]
        else:
            left = 0
            for c in row:
                out.append((c + 1 - left) % 256)
                left = c + 1
    return bytes(out)


def presence(grid: Grid) -> tuple[bytes, bytes]:
    """A bitmap of the cells with a value, and those values."""
    flat = [c for row in grid for c in row]
    bits = "".join("1" if c >= 0 else "0" for c in flat)
    mask = int(bits, 2).to_bytes((len(bits) + 7) // 8, "big")
    return mask, bytes(c for c in flat if c >= 0)


# -- run-length presence + MED prediction + adaptive Rice (LOCO-I style) --------------------------


def predict(grid: Grid, i: int, j: int) -> int:
    """The median edge detector over the known neighbours (60 when none is known)."""
    up = grid[i - 1][j] if i and grid[i - 1][j] >= 0 else None
    left = grid[i][j - 1] if j and grid[i][j - 1] >= 0 else None
    corner = grid[i - 1][j - 1] if i and j and grid[i - 1][j - 1] >= 0 else None
    if up is not None and left is not None:
        if corner is None:
            return (up + left) // 2
        if corner >= max(up, left):
            return min(up, left)
        if corner <= min(up, left):
            return max(up, left)
        return up + left - corner
    return up if up is not None else left if left is not None else 60


def rice_encode(grid: Grid) -> bytes:
    bits: list[int] = []

    def put(value: int, n: int) -> None:
        bits.extend((value >> k) & 1 for k in range(n - 1, -1, -1))

    def gamma(n: int) -> None:
        bits.extend([0] * (n.bit_length() - 1))
        put(n, n.bit_length())

    current, run = False, 0
    for known in (c >= 0 for row in grid for c in row):
        if known == current:
            run += 1
        else:
            gamma(run + 1)
            current, run = known, 1
    gamma(run + 1)
    total, count = 16, 1
    for i, row in enumerate(grid):
        for j, c in enumerate(row):
            if c < 0:
                continue
            residual = c - predict(grid, i, j)
            k = 0
            while (count << k) < total:
                k += 1
            u = residual * 2 if residual >= 0 else -residual * 2 - 1
            bits.extend([1] * (u >> k))
            bits.append(0)
            put(u & ((1 << k) - 1), k)
            total, count = total + abs(residual), count + 1
            if count >= 32:
                total, count = total // 2, count // 2
    bits.extend([0] * (-len(bits) % 8))
    return int("".join(map(str, bits)) or "0", 2).to_bytes(len(bits) // 8, "big")


def rice_decode(data: bytes, rows: int, cols: int) -> Grid:
    s = bin(int.from_bytes(data, "big"))[2:].zfill(len(data) * 8)
    pos = 0

    def gamma() -> int:
        nonlocal pos
        zeros = 0
        while s[pos] == "0":
            zeros, pos = zeros + 1, pos + 1
        value = int(s[pos : pos + zeros + 1], 2)
        pos += zeros + 1
        return value

    known: list[bool] = []
    current = False
    while len(known) < rows * cols:
        known += [current] * (gamma() - 1)
        current = not current
    grid = [[-1] * cols for _ in range(rows)]
    total, count = 16, 1
    for i in range(rows):
        for j in range(cols):
            if not known[i * cols + j]:
                continue
            k = 0
            while (count << k) < total:
                k += 1
            q = s.index("0", pos) - pos
            pos += q + 1
            u = (q << k) | (int(s[pos : pos + k], 2) if k else 0)
            pos += k
            residual = u >> 1 if not u & 1 else -((u + 1) >> 1)
            grid[i][j] = residual + predict(grid, i, j)
            total, count = total + abs(residual), count + 1
            if count >= 32:
                total, count = total // 2, count // 2
    return grid


def residual_entropy(grids: list[Grid]) -> float:
    counts = Counter(
        c - predict(g, i, j)
        for g in grids
        for i, row in enumerate(g)
        for j, c in enumerate(row)
        if c >= 0
    )
    n = sum(counts.values())
    return -sum(k / n * log2(k / n) for k in counts.values())


def per_grid_time(fn, items, repeat: int) -> float:
    t0 = time.perf_counter()
    for _ in range(repeat):
        for item in items:
            fn(item)
    return (time.perf_counter() - t0) / repeat / len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("catalog", type=Path)
    args = parser.parse_args()
    from culler.catalog import score_pack

    grids = grids_of(args.catalog)
    if not grids:
        raise SystemExit(f"no technical sharpness grid in {args.catalog}")
    n_cells = [len(g) * len(g[0]) for g in grids]
    known = sum(c >= 0 for g in grids for row in g for c in row)
    print(
        f"{len(grids)} distinct real grids, {sum(n_cells) / len(grids):.0f} cells on average"
        f" ({100 - 100 * known / sum(n_cells):.0f} % without a value); predicted residuals"
        f" {residual_entropy(grids):.2f} bits a cell"
    )
    codings = {
        "one byte a cell": lambda g: len(cells(g)),
        "as stored: raw DEFLATE Z_RLE (or raw)": lambda g: min(
            len(cells(g)), len(deflate(cells(g), zlib.Z_RLE))
        ),
        "best of four DEFLATE strategies": lambda g: best_deflate(cells(g)),
        "row differences, best DEFLATE": lambda g: best_deflate(differences(g, False)),
        "column differences, best DEFLATE": lambda g: best_deflate(differences(g, True)),
        "bitmap + values, each best DEFLATE": lambda g: sum(map(best_deflate, presence(g))),
        "bitmap + values at 7 bits": lambda g: (
            len(presence(g)[0]) + (len(presence(g)[1]) * 7 + 7) // 8
        ),
        "runs (Elias gamma) + MED residuals, adaptive Rice": lambda g: len(rice_encode(g)),
    }
    for name, size in codings.items():
        sizes = [size(g) for g in grids]
        print(f"  {name}: {sum(sizes) / len(sizes):.1f} B mean, {max(sizes)} max")
    encoded = [(rice_encode(g), len(g), len(g[0])) for g in grids]
    assert all(rice_decode(*e) == g for e, g in zip(encoded, grids)), "Rice coding lost a cell"
    packed = [score_pack.pack(g) for g in grids]
    assert all(score_pack.unpack(p) == g for p, g in zip(packed, grids))
    stored = per_grid_time(score_pack.unpack, packed, 200)
    rice = per_grid_time(lambda e: rice_decode(*e), encoded, 20)
    print(
        f"decode a grid: as stored (score_pack, zlib) {stored * 1e6:.0f} µs, packed"
        f" {sum(map(len, packed)) / len(packed):.1f} B with tag and sizes; adaptive Rice (Python)"
        f" {rice * 1e6:.0f} µs ({rice / stored:.0f}x)"
    )


if __name__ == "__main__":
    main()
