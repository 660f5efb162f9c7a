"""Does the personal ranker learn a photographer's taste, and only a real one? Measured on real photos.

Two archives of shoots are built from real photographs that install with packages (scikit-image's and
scikit-learn's samples; see :mod:`culler.testing.photographers`): each moment is a burst of frames of
one photo that differ in framing (with the focal length in EXIF a zoom would record), white balance,
exposure and a small shift; the faces archive is made of portrait bursts in which some frames blink
(eyes closed with the faces plugin's test helper). Both are scanned with the technical and faces
scorers, as ``culler scan`` would.

Then synthetic photographers with a known taste cull every shoot by hand (the frame they keep gets 3★
in an XMP sidecar, the others stay unmarked, as a Lightroom user leaves them):

- ``wider``: keeps the widest framing of each burst;
- ``warmer``: keeps the frame with the warmest light;
- ``faces``: keeps a frame with the eyes open, the largest face among those;
- ``random``: keeps a random frame (several seeds): there is nothing to learn.

For each, ``train_personal_ranker`` (what ``culler train --model ranker`` runs) learns from the
sidecars, with shoots held out, and the script prints the default cull's and the ranker's figures on
the held-out shoots: top-1 in bursts and pick precision with 90 % intervals (bootstrap over shoots),
McNemar's test on the moments, and whether ``culler cull`` would use the ranker.

Run: ``python benchmarks/personal_ranker.py [--shoots 8] [--moments 4] [--random-seeds 5]
[--keep DIR] [--json]``. Nothing is downloaded; about a minute or two on two cores.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from culler.catalog import open_catalog
from culler.decide.ranker_training import train_personal_ranker
from culler.testing import scan_into
from culler.testing.photographers import (
    FACE_SCENES,
    SCENES,
    TASTES,
    chosen,
    make_shoots,
    mark_shoots,
)

SCORERS = ["technical", "faces"]


def _clear_sidecars(shoots) -> None:
    for shoot in shoots:
        for sidecar in shoot.folder.glob("*.xmp"):
            sidecar.unlink()


def build(root: Path, name: str, args, **options):
    """Write and scan one archive; returns (shoots, catalog path, seconds)."""
    start = time.perf_counter()
    shoots = make_shoots(
        root / name / "photos", args.shoots, args.moments, args.frames, seed=args.seed, **options
    )
    catalog, _ = scan_into(root / name / "culler.db", root / name / "photos", SCORERS)
    catalog.close()
    return shoots, root / name / "culler.db", time.perf_counter() - start


def run_taste(shoots, db: Path, taste: str, seed: int) -> dict:
    """One photographer: their sidecars, a ranker learned with shoots held out."""
    _clear_sidecars(shoots)
    mark_shoots(chosen(shoots, TASTES[taste], seed))
    catalog = open_catalog(db)
    try:
        result = train_personal_ranker(catalog, source="xmp", save=False)
    finally:
        catalog.close()
    return result


def row(taste: str, seed: int, result: dict) -> dict:
    f = result["figures"]
    return {
        "taste": taste,
        "seed": seed,
        "real": TASTES[taste].real,
        "moments": result["groups"],
        "top1_before": f["top1"]["before"],
        "top1_after": f["top1"]["after"],
        "top1_before_90": f["top1"]["before_interval"],
        "top1_after_90": f["top1"]["after_interval"],
        "top1_gain": f["top1"]["gain"],
        "pick_precision_before": f["pick_precision"]["before"],
        "pick_precision_after": f["pick_precision"]["after"],
        "pick_precision_gain": f["pick_precision"]["gain"],
        "mcnemar_p": result["test"]["p_value"],
        "ranker_only_right": result["test"]["ranker_only_right"],
        "default_only_right": result["test"]["default_only_right"],
        "used_by_cull": result["beats_default"],
        "strongest": [name for name, _ in result["strongest_features"][:3]],
    }


def _pct(value, interval=None) -> str:
    text = "-" if value is None else f"{100 * value:.0f}%"
    if interval:
        text += f" [{100 * interval[0]:.0f}–{100 * interval[1]:.0f}]"
    return text


def print_table(rows: list[dict]) -> None:
    print(
        f"{'photographer':14}{'moments':>8}{'top-1 default':>20}{'top-1 ranker':>20}"
        f"{'pick P default':>16}{'pick P ranker':>15}{'McNemar p':>11}{'cull uses it':>14}"
    )
    for r in rows:
        name = r["taste"] + ("" if r["real"] else f" #{r['seed']}")
        print(
            f"{name:14}{r['moments']:>8}"
            f"{_pct(r['top1_before'], r['top1_before_90']):>20}"
            f"{_pct(r['top1_after'], r['top1_after_90']):>20}"
            f"{_pct(r['pick_precision_before']):>16}{_pct(r['pick_precision_after']):>15}"
            f"{r['mcnemar_p']!s:>11}{'yes' if r['used_by_cull'] else 'no':>14}"
        )
    for r in rows:
        if r["real"]:
            print(f"  {r['taste']}: strongest features {', '.join(r['strongest'])}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--shoots", type=int, default=8)
    p.add_argument("--moments", type=int, default=4, help="bursts per shoot")
    p.add_argument("--frames", type=int, default=3, help="frames per burst")
    p.add_argument("--random-seeds", type=int, default=5, help="random photographers")
    p.add_argument("--seed", type=int, default=3, help="seed of the archives")
    p.add_argument("--keep", type=Path, default=None, help="build the archives here and keep them")
    p.add_argument("--json", action="store_true", help="print the rows as JSON too")
    args = p.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="culler-ranker-"))
    try:
        from culler_plugins.faces.testing import ASTRONAUT_EYES, GRACE_HOPPER_EYES, close_eyes

        eyes = {"astronaut": ASTRONAUT_EYES, "grace_hopper": GRACE_HOPPER_EYES}

        general, general_db, t1 = build(root, "general", args, side=384, scenes=SCENES)
        # One portrait burst per face photo and shoot: more bursts of the same photo in one shoot
        # would be near-duplicates of each other, one moment to culler (as in a real session).
        portraits, portraits_db, t2 = build(
            root,
            "portraits",
            argparse.Namespace(**{**vars(args), "shoots": 2 * args.shoots, "moments": 2}),
            side=512,
            scenes=FACE_SCENES,
            close_eyes=lambda image, scene: close_eyes(image, eyes[scene]),
        )
        print(
            f"general archive: {args.shoots} shoots × {args.moments} bursts × {args.frames} frames "
            f"({t1:.0f} s to write and scan); portraits: {2 * args.shoots} shoots × 2 bursts "
            f"({t2:.0f} s)"
        )
        rows = []
        for taste in ("wider", "warmer"):
            rows.append(row(taste, 0, run_taste(general, general_db, taste, 0)))
        rows.append(row("faces", 0, run_taste(portraits, portraits_db, "faces", 0)))
        for seed in range(args.random_seeds):
            rows.append(row("random", seed, run_taste(general, general_db, "random", seed)))
        print_table(rows)
        real = [r for r in rows if r["real"]]
        fake = [r for r in rows if not r["real"]]
        print(
            f"real tastes learned (used by cull): {sum(r['used_by_cull'] for r in real)}/{len(real)}; "
            f"random photographers the cull would follow: {sum(r['used_by_cull'] for r in fake)}/"
            f"{len(fake)}; mean top-1 gain, real: "
            f"{sum(r['top1_gain'] for r in real) / len(real):+.2f}, random: "
            f"{sum(r['top1_gain'] for r in fake) / max(len(fake), 1):+.2f}"
        )
        if args.json:
            print(json.dumps(rows, indent=2))
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
