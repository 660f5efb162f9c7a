"""Defects named right on real photographs (issue 30, goal 4; issue 29, item 7): an underexposed frame
is not ranked with well-exposed ones while a low-key photo is; clipping has one definition, the
histogram's; JPEG damage is this file's quantisation, never blocking an earlier encode left; a Gaussian
defocus in a burst is missed focus, not motion blur."""

from __future__ import annotations

import io

import numpy as np
import pytest
from culler_plugins.technical import TechnicalScorer
from PIL import Image, ImageFilter

from culler.api import clipping
from culler.decide.frames import compare_frames
from culler.imaging.images import decode_pil, jpeg_quality
from culler.testing import available_samples, sample_image

SAMPLES = available_samples()[:4]


def decoded(image: Image.Image, quality: int = 92) -> Image.Image:
    """``image`` saved as a JPEG and decoded through culler, as the scan hands it to the scorer."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return decode_pil(buffer, 1024)[0]


def score(image: Image.Image):
    return TechnicalScorer().score_one(image)


def defects(result) -> dict[str, dict]:
    return {d["defect"]: d for d in result.extra["defects"]}


def darkened(image: Image.Image, mean: float) -> Image.Image:
    """The photo as an underexposure gives it: every tone scaled down until the mean is ``mean``."""
    a = np.asarray(image, dtype=np.float32)
    luma = a @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
    return Image.fromarray((a * (mean / luma.mean())).clip(0, 255).astype(np.uint8))


def low_key(image: Image.Image) -> Image.Image:
    """The photo lit like a low-key portrait: its brightest part (the subject the light falls on)
    keeps its light, the rest of the frame falls off into black."""
    a = np.asarray(image, dtype=np.float32)
    h, w = a.shape[:2]
    glow = np.asarray(image.convert("L").filter(ImageFilter.GaussianBlur(w / 16)), np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    central = np.exp(-(((yy - h / 2) / h) ** 2 + ((xx - w / 2) / w) ** 2) / (2 * 0.2**2))
    cy, cx = np.unravel_index(int(np.argmax(glow * central)), glow.shape)
    r = np.hypot((yy - cy) / h, (xx - cx) / w)
    light = np.clip(1.0 - (r - 0.18) / 0.15, 0.03, 1.0)
    return Image.fromarray((a * light[..., None]).clip(0, 255).astype(np.uint8))


@pytest.mark.parametrize("name,image", SAMPLES, ids=[n for n, _ in SAMPLES])
def test_an_underexposed_frame_ranks_below_every_well_exposed_photo(name, image):
    """Issue 29: a frame at mean 36/255 scored 9.57 and sorted 7th of 40."""
    originals = [score(decoded(im)).score for _, im in SAMPLES]
    dark = score(decoded(darkened(image, 36)))
    assert dark.extra["mean_luminance"] == pytest.approx(36, abs=3)
    assert dark.score < min(originals) - 1.0, (dark.score, originals)
    found = defects(dark)["underexposed"]
    assert found["confidence"] >= 0.5 and found["reject"] is False  # ranked low, not rejected
    assert found["reason"].startswith("underexposed: mean brightness")


#: Photos whose subject fills the middle of the frame, so a spotlight there makes a low-key portrait
#: (rocket is a slim rocket at dusk: a spotlight around it lights mostly the dark blue sky).
LIT = [(n, im) for n, im in SAMPLES if n in ("astronaut", "chelsea", "coffee")]


@pytest.mark.parametrize("name,image", LIT, ids=[n for n, _ in LIT])
def test_a_low_key_photo_is_not_called_underexposed(name, image):
    """As dark on average, but with a lit subject: a choice, not a mistake."""
    lit = low_key(image)
    result = score(decoded(lit))
    assert result.extra["mean_luminance"] < 60
    assert "underexposed" not in defects(result)
    assert result.extra["underexposure"] < 0.3
    # It ranks well above the same photo underexposed to the same mean brightness.
    dark = score(decoded(darkened(image, result.extra["mean_luminance"])))
    assert result.score > dark.score + 1.0


def test_clipping_is_the_documented_share_of_luminance_and_the_reasons_say_the_same():
    """Highlights: luminance ≥ 250; shadows: ≤ 5; in percent of the pixels, as culler.api.clipping
    (what the GUI's histogram uses) measures it on the same image."""
    image = decoded(sample_image("astronaut"))
    a = np.asarray(image, dtype=np.float32)
    blown = Image.fromarray((a * 1.6 + 40).clip(0, 255).astype(np.uint8))
    result = score(blown)
    # The scorer measures on a 2× reduced copy; the function is the one the histogram calls.
    same = clipping(np.asarray(blown.reduce(2)))
    assert result.extra["clipping_levels"] == [5, 250]
    assert result.extra["highlights_clipped_percent"] == pytest.approx(
        same.highlights_percent, abs=1e-3
    )
    assert result.extra["shadows_crushed_percent"] == pytest.approx(same.shadows_percent, abs=1e-3)
    # A share of the pixels barely depends on the size it is measured at.
    full = clipping(np.asarray(blown))
    assert abs(result.extra["highlights_clipped_percent"] - full.highlights_percent) < 2.5
    assert full.highlights_percent > 5
    shown = f"highlights clipped {result.extra['highlights_clipped_percent']:.0f} %"
    assert shown in result.reasons


@pytest.mark.parametrize("name,image", SAMPLES, ids=[n for n, _ in SAMPLES])
def test_blocking_an_earlier_encode_left_is_not_this_files_compression(name, image):
    """A photo once saved at quality 10 and now at 92: this file is quality 92, never "heavy"."""
    rough = decoded(image, quality=10)
    fine = score(decoded(image))
    resaved = score(decoded(rough, quality=92))
    assert resaved.extra["jpeg_quality"] == 92
    assert "compression" not in defects(resaved)
    assert not any("heavy" in r for r in resaved.reasons), resaved.reasons
    assert resaved.extra["compression"] >= 0.7
    assert resaved.extra["blockiness"] > 1.3
    assert any("earlier, rougher JPEG encode" in r for r in resaved.reasons), resaved.reasons
    # Still ranked below the clean copy: the blocks are there to see.
    assert resaved.score < fine.score


def test_the_moon_sample_is_not_heavy_jpeg_compression():
    """skimage's moon carries 8×8 blocks from the encode it was published in: at quality 92 it
    read "heavy JPEG compression (quality ≈ 90)" and lost its compression sub-score."""
    result = score(decoded(sample_image("moon")))
    assert result.extra["jpeg_quality"] == 92
    assert defects(result) == {}
    assert result.score > 8.5


def test_heavy_compression_of_this_file_is_still_named():
    result = score(decoded(sample_image("chelsea"), quality=8))
    assert defects(result)["compression"]["reason"] == "heavy JPEG compression (quality ≈ 8)"


@pytest.mark.parametrize("quality", [5, 15, 30, 50, 75, 85, 90, 92, 95, 98, 100])
def test_jpeg_quality_is_read_exactly_from_the_files_own_tables(quality):
    buffer = io.BytesIO()
    sample_image("coffee").save(buffer, "JPEG", quality=quality)
    assert jpeg_quality(Image.open(io.BytesIO(buffer.getvalue()))) == quality


def _burst(image: Image.Image) -> dict[int, np.ndarray]:
    """Three frames of one moment: sharp, defocused (Gaussian), moved (horizontal blur)."""
    image = image.copy()
    image.thumbnail((1024, 1024))
    sharp = np.asarray(image.convert("L"), dtype=np.float32)
    soft = image.filter(ImageFilter.GaussianBlur(max(2.0, image.width / 400)))
    length = max(9, image.width // 60)
    moved = np.mean([np.roll(sharp, k - length // 2, axis=1) for k in range(length)], axis=0)
    return {
        0: sharp,
        1: np.asarray(soft.convert("L"), dtype=np.float32),
        2: moved.astype(np.float32),
    }


@pytest.mark.parametrize("name", ["chelsea", "coffee", "rocket", "page", "astronaut"])
def test_a_defocused_burst_frame_is_missed_focus_and_a_moved_one_motion_blur(name):
    """Comparing frames of one moment: a Gaussian defocus softens every direction (on a scene whose
    edges run mostly one way, such as a page of text, unevenly): missed focus; a motion blur keeps
    the edges along the motion crisp."""
    report = compare_frames(_burst(sample_image(name)))
    assert report[1]["defect"] == "missed_focus", report[1]
    assert report[2]["defect"] == "motion_blur", report[2]
    assert report[2]["direction"] == "horizontal"


def sunset_silhouette(image: Image.Image, horizon: float = 0.6) -> Image.Image:
    """The photo's dark shapes as a silhouette against a smooth sunset sky: below ``horizon`` its
    darker half becomes a black tree line with crisp edges, the lowest fifth solid ground."""
    g = np.asarray(image.convert("L"), dtype=np.float32)
    h, w = g.shape
    rows = np.arange(h)[:, None]
    mask = ((rows > horizon * h) & (g < np.median(g))) | (rows > (horizon + 0.2) * h)
    t = np.linspace(0, 1, h)[:, None, None]
    top, glow = np.array([40, 50, 110], np.float32), np.array([250, 160, 70], np.float32)
    sky = np.broadcast_to(top + (glow - top) * t, (h, w, 3))
    out = np.where(mask[..., None], 10.0, sky)
    return Image.fromarray(out.clip(0, 255).astype(np.uint8))


@pytest.mark.parametrize("name", ["china", "astronaut", "camera", "coffee", "chelsea"])
@pytest.mark.parametrize("horizon", [0.45, 0.65])
def test_a_silhouette_against_a_smooth_sky_is_not_motion_blur(name, horizon):
    """Crisp high-contrast edges against a smooth gradient (a sunset tree line) are not motion blur:
    the sky has no detail to be smeared, and the edges are sharp across and along."""
    if name == "china":
        from sklearn.datasets import load_sample_image

        image = Image.fromarray(load_sample_image("china.jpg"))
    else:
        image = sample_image(name)
    result = score(decoded(sunset_silhouette(image, horizon)))
    assert result.extra["blur"]["motion_confidence"] < 0.5, result.extra["blur"]
    assert "motion_blur" not in defects(result) and "missed_focus" not in defects(result)
