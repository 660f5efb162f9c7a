"""Closed eyes made from a real face, for the faces tests and ``benchmarks/faces_detectors.py``.

No photo of a person with closed eyes ships in a package, so one is made: cheek skin from below each
eye is moved up over it through a soft elliptical mask (a lid with real skin texture), and a thin dark
lash line is drawn at the lid's lower edge.
"""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFilter

#: Eye centres and widths (pixels), read off the photos: (cx, cy, width).
ASTRONAUT_EYES = ((202, 101, 26), (247, 103, 26))
GRACE_HOPPER_EYES = ((220, 194, 44), (301, 186, 40))


def close_eyes(image: Image.Image, eyes: tuple[tuple[int, int, int], ...]) -> Image.Image:
    """A copy of ``image`` with each eye at (cx, cy, width) covered by a lid of the subject's skin."""
    out = image.copy()
    for cx, cy, w in eyes:
        rx, ry = 0.55 * w, 0.30 * w
        box = (int(cx - rx), int(cy - ry), int(cx + rx), int(cy + ry))
        shift = int(0.75 * w)
        skin = image.crop((box[0], box[1] + shift, box[2], box[3] + shift))
        mask = Image.new("L", skin.size, 0)
        ImageDraw.Draw(mask).ellipse((0, 0, skin.size[0] - 1, skin.size[1] - 1), fill=255)
        out.paste(skin, box[:2], mask.filter(ImageFilter.GaussianBlur(max(1.0, w * 0.05))))
        ImageDraw.Draw(out).arc(
            (cx - 0.45 * w, cy - 0.35 * w, cx + 0.45 * w, cy + 0.18 * w),
            25,
            155,
            fill=(60, 40, 35),
            width=max(1, round(w * 0.05)),
        )
    return out


#: Real photos with people that install with packages: name → (package, how to find it).
PEOPLE_PHOTOS = {
    "insightface:t1.jpg": "insightface",
    "ultralytics:zidane.jpg": "ultralytics",
    "ultralytics:bus.jpg": "ultralytics",
    "skimage:astronaut": "scikit-image",
    "skimage:camera": "scikit-image",
    "matplotlib:grace_hopper.jpg": "matplotlib",
}


def people_photo(name: str) -> Image.Image | None:
    """One of :data:`PEOPLE_PHOTOS` as an RGB image at its own size, or None when its package is
    not installed (``insightface`` and ``ultralytics`` install without their dependencies: ``pip
    install --no-deps insightface ultralytics``; only their photo folders are read, nothing of them
    is imported)."""
    import importlib.util
    from pathlib import Path

    folders = {"insightface": ("data", "images"), "ultralytics": ("assets",)}
    package, _, file = name.partition(":")
    if package in folders:
        spec = importlib.util.find_spec(package)  # finds the folder, imports nothing
        if spec is None or not spec.submodule_search_locations or name not in PEOPLE_PHOTOS:
            return None
        path = Path(next(iter(spec.submodule_search_locations))).joinpath(*folders[package], file)
        return Image.open(path).convert("RGB") if path.is_file() else None
    if name.startswith("skimage:"):
        try:
            from skimage import data
        except ImportError:
            return None
        return Image.fromarray(getattr(data, name.split(":")[1])()).convert("RGB")
    if name.startswith("matplotlib:"):
        try:
            from matplotlib import cbook
        except ImportError:
            return None
        with cbook.get_sample_data(name.split(":")[1]) as f:
            return Image.open(f).convert("RGB")
    raise KeyError(name)


def motion_blur(image: Image.Image, length: int, angle: float) -> Image.Image:
    """``image`` smeared as by a straight motion of ``length`` px at ``angle`` degrees (counter-
    clockwise from horizontal, as the photo is seen) during the exposure: a line kernel, each
    pixel on the path weighing the same (a constant-speed subject or camera)."""
    import math

    import cv2
    import numpy as np

    kernel = np.zeros((length, length), np.float32)
    c = (length - 1) / 2
    for t in np.linspace(-c, c, 4 * length):
        x = c + t * math.cos(math.radians(angle))
        y = c - t * math.sin(math.radians(angle))
        kernel[int(round(y)), int(round(x))] = 1.0
    kernel /= kernel.sum()
    return Image.fromarray(cv2.filter2D(np.asarray(image.convert("RGB")), -1, kernel))
