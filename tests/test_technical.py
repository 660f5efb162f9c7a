"""The technical scorer ranks a photo above its own damaged copies, and says why."""

import io

import pytest
from culler_plugins.technical import TechnicalScorer
from PIL import Image

from culler.scan.decode import DecodeJob, decode_one, init_worker
from culler.testing import available_samples, blurred, noisy, overexposed

SAMPLES = available_samples()[:4]


def score_file(path):
    init_worker([("technical", {})])
    decoded = decode_one(DecodeJob(str(path), 1024, 0, ("technical",)))
    assert decoded.error is None, decoded.error
    return decoded.worker_results["technical"]


def jpeg(image, quality):
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue()))


@pytest.mark.parametrize("name,image", SAMPLES, ids=[n for n, _ in SAMPLES])
@pytest.mark.parametrize(
    "damage,reason_word",
    [
        (lambda im: blurred(im, 4), "blurry"),
        (lambda im: noisy(im, 25), "noisy"),
        (lambda im: overexposed(im), "highlights clipped"),
    ],
    ids=["blurred", "noisy", "overexposed"],
)
def test_original_beats_damaged_copy(tmp_path, name, image, damage, reason_word):
    original = tmp_path / "original.png"
    damaged = tmp_path / "damaged.png"
    image.save(original)
    damage(image).save(damaged)
    good, bad = score_file(original), score_file(damaged)
    assert good.score > bad.score + 1.0, (good, bad)
    assert any(reason_word in r for r in bad.reasons), bad.reasons


@pytest.mark.parametrize("name,image", SAMPLES, ids=[n for n, _ in SAMPLES])
def test_original_beats_heavy_jpeg(tmp_path, name, image):
    good_path, bad_path = tmp_path / "good.jpg", tmp_path / "bad.jpg"
    image.save(good_path, quality=95)
    image.save(bad_path, quality=5)
    good, bad = score_file(good_path), score_file(bad_path)
    assert good.score > bad.score + 1.0
    assert good.extra["jpeg_quality"] >= 90
    assert bad.extra["jpeg_quality"] <= 10
    assert any("JPEG" in r for r in bad.reasons)


def test_blockiness_sees_the_grid_without_quantisation_tables(tmp_path):
    """A heavily compressed image re-saved losslessly still shows its 8×8 blocks."""
    _, image = SAMPLES[0]
    path = tmp_path / "resaved.png"
    jpeg(image, 5).convert("RGB").save(path)
    result = score_file(path)
    assert result.extra["blockiness"] > 1.3
    assert result.extra["jpeg_quality"] is None


def test_sharp_subject_on_smooth_background_is_not_called_blurry():
    _, image = SAMPLES[0]
    w, h = image.size
    background = blurred(image, 12)
    subject_box = (w // 3, h // 3, 2 * w // 3, 2 * h // 3)
    background.paste(image.crop(subject_box), subject_box[:2])
    result = TechnicalScorer().score_batch([background])[0]
    everywhere_blurred = TechnicalScorer().score_batch([blurred(image, 12)])[0]
    assert result.extra["sharpness"] > 0.75
    assert not any("blurry" in r for r in result.reasons)
    assert result.score > everywhere_blurred.score + 2


def test_real_motion_blur_scores_lower():
    """skimage's clock is a real photo with real motion blur; camera is a sharp studio frame."""
    from skimage import data

    sharp = Image.fromarray(data.camera()).convert("RGB").resize((400, 400))
    moving = Image.fromarray(data.clock()).convert("RGB")
    s, m = TechnicalScorer().score_batch([sharp, moving])
    assert s.score > m.score
    assert s.extra["sharpness"] > m.extra["sharpness"]


def test_scores_are_on_a_0_to_10_scale_with_reasons():
    results = TechnicalScorer().score_batch([im for _, im in SAMPLES])
    for r in results:
        assert 0.0 <= r.score <= 10.0
        assert r.reasons
        assert set(r.extra) >= {"sharpness", "exposure", "noise", "compression"}


@pytest.mark.parametrize("sigma", [2.0, 5.0, 12.0])
def test_noise_estimate_recovers_known_sigma(sigma):
    import numpy as np
    from culler_plugins.technical import metrics

    rng = np.random.default_rng(1)
    x = np.linspace(0, 1, 800)
    smooth = 60 + 120 * np.outer(np.linspace(0, 1, 600), x)  # a gradient: no texture, no noise
    estimate = metrics.noise_sigma(smooth + rng.normal(0, sigma, smooth.shape))
    assert estimate == pytest.approx(sigma, rel=0.1)
