"""Faces with dlib's HOG detector and its 68-point shape predictor; eyes from the eye aspect ratio.

Imported only when the faces scorer scores its first photo, so neither dlib nor OpenCV is imported
with the plugin or in the scan's main process. Both models ship in packages from PyPI: the detector is compiled into ``dlib-bin``, the
predictor file comes with ``face-recognition-models``; nothing is downloaded at run time.

Why these: measured by ``benchmarks/faces_detectors.py`` against OpenCV's Haar cascades (the previous
detector). The HOG detector gives a score per face (a confidence) and no face on leaves, bark or grass
where the cascades found some; it is also over ten times cheaper. The 68 landmarks put six points on
each eyelid, so "closed" is a measurement (the lid-to-lid height over the eye's width) instead of the
absence of a dark blob.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import dlib
import numpy as np
from culler_plugins.faces.models import (  # noqa: F401 - re-exported: detect is where callers look
    DETECT_SIDE,
    INSTALL_HINT,
    PREDICTOR_FILE,
    predictor_path,
)

#: The skin gate looks at a copy this size: enough for a face at the smallest size detected.
GATE_SIDE = 128
#: HOG score (an SVM margin) a face must reach; dlib's own default is 0. On the benchmark's 56
#: photos without people the best non-face scored -0.33 (coins, at 640 px), the weakest real face
#: (rotated 8°) 0.63: the threshold sits between them.
MIN_SCORE = 0.3
#: Eyes are judged only on faces at least this wide (pixels of the analysed photo), this sharp, and
#: this confidently detected: below, a lid cannot be told from an iris and the landmarks guess.
MIN_FACE_FOR_EYES = 80
MIN_SHARPNESS_FOR_EYES = 12.0
MIN_SCORE_FOR_EYES = 0.5
#: Eye aspect ratio (Soukupová and Čech 2016): height of the eye opening over its width, from the six
#: landmarks of each eye. Open eyes measure about 0.25–0.35; both eyes below CLOSED_EAR are closed;
#: between the two the verdict is "unknown" (squint, smile, glasses).
CLOSED_EAR = 0.17
OPEN_EAR = 0.21
#: Landmarks are trusted when they hold still: the eye aspect ratio is measured again from face
#: boxes 8 % larger and smaller and shifted 5 % sideways (boxes found at two detection sizes differ
#: about that much), and an eye whose ratio moves more than this is not judged. Real eyes, open or
#: shut, moved at most 0.14 in the benchmark; lids the predictor could not place (glasses frames
#: over made-up lids) moved 0.25–0.3.
MAX_EAR_SPREAD = 0.15
JITTER = ((1.0, 0.0), (0.92, 0.0), (1.08, 0.0), (1.0, 0.05), (1.0, -0.05))
#: Faces are normalised to this width before measuring sharpness, so the number means the same for
#: a close-up and a group photo.
FACE_NORM = 128

#: Landmark indices of the subject's right eye (left in the image) and left eye, in the 68-point scheme.
EYES = ((36, 37, 38, 39, 40, 41), (42, 43, 44, 45, 46, 47))

_MODELS: dict[str, Any] = {}


def detector() -> Any:
    """The cached HOG face detector (built into dlib: instant)."""
    if "detector" not in _MODELS:
        _MODELS["detector"] = dlib.get_frontal_face_detector()
    return _MODELS["detector"]


def predictor() -> Any:
    """The cached 68-point predictor. Reading its 100 MB file takes about 1.4 s of CPU, so it is read
    at the first face a process meets: a scan of photos without people never pays for it."""
    if "predictor" not in _MODELS:
        _MODELS["predictor"] = dlib.shape_predictor(str(predictor_path()))
    return _MODELS["predictor"]


@dataclass
class Face:
    box: tuple[int, int, int, int]  # x, y, w, h in pixels of the analysed photo
    confidence: float  # 0–1, from the detector's score
    detector_score: float
    sharpness: float  # variance of the Laplacian inside the face, at a fixed face size
    eyes: str  # "open" | "closed" | "unknown"
    eye_aspect: tuple[float, float]  # (subject's right eye, left eye), median over JITTER
    eye_aspect_spread: tuple[float, float]  # how far it moved over JITTER
    irises: list[bool]  # an iris seen in each eye
    eye_points: list[list[tuple[int, int]]]  # six landmarks per eye, for the loupe

    def to_json(self) -> dict[str, Any]:
        return {
            "box": [int(v) for v in self.box],
            "confidence": round(self.confidence, 3),
            "detector_score": round(self.detector_score, 3),
            "sharpness": round(self.sharpness, 1),
            "eyes": self.eyes,
            "eye_aspect": [round(v, 3) for v in self.eye_aspect],
            "eye_aspect_spread": [round(v, 3) for v in self.eye_aspect_spread],
            "iris": [bool(v) for v in self.irises],
            "eye_landmarks": [[list(p) for p in eye] for eye in self.eye_points],
        }


def confidence(score: float) -> float:
    """The detector's SVM margin squashed to 0–1: 0.5 at dlib's own threshold, 0.9 at a margin of 1.1."""
    return 1.0 / (1.0 + math.exp(-2.0 * score))


def detect_faces(
    gray: np.ndarray,
    region: tuple[int, int, int, int] | None = None,
    min_score: float = MIN_SCORE,
) -> list[tuple[tuple[int, int, int, int], float]]:
    """Frontal faces of at least 80 px as ((x, y, w, h), detector score), largest first; ``region``
    (x0, y0, x1, y1) limits the search to that part of ``gray``."""
    h, w = gray.shape
    rx0, ry0, rx1, ry1 = region or (0, 0, w, h)
    crop = gray[ry0:ry1, rx0:rx1]
    if min(crop.shape) < 40:  # too small for dlib's 80 px window, even half outside
        return []
    rects, scores, _ = detector().run(np.ascontiguousarray(crop), 0, min_score)
    faces = []
    for r, s in zip(rects, scores):
        x0, y0 = max(0, rx0 + r.left()), max(0, ry0 + r.top())
        x1, y1 = min(w, rx0 + r.right()), min(h, ry0 + r.bottom())
        if x1 - x0 > 8 and y1 - y0 > 8:
            faces.append(((x0, y0, x1 - x0, y1 - y0), float(s)))
    return sorted(faces, key=lambda f: -f[0][2] * f[0][3])


def skin_region(rgb: np.ndarray) -> tuple[int, int, int, int] | None:
    """The part of ``rgb`` (x0, y0, x1, y1) that can hold a face of 80 px or more, or None.

    A speed gate, not a detector: HOG costs about 9 ms on a whole 400 px copy, this 0.2 ms. A face
    large enough to be detected shows a patch of skin chroma (YCrCb, the range that covers light to
    dark skin) of at least a quarter of its box; leaves, sky, sea and grass have none and skip the
    detector. Monochrome photos carry no chroma to judge by and are searched whole. The price: a face
    lit by strongly coloured light (a deep blue or green stage light) can be skipped.
    """
    h, w = rgb.shape[:2]
    scale = GATE_SIDE / max(h, w)
    thumb = cv2.resize(
        rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
    )
    luma, cr, cb = cv2.split(cv2.cvtColor(thumb, cv2.COLOR_RGB2YCrCb))
    if cr.std() < 3 and cb.std() < 3:
        return (0, 0, w, h)
    mask = ((cr >= 133) & (cr <= 180) & (cb >= 77) & (cb <= 130) & (luma > 20)).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
    face = 80.0 * scale  # the smallest face the detector finds, in thumbnail pixels
    boxes = [stats[i, :4] for i in range(1, count) if stats[i, 4] >= 0.25 * face * face]
    if not boxes:
        return None
    x0 = min(b[0] for b in boxes) - face
    y0 = min(b[1] for b in boxes) - face
    x1 = max(b[0] + b[2] for b in boxes) + face
    y1 = max(b[1] + b[3] for b in boxes) + face
    return (
        max(0, int(x0 / scale)),
        max(0, int(y0 / scale)),
        min(w, int(math.ceil(x1 / scale))),
        min(h, int(math.ceil(y1 / scale))),
    )


def face_sharpness(gray: np.ndarray, box: tuple[int, int, int, int]) -> float:
    x, y, w, h = box
    face = cv2.resize(
        gray[y : y + h, x : x + w], (FACE_NORM, FACE_NORM), interpolation=cv2.INTER_AREA
    )
    return float(cv2.Laplacian(face.astype(np.float32), cv2.CV_32F).var())


def eye_landmarks(gray: np.ndarray, box: tuple[int, int, int, int]) -> list[np.ndarray]:
    """The six landmarks of each eye (subject's right first) as (6, 2) float arrays."""
    x, y, w, h = box
    # dlib copies the array it is given: hand it the face and a margin, not the whole photo.
    x0, y0 = max(0, x - w // 2), max(0, y - h // 2)
    crop = np.ascontiguousarray(gray[y0 : y + h + h // 2, x0 : x + w + w // 2])
    shape = predictor()(crop, dlib.rectangle(x - x0, y - y0, x - x0 + w, y - y0 + h))
    return [
        np.array([(shape.part(i).x + x0, shape.part(i).y + y0) for i in eye], float) for eye in EYES
    ]


def eye_aspects(
    gray: np.ndarray, box: tuple[int, int, int, int]
) -> tuple[list[np.ndarray], tuple[float, float], tuple[float, float]]:
    """Eye landmarks from ``box``, and each eye's aspect ratio as (median, spread) over the jittered
    boxes of :data:`JITTER`."""
    x, y, w, h = box
    ratios, first = [], None
    for scale, shift in JITTER:
        cx, cy = x + w / 2 + shift * w, y + h / 2
        jittered = (
            round(cx - scale * w / 2),
            round(cy - scale * h / 2),
            round(scale * w),
            round(scale * h),
        )
        eyes = eye_landmarks(gray, jittered)
        first = first or eyes
        ratios.append([eye_aspect_ratio(e) for e in eyes])
    r = np.array(ratios)
    median, spread = np.median(r, axis=0), r.max(axis=0) - r.min(axis=0)
    return first, (float(median[0]), float(median[1])), (float(spread[0]), float(spread[1]))


def eye_aspect_ratio(points: np.ndarray) -> float:
    """Mean lid-to-lid height over corner-to-corner width (points in the 68-point eye order)."""
    width = np.linalg.norm(points[0] - points[3])
    height = np.linalg.norm(points[1] - points[5]) + np.linalg.norm(points[2] - points[4])
    return float(height / (2.0 * width)) if width > 0 else 0.0


def iris_visible(gray: np.ndarray, points: np.ndarray, skin: float) -> bool:
    """Whether a compact blob clearly darker than the cheek (iris and pupil) sits at the eye's centre.

    A second, independent cue: a closed lid is skin-coloured. The box is placed from the eye's
    corners only (landmarks on the lids can be pulled open by a glasses frame), a morphological
    opening erases lash lines and creases, and a frame or a brow lies along the box's edges, not at
    its centre.
    """
    width = float(np.linalg.norm(points[0] - points[3]))
    cx, cy = points.mean(axis=0)
    x0, x1 = int(cx - 0.6 * width), int(cx + 0.6 * width)
    y0, y1 = int(cy - 0.35 * width), int(cy + 0.35 * width)
    region = gray[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)]
    if region.shape[0] < 6 or region.shape[1] < 6:
        return False
    dark = (region < 0.6 * skin).astype(np.uint8)
    k = max(3, int(round(width * 0.12)) | 1)
    opened = cv2.morphologyEx(
        dark, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    )
    h, w = opened.shape
    centre = opened[int(h * 0.3) : int(h * 0.7) + 1, int(w * 0.3) : int(w * 0.7) + 1]
    return bool(opened.mean() >= 0.03 and centre.mean() >= 0.2)


def eye_state(
    face_width: int,
    sharpness: float,
    score: float,
    ears: tuple[float, float],
    spreads: tuple[float, float],
    irises: list[bool],
) -> str:
    """Open, closed or unknown. "closed" needs both eyes measured shut by landmarks that hold still
    and no iris in either, on a face large, sharp and confidently detected enough for landmarks to
    be trusted; where the cues disagree the answer is "unknown", which costs the photo nothing."""
    if face_width < MIN_FACE_FOR_EYES or sharpness < MIN_SHARPNESS_FOR_EYES:
        return "unknown"
    if score < MIN_SCORE_FOR_EYES or max(spreads) > MAX_EAR_SPREAD:
        return "unknown"
    if max(ears) < CLOSED_EAR and not any(irises):
        return "closed"
    if min(ears) >= OPEN_EAR and any(irises):
        return "open"
    return "unknown"


def analyse(
    rgb: np.ndarray, side: int = DETECT_SIDE, gate: bool = True, small: np.ndarray | None = None
) -> list[Face]:
    """Every frontal face in an RGB array with confidence, sharpness and eye state, largest first.

    Faces are searched on a copy ``side`` px on its longer side (behind the skin gate unless
    ``gate`` is False) and measured on the photo itself. ``small`` is that copy when the caller
    already has it (an INTER_AREA resize of ``rgb``); it is used only if its size is the right one.
    """
    if rgb.ndim == 2:
        rgb = cv2.cvtColor(rgb, cv2.COLOR_GRAY2RGB)
    h, w = rgb.shape[:2]
    scale = min(1.0, side / max(h, w))
    size = (round(h * scale), round(w * scale))
    if min(size) < 40:
        # No face of the detector's 80 px fits (half of it may be outside), and a panorama strip
        # thinner than that would be resized to nothing.
        return []
    if scale >= 1.0:
        small = rgb
    elif small is None or small.shape != (*size, 3):
        small = cv2.resize(rgb, size[::-1], interpolation=cv2.INTER_AREA)
    region = skin_region(small) if gate else None
    if gate and region is None:
        return []
    found = detect_faces(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), region)
    if not found:
        return []
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    faces = []
    for (x, y, bw, bh), score in found:
        x0, y0 = round(x / scale), round(y / scale)
        x1, y1 = min(w, round((x + bw) / scale)), min(h, round((y + bh) / scale))
        faces.append(_measure(gray, (x0, y0, x1 - x0, y1 - y0), score))
    return faces


def _measure(gray: np.ndarray, box: tuple[int, int, int, int], score: float) -> Face:
    x, y, w, h = box
    sharpness = face_sharpness(gray, box)
    eyes, ears, spreads = eye_aspects(gray, box)
    skin = float(
        np.median(gray[y + int(h * 0.55) : y + int(h * 0.75), x + w // 4 : x + 3 * w // 4])
    )
    irises = [iris_visible(gray, eye, skin) for eye in eyes]
    state = eye_state(w, sharpness, score, ears, spreads, irises)
    points = [[(int(round(px)), int(round(py))) for px, py in eye] for eye in eyes]
    return Face(box, confidence(score), score, sharpness, state, ears, spreads, irises, points)
