"""Face detection, per-face sharpness and eye state with OpenCV's Haar cascades (shipped in the wheel).

Imported only inside the faces scorer's ``load()``, so ``import cv2`` never happens at plugin import.
The cascades are the Viola–Jones detectors trained by OpenCV; eye state is decided by two independent
cues: the open-eye cascades must fire in the eye band, and an iris/pupil blob (a compact region clearly
darker than the cheek skin, which survives a morphological opening that erases lash lines and creases)
must be present. A closed lid is skin-coloured: it has neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

_CASCADES: dict[str, Any] = {}


def cascade(name: str) -> Any:
    """A cached ``cv2.CascadeClassifier`` from the cascades bundled with opencv-python."""
    if name not in _CASCADES:
        path = cv2.data.haarcascades + name
        clf = cv2.CascadeClassifier(path)
        if clf.empty():
            raise RuntimeError(
                f"OpenCV cascade {path} is missing; reinstall with `pip install 'opencv-python-headless<5'`"
            )
        _CASCADES[name] = clf
    return _CASCADES[name]


@dataclass
class Eye:
    box: tuple[int, int, int, int]  # x, y, w, h in image pixels
    cascade: bool  # an open-eye cascade fired here
    iris: bool  # a dark compact blob (iris/pupil) was found


@dataclass
class Face:
    box: tuple[int, int, int, int]
    sharpness: float  # variance of the Laplacian inside the face, at a fixed face size
    eyes: str  # "open" | "closed" | "unknown"
    eye_details: list[Eye] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "box": [int(v) for v in self.box],
            "sharpness": round(self.sharpness, 1),
            "eyes": self.eyes,
            "eye_regions": [
                {"box": [int(v) for v in e.box], "cascade": e.cascade, "iris": e.iris}
                for e in self.eye_details
            ],
        }


#: Faces narrower than this (pixels in the analysed image) get no eye verdict: too few pixels per eye.
MIN_FACE_FOR_EYES = 64
#: Faces softer than this (see ``face_sharpness``) get no eye verdict either.
MIN_SHARPNESS_FOR_EYES = 12.0
#: Faces are found on a copy whose longer side is at most this (3x faster than 1024 px); eyes and
#: sharpness are measured at full resolution.
DETECT_SIDE = 640
#: Faces are normalised to this width before measuring sharpness, so the number means the same for
#: a close-up and a group photo.
FACE_NORM = 128


def detect_faces(gray: np.ndarray, min_frac: float = 0.06) -> list[tuple[int, int, int, int]]:
    """Frontal faces, largest first; two cascades must agree, which removes most false positives."""
    side = min(gray.shape)
    min_size = max(24, int(side * min_frac))
    eq = cv2.equalizeHist(gray)
    found = cascade("haarcascade_frontalface_alt2.xml").detectMultiScale(
        eq, scaleFactor=1.1, minNeighbors=5, minSize=(min_size, min_size)
    )
    confirm = cascade("haarcascade_frontalface_default.xml")
    faces = []
    for x, y, w, h in found:
        pad = w // 4
        x0, y0 = max(0, x - pad), max(0, y - pad)
        roi = eq[y0 : y + h + pad, x0 : x + w + pad]
        if len(confirm.detectMultiScale(roi, 1.1, 3, minSize=(int(w * 0.7), int(w * 0.7)))):
            faces.append((int(x), int(y), int(w), int(h)))
    return sorted(faces, key=lambda b: -b[2] * b[3])


def face_sharpness(gray: np.ndarray, box: tuple[int, int, int, int]) -> float:
    x, y, w, h = box
    face = cv2.resize(
        gray[y : y + h, x : x + w], (FACE_NORM, FACE_NORM), interpolation=cv2.INTER_AREA
    )
    return float(cv2.Laplacian(face.astype(np.float32), cv2.CV_32F).var())


def _iris_blob(region: np.ndarray, skin: float) -> bool:
    """Whether ``region`` (an eye box, grey) holds a compact blob clearly darker than ``skin``."""
    h, w = region.shape
    if h < 6 or w < 6:
        return False
    core = region[h // 5 : h - h // 5, w // 8 : w - w // 8]
    dark = (core < 0.6 * skin).astype(np.uint8)
    k = max(3, int(round(w * 0.12)) | 1)
    opened = cv2.morphologyEx(
        dark, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    )
    ch, cw = opened.shape
    centre = opened[int(ch * 0.3) : int(ch * 0.7) + 1, int(cw * 0.3) : int(cw * 0.7) + 1]
    # The pupil sits at the middle of the eye box; lash lines are erased by the opening and glasses
    # frames or brows lie along the box's edges.
    return bool(opened.mean() >= 0.03 and centre.mean() >= 0.25)


def eye_state(
    gray: np.ndarray, box: tuple[int, int, int, int], sharpness: float
) -> tuple[str, list[Eye]]:
    """Open, closed or unknown for one face, with the evidence per eye region.

    Small or very blurred faces get "unknown": an iris cannot be told from a lid there, and calling
    them "closed" would reject photos for the wrong reason.
    """
    x, y, w, h = box
    if w < MIN_FACE_FOR_EYES or sharpness < MIN_SHARPNESS_FOR_EYES:
        return "unknown", []
    face = gray[y : y + h, x : x + w]
    cheek = face[int(h * 0.55) : int(h * 0.75), int(w * 0.25) : int(w * 0.75)]
    skin = float(np.median(cheek))
    top, bottom = int(h * 0.15), int(h * 0.58)
    band = face[top:bottom]
    scale = 160.0 / w
    small = cv2.resize(
        band, (160, max(1, int(band.shape[0] * scale))), interpolation=cv2.INTER_AREA
    )
    hits = []
    for name in ("haarcascade_eye.xml", "haarcascade_eye_tree_eyeglasses.xml"):
        for ex, ey, ew, eh in cascade(name).detectMultiScale(
            small, 1.05, 2, minSize=(20, 20), maxSize=(70, 70)
        ):
            hits.append((ex / scale, ey / scale + top, ew / scale, eh / scale))
    eyes = []
    for side in (0, 1):  # the subject's right eye is on the image's left
        lo, hi = side * w / 2, (side + 1) * w / 2
        mine = [b for b in hits if lo <= b[0] + b[2] / 2 < hi]
        if mine:
            ex, ey, ew, eh = max(mine, key=lambda b: b[2])
            fired = True
        else:  # where an eye sits on a frontal face
            ew = eh = 0.24 * w
            ex, ey = (0.3 if side == 0 else 0.7) * w - ew / 2, 0.38 * h - eh / 2
            fired = False
        ex, ey, ew, eh = (int(round(v)) for v in (ex, ey, ew, eh))
        region = face[max(0, ey) : ey + eh, max(0, ex) : ex + ew]
        eyes.append(Eye((x + ex, y + ey, ew, eh), fired, _iris_blob(region, skin)))
    open_eyes = sum(e.iris and e.cascade for e in eyes)
    if open_eyes:
        return "open", eyes
    if not any(e.iris for e in eyes):
        return "closed", eyes
    return "unknown", eyes


def analyse(rgb: np.ndarray) -> list[Face]:
    """Every frontal face in an RGB array with its sharpness and eye state, largest first."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    scale = min(1.0, DETECT_SIDE / max(gray.shape))
    small = gray
    if scale < 1.0:
        size = (round(gray.shape[1] * scale), round(gray.shape[0] * scale))
        small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    faces = []
    for bx, by, bw, bh in detect_faces(small):
        box = tuple(int(round(v / scale)) for v in (bx, by, bw, bh))
        sharpness = face_sharpness(gray, box)
        state, eyes = eye_state(gray, box, sharpness)
        faces.append(Face(box, sharpness, state, eyes))
    return faces
