"""What ``culler cull`` promises a photographer, each pinned so that breaking it fails a test.

The photos are real sample photographs scaled to known brightness levels and scored by a test scorer
that reads the brightness (``bright``) or its opposite (``dark``): the expected picks follow from the
levels chosen here, never from the code under test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import culler
from culler.catalog import open_catalog
from culler.cull import CullOptions, apply_plan, plan_cull
from culler.scorers import Scorer, ScoreResult
from culler.testing import sample_image
from culler.xmp import SidecarData, write_sidecar

#: name -> (sample photo, mean grey level 0-255): the ``bright`` score is level / 25.5.
SINGLES = {
    "night": ("camera", 40),
    "dusk": ("chelsea", 90),
    "noon": ("coffee", 150),
    "snow": ("rocket", 185),
}
#: One moment shot three times, brightest first (a 0.3 s burst from one camera). The levels are
#: reached by shifting, not scaling, the pixels: the frames keep the same detail, so comparing them
#: finds no missed focus and the scores alone decide.
BURST = {"burst-bright": 150, "burst-mid": 120, "burst-dark": 90}


def at_level(image: Image.Image, level: float) -> Image.Image:
    """``image`` with its pixels scaled so that its mean grey level is ``level``."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
    scaled = pixels * (level / pixels.mean())
    # Clipping would lower the mean; a second, gentler pass brings it back to the level.
    for _ in range(3):
        scaled = np.clip(scaled * (level / np.clip(scaled, 0, 255).mean()), 0, 255)
    return Image.fromarray(scaled.round().astype(np.uint8))


def shifted_to(image: Image.Image, level: float) -> Image.Image:
    """``image`` with ``level`` minus its mean grey level added to every pixel."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
    return Image.fromarray(np.clip(pixels + level - pixels.mean(), 0, 255).round().astype(np.uint8))


def exif_at(seconds: float) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0110] = "TestCam X1"
    ifd = exif.get_ifd(0x8769)
    whole = int(seconds)
    ifd[0x9003] = f"2024:05:01 10:{whole // 60:02d}:{whole % 60:02d}"
    ifd[0x9291] = f"{round((seconds - whole) * 100):02d}"
    return exif


def _brightness(image: Image.Image) -> float:
    return float(np.asarray(image.convert("L"), dtype=np.float64).mean()) / 25.5


class Bright(Scorer):
    id = "bright"
    description = "mean brightness (test)"

    def score_batch(self, images):
        return [ScoreResult(score=round(_brightness(im), 3)) for im in images]


class Dark(Scorer):
    id = "dark"
    description = "10 - mean brightness (test)"

    def score_batch(self, images):
        return [ScoreResult(score=round(10 - _brightness(im), 3)) for im in images]


class LitPlugin:
    @staticmethod
    @culler.hookimpl
    def register_scorers(register):
        register(Bright)
        register(Dark)


def write_lit_shoot(folder: Path, burst: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, (name, (sample, level)) in enumerate(SINGLES.items()):
        # A minute apart: never one burst.
        at_level(sample_image(sample).resize((320, 240)), level).save(
            folder / f"{name}.jpg", quality=95, exif=exif_at(60 * (i + 2))
        )
    if burst:
        base = sample_image("astronaut").resize((320, 320))
        for i, (name, level) in enumerate(BURST.items()):
            shifted_to(base, level).save(
                folder / f"{name}.jpg", quality=95, exif=exif_at(5 + 0.3 * i)
            )


@pytest.fixture
def lit(tmp_path, register_test_plugin, culler_cli):
    """``lit(burst=True)`` scans a lit shoot with both test scorers; returns the catalog path."""
    register_test_plugin(LitPlugin, "lit-test")

    def make(burst: bool = True) -> Path:
        folder = tmp_path / "shoot"
        write_lit_shoot(folder, burst)
        db = tmp_path / "culler.db"
        culler_cli(
            "scan", folder, "--db", db, "--scorer", "bright", "--scorer", "dark", "--workers", "0"
        )
        return db

    return make


def decisions(result: dict) -> dict[str, str | None]:
    return {Path(p["path"]).stem: p["decision"] for p in result["plan"]}


def test_the_levels_give_the_scores_the_tests_expect(lit):
    db = lit()
    catalog = open_catalog(db)
    paths = {r["id"]: Path(r["path"]).stem for r in catalog.query("SELECT id, path FROM photos")}
    scores = {paths[pid]: by["bright"] for pid, by in catalog.current_scores().items()}
    catalog.close()
    levels = {name: level for name, (_, level) in SINGLES.items()} | BURST
    assert scores.keys() == levels.keys()
    for name, level in levels.items():
        assert scores[name] == pytest.approx(level / 25.5, abs=0.5), name


def test_keep_per_group_picks_that_many_frames_of_the_burst(lit, culler_cli):
    db = lit()
    one = decisions(
        culler_cli.json("cull", "--db", db, "--dry-run", "--json", "--weight", "bright=1")
    )
    assert [one[n] for n in BURST] == ["pick", "reject", "reject"]
    two = decisions(
        culler_cli.json(
            "cull",
            "--db",
            db,
            "--dry-run",
            "--json",
            "--weight",
            "bright=1",
            "--keep-per-group",
            "2",
        )
    )
    assert [two[n] for n in BURST] == ["pick", "pick", "reject"]


def test_weight_decides_which_frame_of_the_burst_is_kept(lit, culler_cli):
    db = lit()
    by_bright = decisions(
        culler_cli.json("cull", "--db", db, "--dry-run", "--json", "--weight", "bright=1")
    )
    by_dark = decisions(
        culler_cli.json("cull", "--db", db, "--dry-run", "--json", "--weight", "dark=1")
    )
    assert [by_bright[n] for n in BURST] == ["pick", "reject", "reject"]
    assert [by_dark[n] for n in BURST] == ["reject", "reject", "pick"]
    # The score shown is the weighted one: the dark score alone, not the 5-point tie of the mix.
    result = culler_cli.json("cull", "--db", db, "--dry-run", "--json", "--weight", "dark=1")
    scores = {Path(p["path"]).stem: p["score"] for p in result["plan"]}
    assert scores["burst-dark"] == pytest.approx(10 - BURST["burst-dark"] / 25.5, abs=0.5)


def test_keep_top_rejects_all_but_the_best_share_through_the_cli(lit, culler_cli):
    db = lit(burst=False)
    result = culler_cli.json(
        "cull", "--db", db, "--dry-run", "--json", "--weight", "bright=1", "--keep-top", "50"
    )
    assert decisions(result) == {
        "night": "reject",
        "dusk": "reject",
        "noon": "pick",
        "snow": "pick",
    }
    reasons = {Path(p["path"]).stem: p["reason"] for p in result["plan"]}
    assert reasons["dusk"].startswith("not in the top 50 %")


def test_reject_below_rejects_low_scores_through_the_cli(lit, culler_cli):
    db = lit(burst=False)
    result = culler_cli.json(
        "cull", "--db", db, "--dry-run", "--json", "--weight", "bright=1", "--reject-below", "5"
    )
    assert decisions(result) == {
        "night": "reject",
        "dusk": "reject",
        "noon": "pick",
        "snow": "pick",
    }
    reasons = {Path(p["path"]).stem: p["reason"] for p in result["plan"]}
    assert reasons["night"].startswith("low score (") and "< 5)" in reasons["night"]
    # Without the option a photo on its own is never rejected for its score.
    plain = culler_cli.json("cull", "--db", db, "--dry-run", "--json", "--weight", "bright=1")
    assert set(decisions(plain).values()) == {"pick"}


def _ids(catalog) -> dict[str, int]:
    return {Path(r["path"]).stem: r["id"] for r in catalog.query("SELECT id, path FROM photos")}


def test_a_hand_decision_made_between_planning_and_writing_wins(lit):
    from culler.cull import Ranking

    db = lit()
    catalog = open_catalog(db)
    try:
        plan = plan_cull(catalog, CullOptions(ranking=Ranking(weights={"bright": 1.0})))
        proposal = {Path(p.path).stem: p for p in plan}["burst-mid"]
        assert (proposal.decision, proposal.changes) == ("reject", True)
        pid = _ids(catalog)["burst-mid"]
        catalog.rate(pid, decision="pick", source="gui")  # the GUI, while the plan was on screen
        apply_plan(catalog, plan)
        state = catalog.current_rating(pid)
        assert (state["decision"], state["source"]) == ("pick", "gui")
        # The rest of the plan was written.
        dark = catalog.current_rating(_ids(catalog)["burst-dark"])
        assert (dark["decision"], dark["source"]) == ("reject", "auto")
    finally:
        catalog.close()


def test_decisions_imported_from_xmp_are_left_as_they_are(lit, culler_cli, tmp_path):
    db = lit()
    # Picked in Lightroom: the darkest frame, which cull would reject.
    write_sidecar(tmp_path / "shoot" / "burst-dark.xmp", SidecarData(rating=3, decision="pick"))
    write_sidecar(tmp_path / "shoot" / "dusk.xmp", SidecarData(rating=-1))
    imported = culler_cli.json("xmp", "read", "--db", db, "--json")
    assert len(imported["changed"]) == 2
    result = culler_cli.json("cull", "--db", db, "--json", "--weight", "bright=1")
    plan = {Path(p["path"]).stem: p for p in result["plan"]}
    assert plan["burst-dark"]["by_hand"] and not plan["burst-dark"]["changes"]
    assert plan["dusk"]["by_hand"] and not plan["dusk"]["changes"]
    catalog = open_catalog(db)
    try:
        ids = _ids(catalog)
        dark = catalog.current_rating(ids["burst-dark"])
        dusk = catalog.current_rating(ids["dusk"])
    finally:
        catalog.close()
    assert (dark["decision"], dark["stars"], dark["source"]) == ("pick", 3, "xmp")
    assert (dusk["decision"], dusk["source"]) == ("reject", "xmp")
