"""The technical scorer weighs motion blur by the exposure time from EXIF (#29), with the faces
scorer's one definition of the shutter's risk."""

from __future__ import annotations

import pytest
from culler_plugins.faces.testing import motion_blur
from culler_plugins.technical import TechnicalScorer, shutter

from culler.api import SHOOTING_KEY
from culler.testing import sample_image

SLOW = {"exposure_time": 1 / 15, "focal_length": 50.0}
FAST = {"exposure_time": 1 / 2000, "focal_length": 50.0}


def _score(image, shooting):
    copy = image.copy()
    copy.info.pop(SHOOTING_KEY, None)
    if shooting is not None:
        copy.info[SHOOTING_KEY] = shooting
    return TechnicalScorer().score_one(copy)


def _named(result) -> set[str]:
    return {d["defect"] for d in result.extra["defects"]}


@pytest.fixture(scope="module")
def smeared():
    """A real photo with a short (5 px) horizontal smear: the pixels lean to motion without
    settling it (evidence ≈ 0.3)."""
    return motion_blur(sample_image("coffee"), 5, 0)


def test_a_slow_shutter_names_a_short_smear_a_fast_one_does_not(smeared):
    unknown, slow, fast = (_score(smeared, s) for s in (None, SLOW, FAST))
    evidence = {r.extra["blur"]["motion_evidence"] for r in (unknown, slow, fast)}
    assert len(evidence) == 1  # the pixels' evidence is the same; only the weighing moves
    assert fast.extra["blur"]["motion_confidence"] < unknown.extra["blur"]["motion_confidence"]
    assert unknown.extra["blur"]["motion_confidence"] < slow.extra["blur"]["motion_confidence"]
    assert "motion_blur" in _named(slow) and "motion_blur" not in _named(fast)
    assert slow.score < unknown.score < fast.score
    reason = next(d["reason"] for d in slow.extra["defects"] if d["defect"] == "motion_blur")
    assert "1/15 s" in reason and "slower than hand-holdable" in reason
    assert slow.extra["blur"]["shutter_risk"] == 1.0 and fast.extra["blur"]["shutter_risk"] == -1.0


def test_an_unknown_exposure_time_scores_as_before(smeared):
    """No shooting data, or no exposure time in it, is the scorer as it was before it read EXIF."""
    plain = _score(smeared, None)
    for shooting in ({}, {"exposure_time": None, "focal_length": 50.0}, {"exposure_time": 0}):
        same = _score(smeared, shooting)
        assert same.score == plain.score and same.extra == plain.extra
    assert plain.extra["blur"]["motion_confidence"] == plain.extra["blur"]["motion_evidence"]


@pytest.mark.parametrize("name", ["astronaut", "rocket"])
def test_a_slow_shutter_makes_no_motion_of_a_sharp_or_defocused_frame(name):
    from PIL import ImageFilter

    image = sample_image(name)
    for copy in (image, image.filter(ImageFilter.GaussianBlur(3))):
        result = _score(copy, {"exposure_time": 0.5, "focal_length": 200.0})
        assert "motion_blur" not in _named(result)
        assert result.extra["blur"]["motion_confidence"] == 0.0


def test_one_shutter_definition_for_faces_and_technical():
    from culler_plugins.faces import motion

    assert motion.shutter_risk is shutter.shutter_risk
    assert motion.SHUTTER_WEIGHT == shutter.SHUTTER_WEIGHT
    assert shutter.weigh(0.0, SLOW) == 0.0  # the shutter never makes a verdict on its own
    assert shutter.weigh(0.4, SLOW) == pytest.approx(0.7)
    assert shutter.weigh(0.9, SLOW) == 1.0 and shutter.weigh(0.2, FAST) == 0.0
    assert shutter.shutter_risk({"exposure_time": float("nan")}) == 0.0


@pytest.mark.parametrize(
    ("seconds", "text"), [(1 / 15, "1/15 s"), (1 / 2000, "1/2000 s"), (0.5, "0.5 s"), (2.0, "2 s")]
)
def test_exposure_text(seconds, text):
    assert shutter.exposure_text(seconds) == text
