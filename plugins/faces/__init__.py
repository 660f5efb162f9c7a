"""The faces scorer: frontal faces, per-face sharpness and closed eyes, no downloads needed.

Detection uses the Haar cascades that ship inside the ``opencv-python-headless`` wheel, so it works
offline on a fresh install. OpenCV is imported in ``load()`` (inside the decode workers), never when
the plugin module is imported.

Score: 0–10, 10 = no face problems. Each face is judged on its eyes (closed costs 6 points) and its
sharpness (a soft face costs up to 4); the photo gets the worst score among its main faces (those at
least a quarter the area of the largest), since one person blinking spoils a group photo. Photos
without a detected face get ``score=None``: there is nothing to judge, and ranking then applies no face
penalty. ``extra["faces"]`` lists each face (box, sharpness, eyes, the evidence per eye), largest first.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from culler.api import Scorer, ScoreResult, hookimpl

__version__ = "1.0"

#: Face sharpness (Laplacian variance on a 128 px face) mapped to 0..1 between these values (log scale).
SOFT, SHARP = 25.0, 250.0
EYES_CLOSED_COST = 6.0
SOFT_FACE_COST = 4.0


def _sharpness01(value: float) -> float:
    lo, hi = math.log10(SOFT), math.log10(SHARP)
    return float(min(1.0, max(0.0, (math.log10(value + 1.0) - lo) / (hi - lo))))


def face_score(face: dict[str, Any]) -> float:
    """0–10 for one face: 10 minus the cost of closed eyes and of softness."""
    cost = SOFT_FACE_COST * (1.0 - _sharpness01(face["sharpness"]))
    if face["eyes"] == "closed":
        cost += EYES_CLOSED_COST
    return round(max(0.0, 10.0 - cost), 3)


class FacesScorer(Scorer):
    id = "faces"
    version = "1"
    kind = "score"
    description = (
        "Frontal faces (OpenCV Haar cascades, offline), per-face sharpness and closed eyes; "
        "10 = no face problems, empty when no face is found."
    )
    input_size = 1024
    batch_size = 1
    runs_in_worker = True
    role = "penalty"

    MAIN_FACE_AREA: ClassVar[float] = 0.25

    def load(self, device: str = "cpu") -> None:
        from culler_plugins.faces import detect

        detect.cascade(
            "haarcascade_frontalface_alt2.xml"
        )  # fail at load, with the fix, not per photo
        self._detect = detect
        self.device = device

    def score_batch(self, images: list[Image.Image]) -> list[ScoreResult]:
        return [self.score_one(im) for im in images]

    def score_one(self, image: Image.Image) -> ScoreResult:
        faces = [f.to_json() for f in self._detect.analyse(np.asarray(image.convert("RGB")))]
        if not faces:
            return ScoreResult(score=None, reasons=["no faces found"], extra={"faces": []})
        for face in faces:
            face["score"] = face_score(face)
        largest = faces[0]["box"][2] * faces[0]["box"][3]
        main = [f for f in faces if f["box"][2] * f["box"][3] >= self.MAIN_FACE_AREA * largest]
        closed = [f for f in main if f["eyes"] == "closed"]
        soft = [f for f in main if _sharpness01(f["sharpness"]) < 0.5]
        reasons = []
        if closed:
            reasons.append(
                "eyes closed"
                if len(main) == 1
                else f"eyes closed on {len(closed)} of {len(main)} faces"
            )
        if soft:
            reasons.append(
                "face soft (focus miss or motion blur)"
                if len(main) == 1
                else f"{len(soft)} of {len(main)} faces soft"
            )
        if not reasons:
            unknown = sum(f["eyes"] == "unknown" for f in main)
            n = f"{len(main)} face{'s' * (len(main) != 1)}"
            reasons.append(f"{n}, sharp" + (", eyes open" if not unknown else ""))
        return ScoreResult(
            score=min(f["score"] for f in main),
            reasons=reasons,
            extra={"faces": faces, "main_faces": len(main)},
        )


@hookimpl
def register_scorers(register):
    register(FacesScorer)
