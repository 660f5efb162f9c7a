"""The faces scorer: frontal faces with a confidence, per-face sharpness and closed eyes, offline.

Detection is dlib's HOG face detector (``detect.py`` says why, ``benchmarks/faces_detectors.py``
measures it); eyelids come from MediaPipe's Face Mesh and Iris models (``mesh.py``, from the
``mediapipe`` wheel installed ``--no-deps``), or dlib's 68-point landmarks without them or with
``faces.landmarks=dlib68``; all install from PyPI. dlib and OpenCV are imported at the first photo scored (inside the
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

from typing import Any, ClassVar

import numpy as np
from PIL import Image

from culler.api import SHOOTING_KEY, SMALL_COPY_KEY, Scorer, ScoreResult, hookimpl

__version__ = "6.0"

EYES_CLOSED_COST = 6.0
SOFT_FACE_COST = 4.0
#: Each further face with a problem costs this much more (a group photo with three people blinking
#: is worse than one with one), down to 0.
EXTRA_FACE_COST = 0.5


def face_score(face: dict[str, Any]) -> float:
    """0–10 for one face: 10 minus the cost of closed eyes and of missed focus or motion blur."""
    cost = 0.0
    if face.get("focus") in ("soft", "motion"):
        cost += SOFT_FACE_COST * face.get("focus_confidence", 1.0)
    if face["eyes"] == "closed":
        cost += EYES_CLOSED_COST
    return round(max(0.0, 10.0 - cost), 3)


def combined_confidence(confidences: list[float]) -> float:
    """How sure "at least one of these faces has the problem" is: 1 − Π(1 − cᵢ), so it grows with
    the number of faces and with each verdict's confidence."""
    p = 1.0
    for c in confidences:
        p *= 1.0 - max(0.0, min(1.0, c))
    return round(1.0 - p, 3)


def face_counts(faces: list[dict[str, Any]]) -> dict[str, int]:
    """How many faces show each verdict: what ``culler cull`` compares frames of a burst by."""
    return {
        "faces": len(faces),
        "eyes_open": sum(f["eyes"] == "open" for f in faces),
        "eyes_closed": sum(f["eyes"] == "closed" for f in faces),
        "eyes_unknown": sum(f["eyes"] == "unknown" for f in faces),
        "sharp": sum(f.get("focus") == "sharp" for f in faces),
        "soft": sum(f.get("focus") == "soft" for f in faces),
        "motion": sum(f.get("focus") == "motion" for f in faces),
        "focus_unknown": sum(f.get("focus") == "unknown" for f in faces),
    }


def photo_defects(main: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The named defects of a photo judged by all its main faces: one per kind, its confidence
    grown from every face that shows it (each face's verdict confidence times the detector's)."""
    n = len(main)
    defects = []
    kinds = (
        ("eyes_closed", "eyes", "closed", "eyes closed", "eyes closed"),
        ("soft_face", "focus", "soft", "face soft (missed focus)", "soft (missed focus)"),
        ("motion_face", "focus", "motion", "face motion-blurred", "motion-blurred"),
    )
    for name, key, value, alone, in_group in kinds:
        hit = [f for f in main if f.get(key) == value]
        directions = {f.get("blur_direction_name") for f in hit}
        if value == "motion" and len(directions) == 1 and None not in directions:
            # One direction for every smeared face: say it, as the technical scorer does.
            alone, in_group = (
                f"{alone} ({next(iter(directions))})",
                f"{in_group} ({next(iter(directions))})",
            )
        if hit:
            defects.append(
                {
                    "defect": name,
                    "confidence": combined_confidence(
                        [f.get(f"{key}_confidence") or 0.5 for f in hit]
                    ),
                    "reason": alone if n == 1 else f"{len(hit)} of {n} faces: {in_group}",
                    "count": len(hit),
                    "of": n,
                }
            )
    return defects


def photo_reasons(main: list[dict[str, Any]]) -> list[str]:
    """The faces' verdict in a photographer's words, worst first: "2 of 8 faces: eyes closed",
    or, with nothing wrong, "1 face, sharp, eyes open" / "8 faces, sharp, 8 of 8 eyes open"."""
    reasons = [d["reason"] for d in photo_defects(main)]
    if reasons:
        return reasons
    n, c = len(main), face_counts(main)
    parts = [f"{n} face{'s' * (n != 1)}"]
    if c["sharp"] == n:
        parts.append("sharp")
    if c["eyes_open"] == n:
        parts.append("eyes open" if n == 1 else f"{n} of {n} eyes open")
    elif c["eyes_open"]:
        parts.append(f"{c['eyes_open']} of {n} eyes open, {c['eyes_unknown']} can't tell")
    else:
        parts.append("eyes can't tell")
    return [", ".join(parts)]


class FacesScorer(Scorer):
    id = "faces"
    version = "6"
    kind = "score"
    description = (
        "Frontal faces (MTCNN candidates verified by dlib's HOG; eyelids from MediaPipe's Face "
        "Mesh and Iris models, or dlib's 68 points; offline), "
        "per-face sharpness and "
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
        self._eyes = self.config.get("eyes", True)
        if not isinstance(self._eyes, bool):
            raise ValueError(f"faces.eyes must be true or false, not {self._eyes!r}")
        landmarks = self.config.get("landmarks")
        if landmarks is not None and landmarks not in ("mesh", "dlib68"):
            raise ValueError(f'faces.landmarks must be "mesh" or "dlib68", not {landmarks!r}')
        self._landmarks = landmarks
        if self._eyes:
            # MediaPipe's Face Mesh and Iris files (Apache-2.0, checked by SHA-256) when the
            # mediapipe wheel is installed, else dlib's 68-point model (non-commercial terms:
            # docs/models.md).
            from culler_plugins.faces import mesh

            if landmarks != "dlib68" and mesh.available():
                mesh.read_model("mesh"), mesh.read_model("iris")
            elif landmarks == "mesh":
                raise RuntimeError(f"faces.landmarks=mesh needs `{mesh.INSTALL_HINT}`")
            else:
                models.predictor_path()
        if self.config.get("descriptors", True):
            models.predictor_path(models.SHAPE5_FILE)
            models.predictor_path(models.DESCRIPTOR_FILE)
        side = self.config.get("detect_side", models.DETECT_SIDE)
        if not isinstance(side, int) or not 160 <= side <= 2048:
            raise ValueError(
                f"faces.detect_side must be a whole number of pixels, 160–2048, not {side!r}"
            )
        self._side = side
        describe = self.config.get("descriptors", True)
        if not isinstance(describe, bool):
            raise ValueError(f"faces.descriptors must be true or false, not {describe!r}")
        self._describe = describe
        small_faces = self.config.get("small_faces", models.SMALL_FACES)
        if not isinstance(small_faces, bool):
            raise ValueError(f"faces.small_faces must be true or false, not {small_faces!r}")
        self._small_faces = small_faces
        search = self.config.get("search", "candidates")
        if search not in ("candidates", "hog"):
            raise ValueError(f'faces.search must be "candidates" or "hog", not {search!r}')
        self._search = search
        #: Asks the scan's decode worker for its area-averaged 400 px copy (the thumbnail's): the
        #: skin gates look at it, so neither search resizes the photo again.
        self.small_copy_side = models.GATE_COPY_SIDE
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
        rgb = image if image.mode == "RGB" else image.convert("RGB")  # an array once needed
        # The scan's decode worker has already made a small area-averaged copy (for the thumbnail):
        # the skin gates look at it instead of resizing the photo again.
        small = image.info.get(SMALL_COPY_KEY)
        # EXIF's exposure time and focal length (when the file has them) weigh the motion verdict.
        shooting = image.info.get(SHOOTING_KEY)
        found = self.detect.analyse(
            rgb,
            self._side,
            small=small,
            small_faces=self._small_faces,
            eyes=self._eyes,
            shooting=shooting if isinstance(shooting, dict) else None,
            search=self._search,
            landmarks=self._landmarks,
        )
        faces = [f.to_json() for f in found]
        if self._describe and found:  # who it is, for `culler people` (a BLOB, not in the JSON)
            rgb = np.asarray(rgb)
            for face, f in zip(faces, found):
                vector = self.detect.describe(rgb, f.box)
                if vector is not None:
                    face["descriptor"] = [round(float(v), 5) for v in vector]
        if not faces:
            return ScoreResult(
                score=None,
                reasons=["no faces found"],
                extra={"faces": [], "defects": [], "size": [image.width, image.height]},
            )
        for face in faces:
            face["score"] = face_score(face)
        largest = faces[0]["box"][2] * faces[0]["box"][3]
        main = [f for f in faces if f["box"][2] * f["box"][3] >= self.MAIN_FACE_AREA * largest]
        for face in faces:
            face["main"] = any(face is m for m in main)
        worst = sorted(f["score"] for f in main)
        bad = sum(s < 10.0 for s in worst)
        score = max(0.0, worst[0] - EXTRA_FACE_COST * max(0, bad - 1))
        return ScoreResult(
            score=round(score, 3),
            reasons=photo_reasons(main),
            extra={
                "faces": faces,
                "size": [image.width, image.height],
                "main_faces": len(main),
                "counts": face_counts(main),
                "defects": photo_defects(main),
            },
        )


@hookimpl
def register_scorers(register):
    register(FacesScorer)


@hookimpl
def scan_finished(db, summary):
    """Cluster the faces the scan found into the catalog's people (new faces only: people already
    there, named or not, keep their faces)."""
    if summary.get("status") == "failed":
        return
    from culler.api import update_people

    counts = update_people(db)
    if counts["joined"] or counts["new_people"]:
        summary["people"] = counts
