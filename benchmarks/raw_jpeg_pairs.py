"""A RAW+JPEG shoot scanned and culled with captures paired (issue #30) and, for comparison, with the
pairing switched off (what culler did before): rows, decodes, scan time, near-duplicate groups and
the rejects ``culler cull`` proposes.

Each capture is a real sample photo (``culler.testing.available_samples``, cropped at a different
place per capture so no two captures are alike) written as a DNG with a camera-sized embedded
preview and as a JPEG, side by side, as a camera set to RAW+JPEG writes them.

    .venv/bin/python benchmarks/raw_jpeg_pairs.py [--captures 12] [--side 1600]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from unittest import mock

from click.testing import CliRunner

from culler.catalog import open_catalog
from culler.cli import cli
from culler.scan import ScanOptions, scan_folders
from culler.testing import available_samples
from culler.testing.formats import write_dng


def write_shoot(folder: Path, captures: int, side: int) -> None:
    folder.mkdir(parents=True)
    samples = available_samples()
    for n in range(captures):
        _, image = samples[n % len(samples)]
        # A different crop per capture, so captures of one sample are not near-duplicates.
        w, h = image.size
        shift = (n // len(samples)) * 0.12
        box = (int(w * shift), int(h * shift), int(w * (0.6 + shift)), int(h * (0.6 + shift)))
        frame = image.crop(box).resize((side, side * 2 // 3))
        write_dng(folder / f"IMG_{n:04d}.dng", frame, preview_side=side)
        frame.save(folder / f"IMG_{n:04d}.JPG", quality=92)


def run(folder: Path, db: Path) -> dict:
    with open_catalog(db) as cat:
        started = time.perf_counter()
        summary = scan_folders(
            cat, [folder], ScanOptions(workers=0, scorer_ids=["technical"]), echo=lambda _m: None
        )
        seconds = time.perf_counter() - started
        rows = cat.query("SELECT COUNT(*) AS n FROM photos")[0]["n"]
    result = CliRunner().invoke(cli, ["cull", "--db", str(db), "--dry-run", "--json"])
    plan = json.loads(result.output)["plan"]
    with open_catalog(db) as cat:
        groups = cat.query(
            "SELECT COUNT(*) AS n FROM (SELECT group_id FROM group_members"
            " GROUP BY group_id HAVING COUNT(*) > 1)"
        )[0]["n"]
    return {
        "photos": rows,
        "decoded": summary["decoded"],
        "scan_s": round(seconds, 2),
        "groups": groups,
        "rejects": sum(1 for p in plan if p["decision"] == "reject"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captures", type=int, default=12)
    parser.add_argument("--side", type=int, default=1600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "shoot"
        write_shoot(folder, args.captures, args.side)
        paired = run(folder, Path(tmp) / "paired.db")
        with mock.patch("culler.scan.plan.pair_captures", lambda found: found):
            apart = run(folder, Path(tmp) / "apart.db")
    print(f"{args.captures} RAW+JPEG captures ({args.side} px), technical scorer, 1 process")
    print(f"{'':22}{'photos':>8}{'decoded':>9}{'scan s':>8}{'groups':>8}{'rejects':>9}")
    for name, r in (("files apart (before)", apart), ("captures paired", paired)):
        print(
            f"{name:22}{r['photos']:>8}{r['decoded']:>9}{r['scan_s']:>8}"
            f"{r['groups']:>8}{r['rejects']:>9}"
        )


if __name__ == "__main__":
    main()
