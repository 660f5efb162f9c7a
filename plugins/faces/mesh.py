"""Eyelids and irises from MediaPipe's Face Mesh and Iris models, run by OpenCV's DNN.

The faces scorer's default eye landmarks (``faces.landmarks=mesh``). dlib's 68-point predictor
(``detect.eye_landmarks``, ``faces.landmarks=dlib68``) puts six points on each eye, but its file is
100 MB and trained on iBUG 300-W, whose terms exclude commercial use. MediaPipe's models are
Apache-2.0 and small: the Face Mesh (``face_landmark.tflite``, 1.2 MB: 468 points of a face on a
192 × 192 crop) and the Iris model (``iris_landmark.tflite``, 2.6 MB: 71 eye-contour and brow
points and 5 iris points on a 64 × 64 crop of one eye). Both ship inside the ``mediapipe`` wheel,
installed ``--no-deps`` and never imported: the files are found with ``importlib.util.find_spec``,
checked by SHA-256 and handed to ``cv2.dnn.readNetFromTFLite`` as bytes. Nothing is downloaded at
run time; without the wheel the faces scorer uses dlib's 68 points.

The crops follow MediaPipe's own graphs (``mediapipe/modules/face_landmark`` and
``iris_landmark``): a square region turned so the eyes lie level, sampled with bilinear
interpolation and replicated borders, RGB scaled to 0..1. The face's region is the bounding box of
its landmarks 1.5 times its longer side, turned by the line through the outer eye corners (33 and
263); the detector's box seeds a first pass. Each eye's region is 2.3 times the span of its corners
(33-133, 362-263); the model knows left eyes only, so the other eye is mirrored in and out.
``tests/test_faces_mesh.py`` checks the points against dlib's on real faces.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
from pathlib import Path
from typing import Any

import numpy as np

PACKAGE = "mediapipe"
INSTALL_HINT = "pip install --no-deps 'mediapipe==0.10.14'"
#: The files this code was written and measured against (those of the mediapipe 0.10.14 wheel).
FILES = {
    "mesh": ("modules/face_landmark/face_landmark.tflite", 192),
    "iris": ("modules/iris_landmark/iris_landmark.tflite", 64),
}
SHA256 = {
    "mesh": "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
    "iris": "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
}
#: MediaPipe's region conventions: the face's crop is FACE_SCALE times its landmarks' extent, an
#: eye's EYE_SCALE times the span of its corners.
FACE_SCALE = 1.5
EYE_SCALE = 2.3
#: The first pass's region from a detector's box (dlib's box runs brow to lip: the mesh's extent,
#: forehead to chin, is about 1.15 times it, and its centre a little lower).
BOX_SCALE = 1.15 * FACE_SCALE
BOX_DROP = 0.08
#: The mesh's own face score (a logit; MediaPipe's graphs take sigmoid >= 0.5 as a face).
MIN_PRESENCE = 0.5
#: Mesh indices of each eye's outer and inner corners, subject's right eye (image left) first.
EYE_CORNERS = ((33, 133), (263, 362))
#: The mesh's six points of each eye in dlib's 68-point order (corner, two upper lid, corner, two
#: lower lid): what ``detect.eye_aspect_ratio`` and the stored eye points expect.
MESH_EYES = ((33, 160, 158, 133, 153, 144), (362, 385, 387, 263, 373, 380))
#: The Iris model's first 16 contour points are the lids: 0 the outer corner, 1-7 the lower lid,
#: 8 the inner corner, 9-15 the upper lid (MediaPipe's ``update_face_landmarks`` maps them onto
#: mesh points 33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173).
LID_UPPER = (10, 11, 12, 13, 14)
LID_LOWER = (2, 3, 4, 5, 6)
#: The six points of each eye's Iris-model contour in dlib's eye order (as MESH_EYES; the second
#: eye's contour comes back mirrored: its point 0 is the outer corner, on the image's right).
IRIS_EYES = ((0, 11, 13, 8, 5, 3), (8, 13, 11, 0, 3, 5))

_NETS: dict[str, Any] = {}
_BYTES: dict[str, bytes] = {}


def models_dir() -> Path | None:
    """The installed ``mediapipe`` package folder, found without importing it."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def available() -> bool:
    """Whether both model files are installed (their checksums are checked when first read)."""
    folder = models_dir()
    return folder is not None and all((folder / rel).is_file() for rel, _ in FILES.values())


def read_model(name: str, folder: Path | None = None) -> bytes:
    """The bytes of model ``name`` ("mesh" or "iris"), refused unless they are the measured file."""
    folder = folder or models_dir()
    if folder is None:
        raise RuntimeError(f"the faces scorer's eye landmarks need `{INSTALL_HINT}`")
    path = folder / FILES[name][0]
    if not path.is_file():
        raise RuntimeError(f"{path} is missing; reinstall it: `{INSTALL_HINT} --force-reinstall`")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != SHA256[name]:
        raise RuntimeError(
            f"{path} is not the file culler was measured with (SHA-256 differs); "
            f"install that one: `{INSTALL_HINT} --force-reinstall`"
        )
    return data


def preload() -> None:
    """Read and check both files (the scan's fork server does, once a scan): each worker forked
    from it builds its OpenCV networks from these bytes at its first face."""
    for name in FILES:
        if name not in _BYTES:
            _BYTES[name] = read_model(name)


def net(name: str) -> Any:
    """The cached OpenCV network of model ``name``."""
    import cv2

    if name not in _NETS:
        data = _BYTES.get(name) or read_model(name)
        model = cv2.dnn.readNetFromTFLite(np.frombuffer(data, np.uint8))
        _NETS[name] = (model, model.getUnconnectedOutLayersNames())
    return _NETS[name]


def _crop(
    rgb: np.ndarray, centre: tuple[float, float], side: float, angle: float, size: int, mirror=False
) -> tuple[np.ndarray, np.ndarray]:
    """The square region of ``side`` px around ``centre``, turned by ``angle`` (radians, the
    region's x axis in the photo; ``mirror`` flips the crop left to right), as a size × size
    float RGB crop in 0..1, and the 2 × 3 matrix that takes crop positions back to the photo."""
    import cv2  # imported here: the scan's main process checks the files without OpenCV

    c, s = math.cos(angle), math.sin(angle)
    k = side / size
    ux, uy = (c * k, s * k), (-s * k, c * k)
    if mirror:
        ux = (-ux[0], -ux[1])
    # ``back`` takes a position in the crop (0..size, as the models' outputs are) to the photo.
    # MediaPipe's ImageToTensorCalculator maps the region's corners onto the crop's corner
    # pixels, and so does this warp: crop pixel (u, v) is sampled at back(u, v).
    ox = centre[0] - (ux[0] + uy[0]) * size / 2
    oy = centre[1] - (ux[1] + uy[1]) * size / 2
    back = np.array([[ux[0], uy[0], ox], [ux[1], uy[1], oy]], np.float64)
    crop = cv2.warpAffine(
        rgb,
        back,
        (size, size),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return crop.astype(np.float32) / 255.0, back


def _run(name: str, crop: np.ndarray) -> list[np.ndarray]:
    model, outputs = net(name)
    model.setInput(crop.transpose(2, 0, 1)[None])
    return [np.asarray(o) for o in model.forward(outputs)]


def _to_photo(points: np.ndarray, back: np.ndarray) -> np.ndarray:
    return points[:, :2] @ back[:, :2].T + back[:, 2]


def _region(points: np.ndarray) -> tuple[tuple[float, float], float, float]:
    """MediaPipe's face region from its landmarks: centre of their bounding box, FACE_SCALE times
    its longer side, turned by the outer eye corners."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    right, left = points[EYE_CORNERS[0][0]], points[EYE_CORNERS[1][0]]
    angle = math.atan2(left[1] - right[1], left[0] - right[0])
    centre = (float(lo[0] + hi[0]) / 2, float(lo[1] + hi[1]) / 2)
    return centre, FACE_SCALE * float(max(hi - lo)), angle


def face_mesh(
    rgb: np.ndarray, box: tuple[int, int, int, int], passes: int = 2
) -> tuple[np.ndarray, float] | None:
    """The 468 mesh points (x, y in the photo) of the face in ``box`` and the mesh's face
    probability; None when the mesh finds no face there. The first pass is cropped from the box,
    the next from the points of the one before (as MediaPipe tracks a face)."""
    x, y, w, h = box
    side = max(w, h)
    centre, span, angle = (x + w / 2, y + h / 2 + BOX_DROP * side), BOX_SCALE * side, 0.0
    points, presence = None, 0.0
    for _ in range(passes):
        crop, back = _crop(rgb, centre, span, angle, FILES["mesh"][1])
        flag, raw = _run("mesh", crop)
        presence = 1.0 / (1.0 + math.exp(-float(flag.ravel()[0])))
        points = _to_photo(raw.reshape(468, 3), back)
        centre, span, angle = _region(points)
    if points is None or presence < MIN_PRESENCE:
        return None
    return points, presence


def eye_contours(rgb: np.ndarray, mesh: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each eye's 71 contour points and 5 iris points (iris centre first) from the Iris model, in
    the photo, subject's right eye first."""
    out = []
    for i, (outer, inner) in enumerate(EYE_CORNERS):
        a, b = mesh[outer], mesh[inner]
        if i == 1:  # the model sees a left eye: the other one is mirrored, corners swapped
            a, b = b, a
        angle = math.atan2(b[1] - a[1], b[0] - a[0])
        centre = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
        span = EYE_SCALE * max(abs(b[0] - a[0]), abs(b[1] - a[1]))
        crop, back = _crop(rgb, centre, span, angle, FILES["iris"][1], mirror=i == 1)
        contour, iris = _run("iris", crop)
        out.append((_to_photo(contour.reshape(71, 3), back), _to_photo(iris.reshape(5, 3), back)))
    return out


def lid_opening(contour: np.ndarray) -> float:
    """Lid-to-lid height over the eye's corner-to-corner width, from the Iris model's lid points:
    the mean distance of the five middle upper-lid points from the lower lid's, over the width."""
    width = float(np.linalg.norm(contour[0] - contour[8]))
    if width <= 0:
        return 0.0
    gaps = np.linalg.norm(contour[list(LID_UPPER)] - contour[list(LID_LOWER)], axis=1)
    return float(gaps.mean() / width)


def iris_share(contour: np.ndarray, iris: np.ndarray) -> float:
    """The lid opening at the eye's middle over the iris's diameter: about 0.7-1 for an open eye,
    0 for a shut one (the model places an iris under a closed lid too)."""
    diameter = float(np.linalg.norm(iris[1] - iris[3]) + np.linalg.norm(iris[2] - iris[4])) / 2
    if diameter <= 0:
        return 0.0
    return float(np.linalg.norm(contour[12] - contour[4]) / diameter)
