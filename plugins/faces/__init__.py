"""The faces scorer: frontal faces with a confidence, per-face sharpness and closed eyes, offline.

Detection is dlib's HOG face detector and eyes come from its 68-point landmarks (``detect.py`` says
why, ``benchmarks/faces_detectors.py`` measures it); both models install from PyPI with ``dlib-bin``
and ``face-recognition-models``. dlib and OpenCV are imported at the first photo scored (inside the
decode workers), never when the plugin module is imported or the scorer loaded.

Role "penalty": 10 = no face problems. Each face is judged on its eyes (closed costs 6 points) and
its sharpness (a soft face costs up to 4); the photo gets the worst score among its main faces (those
at least a quarter the area of the largest), since one person blinking spoils a group photo. Photos
without a detected face get ``score=None``: there is nothing to judge, and ranking applies no face
penalty. ``extra["faces"]`` lists each face (box, confidence, sharpness, eye state with the eye
aspect ratios, iris evidence and eye landmarks), largest first; ``extra["defects"]`` names closed
eyes and soft faces only where the measurement is confident (see ``culler.api.ScoreResult``).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from culler.api import SMALL_COPY_KEY, Scorer, ScoreResult, hookimpl

__version__ = "2.0"

#: Face sharpness (Laplacian variance on a 128 px face) mapped to 0..1 between these values (log scale).
SOFT, SHARP = 25.0, 250.0
EYES_CLOSED_COST = 6.0
SOFT_FACE_COST = 4.0
#: A face is called soft in the reasons below this sharpness (0–1); named as a defect, which
#: ``culler cull`` may reject for, only below SOFT_DEFECT and when the face is at least
#: SOFT_DEFECT_MIN_WIDTH px wide (a smaller face is upsampled to measure and always looks softer).
SOFT_REASON, SOFT_DEFECT = 0.5, 0.25
SOFT_DEFECT_MIN_WIDTH = 100
SOFT_REASON_TEXT = "face soft (missed focus)"


def _sharpness01(value: float) -> float:
    lo, hi = math.log10(SOFT), math.log10(SHARP)
    return float(min(1.0, max(0.0, (math.log10(value + 1.0) - lo) / (hi - lo))))


def face_score(face: dict[str, Any]) -> float:
    """0–10 for one face: 10 minus the cost of closed eyes and of softness."""
    cost = SOFT_FACE_COST * (1.0 - _sharpness01(face["sharpness"]))
    if face["eyes"] == "closed":
        cost += EYES_CLOSED_COST
    return round(max(0.0, 10.0 - cost), 3)


def face_defects(face: dict[str, Any], closed_ear: float) -> list[dict[str, Any]]:
    """The defects one face shows with confidence: the detector's confidence times how clearly the
    measurement is past its threshold."""
    defects = []
    if face["eyes"] == "closed":
        clarity = 1.0 - 0.5 * max(face["eye_aspect"]) / closed_ear  # 0.5 at the threshold, 1 shut
        defects.append(
            {
                "defect": "eyes_closed",
                "confidence": round(face["confidence"] * clarity, 3),
                "reason": "eyes closed",
            }
        )
    sharp = _sharpness01(face["sharpness"])
    if sharp < SOFT_DEFECT and face["box"][2] >= SOFT_DEFECT_MIN_WIDTH:
        defects.append(
            {
                "defect": "soft_face",
                "confidence": round(face["confidence"] * (1.0 - sharp), 3),
                "reason": SOFT_REASON_TEXT,
            }
        )
    return defects


def photo_reasons(main: list[dict[str, Any]]) -> list[str]:
    """The faces' verdict in a photographer's words, worst first."""
    closed = [f for f in main if f["eyes"] == "closed"]
    soft = [f for f in main if _sharpness01(f["sharpness"]) < SOFT_REASON]
    reasons = []
    if closed:
        reasons.append(
            "eyes closed"
            if len(main) == 1
            else f"eyes closed on {len(closed)} of {len(main)} faces"
        )
    if soft:
        reasons.append(
            SOFT_REASON_TEXT
            if len(main) == 1
            else f"{len(soft)} of {len(main)} faces soft (missed focus)"
        )
    if not reasons:
        unknown = sum(f["eyes"] == "unknown" for f in main)
        n = f"{len(main)} face{'s' * (len(main) != 1)}"
        reasons.append(f"{n}, sharp" + (", eyes open" if not unknown else ""))
    return reasons


class FacesScorer(Scorer):
    id = "faces"
    version = "2"
    kind = "score"
    description = (
        "Frontal faces (dlib HOG detector, 68-point landmarks; offline), per-face sharpness and "
        "closed eyes; 10 = no face problems, empty when no face is found."
    )
    input_size = 1024
    batch_size = 1
    runs_in_worker = True
    #: Read the landmark model once per scan, in the workers' fork server, not once per worker.
    worker_preload = ("culler_plugins.faces.preload",)
    role = "penalty"

    MAIN_FACE_AREA: ClassVar[float] = 0.25

    def load(self, device: str = "cpu") -> None:
        from culler_plugins.faces import models

        missing = models.missing_modules()
        if missing:
            raise RuntimeError(
                f"the faces scorer needs {' and '.join(missing)}: `{models.INSTALL_HINT} "
                "opencv-python-headless`"
            )
        # Fail here, with the fix, rather than per photo. dlib and OpenCV are imported at the first
        # photo scored and the 100 MB predictor at the first face, so a process that scores none
        # (the scan's main process) or meets no face (a landscape shoot) never pays for them.
        models.predictor_path()
        side = self.config.get("detect_side", models.DETECT_SIDE)
        if not isinstance(side, int) or not 160 <= side <= 2048:
            raise ValueError(
                f"faces.detect_side must be a whole number of pixels, 160–2048, not {side!r}"
            )
        self._side = side
        #: Asks the scan's decode worker for its area-averaged copy of this size (the thumbnail's):
        #: the search copy, made once for both.
        self.small_copy_side = side
        self._detect = None
        self.device = device

    @property
    def detect(self) -> Any:
        """The detector module, imported at first use."""
        if self._detect is None:
            from culler_plugins.faces import detect

            self._detect = detect
        return self._detect

    def score_batch(self, images: list[Image.Image]) -> list[ScoreResult]:
        return [self.score_one(im) for im in images]

    def score_one(self, image: Image.Image) -> ScoreResult:
        rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
        # The scan's decode worker has already made a small area-averaged copy (for the thumbnail);
        # analyse() takes it when its size is the search size, instead of resizing again.
        small = image.info.get(SMALL_COPY_KEY)
        faces = [f.to_json() for f in self.detect.analyse(rgb, self._side, small=small)]
        if not faces:
            return ScoreResult(
                score=None, reasons=["no faces found"], extra={"faces": [], "defects": []}
            )
        for face in faces:
            face["score"] = face_score(face)
        largest = faces[0]["box"][2] * faces[0]["box"][3]
        main = [f for f in faces if f["box"][2] * f["box"][3] >= self.MAIN_FACE_AREA * largest]
        defects: dict[str, dict[str, Any]] = {}
        for face in main:  # one entry per kind of defect: the most confident
            for d in face_defects(face, self.detect.CLOSED_EAR):
                if (
                    d["defect"] not in defects
                    or d["confidence"] > defects[d["defect"]]["confidence"]
                ):
                    defects[d["defect"]] = d
        return ScoreResult(
            score=min(f["score"] for f in main),
            reasons=photo_reasons(main),
            extra={"faces": faces, "main_faces": len(main), "defects": list(defects.values())},
        )


@hookimpl
def register_scorers(register):
    register(FacesScorer)
