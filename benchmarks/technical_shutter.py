"""Does the exposure time help the technical scorer tell motion blur from other softness? (#29)

The real photographs of ``benchmarks/technical_calibration.py`` (scikit-image, matplotlib,
scikit-learn samples and the Debian wallpapers that are photographs), decoded at 1024 px as the scan
does, each in five states: sharp, defocused (Gaussian r 2 and r 4) and smeared by a straight-line
motion kernel (5, 9 and 15 px, at 0°, 45°, 90° or 135°). Every copy is scored with the exposure time
unknown (exactly what the scorer did before it read the shutter: the "before" column), at 1/15 s
(4× slower than hand-holdable at 50 mm) and at 1/2000 s (10× faster), through
``image.info[culler.api.SHOOTING_KEY]`` as the scan's decode worker hands it over.

Prints, per shutter: the share of smeared copies named "motion_blur" (per smear length), and the
false "motion" on sharp and defocused copies.

Usage: python benchmarks/technical_shutter.py [--limit N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from technical_calibration import (  # noqa: E402
    MOTION_ANGLES,
    gaussian_blurred,
    motion_blurred,
    real_photos,
)

from culler.api import SHOOTING_KEY  # noqa: E402

SHUTTERS = {
    "unknown (before)": None,
    "1/15 s, 50 mm": {"exposure_time": 1 / 15, "focal_length": 50.0},
    "1/2000 s, 50 mm": {"exposure_time": 1 / 2000, "focal_length": 50.0},
}
SMEARS = (5, 9, 15)


def copies(image, i: int):
    yield "sharp", image
    yield "defocus r2", gaussian_blurred(image, 2)
    yield "defocus r4", gaussian_blurred(image, 4)
    for k, length in enumerate(SMEARS):
        yield f"motion {length} px", motion_blurred(image, length, MOTION_ANGLES[(i + k) % 4])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N photos (0: all)")
    args = parser.parse_args()
    from culler_plugins.technical import TechnicalScorer

    scorer = TechnicalScorer()
    with tempfile.TemporaryDirectory() as tmp:
        photos = real_photos(Path(tmp))[: args.limit or None]
    n = len(photos)
    named: dict[str, dict[str, int]] = {s: {} for s in SHUTTERS}
    for i, (_name, image) in enumerate(photos):
        for label, copy in copies(image, i):
            for shutter, shooting in SHUTTERS.items():
                copy.info.pop(SHOOTING_KEY, None)
                if shooting is not None:
                    copy.info[SHOOTING_KEY] = shooting
                result = scorer.score_one(copy)
                found = {d["defect"] for d in result.extra["defects"]}
                named[shutter][label] = named[shutter].get(label, 0) + ("motion_blur" in found)
    labels = list(next(iter(named.values())))
    print(f"technical {scorer.version}: {n} real photographs at 1024 px; 'motion_blur' named on")
    print("| copy | " + " | ".join(SHUTTERS) + " |")
    print("|---|" + "---|" * len(SHUTTERS))
    for label in labels:
        cells = [f"{named[s][label]}/{n} ({100 * named[s][label] / n:.0f} %)" for s in SHUTTERS]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
