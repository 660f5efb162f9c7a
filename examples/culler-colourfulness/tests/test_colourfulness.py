"""Tests for the example plugin, written the way a third-party author would: with culler.testing."""

from culler_colourfulness import Colourfulness
from PIL import Image


def test_scores_are_on_the_0_to_10_scale(run_scorer, sample_images):
    results = run_scorer(Colourfulness, [image for _, image in sample_images])
    assert all(0 <= r.score <= 10 for r in results)
    assert all(r.reasons[0].startswith("colourfulness") for r in results)


def test_a_grey_copy_scores_zero_and_colour_scores_more(run_scorer, sample_images):
    _, photo = sample_images[0]
    grey = photo.convert("L").convert("RGB")
    colour, flat = run_scorer(Colourfulness, [photo, grey])
    assert flat.score == 0.0
    assert colour.score > 1.0


def test_saturated_colour_beats_pastel(run_scorer):
    vivid = Image.new("RGB", (64, 64), (230, 20, 20))
    vivid.paste((20, 40, 230), (0, 0, 32, 64))
    pastel = Image.new("RGB", (64, 64), (200, 180, 180))
    pastel.paste((180, 180, 200), (0, 0, 32, 64))
    a, b = run_scorer(Colourfulness, [vivid, pastel])
    assert a.score > b.score


def test_installed_plugin_scores_in_a_scan(photo_dir, run_scan, culler_cli):
    names = {p["name"] for p in culler_cli.json("plugins")}
    assert "colourfulness" in names, "pip install the plugin first: its entry point registers it"
    catalog, summary = run_scan(photo_dir, scorers=["colourfulness"])
    assert summary["errors"] == 0
    scores = catalog.query("SELECT score FROM current_scores WHERE scorer_id = 'colourfulness'")
    assert len(scores) == summary["files_seen"]
