"""A motion-blurred face reads "motion", not "soft": the technical scorer's direction analysis on the
face, weighed by the shutter speed from EXIF (issue 28).

Real faces (insightface's card table of six, scikit-image's astronaut) smeared with a straight-line
motion kernel (``culler_plugins.faces.testing.motion_blur``) or defocused with a Gaussian.
"""

from __future__ import annotations

import pytest
from culler_plugins.faces import FacesScorer
from culler_plugins.faces.testing import motion_blur, people_photo
from PIL import Image, ImageFilter

pytest.importorskip("dlib")
pytest.importorskip("cv2")

SLOW = {"exposure_time": 1 / 15, "focal_length": 50.0, "f_number": 2.8, "iso": 3200}
FAST = {"exposure_time": 1 / 1000, "focal_length": 50.0, "f_number": 2.8, "iso": 3200}


def at_scan_size(image: Image.Image) -> Image.Image:
    k = 1024 / max(image.size)
    return image.resize((round(image.width * k), round(image.height * k)), Image.LANCZOS)


@pytest.fixture(scope="module")
def card_table() -> Image.Image:
    image = people_photo("insightface:t1.jpg")
    if image is None:
        pytest.skip(
            "the card-table photo ships with insightface: pip install --no-deps insightface"
        )
    return at_scan_size(image)


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    image = people_photo("skimage:astronaut")
    if image is None:
        pytest.skip("the astronaut ships with scikit-image")
    return at_scan_size(image)


def with_shooting(image: Image.Image, shooting: dict | None) -> Image.Image:
    """``image`` as the scan's decode worker hands it over, EXIF shooting data included."""
    from culler.api import SHOOTING_KEY

    copy = image.copy()
    if shooting is not None:
        copy.info[SHOOTING_KEY] = dict(shooting)
    return copy


def test_a_diagonal_smear_on_a_real_group_reads_motion_with_its_direction(run_scorer, card_table):
    (result,) = run_scorer(FacesScorer, [motion_blur(card_table, 11, 45)])
    faces = result.extra["faces"]
    assert len(faces) >= 4
    assert all(f["focus"] == "motion" for f in faces), [f["focus"] for f in faces]
    # The direction the technical scorer's analysis finds is the kernel's, within a step of 15°.
    assert all(abs(f["blur_direction"] - 45) <= 15 for f in faces)
    assert {f["blur_direction_name"] for f in faces} == {"diagonal ↗"}
    (defect,) = [d for d in result.extra["defects"] if d["defect"] == "motion_face"]
    assert defect["count"] == len(faces) and defect["confidence"] > 0.9
    assert defect["reason"] == f"{len(faces)} of {len(faces)} faces: motion-blurred (diagonal ↗)"
    assert not [d for d in result.extra["defects"] if d["defect"] == "soft_face"]
    assert result.score < 7.0


def test_a_smeared_astronaut_reads_motion_and_a_defocused_one_soft(run_scorer, astronaut):
    smeared, defocused = (
        motion_blur(astronaut, 11, 90),
        astronaut.filter(ImageFilter.GaussianBlur(3)),
    )
    for shooting in (None, SLOW):
        sharp, moved, soft = run_scorer(
            FacesScorer, [with_shooting(im, shooting) for im in (astronaut, smeared, defocused)]
        )
        assert [f["focus"] for f in sharp.extra["faces"]] == ["sharp"]
        assert [f["focus"] for f in moved.extra["faces"]] == ["motion"]
        assert moved.extra["faces"][0]["blur_direction_name"] == "vertical"
        assert "face motion-blurred (vertical)" in moved.reasons
        # Smooth every way is missed focus, however slow the shutter was.
        assert [f["focus"] for f in soft.extra["faces"]] == ["soft"]


def test_a_slow_shutter_makes_motion_surer_and_a_fast_one_less_sure(run_scorer, astronaut):
    smeared = motion_blur(astronaut, 11, 45)
    slow, unknown, fast = run_scorer(
        FacesScorer, [with_shooting(smeared, s) for s in (SLOW, None, FAST)]
    )
    conf = [r.extra["faces"][0]["focus_confidence"] for r in (slow, unknown, fast)]
    assert [r.extra["faces"][0]["focus"] for r in (slow, unknown, fast)] == ["motion"] * 3
    assert conf[0] > conf[1] > conf[2], conf
    assert slow.extra["faces"][0]["shutter_risk"] == 1.0
    assert fast.extra["faces"][0]["shutter_risk"] == -1.0
    assert unknown.extra["faces"][0]["shutter_risk"] == 0.0
    # The face's score, and so the photo's, follows: the surer the smear, the lower.
    assert slow.score < unknown.score < fast.score


def test_a_sharp_face_stays_sharp_at_a_slow_shutter(run_scorer, card_table, astronaut):
    """The shutter speed only weighs evidence the face shows; it never makes a verdict alone."""
    results = run_scorer(
        FacesScorer,
        [
            with_shooting(im, {"exposure_time": 0.5, "focal_length": 200.0})
            for im in (card_table, astronaut)
        ],
    )
    for result in results:
        assert {f["focus"] for f in result.extra["faces"]} == {"sharp"}
        assert all(f["motion_evidence"] < 0.5 for f in result.extra["faces"])
        assert not result.extra["defects"]


@pytest.mark.parametrize(
    ("exposure", "focal", "risk"),
    [
        (1 / 60, 50.0, 0.0),  # at 1/60 s, the people limit, with a normal lens
        (1 / 200, 200.0, 0.0),  # at 1/focal-length with a tele
        (1 / 100, 200.0, 0.5),  # twice as slow as 1/focal-length
        (1 / 30, 24.0, 0.5),  # a wide lens holds 1/30 s, people move: twice the 1/60 limit
        (1 / 240, 50.0, -1.0),  # 4× faster than 1/60 s
        (2.0, 35.0, 1.0),  # clipped
        (1 / 60, None, 0.0),  # no focal length: the 1/60 s limit
        (None, 50.0, 0.0),  # no exposure time: no weight either way
        ("1/60", 50.0, 0.0),  # not a number (a hostile plugin or file): ignored
        (-1.0, 50.0, 0.0),
    ],
)
def test_the_shutter_weight_is_relative_to_the_focal_length(exposure, focal, risk):
    from culler_plugins.faces.motion import shutter_risk

    assert shutter_risk({"exposure_time": exposure, "focal_length": focal}) == pytest.approx(risk)


def test_the_scan_hands_the_exif_shutter_speed_to_the_face_verdict(tmp_path, astronaut):
    """End to end: a JPEG whose EXIF says 1/15 s at 50 mm, scanned with the faces scorer, stores a
    surer "motion" face than the same pixels without EXIF."""
    from fractions import Fraction

    from PIL import TiffImagePlugin

    from culler.catalog import open_catalog
    from culler.scan import ScanOptions, scan_folders

    def rational(value: float) -> TiffImagePlugin.IFDRational:
        f = Fraction(value).limit_denominator(100000)
        return TiffImagePlugin.IFDRational(f.numerator, f.denominator)

    shoot = tmp_path / "shoot"
    shoot.mkdir()
    smeared = motion_blur(astronaut, 11, 90)
    smeared.save(shoot / "no-exif.jpg", quality=95)
    exif = Image.Exif()
    sub = exif.get_ifd(0x8769)
    sub[0x829A] = rational(1 / 15)  # ExposureTime
    sub[0x920A] = rational(50)  # FocalLength
    smeared.save(shoot / "slow.jpg", quality=95, exif=exif)
    with open_catalog(tmp_path / "c.db") as catalog:
        scan_folders(catalog, [shoot], ScanOptions(workers=0, scorer_ids=["faces"]))
        faces = {
            photo["path"].rsplit("/", 1)[-1]: catalog.photo_faces(photo["id"])
            for photo in catalog.readable_photos()
        }
    assert [f["focus"] for f in faces["slow.jpg"]] == ["motion"]
    assert [f["focus"] for f in faces["no-exif.jpg"]] == ["motion"]
    assert faces["slow.jpg"][0]["focus_confidence"] > faces["no-exif.jpg"][0]["focus_confidence"]


def test_a_badly_blurred_large_face_is_still_found_and_judged(run_scorer, astronaut):
    """The search of the 400 px copy finds a large face too blurred for the detector at 1024 px
    (a speed cut that dropped it lost these): a face must be found to be called soft or smeared."""
    defocused = astronaut.filter(ImageFilter.GaussianBlur(5))
    smeared = motion_blur(astronaut, 21, 90)
    soft, moved = run_scorer(FacesScorer, [defocused, smeared])
    assert [f["focus"] for f in soft.extra["faces"]] == ["soft"]
    assert [f["focus"] for f in moved.extra["faces"]] == ["motion"]
