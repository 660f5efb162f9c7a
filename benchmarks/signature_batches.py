"""Grouping on version-2 and version-3 signatures of the same photos, in one process: the CPU of the
pixel checks' decodes (one at a time for version 2, in batches for version 3) and that the pairs
found are the same.

Builds the photo rows of ``benchmarks/grouping_scale.py`` (signatures of real-photo crops, dense
shoots, planted copies) once, stores each signature in both versions (the same hash, layout and
thumbnail), then runs ``grouping.similar_pairs`` over every photo on each alternately, with fresh
signatures each run (nothing decoded yet), and prints CPU seconds, the thumbnails decoded, and
whether the pairs are identical:

    python benchmarks/signature_batches.py [--photos 20000] [--runs 3]
"""

from __future__ import annotations

import argparse
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from grouping_scale import build_rows  # noqa: E402

from culler.decide import grouping  # noqa: E402
from culler.imaging import signatures  # noqa: E402
from culler.imaging.signatures import Signature  # noqa: E402


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def version_2(blob: bytes) -> bytes:
    thumb = Signature.from_bytes(blob).thumb
    return bytes([2]) + blob[1 : signatures.HEADER] + signatures._pack(thumb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=20_000)
    parser.add_argument("--copies", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows, _planted, _bases = build_rows(args.photos, args.copies)
    keys = ("path", "root", "taken_at", "camera", "content_hash", "signature")
    dicts = [dict(zip(keys, r), id=i + 1) for i, r in enumerate(rows)]
    forms = {
        "version 2 (decoded one at a time)": [version_2(d["signature"]) for d in dicts],
        "version 3 (decoded in batches)": [d["signature"] for d in dicts],
    }
    sizes = {name: sum(map(len, blobs)) / len(blobs) for name, blobs in forms.items()}
    found: dict[str, list] = {}
    times: dict[str, list[float]] = {name: [] for name in forms}
    decoded: dict[str, int] = {}
    options = grouping.GroupingOptions()
    for _ in range(args.runs):
        for name, blobs in forms.items():
            photos = grouping.PhotoSet([d | {"signature": b} for d, b in zip(dicts, blobs)], {})
            t0 = cpu()
            pairs = grouping.similar_pairs(photos, options)
            times[name].append(cpu() - t0)
            found.setdefault(name, pairs)
            decoded[name] = sum(s is not None and s.decoded for s in photos.sigs)
    print(f"{len(dicts):,} photos, {args.runs} alternating runs of similar_pairs over all of them")
    for name in forms:
        cpus = ", ".join(f"{t:.2f}" for t in times[name])
        print(
            f"  {name}: {cpus} s CPU; {decoded[name]:,} thumbnails decoded;"
            f" signature {sizes[name]:.1f} bytes on average"
        )
    same = len({tuple(p) for p in found.values()}) == 1
    print(f"  pairs found: {len(next(iter(found.values()))):,}, the same in both: {same}")


if __name__ == "__main__":
    main()
