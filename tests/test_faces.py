"""The faces scorer on real faces (astronaut, Grace Hopper), closed-eye variants built from them, and
photos without faces; then closed eyes through a scan and ``culler cull``."""

import subprocess
import sys

import pytest
from culler_plugins.faces import FacesScorer
from PIL import Image, ImageDraw, ImageFilter

from culler.catalog import open_catalog
from culler.cull import plan_cull
from culler.scan import ScanOptions, scan_folders
from culler.testing import blurred, sample_image

#: Eye centres and widths (pixels), read off the photos: (cx, cy, width).
ASTRONAUT_EYES = [(202, 101, 26), (247, 103, 26)]
GRACE_EYES = [(220, 194, 44), (301, 186, 40)]


def close_eyes(image: Image.Image, eyes) -> Image.Image:
    """Close the eyes: cheek skin from below each eye is moved up over it through a soft elliptical
    mask (a lid with real skin texture), and a thin dark lash line is drawn at the lid's lower edge."""
    out = image.copy()
    for cx, cy, w in eyes:
        rx, ry = 0.55 * w, 0.30 * w
        box = (int(cx - rx), int(cy - ry), int(cx + rx), int(cy + ry))
        shift = int(0.75 * w)
        skin = image.crop((box[0], box[1] + shift, box[2], box[3] + shift))
        mask = Image.new("L", skin.size, 0)
        ImageDraw.Draw(mask).ellipse((0, 0, skin.size[0] - 1, skin.size[1] - 1), fill=255)
        out.paste(skin, box[:2], mask.filter(ImageFilter.GaussianBlur(max(1.0, w * 0.05))))
        ImageDraw.Draw(out).arc(
            (cx - 0.45 * w, cy - 0.35 * w, cx + 0.45 * w, cy + 0.18 * w),
            25,
            155,
            fill=(60, 40, 35),
            width=max(1, round(w * 0.05)),
        )
    return out


@pytest.fixture(scope="module")
def grace():
    cbook = pytest.importorskip("matplotlib.cbook")
    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        return Image.open(fh).convert("RGB")


def test_open_eyes_on_real_faces(run_scorer, grace):
    astronaut = sample_image("astronaut")
    for result in run_scorer(FacesScorer, [astronaut, grace]):
        faces = result.extra["faces"]
        assert len(faces) == 1
        assert faces[0]["eyes"] == "open"
        assert result.score >= 9
        assert result.reasons == ["1 face, sharp, eyes open"]


def test_closed_eyes_are_found(run_scorer, grace):
    images = [
        close_eyes(sample_image("astronaut"), ASTRONAUT_EYES),
        close_eyes(grace, GRACE_EYES),
    ]
    for result in run_scorer(FacesScorer, images):
        assert result.extra["faces"][0]["eyes"] == "closed"
        assert result.score <= 4.5
        assert result.reasons[0] == "eyes closed"


def test_soft_face_and_no_face(run_scorer):
    astronaut = sample_image("astronaut")
    sharp, soft, cat, rocket = run_scorer(
        FacesScorer,
        [astronaut, blurred(astronaut, 3), sample_image("chelsea"), sample_image("rocket")],
    )
    assert soft.score < sharp.score - 3
    assert "face soft (focus miss or motion blur)" in soft.reasons
    # Too blurred to tell an iris from a lid: no eye verdict rather than a false "closed".
    assert soft.extra["faces"][0]["eyes"] == "unknown"
    for result in (cat, rocket):
        assert result.score is None and result.extra["faces"] == []
        assert result.reasons == ["no faces found"]


def test_plugin_import_does_not_load_opencv():
    code = "import sys, culler_plugins.faces; assert 'cv2' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_closed_eye_frame_of_a_burst_is_rejected(tmp_path):
    from test_cull import exif_at

    folder = tmp_path / "portraits"
    folder.mkdir()
    astronaut = sample_image("astronaut")
    frames = {"open": astronaut, "blink": close_eyes(astronaut, ASTRONAUT_EYES)}
    for i, (name, image) in enumerate(frames.items()):
        image.save(folder / f"{name}.jpg", quality=92, exif=exif_at(10 + 0.2 * i))
    catalog = open_catalog(tmp_path / "culler.db")
    try:
        scan_folders(
            catalog,
            [folder],
            ScanOptions(scorer_ids=["technical", "faces"], workers=0),
            echo=lambda m: None,
        )
        plan = {p.path.rsplit("/", 1)[-1]: p for p in plan_cull(catalog)}
    finally:
        catalog.close()
    assert plan["open.jpg"].decision == "pick"
    assert plan["blink.jpg"].decision == "reject"
    assert plan["blink.jpg"].reason == "eyes closed"
    assert plan["open.jpg"].reason == "burst of 2: eyes open, unlike #2"
