"""The faces scorer's verdicts pinned on real photographs with people that a CI machine has.

``ultralytics``' assets folder holds two (``pip install --no-deps ultralytics``, as ``.ci/run``
does; only the photos are read, nothing of it is imported): zidane.jpg (two football coaches on a
touchline, 1280 x 720: Ancelotti looking on, Zidane shouting in near profile) and bus.jpg (a street
by a bus, 810 x 1080: two men in sunglasses whose faces are 4 % of the side, a wheel, a cut-off
passer-by). The boxes are the hand-checked ones of ``benchmarks/faces_people_labels.py``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from culler_plugins.faces import FacesScorer
from culler_plugins.faces.testing import people_photo
from PIL import Image

pytest.importorskip("dlib")
pytest.importorskip("cv2")

SIDE = 1024  # the scan's decode: the longer side, never enlarged


def labels(name: str) -> list[dict]:
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "faces_people_labels.py"
    spec = importlib.util.spec_from_file_location("faces_people_labels", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.LABELS[name]


def as_scanned(name: str) -> tuple[Image.Image, float]:
    """The photo as the scan hands it to the scorer, and the factor from its own pixels."""
    image = people_photo(name)
    if image is None:
        pytest.skip(f"{name} ships with ultralytics: pip install --no-deps ultralytics")
    k = min(1.0, SIDE / max(image.size))
    return image.resize((round(image.width * k), round(image.height * k)), Image.LANCZOS), k


def iou(a, b) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy / (a[2] * a[3] + b[2] * b[3] - ix * iy)


def matched(found: list[dict], truth: list[dict], k: float) -> list[tuple[dict, dict]]:
    """(label, face found) for every found face; a found face that matches no label fails (a
    phantom)."""
    pairs = []
    for face in found:
        best = max(truth, key=lambda t: iou(face["box"], [v * k for v in t["box"]]))
        overlap = iou(face["box"], [v * k for v in best["box"]])
        assert overlap >= 0.3, f"a face where nobody is: {face['box']}"
        pairs.append((best, face))
    return pairs


@pytest.mark.parametrize("small_faces", [False, True])
def test_zidane_ancelotti_is_found_sharp_with_eyes_open(run_scorer, small_faces):
    image, k = as_scanned("ultralytics:zidane.jpg")
    truth = labels("ultralytics:zidane.jpg")
    (result,) = run_scorer(FacesScorer, [image], config={"small_faces": small_faces})
    pairs = matched(result.extra["faces"], truth, k)
    ancelotti = [face for label, face in pairs if not label.get("turned")]
    assert len(ancelotti) == 1
    assert ancelotti[0]["eyes"] == "open" and ancelotti[0]["focus"] == "sharp"
    # Zidane, shouting with his eye narrowed, near profile: if found, never "closed".
    assert all(face["eyes"] in ("open", "unknown") for _, face in pairs)
    assert all(face["focus"] == "sharp" for _, face in pairs)
    assert result.extra["defects"] == []


@pytest.mark.parametrize("small_faces", [False, True])
def test_bus_street_sunglasses_never_read_closed_and_the_wheel_is_no_face(run_scorer, small_faces):
    """Faces in sunglasses are "unknown" (or "open"), never "closed"; nothing else is a face."""
    image, k = as_scanned("ultralytics:bus.jpg")
    truth = labels("ultralytics:bus.jpg")
    (result,) = run_scorer(FacesScorer, [image], config={"small_faces": small_faces})
    pairs = matched(result.extra["faces"], truth, k)
    assert all(face["eyes"] != "closed" for _, face in pairs)
    assert all(d["defect"] != "eyes_closed" for d in result.extra["defects"])
    if small_faces:  # faces at 4.1 % of the side: the small-face search's band
        assert len(pairs) >= 1
