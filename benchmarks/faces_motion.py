"""Motion blur on faces: is a smeared face called "motion", a defocused one "soft", a sharp one
"sharp", and how does the shutter speed from EXIF move the verdict?

Real faces: insightface's card table of six (``pip install --no-deps insightface``) and scikit-image's
astronaut, at the scan's 1024 px. Each photo is smeared with a straight-line motion kernel
(``culler_plugins.faces.testing.motion_blur``: 7, 11 and 15 px at 0°, 30°, 45°, 90° and 135°) and
defocused with a Gaussian (σ 1, 1.5, 2, 3 px); every face found on the sharp photo is judged on
each copy (the boxes are the sharp photo's, so a face the detector loses when smeared still counts).
Each copy is judged three ways: no exposure time known, 1/15 s at 50 mm (4× slower than
hand-holdable), and 1/1000 s at 50 mm.

Prints, per shutter: motion-blurred faces read "motion" (and how many "soft" / "sharp"), defocused
faces read "motion", sharp faces read "motion", and the mean confidence of the "motion" verdicts.

Usage: python benchmarks/faces_motion.py [--verbose]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter

import cv2
import numpy as np
from culler_plugins.faces import detect
from culler_plugins.faces.testing import motion_blur, people_photo
from PIL import Image, ImageFilter

SHUTTERS = {
    "unknown": None,
    "1/15 s, 50 mm": {"exposure_time": 1 / 15, "focal_length": 50.0},
    "1/1000 s, 50 mm": {"exposure_time": 1 / 1000, "focal_length": 50.0},
}
LENGTHS = (7, 11, 15)
ANGLES = (0, 30, 45, 90, 135)
SIGMAS = (1.0, 1.5, 2.0, 3.0)


def photos() -> dict[str, Image.Image]:
    out = {}
    for name in ("insightface:t1.jpg", "skimage:astronaut"):
        image = people_photo(name)
        if image is None:
            print(f"skipped {name}: its package is not installed", file=sys.stderr)
            continue
        k = 1024 / max(image.size)
        out[name] = image.resize((round(image.width * k), round(image.height * k)), Image.LANCZOS)
    return out


def verdicts(image: Image.Image, boxes, shooting) -> list[tuple[str, float]]:
    """(focus, confidence) of each face box on ``image``, measured as the scorer measures it."""
    rgb = np.asarray(image)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    reference = detect.photo_sharpness(gray)
    out = []
    for box in boxes:
        sharpness = detect.face_sharpness(gray, box)
        focus, conf, *_ = detect.face_focus(gray, box, sharpness, reference, shooting)
        out.append((focus, conf))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    cases = []  # (truth, label, image, boxes)
    for name, image in photos().items():
        boxes = [f.box for f in detect.analyse(np.asarray(image))]
        cases.append(("sharp", f"{name} sharp", image, boxes))
        for sigma in SIGMAS:
            blurred = image.filter(ImageFilter.GaussianBlur(sigma))
            cases.append(("soft", f"{name} defocus σ{sigma}", blurred, boxes))
        for length in LENGTHS:
            for angle in ANGLES:
                smeared = motion_blur(image, length, angle)
                cases.append(("motion", f"{name} motion {length}px@{angle}°", smeared, boxes))
    if not cases:
        print("no photo with people installed", file=sys.stderr)
        return 1
    print(
        f"{'shutter':17} | {'smeared: motion (soft, sharp)':30} | {'defocus: motion':15} | "
        f"{'sharp: motion':13} | motion conf"
    )
    for shutter, shooting in SHUTTERS.items():
        tally: dict[str, Counter] = {"sharp": Counter(), "soft": Counter(), "motion": Counter()}
        confs = []
        for truth, label, image, boxes in cases:
            found = verdicts(image, boxes, shooting)
            for focus, conf in found:
                tally[truth][focus] += 1
                if focus == "motion" and truth == "motion":
                    confs.append(conf)
            if args.verbose:
                print(f"  {shutter:16} {label}: {[f'{f} {c:.2f}' for f, c in found]}")
        m, s, d = tally["motion"], tally["sharp"], tally["soft"]
        smeared = f"{m['motion']}/{sum(m.values())} ({m['soft']}, {m['sharp']})"
        print(
            f"{shutter:17} | {smeared:30} | {d['motion']}/{sum(d.values()):<13} | "
            f"{s['motion']}/{sum(s.values()):<11} | {statistics.mean(confs) if confs else 0:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
