"""Calibration figures for the technical scorer on real photographs that install with packages.

Builds the set from scikit-image's sample photos, matplotlib's sample photo, scikit-learn's sample images
(when installed) and the Debian wallpapers under /usr/share/backgrounds and /usr/share/desktop-base
(`apt-get install -y gnome-backgrounds desktop-base mate-backgrounds lomiri-wallpapers` — gnome-backgrounds
and desktop-base ship graphics, the mate/lomiri packages ship the photographs). Every file is decoded at
1024 px through culler's own decoder, as the scan does. Wallpapers are split into photographs (a named
list, checked by eye) and graphics (everything else: gradients, renders, logos).

Prints, for the photographs: the share scoring ≥ 9.9, the score percentiles, the ordering violations
(a photo that does not score above its Gaussian-blurred, motion-blurred, noisy, over-exposed or
JPEG-quality-10 copy), the motion-blur / missed-focus detection rate on the blurred copies, the defects
reported on the originals and on the graphics (goal: none) and the milliseconds per photo.

Usage: python benchmarks/technical_calibration.py [--limit N] [--verbose]
"""

from __future__ import annotations

import argparse
import glob
import io
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from culler.imaging.images import open_photo
from culler.testing import noisy, overexposed

SIDE = 1024
#: scikit-image samples that are photographs (not renders, masks or synthetic charts).
SKIMAGE_PHOTOS = (
    "astronaut", "chelsea", "coffee", "rocket", "stereo_motorcycle",
    "hubble_deep_field", "immunohistochemistry", "camera", "brick", "grass", "gravel", "moon",
    "page", "text", "coins", "retina",
)  # fmt: skip
#: Wallpapers that are photographs (file names under /usr/share/backgrounds), checked by eye.
WALLPAPER_PHOTOS = (
    "Bridge_by_Sander_Klootwijk.jpg", "Dragonfly_by_Bolly.jpg", "Kleiber_by_Lukas_Baubkus.jpg",
    "Picture_0B_by_freespace.jpg", "Picture_1A_by_freespace.jpg", "Wine_by_Jakkub_Mede.jpg",
    "aitzgorri_by_Aitzol_Berasategi.jpg", "free_by_Peter_Nerlich.jpg",
    "friends_by_Aitzol_Berasategi.jpg", "greentock_by_Peter_Nerlich.jpg",
    "life_by_Aitzol_Berasategi.jpg", "picosdeeuropa_by_Aitzol_Berasategi.jpg",
    "seeding_by_Clements_Engelhardt.jpg", "sunset_by_Aitzol_Berasategi.jpg",
    "Aqua.jpg", "Blinds.jpg", "Dune.jpg", "FreshFlower.jpg", "Garden.jpg", "GreenMeadow.jpg",
    "LadyBird.jpg", "RainDrops.jpg", "Storm.jpg", "TwoWings.jpg", "Wood.jpg", "YellowFlower.jpg",
)  # fmt: skip
WALLPAPER_ROOTS = ("/usr/share/backgrounds", "/usr/share/desktop-base")
#: Images smaller than this (icons, password dots) are not photographs or wallpapers: left out, as
#: are images with transparency (theme sprites).
MIN_SIDE = 200


def decode(path: str | Path) -> Image.Image:
    return open_photo(path, SIDE)[0]


def _decode_array(array: np.ndarray, folder: Path, name: str) -> Image.Image:
    """Write an in-memory sample as PNG and decode it back the way a scan would."""
    path = folder / f"{name}.png"
    Image.fromarray(np.asarray(array)).save(path)
    return decode(path)


def real_photos(folder: Path) -> list[tuple[str, Image.Image]]:
    """(name, decoded image) for every installed real photograph."""
    from skimage import data

    photos = []
    for name in SKIMAGE_PHOTOS:
        try:
            array = getattr(data, name)()
            array = array[0] if isinstance(array, tuple) else array  # stereo pairs: the left view
        except Exception:  # a sample that needs a download (pooch) is not installed: skip it
            continue
        photos.append((f"skimage:{name}", _decode_array(array, folder, name)))
    try:
        import matplotlib.cbook

        photos.append(
            (
                "matplotlib:grace_hopper",
                decode(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)),
            )
        )
    except Exception:
        pass
    try:
        from sklearn.datasets import load_sample_images

        for i, array in enumerate(load_sample_images().images):
            photos.append((f"sklearn:{i}", _decode_array(array, folder, f"sklearn{i}")))
    except Exception:
        pass
    for path in wallpaper_files():
        if os.path.basename(path) in WALLPAPER_PHOTOS:
            photos.append((f"wallpaper:{os.path.basename(path)}", decode(path)))
    return photos


def wallpaper_files() -> list[str]:
    files = []
    for root in WALLPAPER_ROOTS:
        for path in glob.glob(f"{root}/**/*", recursive=True):
            if path.lower().endswith((".jpg", ".jpeg", ".png", ".webp")) and os.path.isfile(path):
                files.append(path)
    return sorted(files)


def graphics() -> list[tuple[str, Image.Image]]:
    """Wallpapers and theme images that are not photographs (renders, gradients, patterns)."""
    out = []
    for path in wallpaper_files():
        if os.path.basename(path) in WALLPAPER_PHOTOS:
            continue
        try:
            with Image.open(path) as im:
                # Sprites (logos, glows) have transparency, which decodes as white: not pictures.
                if min(im.size) < MIN_SIDE or "A" in im.getbands() or "transparency" in im.info:
                    continue
            out.append((f"graphic:{os.path.relpath(path, '/usr/share')}", decode(path)))
        except Exception:
            continue
    return out


# -- damaged copies ---------------------------------------------------------------------------------


def gaussian_blurred(image: Image.Image, radius: float = 4.0) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(radius))


def motion_blurred(image: Image.Image, length: int = 15, angle: float = 0.0) -> Image.Image:
    """A straight-line motion blur of ``length`` pixels at ``angle`` degrees (0 = horizontal,
    counter-clockwise as a photographer reads it), as camera shake or a moving subject leaves."""
    import cv2

    kernel = np.zeros((length, length), np.float32)
    c = (length - 1) / 2
    t = np.radians(angle)
    for s in np.linspace(-c, c, 4 * length):
        x, y = c + s * np.cos(t), c - s * np.sin(t)
        kernel[int(round(y)), int(round(x))] += 1
    kernel /= kernel.sum()
    a = cv2.filter2D(np.asarray(image), -1, kernel, borderType=cv2.BORDER_REFLECT)
    return Image.fromarray(a)


def jpeg_copy(image: Image.Image, quality: int = 10) -> Image.Image:
    """Compress at ``quality`` and decode back through culler (which reads the quantisation tables)."""
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    with tempfile.NamedTemporaryFile(suffix=".jpg", delete=False) as fh:
        fh.write(buf.getvalue())
    try:
        return decode(fh.name)
    finally:
        os.unlink(fh.name)


# -- the figures ------------------------------------------------------------------------------------

MOTION_ANGLES = (0, 45, 90, 135)


def _defects(result) -> dict[str, dict]:
    return {d["defect"]: d for d in (result.extra or {}).get("defects", [])}


def _angle_error(a: float, b: float) -> float:
    d = abs(a - b) % 180
    return min(d, 180 - d)


def evaluate(photos, scorer, verbose: bool = False) -> dict:
    """Score every photo and its damaged copies; collect the figures ``main`` prints."""
    damages = {
        "gaussian r4": lambda im, i: gaussian_blurred(im, 4),
        "gaussian r2": lambda im, i: gaussian_blurred(im, 2),
        "motion 15 px": lambda im, i: motion_blurred(im, 15, MOTION_ANGLES[i % 4]),
        "motion 9 px": lambda im, i: motion_blurred(im, 9, MOTION_ANGLES[(i + 1) % 4]),
        "noise σ20": lambda im, i: noisy(im, 20, seed=i),
        "overexposed": lambda im, i: overexposed(im),
        "jpeg q10": lambda im, i: jpeg_copy(im, 10),
    }
    scores, times, false_defects = [], [], []
    violations = {k: [] for k in damages}
    detected = {k: 0 for k in ("gaussian r4", "gaussian r2", "motion 15 px", "motion 9 px")}
    direction_ok = {"motion 15 px": 0, "motion 9 px": 0}
    for i, (name, image) in enumerate(photos):
        start = time.perf_counter()
        original = scorer.score_one(image)
        times.append(time.perf_counter() - start)
        scores.append(original.score)
        if _defects(original):
            false_defects.append((name, [d["reason"] for d in original.extra["defects"]]))
        blur = original.extra["blur"]
        line = [
            f"{name[:36]:36s} {original.score:5.2f} [{blur['along']:.2f}/{blur['across']:.2f}"
            f" {original.extra['subject_sharpness']:.2f}]"
        ]
        for label, damage in damages.items():
            copy = scorer.score_one(damage(image, i))
            found = _defects(copy)
            if copy.score >= original.score:
                violations[label].append(f"{name} ({original.score:.2f} ≤ {copy.score:.2f})")
            if label.startswith("gaussian") and "missed_focus" in found:
                detected[label] += 1
            if label.startswith("motion") and "motion_blur" in found:
                detected[label] += 1
                angle = (
                    MOTION_ANGLES[i % 4] if label == "motion 15 px" else MOTION_ANGLES[(i + 1) % 4]
                )
                if _angle_error(copy.extra["blur"]["direction_deg"], angle) <= 22.5:
                    direction_ok[label] += 1
            b = copy.extra["blur"]
            detail = f"[{b['along']:.2f}/{b['across']:.2f}]" if label.startswith("motion") else ""
            line.append(f"{label.split()[0][:5]}={copy.score:4.1f}{'*' if found else ' '}{detail}")
        if verbose:
            print(" ".join(line), "|", "; ".join(original.reasons))
    return {
        "scores": scores,
        "times": times,
        "false_defects": false_defects,
        "violations": violations,
        "detected": detected,
        "direction_ok": direction_ok,
    }


def baseline_scorer(rev: str, folder: Path):
    """The technical scorer as it was at git revision ``rev``, imported under another name."""
    import importlib
    import subprocess
    import sys

    package = folder / "technical_baseline"
    package.mkdir()
    root = Path(__file__).resolve().parent.parent
    listing = subprocess.run(
        ["git", "ls-tree", "--name-only", rev, "plugins/technical/"],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    for path in listing:
        if path.endswith(".py"):
            source = subprocess.run(
                ["git", "show", f"{rev}:{path}"],
                cwd=root,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            source = source.replace("culler_plugins.technical", "technical_baseline")
            (package / Path(path).name).write_text(source)
    sys.path.insert(0, str(folder))
    return importlib.import_module("technical_baseline").TechnicalScorer()


def compare_speed(photos, scorer, baseline, repeats: int = 3) -> tuple[float, float]:
    """Median ms per photo of both scorers, interleaved photo by photo (a shared machine's load
    then weighs on both alike)."""
    ours, theirs = [], []
    for _ in range(repeats):
        for _, image in photos:
            start = time.perf_counter()
            baseline.score_one(image)
            middle = time.perf_counter()
            scorer.score_one(image)
            theirs.append(middle - start)
            ours.append(time.perf_counter() - middle)
    return 1000 * statistics.median(ours), 1000 * statistics.median(theirs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N photos (0: all)")
    parser.add_argument("--verbose", action="store_true", help="one line per photo")
    parser.add_argument(
        "--baseline", default="", help="git revision whose technical scorer to time side by side"
    )
    args = parser.parse_args()
    from culler_plugins.technical import TechnicalScorer
    from skimage import data

    scorer = TechnicalScorer()
    with tempfile.TemporaryDirectory() as tmp:
        photos = real_photos(Path(tmp))
        clock = _decode_array(data.clock(), Path(tmp), "clock_motion")
    photos = photos[: args.limit or None]
    art = graphics()
    n = len(photos)
    print(
        f"technical {scorer.version}: {n} real photographs, {len(art)} graphics, decoded at {SIDE} px"
    )
    figures = evaluate(photos, scorer, args.verbose)
    scores = np.array(figures["scores"])
    share = float((scores >= 9.9).mean())
    pct = np.percentile(scores, [0, 10, 25, 50, 75, 90, 100])
    print(f"share ≥ 9.9: {share * 100:.1f} % ({int((scores >= 9.9).sum())}/{n}), goal < 10 %")
    print("score percentiles  min/p10/p25/p50/p75/p90/max: " + " / ".join(f"{p:.2f}" for p in pct))
    print(f"distinct scores (2 decimals): {len(set(np.round(scores, 2)))}/{n}")
    for label, bad in figures["violations"].items():
        print(f"ordering violations vs {label:12s}: {len(bad)}/{n} {'; '.join(bad)}")
    for label, count in figures["detected"].items():
        defect = "missed_focus" if label.startswith("gaussian") else "motion_blur"
        extra = ""
        if label in figures["direction_ok"]:
            extra = f", direction right (±22.5°) on {figures['direction_ok'][label]}/{count}"
        print(f"{defect} detected on {label} copies: {count}/{n} ({count / n * 100:.0f} %){extra}")
    clock_result = scorer.score_one(clock)
    print(
        f"skimage clock (real motion blur): score {clock_result.score:.2f}, defects {clock_result.extra['defects']}"
    )
    print(
        f"false defects on the originals: {len(figures['false_defects'])} (goal 0) {figures['false_defects']}"
    )
    art_defects = [
        (name, [d["reason"] for d in r.extra["defects"]])
        for name, im in art
        for r in [scorer.score_one(im)]
        if r.extra["defects"]
    ]
    print(f"defects on graphics: {len(art_defects)}/{len(art)} {art_defects}")
    if args.baseline:
        with tempfile.TemporaryDirectory() as tmp:
            baseline = baseline_scorer(args.baseline, Path(tmp))
            ours, theirs = compare_speed(photos, scorer, baseline)
            old_scores = np.array([baseline.score_one(image).score for _, image in photos])
        print(
            f"{args.baseline} (version {baseline.version}): share ≥ 9.9 "
            f"{int((old_scores >= 9.9).sum())}/{n}, percentiles "
            + " / ".join(
                f"{p:.2f}" for p in np.percentile(old_scores, [0, 10, 25, 50, 75, 90, 100])
            )
        )
        print(
            f"side by side, ms per photo (median of {3 * n}): this version {ours:.1f}, "
            f"{args.baseline} (version {baseline.version}) {theirs:.1f}"
        )
    times = sorted(figures["times"])
    print(
        f"ms per photo: median {1000 * statistics.median(times):.1f}, best {1000 * times[0]:.1f} "
        f"(this machine may be shared: compare runs made side by side)"
    )


if __name__ == "__main__":
    main()
