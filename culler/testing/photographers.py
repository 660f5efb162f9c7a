"""Synthetic photographers with a known taste, culling shoots made of real photographs.

Each shoot is a folder of moments; a moment is a burst of frames derived from one real photo (the
scikit-image and scikit-learn samples) the way a photographer's frames of one moment differ: the
framing (a wider or tighter crop, resized to the same output size), the light (a warmer or cooler
white balance, a little brighter or darker) and a small shift. Frames carry EXIF capture times a
fraction of a second apart, so culler's grouping finds the bursts on its own.

A :class:`Taste` decides which frame of each moment the photographer keeps, from the frame's known
attributes (never from culler's scores): the widest framing, the warmest light, open eyes and the
largest face, or a random frame. :func:`mark_shoots` writes the decisions where photographers keep them: XMP
sidecars (the kept frame 3 stars, the others unmarked, as a Lightroom user leaves them) or the
catalog. Tests and ``benchmarks/personal_ranker.py`` then check that a ranker learns each real taste
on held-out shoots and learns nothing from the random one.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

#: Real photos the moments are built from (faces: the astronaut, whose face the detector finds).
SCENES = ("chelsea", "coffee", "rocket", "stereo_motorcycle", "china", "flower", "astronaut")
FACE_SCENES = ("astronaut", "grace_hopper")
#: Framings of a moment: the share of the photo's width each frame keeps.
ZOOMS = (1.0, 0.82, 0.66)
#: Where the face is in each face scene (x, y of its centre, as shares of the width and height).
FACE_CENTRES = {"astronaut": (0.46, 0.22), "grace_hopper": (0.51, 0.33)}


@dataclass
class Frame:
    """One derived frame and what it is, as the photographer sees it."""

    path: Path
    scene: str
    zoom: float
    warmth: float  # −1 (cool) … +1 (warm)
    brightness: float
    moment: int
    shoot: str
    eyes_open: bool = True


@dataclass
class Shoot:
    name: str
    folder: Path
    moments: list[list[Frame]] = field(default_factory=list)


def scene_image(name: str) -> Image.Image:
    """A real photo by name: scikit-image's samples, scikit-learn's (china, flower) or
    matplotlib's (grace_hopper)."""
    if name == "grace_hopper":
        import matplotlib.cbook

        path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
        return Image.open(path).convert("RGB")
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        return Image.fromarray(load_sample_image(f"{name}.jpg")).convert("RGB")
    from culler.testing import sample_image

    return sample_image(name)


#: The focal length of the widest framing: a tighter frame is a longer focal length, as when
#: zooming in.
WIDE_FOCAL = 35.0


def _exif(day: int, seconds: float, zoom: float, camera: str = "SynthCam R5") -> Image.Exif:
    """EXIF of a frame taken ``seconds`` after 10:00 on June ``day`` (one shoot a day) with the
    focal length its framing would have needed."""
    from PIL.TiffImagePlugin import IFDRational

    exif = Image.Exif()
    exif[0x0110] = camera
    ifd = exif.get_ifd(0x8769)
    whole = int(seconds)
    ifd[0x9003] = (
        f"2024:06:{day:02d} {10 + whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"
    )
    ifd[0x9291] = f"{round((seconds - whole) * 100):02d}"
    ifd[0x920A] = IFDRational(round(WIDE_FOCAL / zoom * 10), 10)
    ifd[0xA405] = round(WIDE_FOCAL / zoom)
    return exif


def derive_frame(
    image: Image.Image,
    zoom: float,
    warmth: float,
    brightness: float,
    shift: tuple[int, int],
    side: int,
    centre: tuple[float, float] = (0.5, 0.5),
) -> Image.Image:
    """A frame of the moment: crop ``zoom`` of the photo around ``centre`` (moved by ``shift``),
    resize to ``side`` on the long edge, then change its white balance and exposure."""
    w, h = image.size
    cw, ch = w * zoom, h * zoom
    cx = min(max(centre[0] * w + shift[0], cw / 2), w - cw / 2)
    cy = min(max(centre[1] * h + shift[1], ch / 2), h - ch / 2)
    crop = image.crop(
        (round(cx - cw / 2), round(cy - ch / 2), round(cx + cw / 2), round(cy + ch / 2))
    )
    scale = side / max(crop.size)
    crop = crop.resize((round(crop.width * scale), round(crop.height * scale)), Image.LANCZOS)
    a = np.asarray(crop, dtype=np.float32) * brightness
    a[..., 0] *= 1 + 0.10 * warmth
    a[..., 2] *= 1 - 0.10 * warmth
    return Image.fromarray(a.clip(0, 255).astype(np.uint8))


def make_shoots(
    root: Path,
    shoots: int = 6,
    moments: int = 4,
    frames: int = 3,
    side: int = 384,
    seed: int = 0,
    scenes: tuple[str, ...] = SCENES,
    close_eyes: Callable[[Image.Image, str], Image.Image] | None = None,
    blink: float = 0.4,
) -> list[Shoot]:
    """Write ``shoots`` folders of ``moments`` bursts of ``frames`` frames each under ``root``.

    With ``close_eyes(image, scene)`` (closes the eyes of a face scene's original, e.g. with the
    faces plugin's test helper), each frame of a face scene blinks with probability ``blink``
    (one frame of each such moment always has its eyes open)."""
    rng = random.Random(seed)
    cache: dict[str, Image.Image] = {}
    made = []
    for s in range(shoots):
        shoot = Shoot(f"shoot-{s + 1:02d}", root / f"shoot-{s + 1:02d}")
        shoot.folder.mkdir(parents=True, exist_ok=True)
        for m in range(moments):
            scene = scenes[(s * moments + m) % len(scenes)]
            original = cache.setdefault(scene, scene_image(scene))
            flip = rng.random() < 0.5
            centre = FACE_CENTRES.get(scene, (0.5, 0.5))
            if flip:
                centre = (1 - centre[0], centre[1])
            blinks = [False] * frames
            if close_eyes is not None and scene in FACE_SCENES:
                blinks = [rng.random() < blink for _ in range(frames)]
                blinks[rng.randrange(frames)] = False
            zooms = rng.sample(ZOOMS, k=min(frames, len(ZOOMS)))
            zooms += [rng.choice(ZOOMS) for _ in range(frames - len(zooms))]
            burst = []
            for f in range(frames):
                frame = Frame(
                    shoot.folder / f"IMG_{m + 1:02d}{f + 1:02d}.jpg",
                    scene,
                    zooms[f],
                    rng.uniform(-1, 1),
                    rng.uniform(0.9, 1.1),
                    m,
                    shoot.name,
                    not blinks[f],
                )
                image = close_eyes(original, scene) if blinks[f] else original
                if flip:
                    image = image.transpose(Image.FLIP_LEFT_RIGHT)
                shift = (rng.randint(-6, 6), rng.randint(-6, 6))
                picture = derive_frame(
                    image, frame.zoom, frame.warmth, frame.brightness, shift, side, centre
                )
                picture.save(
                    frame.path, quality=90, exif=_exif(s % 28 + 1, m * 120 + f * 0.4, frame.zoom)
                )
                burst.append(frame)
            shoot.moments.append(burst)
        made.append(shoot)
    return made


# -- tastes ---------------------------------------------------------------------------------------


@dataclass
class Taste:
    """A photographer: ``choose(frames, rng)`` returns the frame of a moment they keep."""

    name: str
    choose: Callable[[list[Frame], random.Random], Frame]
    real: bool = True


TASTES = {
    "wider": Taste("wider", lambda fs, rng: max(fs, key=lambda f: (f.zoom, f.warmth))),
    "warmer": Taste("warmer", lambda fs, rng: max(fs, key=lambda f: f.warmth)),
    # eyes open first, then the tightest framing (the largest face)
    "faces": Taste("faces", lambda fs, rng: max(fs, key=lambda f: (f.eyes_open, -f.zoom))),
    "random": Taste("random", lambda fs, rng: rng.choice(fs), real=False),
}


def chosen(shoots: list[Shoot], taste: Taste, seed: int = 0) -> dict[Path, bool]:
    """{frame path: kept?} for every frame of ``shoots``, as ``taste`` culls them."""
    rng = random.Random(seed)
    found = {}
    for shoot in shoots:
        for moment in shoot.moments:
            keep = taste.choose(moment, rng)
            found.update({f.path: f is keep for f in moment})
    return found


def mark_shoots(
    kept: dict[Path, bool], where: str = "xmp", catalog: Any = None, stars: int = 3
) -> None:
    """Leave the photographer's decisions where an editor would: ``where="xmp"`` writes a sidecar
    with ``stars`` for each kept frame (the others stay unmarked); ``"catalog"`` rates the kept
    frames ``stars`` and picked, the others rejected, as hand decisions."""
    if where == "xmp":
        from culler.interop.xmp import SidecarData, write_sidecar

        for path, keep in kept.items():
            if keep:
                write_sidecar(path.with_suffix(".xmp"), SidecarData(rating=stars))
        return
    rows = {Path(r["path"]): r["id"] for r in catalog.readable_photos()}
    for path, keep in kept.items():
        pid = rows[path.resolve()]
        if keep:
            catalog.rate(pid, stars=stars, decision="pick", source="cli")
        else:
            catalog.rate(pid, decision="reject", source="cli")
