"""The faces scorer's Face Mesh and Iris points (``culler_plugins.faces.mesh``) against MediaPipe's own.

culler reads MediaPipe's two ``.tflite`` files from the ``mediapipe`` wheel and runs them with
OpenCV's DNN, cropping and scaling as MediaPipe's graphs do. This checks that on the labelled real
faces of ``benchmarks/faces_people.py``, in three steps, because MediaPipe itself needs its
dependencies (protobuf, matplotlib, OpenCV-contrib), which culler does not install:

1. ``python benchmarks/faces_mesh_parity.py crops DIR`` (culler's environment): each labelled
   frontal face of the installed and cached photos, as the scan sees it (1024 px), cropped with a
   face's margin into DIR, with its box (``faces.json``).
2. ``MP/bin/python benchmarks/faces_mesh_parity.py reference DIR`` in a scratch environment with
   ``pip install mediapipe==0.10.14 'numpy<2' pillow`` (and its dependencies): MediaPipe's
   ``FaceMesh`` on each crop, in single-photo mode (its own face detector's crop) with the plain
   and the refined (attention) mesh, and in tracking mode fed the same photo six times (each run
   cropped from the points of the one before, which converges) (``mediapipe.json``).
3. ``python benchmarks/faces_mesh_parity.py compare DIR`` (culler's environment): the mean distance
   between culler's points and MediaPipe's, in face widths: the mesh run to convergence against
   tracking mode (the same crop rule on both sides: this isolates the crop, the input scaling and
   the mapping back), the scorer's two passes from the detector's box against single-photo mode,
   the Iris model's 16 lid points and iris centre against the refined mesh's (another model: the
   attention mesh, which OpenCV cannot load), and the scorer's six eye points against dlib's
   68-point ones.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

#: MediaPipe's mesh indices of the Iris model's 16 lid points, each eye (its own mapping in
#: ``update_face_landmarks``), and of the refined mesh's two iris centres.
LIDS = (
    (33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173),
    (263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398),
)
IRIS_CENTRES = (468, 473)


def crops(folder: Path) -> None:
    import numpy as np

    sys.path.insert(0, os.path.dirname(__file__))
    from faces_people import CACHE, labelled_photos, scan_copy

    folder.mkdir(parents=True, exist_ok=True)
    faces = []
    for name, image, labels in labelled_photos(CACHE, False):
        copy, k = scan_copy(image)
        rgb = np.asarray(copy)
        for face in labels:
            if face.get("turned"):
                continue
            x, y, w, h = (v * k for v in face["box"])
            x0, y0 = int(max(0, x - w)), int(max(0, y - h))
            x1, y1 = int(min(rgb.shape[1], x + 2 * w)), int(min(rgb.shape[0], y + 2 * h))
            path = folder / f"{len(faces):03d}.png"
            from PIL import Image

            Image.fromarray(rgb[y0:y1, x0:x1]).save(path)
            faces.append({"file": path.name, "name": name, "box": [x - x0, y - y0, w, h]})
    (folder / "faces.json").write_text(json.dumps(faces, indent=0))
    print(f"{len(faces)} faces cropped into {folder}")


def reference(folder: Path) -> None:
    import mediapipe as mp
    import numpy as np
    from PIL import Image

    faces = json.loads((folder / "faces.json").read_text())
    out: dict[str, dict] = {}

    def points(result, w, h, box):
        if not result.multi_face_landmarks:
            return None
        centre = (box[0] + box[2] / 2, box[1] + box[3] / 2)
        found = [
            np.array([(p.x * w, p.y * h) for p in f.landmark]) for f in result.multi_face_landmarks
        ]
        return min(found, key=lambda p: float(np.linalg.norm(p.mean(0) - centre))).tolist()

    for mode, refine in (("plain", False), ("refined", True)):
        with mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=3, refine_landmarks=refine
        ) as mesh:
            for face in faces:
                rgb = np.asarray(Image.open(folder / face["file"]).convert("RGB"))
                p = points(mesh.process(rgb), rgb.shape[1], rgb.shape[0], face["box"])
                if p is not None:
                    out.setdefault(face["file"], {})[mode] = p
    for face in faces:
        rgb = np.asarray(Image.open(folder / face["file"]).convert("RGB"))
        with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=3) as mesh:
            for _ in range(6):
                result = mesh.process(rgb)
        p = points(result, rgb.shape[1], rgb.shape[0], face["box"])
        if p is not None:
            out.setdefault(face["file"], {})["tracked"] = p
    (folder / "mediapipe.json").write_text(json.dumps(out))
    print(f"MediaPipe {mp.__version__}: {len(out)} of {len(faces)} faces")


def compare(folder: Path) -> None:
    import cv2
    import numpy as np
    from culler_plugins.faces import detect, mesh
    from PIL import Image

    faces = json.loads((folder / "faces.json").read_text())
    ref = json.loads((folder / "mediapipe.json").read_text())
    errors: dict[str, list[float]] = {}

    def add(key: str, ours, theirs, width: float) -> None:
        d = np.linalg.norm(np.asarray(ours) - np.asarray(theirs), axis=-1).mean() / width
        errors.setdefault(key, []).append(float(d))

    for face in faces:
        theirs = ref.get(face["file"], {})
        rgb = np.asarray(Image.open(folder / face["file"]).convert("RGB"))
        box = tuple(int(round(v)) for v in face["box"])
        width = face["box"][2]
        found = mesh.face_mesh(rgb, box)
        if found is None:
            continue
        if "tracked" in theirs:
            converged, _ = mesh.face_mesh(rgb, box, passes=6)
            add("mesh to convergence vs MediaPipe tracking", converged, theirs["tracked"], width)
        if "plain" in theirs:
            add(
                "mesh, two passes from the box vs MediaPipe single photo",
                found[0],
                theirs["plain"],
                width,
            )
        eyes = mesh.eye_contours(rgb, found[0])
        if "refined" in theirs:
            refined = np.asarray(theirs["refined"])
            for (contour, iris), lids, centre in zip(eyes, LIDS, IRIS_CENTRES):
                add(
                    "Iris model's 16 lid points vs the refined mesh's",
                    contour[:16],
                    refined[list(lids)],
                    width,
                )
                add(
                    "Iris model's iris centre vs the refined mesh's",
                    iris[0],
                    refined[centre],
                    width,
                )
        six = [c[list(order)] for (c, _), order in zip(eyes, mesh.IRIS_EYES)]
        dlib = detect.eye_landmarks(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), box)
        add("six eye points vs dlib's 68-point ones", np.stack(six), np.stack(dlib), width)
    print("Mean distance in face widths (mean / median / largest, faces)")
    for key, values in errors.items():
        v = np.asarray(values)
        print(f"  {key}: {v.mean():.2%} / {np.median(v):.2%} / {v.max():.2%} ({len(v)})")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("step", choices=("crops", "reference", "compare"))
    ap.add_argument("folder", type=Path)
    args = ap.parse_args(argv)
    {"crops": crops, "reference": reference, "compare": compare}[args.step](args.folder)


if __name__ == "__main__":
    main()
