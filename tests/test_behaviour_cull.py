"""What ``culler cull`` promises a photographer, each pinned so that breaking it fails a test.

Through the CLI, the photos are real sample photographs scaled to known brightness levels and
scored by a test scorer that reads the brightness (``bright``) or its opposite (``dark``): the
expected picks follow from the levels chosen here, never from the code under test.

The reason each proposal gives, the summary and the stored group order are pinned on a real catalog
whose scores, defects, sizes and capture times the tests write themselves (:class:`Shoot`), so that
every expected reason is written out by hand from the rules in ``culler/decide/cull.py``. What makes two
photos one picture is pinned in ``tests/test_behaviour_grouping.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import culler
from culler.catalog import open_catalog
from culler.decide.cull import (
    CullOptions,
    Group,
    GroupingOptions,
    Proposal,
    Ranking,
    apply_plan,
    attach_frame_defects,
    plan_cull,
    rank_groups,
    stored_groups,
    summarize,
    update_groups,
)
from culler.interop.xmp import SidecarData, write_sidecar
from culler.plugin.scorers import Scorer, ScoreResult
from culler.testing import sample_image

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
    from culler.decide.cull import Ranking

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


# -- the reasons a plan gives, on a catalog whose scores are chosen here ---------------------------
#
# A photographer reads the plan's one-line reason to decide whether to trust it: which defect
# decided, which frame won and by what. These tests write photos and scores straight into a real
# catalog (no decoding), so every score, defect and size is chosen here and each expected reason
# follows from the rules in culler.decide.cull's docstrings. ``clip-aesthetic`` is an installed aesthetic
# scorer, ``technical`` a technical one and ``faces`` a penalty scorer; ``taste`` is a personal model.

AESTHETIC = "clip-aesthetic"


class Shoot:
    """A real catalog with photos whose scores, defects and sizes are set by the test."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.catalog = open_catalog(folder / "culler.db")
        self.ids: dict[str, int] = {}

    def _row(self, name: str, **columns) -> int:
        with self.catalog.transaction():
            pid = self.catalog.upsert_photo(
                str(self.folder / f"{name}.jpg"), str(self.folder), 1000, 1, **columns
            )
        self.ids[name] = pid
        return pid

    def add(
        self,
        name: str,
        scores: dict[str, float] | None = None,
        *,
        reasons: dict[str, list[str]] | None = None,
        defects: list[dict] | None = None,
        size: tuple[int, int] | None = (4000, 3000),
        taken: str | None = None,
    ) -> int:
        """A readable photo (``taken``: an ISO capture time, by one camera); ``defects`` are named
        by the technical scorer."""
        width, height = size or (None, None)
        camera = "TestCam X1" if taken else None
        pid = self._row(name, width=width, height=height, taken_at=taken, camera=camera)
        scores = dict(scores or {})
        if defects is not None:
            scores.setdefault("technical", None)
        for sid, score in scores.items():
            result = ScoreResult(
                score=score,
                reasons=(reasons or {}).get(sid, []),
                extra={"defects": defects} if sid == "technical" and defects else {},
            )
            pk = self.catalog.scorer_pk(sid, "1")
            with self.catalog.transaction():
                self.catalog.store_score(pid, pk, result, sid)
        return pid

    def broken(self, name: str, error: str) -> int:
        """A file the scan found but could not read, with the scan's error message."""
        return self._row(name, status="error", error=error)

    def personal(self, name: str, score: float) -> None:
        """Score ``name`` by ``taste``, a fine-tune of a base model (the user's personal model)."""
        base = self.catalog.scorer_pk("taste", "base")
        tuned = self.catalog.scorer_pk("taste", "tuned", "abc", parent=base)
        self.catalog.activate_scorer(tuned)
        with self.catalog.transaction():
            self.catalog.store_score(self.ids[name], tuned, ScoreResult(score=score), "taste")

    def group(self, kind: str, *names: str, frame_defects: dict | None = None) -> Group:
        defects = {self.ids[n]: d for n, d in (frame_defects or {}).items()}
        return Group(kind, [self.ids[n] for n in names], None, defects)

    def plan(self, *groups: Group, grouped: bool = True, **options) -> dict[str, Proposal]:
        """The plan for these groups (``grouped=False``: plan_cull groups the photos itself)."""
        chosen = list(groups) if grouped else None
        plan = plan_cull(self.catalog, CullOptions(**options), groups=chosen)
        return {Path(p.path).stem: p for p in plan}


@pytest.fixture
def shoot(tmp_path):
    made = Shoot(tmp_path)
    yield made
    made.catalog.close()


def reasons_of(plan: dict[str, Proposal]) -> dict[str, tuple[str | None, str]]:
    return {name: (p.decision, p.reason) for name, p in plan.items()}


def test_a_photo_on_its_own_is_rejected_only_for_a_named_defect_and_says_which(shoot):
    shoot.add("sunset", {AESTHETIC: 7.34})
    shoot.add("dull", {AESTHETIC: 1.2})
    shoot.add("streaks", {AESTHETIC: 8.0}, defects=[{"defect": "motion_blur", "confidence": 0.9}])
    shoot.add(
        "eyes",
        {AESTHETIC: 8.0},
        defects=[
            {"defect": "soft_face", "confidence": 0.7, "reason": "soft face"},
            {"defect": "eyes_closed", "confidence": 0.95, "reason": "eyes closed: 2 of 3 faces"},
        ],
    )
    # A defect without a confidence is certain; one below 0.6 or marked reject: false only informs.
    shoot.add("glare", {AESTHETIC: 6.0}, defects=[{"defect": "blown_highlights"}])
    shoot.add("edge", {AESTHETIC: 6.0}, defects=[{"defect": "clipping", "confidence": 0.6}])
    shoot.add("faint", {AESTHETIC: 6.0}, defects=[{"defect": "clipping", "confidence": 0.59}])
    shoot.add(
        "grain",
        {AESTHETIC: 6.0},
        defects=[{"defect": "noise", "confidence": 0.9, "reject": False}, {"confidence": 1.0}],
    )
    shoot.add("new")
    assert reasons_of(shoot.plan()) == {
        "sunset": ("pick", "single frame, score 7.3"),
        "dull": ("pick", "single frame, score 1.2"),
        "streaks": ("reject", "motion blur"),
        "eyes": ("reject", "eyes closed: 2 of 3 faces"),
        "glare": ("reject", "blown highlights"),
        "edge": ("reject", "clipping"),
        "faint": ("pick", "single frame, score 6.0"),
        "grain": ("pick", "single frame, score 6.0"),
        "new": (None, "not scored yet: run `culler scan`"),
    }
    # The confidence a defect needs is an option.
    assert shoot.plan(defect_confidence=0.95)["eyes"].decision == "reject"
    assert reasons_of(shoot.plan(defect_confidence=0.96))["eyes"] == (
        "pick",
        "single frame, score 8.0",
    )


def test_reject_below_says_the_score_and_the_limit(shoot):
    shoot.add("low", {AESTHETIC: 3.0})
    shoot.add("limit", {AESTHETIC: 5.0})
    assert reasons_of(shoot.plan(reject_below=5.0)) == {
        "low": ("reject", "low score (3.0 < 5)"),
        "limit": ("pick", "single frame, score 5.0"),
    }
    assert shoot.plan(reject_below=4.5)["low"].reason == "low score (3.0 < 4.5)"


def test_a_hand_decision_is_left_as_it_is_and_says_so(shoot):
    shoot.add("picked", {AESTHETIC: 2.0})
    shoot.add("starred", {AESTHETIC: 2.0})
    shoot.add("auto", {AESTHETIC: 6.0})
    shoot.catalog.rate(shoot.ids["picked"], decision="pick", source="gui")
    shoot.catalog.rate(shoot.ids["starred"], stars=4, source="cli")
    shoot.catalog.rate(shoot.ids["auto"], decision="reject", source="auto")
    plan = shoot.plan(reject_below=5.0)
    assert reasons_of(plan) == {
        "picked": (None, "decided by hand (pick); left as it is"),
        "starred": (None, "decided by hand (unrated); left as it is"),
        "auto": ("pick", "single frame, score 6.0"),
    }
    assert [(plan[n].locked, plan[n].changes) for n in ("picked", "starred", "auto")] == [
        (True, False),
        (True, False),
        (False, True),
    ]


def test_an_undone_rating_is_not_a_hand_decision_and_the_original_beats_its_web_copy(shoot):
    # Issue #29: the original was given stars, the stars were undone (Ctrl+Z in the window, or
    # `culler rate --undo`), and the undo still counted as "decided by hand": the copy was picked.
    shoot.add("original", {AESTHETIC: 6.0}, size=(4000, 3000))
    shoot.add("web-copy", {AESTHETIC: 6.0}, size=(1000, 750))
    original = shoot.ids["original"]
    batch = shoot.catalog.rate_batch([original], "4 stars", source="gui", stars=4)
    shoot.catalog.undo_batch(batch)
    shoot.catalog.rate(original, stars=3, source="cli")
    shoot.catalog.undo_last()
    assert shoot.catalog.hand_decided() == set()
    plan = shoot.plan(shoot.group("duplicate", "web-copy", "original"))
    assert reasons_of(plan) == {
        "original": ("pick", "2 near-duplicates: the full-size photo; #2 is a smaller copy"),
        "web-copy": ("reject", "2 near-duplicates (#2): a smaller copy (1000×750) of #1"),
    }
    assert apply_plan(shoot.catalog, plan.values()) == 2


def test_a_colour_label_is_not_a_decision(shoot):
    for name, score in {"best": 8.0, "second": 5.0}.items():
        shoot.add(name, {AESTHETIC: score})
    shoot.catalog.rate(shoot.ids["best"], label="red", source="gui")
    shoot.catalog.rate(shoot.ids["second"], label="blue", source="xmp")
    assert shoot.catalog.hand_decided() == set()
    plan = shoot.plan(shoot.group("burst", "best", "second"))
    assert {n: (p.decision, p.locked) for n, p in plan.items()} == {
        "best": ("pick", False),
        "second": ("reject", False),
    }
    apply_plan(shoot.catalog, plan.values())
    assert shoot.catalog.current_rating(shoot.ids["best"])["label"] == "red"  # the label stays


def test_an_auto_decision_restored_by_an_undo_stays_a_proposal(shoot):
    shoot.add("frame", {AESTHETIC: 8.0})
    frame = shoot.ids["frame"]
    shoot.catalog.rate(frame, decision="pick", source="auto", reason="single frame, score 8.0")
    batch = shoot.catalog.rate_batch([frame], "reject", source="gui", decision="reject")
    assert shoot.catalog.hand_decided() == {frame}
    shoot.catalog.undo_batch(batch)
    assert shoot.catalog.current_rating(frame)["decision"] == "pick"
    assert shoot.catalog.hand_decided() == set()  # the pick is still culler's, not the person's


def test_the_combined_score_weighs_scorers_by_role(shoot):
    # Aesthetic scorers share a weight of 1, a technical one weighs 1, a personal model 2; a
    # penalty scorer takes 0.5 × (10 − score) off.
    shoot.add("mix", {AESTHETIC: 8.0, "vibes": 6.0, "technical": 5.0, "faces": 9.0})
    shoot.add("thirds", {AESTHETIC: 1.0, "vibes": 1.0, "retired": 2.0})
    shoot.add("faces-only", {"faces": 9.0})
    plan = shoot.plan()
    assert plan["mix"].score == 5.5  # (8 × ½ + 6 × ½ + 5) / 2 − 0.5 × 1
    assert plan["thirds"].score == 1.3333  # a scorer no longer installed counts as aesthetic
    assert reasons_of(plan)["faces-only"] == (None, "not scored yet: run `culler scan`")
    shoot.personal("mix", 9.0)
    assert shoot.plan()["mix"].score == 7.0  # (4 + 3 + 5 + 2 × 9) / 4 − 0.5
    assert shoot.plan(ranking=Ranking(penalty=1.5))["mix"].score == 6.0
    # Weights given by the user replace the roles; a penalty scorer's weight is its penalty.
    weights = {AESTHETIC: 1.0, "technical": 3.0, "faces": 2.0}
    assert shoot.plan(ranking=Ranking(weights=weights))["mix"].score == 3.75  # 23 / 4 − 2
    # A penalty scorer the weights leave out keeps the default penalty.
    weights = {AESTHETIC: 1.0, "technical": 3.0}
    assert shoot.plan(ranking=Ranking(weights=weights))["mix"].score == 5.25  # 23 / 4 − 0.5


class Saturation(Scorer):
    """A ``measure``: a figure to sort by that says nothing about which photo is better."""

    id = "saturation"
    role = "measure"

    def score_batch(self, images):
        return [ScoreResult(score=5.0) for _ in images]


class SaturationPlugin:
    @staticmethod
    @culler.hookimpl
    def register_scorers(register):
        register(Saturation)


def test_a_measure_scorer_never_ranks_or_decides_unless_weighted(shoot, register_test_plugin):
    """The example plugin's colourfulness is a measure: with no learned weights installed it must not
    become the opinion that decides a burst ("a higher colourfulness score than #2")."""
    register_test_plugin(SaturationPlugin, "saturation-test")
    shoot.add("grey", {"technical": 7.0, "saturation": 0.5})
    shoot.add("vivid", {"technical": 6.9, "saturation": 9.5})
    plan = shoot.plan(shoot.group("burst", "grey", "vivid"))
    assert plan["grey"].score == 7.0 and plan["vivid"].score == 6.9
    assert reasons_of(plan) == {
        "grey": ("pick", "burst of 2: a higher technical score than #2"),
        "vivid": ("reject", "burst of 2 (#2): #1 has a higher technical score"),
    }
    # Named in --weight, it counts like any scorer.
    weights = {"technical": 1.0, "saturation": 1.0}
    plan = shoot.plan(shoot.group("burst", "grey", "vivid"), ranking=Ranking(weights=weights))
    assert plan["vivid"].decision == "pick" and plan["vivid"].score == 8.2


def test_keep_top_keeps_the_best_share_of_the_scored_photos(shoot):
    for name, score in {"a": 2.0, "b": 4.0, "c": 6.0, "d": 8.0}.items():
        shoot.add(name, {AESTHETIC: score})
    shoot.add("new")  # not scored: neither counted nor rejected
    shoot.add("hand", {AESTHETIC: 1.0})
    shoot.catalog.rate(shoot.ids["hand"], decision="pick", source="gui")
    # Five scored photos: the top 30 % are the best two (rounded up), the top 20 % the best one.
    top30 = shoot.plan(keep_top=30)
    assert reasons_of(top30) == {
        "a": ("reject", "not in the top 30 % (score 2.0 < 6.0)"),
        "b": ("reject", "not in the top 30 % (score 4.0 < 6.0)"),
        "c": ("pick", "single frame, score 6.0"),
        "d": ("pick", "single frame, score 8.0"),
        "new": (None, "not scored yet: run `culler scan`"),
        "hand": (None, "decided by hand (pick); left as it is"),
    }
    assert {n for n, p in shoot.plan(keep_top=20).items() if p.decision == "pick"} == {"d"}
    assert {n for n, p in shoot.plan(keep_top=0).items() if p.decision == "pick"} == {"d"}
    assert shoot.plan(keep_top=12.5)["c"].reason == "not in the top 12.5 % (score 6.0 < 8.0)"
    assert {n for n, p in shoot.plan(keep_top=100).items() if p.decision == "pick"} == {
        "a",
        "b",
        "c",
        "d",
    }


def test_keep_top_shows_a_score_and_its_limit_apart_when_they_round_alike(shoot):
    shoot.add("under", {AESTHETIC: 3.95})
    shoot.add("limit", {AESTHETIC: 3.96})
    assert shoot.plan(keep_top=50)["under"].reason == "not in the top 50 % (score 3.95 < 3.96)"


def test_keep_top_keeps_exactly_the_share_asked_for_in_a_large_shoot(shoot):
    # 200 photos scored 0.00 to 9.95: the top 60 % are the 120 best, down to 4.00.
    pk = shoot.catalog.scorer_pk(AESTHETIC, "1")
    with shoot.catalog.transaction():
        for i in range(200):
            pid = shoot.catalog.upsert_photo(
                str(shoot.folder / f"{i:03d}.jpg"), str(shoot.folder), 1000, 1
            )
            shoot.catalog.store_score(pid, pk, ScoreResult(score=i * 0.05), AESTHETIC)
    plan = shoot.plan(keep_top=60)
    picked = sorted(int(n) for n, p in plan.items() if p.decision == "pick")
    assert picked == list(range(80, 200))
    assert plan["078"].reason == "not in the top 60 % (score 3.9 < 4.0)"


def test_the_best_frame_of_a_burst_is_kept_and_each_frame_says_why(shoot):
    for name, score in {"first": 8.0, "second": 6.0, "third": 4.0}.items():
        shoot.add(name, {AESTHETIC: score})
    shoot.add("alone", {AESTHETIC: 3.0})
    plan = shoot.plan(shoot.group("burst", "third", "first", "second"))
    assert reasons_of(plan) == {
        "first": ("pick", "burst of 3: a higher clip-aesthetic score than #2"),
        "second": ("reject", "burst of 3 (#2): #1 has a higher clip-aesthetic score"),
        "third": ("reject", "burst of 3 (#3): #1 has a higher clip-aesthetic score"),
        "alone": ("pick", "single frame, score 3.0"),
    }
    assert {n: p.group for n, p in plan.items()} == {
        "first": "burst of 3, #1",
        "second": "burst of 3, #2",
        "third": "burst of 3, #3",
        "alone": None,
    }
    two = shoot.plan(shoot.group("burst", "third", "first", "second"), keep_per_group=2)
    assert reasons_of(two) == {
        "first": ("pick", "burst of 3: a higher clip-aesthetic score than #2"),
        "second": ("pick", "burst of 3: a higher clip-aesthetic score than #3"),
        "third": ("reject", "burst of 3 (#3): #1 has a higher clip-aesthetic score"),
        "alone": ("pick", "single frame, score 3.0"),
    }
    three = shoot.plan(shoot.group("burst", "third", "first", "second"), keep_per_group=3)
    assert three["third"].reason == "burst of 3: kept"


def test_a_technical_problem_the_winner_does_not_have_is_named(shoot):
    # The technical gap (2, counted +1 for naming a problem) outweighs half the aesthetic one (1.5).
    shoot.add(
        "clean",
        {AESTHETIC: 6.0, "technical": 7.0},
        reasons={"technical": ["exposure good: 0.1"]},
    )
    shoot.add(
        "grainy",
        {AESTHETIC: 3.0, "technical": 5.0},
        reasons={"technical": ["noise (high ISO): 0.4", "exposure good: 0.2"]},
    )
    plan = shoot.plan(shoot.group("burst", "grainy", "clean"))
    assert reasons_of(plan) == {
        "clean": ("pick", "burst of 2: #2 has noise, this one does not"),
        "grainy": ("reject", "burst of 2 (#2): noise, unlike #1"),
    }


def test_without_a_named_problem_the_biggest_score_gap_is_the_edge(shoot):
    shoot.add("clean", {AESTHETIC: 6.0, "technical": 7.0}, reasons={"technical": ["noise: 0.1"]})
    shoot.add("grainy", {AESTHETIC: 5.5, "technical": 5.0}, reasons={"technical": ["noise: 0.4"]})
    plan = shoot.plan(shoot.group("burst", "grainy", "clean"))
    assert reasons_of(plan) == {
        "clean": ("pick", "burst of 2: a higher technical score than #2"),
        "grainy": ("reject", "burst of 2 (#2): #1 has a higher technical score"),
    }


def test_a_penalty_scorer_names_the_problem_of_the_frame_it_penalises(shoot):
    shoot.add("open", {AESTHETIC: 5.0, "faces": 9.0}, reasons={"faces": ["2 faces"]})
    shoot.add(
        "blink",
        {AESTHETIC: 5.5, "faces": 4.0},
        reasons={"faces": ["eyes closed (left): 1 of 2", "2 faces"]},
    )
    plan = shoot.plan(shoot.group("burst", "open", "blink"))
    assert reasons_of(plan) == {
        "open": ("pick", "burst of 2: #2 has eyes closed, this one does not"),
        "blink": ("reject", "burst of 2 (#2): eyes closed, unlike #1"),
    }


def test_a_personal_model_is_named_as_such(shoot):
    shoot.add("liked", {AESTHETIC: 5.0})
    shoot.add("other", {AESTHETIC: 5.0})
    shoot.personal("liked", 9.0)
    shoot.personal("other", 4.0)
    plan = shoot.plan(shoot.group("burst", "liked", "other"))
    assert reasons_of(plan) == {
        "liked": ("pick", "burst of 2: a higher personal-model score than #2"),
        "other": ("reject", "burst of 2 (#2): #1 has a higher personal-model score"),
    }


def test_a_defect_a_scorer_names_decides_between_frames(shoot):
    # Below the confidence that rejects a photo on its own (0.6), above what a comparison uses (0.5).
    shoot.add("steady", {AESTHETIC: 7.0})
    shoot.add(
        "squint",
        {AESTHETIC: 5.0},
        defects=[{"defect": "eyes_closed", "confidence": 0.55, "reason": "eyes closed"}],
    )
    shoot.add(
        "tilted", {AESTHETIC: 4.0}, defects=[{"defect": "tilted_horizon", "confidence": 0.55}]
    )
    shoot.add("unsure", {AESTHETIC: 3.0}, defects=[{"defect": "tilt", "confidence": 0.45}])
    plan = shoot.plan(shoot.group("burst", "steady", "squint", "tilted", "unsure"))
    assert reasons_of(plan) == {
        "steady": ("pick", "burst of 4: #2 has eyes closed, this one does not"),
        "squint": ("reject", "burst of 4 (#2): eyes closed, unlike #1"),
        "tilted": ("reject", "burst of 4 (#3): tilted horizon, unlike #1"),
        "unsure": ("reject", "burst of 4 (#4): #1 has a higher clip-aesthetic score"),
    }
    # The same defect in both frames decides nothing.
    shoot.add(
        "squint2",
        {AESTHETIC: 4.5},
        defects=[{"defect": "eyes_closed", "confidence": 0.58, "reason": "eyes closed"}],
    )
    pair = shoot.plan(shoot.group("burst", "squint", "squint2"))
    assert pair["squint2"].reason == "burst of 2 (#2): #1 has a higher clip-aesthetic score"


def test_a_frame_rejected_for_its_defect_says_so_in_the_bursts_terms(shoot):
    shoot.add("plain", {AESTHETIC: 5.0})
    shoot.add(
        "closed",
        {AESTHETIC: 8.0},
        defects=[{"defect": "eyes_closed", "confidence": 0.9, "reason": "eyes closed: 1 of 1"}],
    )
    plan = shoot.plan(shoot.group("burst", "plain", "closed"))
    # The higher score ranks "closed" first (#1); its defect rejects it, and "plain" is kept.
    assert reasons_of(plan) == {
        "plain": ("pick", "burst of 2: #1 has eyes closed: 1 of 1, this one does not"),
        "closed": ("reject", "burst of 2 (#1): eyes closed: 1 of 1, unlike #2"),
    }


FRAME_BLUR = {"defect": "motion_blur", "reason": "motion blur (horizontal): 40 % of the detail"}
FRAME_SOFT = {"defect": "missed_focus", "reason": "missed focus: 30 % of the detail"}


def test_a_blurred_frame_never_beats_a_sharp_one_and_says_how_much_detail_it_lost(shoot):
    shoot.add("sharp", {AESTHETIC: 6.0})
    shoot.add("shaken", {AESTHETIC: 9.0})
    shoot.add("soft", {AESTHETIC: 8.0})
    burst = shoot.group(
        "burst",
        "soft",
        "shaken",
        "sharp",
        frame_defects={
            "shaken": FRAME_BLUR | {"detail": 0.4},
            "soft": FRAME_SOFT | {"detail": 0.3},
        },
    )
    expected = {
        "sharp": ("pick", "burst of 3: sharp, unlike #2 (motion blur (horizontal))"),
        "shaken": (
            "reject",
            "burst of 3 (#2): motion blur (horizontal): 40 % of the detail of #1 on the same area",
        ),
        "soft": (
            "reject",
            "burst of 3 (#3): missed focus: 30 % of the detail of #1 on the same area",
        ),
    }
    assert reasons_of(shoot.plan(burst)) == expected
    # A second frame is kept only if it is sharp.
    assert reasons_of(shoot.plan(burst, keep_per_group=2)) == expected
    assert shoot.plan(burst)["soft"].group == "burst of 3, #3"


def test_when_every_frame_is_blurred_the_one_with_most_detail_is_kept(shoot):
    shoot.add("less", {AESTHETIC: 9.0})
    shoot.add("more", {AESTHETIC: 5.0})
    burst = shoot.group(
        "burst",
        "less",
        "more",
        frame_defects={"less": FRAME_SOFT | {"detail": 0.3}, "more": FRAME_BLUR | {"detail": 0.4}},
    )
    plan = shoot.plan(burst)
    assert [plan["more"].decision, plan["less"].decision] == ["pick", "reject"]
    assert (
        plan["less"].reason
        == "burst of 2 (#2): missed focus: 30 % of the detail of #1 on the same area"
    )


def test_a_blur_a_scorer_names_ranks_the_frame_after_its_sharp_sibling(shoot):
    shoot.add("steady", {AESTHETIC: 5.0})
    shoot.add(
        "shaky",
        {AESTHETIC: 9.0},
        defects=[{"defect": "motion_blur", "confidence": 0.55, "reason": "motion blur: streaks"}],
    )
    plan = shoot.plan(shoot.group("burst", "shaky", "steady"))
    assert reasons_of(plan) == {
        "steady": ("pick", "burst of 2: sharp, unlike #2 (motion blur)"),
        "shaky": ("reject", "burst of 2 (#2): motion blur: streaks of #1 on the same area"),
    }


def test_a_blur_named_without_a_reason_is_named_by_its_defect(shoot):
    """A plugin's defect may come without a reason: the plan names the defect instead of failing
    (it raised KeyError for a burst)."""
    shoot.add("steady", {AESTHETIC: 5.0})
    shoot.add("shaky", {AESTHETIC: 9.0}, defects=[{"defect": "motion_blur", "confidence": 0.55}])
    plan = shoot.plan(shoot.group("burst", "shaky", "steady"))
    assert reasons_of(plan) == {
        "steady": ("pick", "burst of 2: sharp, unlike #2 (motion blur)"),
        "shaky": ("reject", "burst of 2 (#2): motion blur of #1 on the same area"),
    }


def test_a_frame_rejected_by_hand_is_not_the_one_the_kept_frame_is_compared_with(shoot):
    for name, score in {"first": 8.0, "second": 6.0, "third": 4.0}.items():
        shoot.add(name, {AESTHETIC: score})
    shoot.catalog.rate(shoot.ids["first"], decision="reject", source="gui")
    plan = shoot.plan(shoot.group("burst", "first", "second", "third"))
    assert reasons_of(plan) == {
        "first": (None, "decided by hand (reject); left as it is"),
        "second": ("pick", "burst of 3: a higher clip-aesthetic score than #3"),
        "third": ("reject", "burst of 3 (#3): #2 has a higher clip-aesthetic score"),
    }
    shoot.catalog.rate(shoot.ids["third"], decision="reject", source="gui")
    plan = shoot.plan(shoot.group("burst", "first", "second", "third"))
    assert plan["second"].reason == "burst of 3: kept"  # no frame left to compare it with


def test_when_every_frame_is_blurred_the_kept_one_is_not_called_sharp(shoot):
    shoot.add("soft", {AESTHETIC: 6.0})
    shoot.add("softer", {AESTHETIC: 5.0})
    frames = {"soft": FRAME_SOFT | {"detail": 0.7}, "softer": FRAME_SOFT | {"detail": 0.4}}
    plan = shoot.plan(shoot.group("burst", "soft", "softer", frame_defects=frames))
    assert plan["soft"].decision == "pick"
    assert "sharp" not in plan["soft"].reason
    assert plan["soft"].reason == "burst of 2: a higher clip-aesthetic score than #2"


def test_a_smaller_copy_loses_to_its_full_size_original(shoot):
    shoot.add("original", {AESTHETIC: 6.0}, size=(4000, 3000))
    shoot.add("web", {AESTHETIC: 8.0}, size=(1200, 900))
    plan = shoot.plan(shoot.group("duplicate", "web", "original"))
    assert reasons_of(plan) == {
        "original": ("pick", "2 near-duplicates: the full-size photo; #2 is a smaller copy"),
        "web": ("reject", "2 near-duplicates (#2): a smaller copy (1200×900) of #1"),
    }
    assert plan["web"].group == "2 near-duplicates, #2"


def test_a_copy_with_at_least_six_tenths_of_the_pixels_competes_on_its_score(shoot):
    shoot.add("original", {AESTHETIC: 6.0}, size=(4000, 3000))
    shoot.add("crop", {AESTHETIC: 8.0}, size=(3000, 2400))  # exactly 0.6 of the pixels
    shoot.add("unknown", {AESTHETIC: 7.0}, size=None)  # no size read: not a smaller copy
    plan = shoot.plan(shoot.group("duplicate", "original", "crop", "unknown"))
    assert reasons_of(plan) == {
        "crop": ("pick", "3 near-duplicates: a higher clip-aesthetic score than #2"),
        "unknown": ("reject", "3 near-duplicates (#2): #1 has a higher clip-aesthetic score"),
        "original": ("reject", "3 near-duplicates (#3): #1 has a higher clip-aesthetic score"),
    }


def test_overlapping_groups_are_one_moment(shoot):
    for name, score in {
        "a": 9.0,
        "b": 7.0,
        "c": 5.0,
        "d": 3.0,
        "e": 6.0,
        "f": 4.0,
        "g": 1.0,
    }.items():
        shoot.add(name, {AESTHETIC: score})
    # A near-duplicate of a burst frame belongs to the burst; two overlapping duplicate groups are
    # one set of copies; a group of one is no moment.
    plan = shoot.plan(
        shoot.group("burst", "a", "b"),
        shoot.group("duplicate", "b", "c"),
        shoot.group("duplicate", "d", "e"),
        shoot.group("duplicate", "e", "f"),
        shoot.group("burst", "g"),
    )
    assert {n: p.group for n, p in plan.items()} == {
        "a": "burst of 3, #1",
        "b": "burst of 3, #2",
        "c": "burst of 3, #3",
        "e": "3 near-duplicates, #1",
        "f": "3 near-duplicates, #2",
        "d": "3 near-duplicates, #3",
        "g": None,
    }
    assert {n for n, p in plan.items() if p.decision == "pick"} == {"a", "e", "g"}
    assert plan["g"].reason == "single frame, score 1.0"


def test_frame_defects_follow_a_burst_into_its_merged_moment(shoot):
    shoot.add("sharp", {AESTHETIC: 5.0})
    shoot.add("shaken", {AESTHETIC: 9.0})
    shoot.add("copy", {AESTHETIC: 4.0})
    shoot.add("shaken2", {AESTHETIC: 8.0})
    plan = shoot.plan(
        shoot.group("duplicate", "copy", "sharp"),
        shoot.group(
            "burst", "sharp", "shaken", frame_defects={"shaken": FRAME_BLUR | {"detail": 0.4}}
        ),
        shoot.group(
            "burst", "shaken2", "copy", frame_defects={"shaken2": FRAME_SOFT | {"detail": 0.3}}
        ),
    )
    assert {n: p.decision for n, p in plan.items()} == {
        "sharp": "pick",
        "copy": "reject",
        "shaken": "reject",
        "shaken2": "reject",
    }
    assert plan["shaken"].reason.startswith("burst of 4 (#3): motion blur (horizontal)")
    assert plan["shaken2"].reason.startswith("burst of 4 (#4): missed focus")


def test_a_hand_pick_in_a_burst_counts_as_the_frame_kept(shoot):
    for name, score in {"best": 8.0, "chosen": 6.0, "worst": 4.0}.items():
        shoot.add(name, {AESTHETIC: score})
    shoot.catalog.rate(shoot.ids["chosen"], decision="pick", source="gui")
    plan = shoot.plan(shoot.group("burst", "best", "chosen", "worst"))
    assert {n: (p.decision, p.locked) for n, p in plan.items()} == {
        "best": ("reject", False),
        "chosen": (None, True),
        "worst": ("reject", False),
    }
    # The place went to the hand pick: that is the reason, for the frame that scores higher too.
    assert plan["best"].reason == "burst of 3 (#1): #2 was picked by hand"
    assert plan["worst"].reason == "burst of 3 (#3): #2 was picked by hand"
    assert plan["chosen"].group == "burst of 3, #2"
    # With room for two, the best frame is kept beside the hand pick.
    assert (
        shoot.plan(shoot.group("burst", "best", "chosen", "worst"), keep_per_group=2)[
            "best"
        ].decision
        == "pick"
    )


def test_a_file_that_cannot_be_decoded_is_rejected_and_one_out_of_reach_is_not(shoot):
    shoot.add("fine", {AESTHETIC: 5.0})
    shoot.broken("garbage", "cannot identify image file")
    shoot.broken("judged", "truncated file")
    shoot.catalog.rate(shoot.ids["judged"], decision="pick", source="xmp")
    shoot.broken("starred", "truncated file")
    shoot.catalog.rate(shoot.ids["starred"], stars=2, source="gui")
    shoot.broken("seen", "truncated file")
    shoot.catalog.rate(shoot.ids["seen"], decision="reject", source="auto")
    unreachable = {
        "locked": "permission error",
        "refused": "access denied",
        "gone": "file not found",
        "vanished": "no such file or directory",
        "flaky": "I/O error while reading",
        "unplugged": "disk was removed",
    }
    for name, error in unreachable.items():
        shoot.broken(name, error)
    plan = shoot.plan()
    assert {n: p.to_json() for n, p in plan.items() if n != "fine"} == {
        "garbage": {
            "path": str(shoot.folder / "garbage.jpg"),
            "decision": "reject",
            "reason": "broken file: cannot identify image file",
            "score": None,
            "current": None,
            "current_source": None,
            "by_hand": False,
            "changes": True,
            "group": None,
        },
        "judged": {
            "path": str(shoot.folder / "judged.jpg"),
            "decision": None,
            "reason": "decided by hand (pick); left as it is",
            "score": None,
            "current": "pick",
            "current_source": "xmp",
            "by_hand": True,
            "changes": False,
            "group": None,
        },
        "starred": {
            "path": str(shoot.folder / "starred.jpg"),
            "decision": None,
            "reason": "decided by hand (unrated); left as it is",
            "score": None,
            "current": None,
            "current_source": "gui",
            "by_hand": True,
            "changes": False,
            "group": None,
        },
        "seen": {
            "path": str(shoot.folder / "seen.jpg"),
            "decision": "reject",
            "reason": "broken file: truncated file",
            "score": None,
            "current": "reject",
            "current_source": "auto",
            "by_hand": False,
            "changes": False,
            "group": None,
        },
    }
    assert "garbage" not in shoot.plan(reject_broken=False)
    assert apply_plan(shoot.catalog, shoot.plan().values()) == 2  # garbage and fine
    assert shoot.catalog.current_rating(shoot.ids["garbage"])["decision"] == "reject"


def test_a_proposal_in_json_says_what_changes_and_where_it_ranks(shoot):
    shoot.add("first", {AESTHETIC: 8.0})
    shoot.add("second", {AESTHETIC: 6.25})
    shoot.catalog.rate(shoot.ids["first"], decision="pick", source="auto")
    plan = shoot.plan(shoot.group("burst", "first", "second"))
    assert plan["first"].to_json() == {
        "path": str(shoot.folder / "first.jpg"),
        "decision": "pick",
        "reason": "burst of 2: a higher clip-aesthetic score than #2",
        "score": 8.0,
        "current": "pick",
        "current_source": "auto",
        "by_hand": False,
        "changes": False,
        "group": "burst of 2, #1",
    }
    assert plan["second"].to_json() == {
        "path": str(shoot.folder / "second.jpg"),
        "decision": "reject",
        "reason": "burst of 2 (#2): #1 has a higher clip-aesthetic score",
        "score": 6.25,
        "current": None,
        "current_source": None,
        "by_hand": False,
        "changes": True,
        "group": "burst of 2, #2",
    }


def _proposal(decision, reason, current=None, locked=False) -> Proposal:
    return Proposal(0, "/x.jpg", decision, reason, 5.0, current, None, locked)


def test_the_summary_counts_each_decision_and_its_most_common_reason():
    plan = [
        _proposal(None, "not scored yet: run `culler scan`"),
        _proposal("reject", "burst of 3 (#2): #1 has a higher technical score"),
        _proposal("reject", "broken file: cannot identify image file"),
        _proposal("reject", "burst of 3 (#3): noise, unlike #1", current="reject"),
        _proposal("pick", "single frame, score 7.0", current="pick"),
        _proposal("pick", "burst of 3: sharp, unlike #2 (motion blur)"),
        _proposal("pick", "burst of 2: a higher technical score than #2"),
        _proposal("pick", "burst of 3: a higher technical score than #2"),
        _proposal(None, "decided by hand (pick); left as it is", current="pick", locked=True),
        _proposal(None, "decided by hand (reject); left as it is", current="reject", locked=True),
        _proposal(None, "not scored yet: run `culler scan`"),
        _proposal("reject", "low score (3.0 < 5)"),
        _proposal("reject", "low score (2.0 < 5)"),
        _proposal("reject", "low score (1.0 < 5)"),
    ]
    assert summarize(plan) == [
        {"decision": "pick", "photos": 4, "changes": 3, "top_reason": "burst of 3 (2)"},
        {"decision": "reject", "photos": 6, "changes": 5, "top_reason": "low score (3)"},
        {"decision": "by hand", "photos": 2, "changes": 0, "top_reason": "decided by hand (2)"},
        {"decision": "not scored", "photos": 2, "changes": 0, "top_reason": "not scored yet (2)"},
    ]
    # Decisions no photo has get no row.
    assert summarize(plan[4:8]) == [
        {"decision": "pick", "photos": 4, "changes": 3, "top_reason": "burst of 3 (2)"}
    ]
    # A decision with no photos between two that have some.
    assert [row["decision"] for row in summarize([plan[0], plan[1]])] == ["reject", "not scored"]
    assert summarize([]) == []
    # Single frames are counted together, whatever each one scored.
    singles = [_proposal("pick", f"single frame, score {v}") for v in ("7.3", "6.1", "8.0")]
    assert summarize([*singles, _proposal("pick", "burst of 2: kept")])[0]["top_reason"] == (
        "single frame (3)"
    )


def test_frames_alike_on_every_scorer_they_share_are_told_apart_by_the_overall_score(shoot):
    # "lacking" has no technical score (the scorer failed on it): the overall score decides.
    shoot.add("lacking", {AESTHETIC: 8.0})
    shoot.add("flawed", {AESTHETIC: 8.0, "technical": 2.0})
    shoot.add("other", {"technical": 3.0})
    plan = shoot.plan(shoot.group("burst", "flawed", "lacking"))
    assert reasons_of(plan)["lacking"] == ("pick", "burst of 2: a higher overall score than #2")
    assert reasons_of(plan)["flawed"] == (
        "reject",
        "burst of 2 (#2): #1 has a higher overall score",
    )
    apart = shoot.plan(shoot.group("burst", "other", "lacking"))
    assert apart["other"].reason == "burst of 2 (#2): #1 has a higher overall score"


def test_an_aesthetic_scorers_words_are_not_named_as_a_problem(shoot):
    shoot.add("tidy", {AESTHETIC: 7.0}, reasons={AESTHETIC: ["balanced: 0.8"]})
    shoot.add("busy", {AESTHETIC: 5.0}, reasons={AESTHETIC: ["cluttered background: 0.3"]})
    plan = shoot.plan(shoot.group("burst", "busy", "tidy"))
    assert plan["busy"].reason == "burst of 2 (#2): #1 has a higher clip-aesthetic score"


@pytest.mark.parametrize(
    ("winner", "loser", "reason"),
    [
        # A small technical gap with a problem named: the problem is the reason.
        ((6.0, 5.5), (6.0, 5.0), "burst of 2 (#2): noise, unlike #1"),
        # No technical gap: the problem the scorer names in only one frame decides nothing.
        ((6.0, 5.0), (5.5, 5.0), "burst of 2 (#2): #1 has a higher clip-aesthetic score"),
        # A named problem counts one point more than its gap; an aesthetic gap counts half.
        ((9.6, 5.5), (5.0, 5.0), "burst of 2 (#2): #1 has a higher clip-aesthetic score"),
        ((7.8, 5.5), (5.0, 5.0), "burst of 2 (#2): noise, unlike #1"),
    ],
)
def test_how_a_technical_problem_weighs_against_an_aesthetic_gap(shoot, winner, loser, reason):
    shoot.add("won", {AESTHETIC: winner[0], "technical": winner[1]})
    shoot.add(
        "lost", {AESTHETIC: loser[0], "technical": loser[1]}, reasons={"technical": ["noise: 0.4"]}
    )
    assert shoot.plan(shoot.group("burst", "lost", "won"))["lost"].reason == reason


def test_every_smaller_copy_of_a_moment_is_rejected(shoot):
    shoot.add("original", {AESTHETIC: 5.0}, size=(4000, 3000))
    shoot.add("web", {AESTHETIC: 8.0}, size=(1200, 900))
    shoot.add("thumb", {AESTHETIC: 9.0}, size=(400, 300))
    plan = shoot.plan(shoot.group("duplicate", "web", "original", "thumb"))
    assert reasons_of(plan) == {
        "original": ("pick", "3 near-duplicates: the full-size photo; #2 is a smaller copy"),
        "thumb": ("reject", "3 near-duplicates (#2): a smaller copy (400×300) of #1"),
        "web": ("reject", "3 near-duplicates (#3): a smaller copy (1200×900) of #1"),
    }


def test_a_blurred_smaller_copy_is_named_for_its_blur(shoot):
    shoot.add("original", {AESTHETIC: 5.0}, size=(4000, 3000))
    shoot.add("web", {AESTHETIC: 8.0}, size=(1200, 900))
    moment = shoot.group(
        "burst", "web", "original", frame_defects={"web": FRAME_BLUR | {"detail": 0.4}}
    )
    plan = shoot.plan(moment)
    assert reasons_of(plan) == {
        "original": ("pick", "burst of 2: sharp, unlike #2 (motion blur (horizontal))"),
        "web": (
            "reject",
            "burst of 2 (#2): motion blur (horizontal): 40 % of the detail of #1 on the same area",
        ),
    }


def test_the_plan_groups_the_photos_with_the_grouping_options_given(shoot):
    # Two frames 3 s apart: a burst only when frames up to 5 s apart count as one.
    shoot.add("early", {AESTHETIC: 8.0}, taken="2024-05-01T10:00:00")
    shoot.add("late", {AESTHETIC: 6.0}, taken="2024-05-01T10:00:03")
    apart = shoot.plan(grouped=False)
    assert reasons_of(apart) == {
        "early": ("pick", "single frame, score 8.0"),
        "late": ("pick", "single frame, score 6.0"),
    }
    burst = shoot.plan(grouped=False, grouping=GroupingOptions(burst_gap=5.0))
    assert reasons_of(burst) == {
        "early": ("pick", "burst of 2: a higher clip-aesthetic score than #2"),
        "late": ("reject", "burst of 2 (#2): #1 has a higher clip-aesthetic score"),
    }


def test_a_smaller_copy_is_told_by_its_pixel_count_whatever_its_shape(shoot):
    shoot.add("original", {AESTHETIC: 5.0}, size=(4000, 3000))
    shoot.add("portrait", {AESTHETIC: 8.0}, size=(2000, 2400))  # 0.4 of the pixels
    plan = shoot.plan(shoot.group("duplicate", "portrait", "original"))
    assert plan["portrait"].reason == "2 near-duplicates (#2): a smaller copy (2000×2400) of #1"
    # Without any size read, the scores decide.
    shoot.add("a", {AESTHETIC: 5.0}, size=None)
    shoot.add("b", {AESTHETIC: 8.0}, size=None)
    plan = shoot.plan(shoot.group("duplicate", "a", "b"))
    assert plan["a"].reason == "2 near-duplicates (#2): #1 has a higher clip-aesthetic score"


def test_a_score_whose_stored_details_are_not_an_object_does_not_stop_the_plan(shoot):
    pid = shoot.add("odd", {AESTHETIC: 6.0})
    # Written by an older culler or a plugin that broke the rules: a list, not an object.
    with shoot.catalog.transaction() as conn:
        conn.execute("UPDATE scores SET extra = '[1, 2]' WHERE photo_id = ?", [pid])
    assert reasons_of(shoot.plan()) == {"odd": ("pick", "single frame, score 6.0")}


# -- the groups stored after a scan: their order, and frame comparisons reused ---------------------


def _timed_shoot(shoot: Shoot) -> None:
    """Two bursts (frames a second apart) and, five minutes later, a photo on its own."""
    shoot.add("a1", {AESTHETIC: 8.0, "technical": 2.0}, taken="2024-05-01T10:00:00")
    shoot.add("a2", {AESTHETIC: 6.0, "technical": 9.0}, taken="2024-05-01T10:00:01")
    shoot.add("a3", taken="2024-05-01T10:00:02")  # not scored yet
    shoot.add("b1", {AESTHETIC: 5.0}, taken="2024-05-01T10:02:00")
    shoot.add("b2", {AESTHETIC: 4.0}, taken="2024-05-01T10:02:01")
    shoot.add("alone", {AESTHETIC: 5.0}, taken="2024-05-01T10:07:00")


def _stored(shoot: Shoot) -> list[list[str]]:
    names = {pid: name for name, pid in shoot.ids.items()}
    return sorted([names[m] for m in g.members] for g in stored_groups(shoot.catalog))


@pytest.fixture
def compared(monkeypatch, shoot):
    """Stands in for comparing a burst's frames (decoding files these tests do not have): records
    the bursts compared and finds the last frame of each soft."""
    calls: list[list[int]] = []

    def analyse_group(catalog, members):
        assert catalog is shoot.catalog
        calls.append(sorted(members))
        return {members[-1]: {"defect": "missed_focus", "reason": "missed focus", "detail": 0.5}}

    monkeypatch.setattr("culler.decide.frames.analyse_group", analyse_group)
    return calls


def test_groups_are_stored_best_first_by_the_ranking_given(shoot, compared):
    _timed_shoot(shoot)
    update_groups(shoot.catalog)
    # a2 scores (6 + 9) / 2, a1 (8 + 2) / 2; the unscored frame comes last.
    assert _stored(shoot) == [["a2", "a1", "a3"], ["b1", "b2"]]
    update_groups(shoot.catalog, ranking=Ranking(weights={AESTHETIC: 1.0}))
    assert _stored(shoot) == [["a1", "a2", "a3"], ["b1", "b2"]]


def test_ranking_puts_blurred_frames_and_smaller_copies_last(shoot):
    shoot.add("shaken", {AESTHETIC: 9.0})
    shoot.add("sharp", {AESTHETIC: 5.0})
    shoot.add("web", {AESTHETIC: 9.0}, size=(1200, 900))
    shoot.add("original", {AESTHETIC: 5.0})
    groups = [
        shoot.group("burst", "shaken", "sharp", frame_defects={"shaken": FRAME_BLUR}),
        shoot.group("duplicate", "web", "original"),
    ]
    ranked = rank_groups(shoot.catalog, groups)
    names = {pid: name for name, pid in shoot.ids.items()}
    assert [[names[m] for m in g.members] for g in ranked] == [
        ["sharp", "shaken"],
        ["original", "web"],
    ]


def test_grouping_is_incremental_by_default_and_full_when_asked(shoot, compared):
    _timed_shoot(shoot)
    assert update_groups(shoot.catalog)["examined"] == 6
    assert update_groups(shoot.catalog)["examined"] == 0  # nothing changed
    assert update_groups(shoot.catalog, full=True)["examined"] == 6
    # Options other than the defaults regroup everything (stored groups used the defaults).
    wide = update_groups(shoot.catalog, GroupingOptions(burst_gap=200.0))
    assert wide["examined"] == 6
    # One burst now: sharp frames by score (a1 before b1 on a tie: catalogued first), then the frame
    # found soft (b2, the last), then the unscored one.
    assert _stored(shoot) == [["a2", "a1", "b1", "b2", "a3"]]


def test_frames_are_compared_again_only_in_bursts_whose_frames_changed(shoot, compared):
    _timed_shoot(shoot)
    ids = shoot.ids
    update_groups(shoot.catalog)
    a, b = sorted([ids["a1"], ids["a2"], ids["a3"]]), sorted([ids["b1"], ids["b2"]])
    assert sorted(compared) == [a, b]
    verdicts = {tuple(sorted(g.members)): g.frame_defects for g in stored_groups(shoot.catalog)}
    assert verdicts[tuple(b)] == {
        ids["b2"]: {"defect": "missed_focus", "reason": "missed focus", "detail": 0.5}
    }
    update_groups(shoot.catalog)
    assert len(compared) == 2  # nothing changed: the stored verdicts are kept
    again = {tuple(sorted(g.members)): g.frame_defects for g in stored_groups(shoot.catalog)}
    assert again == verdicts
    with shoot.catalog.transaction() as conn:  # b1 was edited: its content is new
        conn.execute("UPDATE photos SET content_hash = 'edited' WHERE id = ?", [ids["b1"]])
    update_groups(shoot.catalog)
    assert sorted(compared[2:]) == [b]
    # A capture time corrected (the camera's clock), to the second or to the hundredth: the burst
    # is compared again.
    for column, value in (("taken_at", "2024-05-01T10:00:01.5"), ("subsec", "50")):
        with shoot.catalog.transaction() as conn:
            conn.execute(f"UPDATE photos SET {column} = ? WHERE id = ?", [value, ids["a2"]])
        update_groups(shoot.catalog)
        assert sorted(compared[-1]) == a
    assert len(compared) == 5


def test_only_bursts_are_compared_frame_by_frame(shoot, compared):
    for name in ("copy1", "copy2", "frame1", "frame2"):
        shoot.add(name, {AESTHETIC: 5.0})
    # Near-duplicates are copies (resized, re-encoded): their differences are not focus.
    groups = [shoot.group("duplicate", "copy1", "copy2"), shoot.group("burst", "frame1", "frame2")]
    attach_frame_defects(shoot.catalog, groups, set())
    assert compared == [sorted([shoot.ids["frame1"], shoot.ids["frame2"]])]
    assert groups[0].frame_defects == {}
    assert list(groups[1].frame_defects) == [shoot.ids["frame2"]]


def test_a_blur_a_scorer_names_without_a_measure_ranks_after_one_measured(shoot):
    # Among blurred frames, more detail kept ranks first; a scorer's blur says nothing of how much
    # detail is left, so it ranks as if none were, whatever its score.
    shoot.add("sharp", {AESTHETIC: 3.0})
    shoot.add("measured", {AESTHETIC: 5.0})
    shoot.add(
        "named",
        {AESTHETIC: 9.0},
        defects=[{"defect": "motion_blur", "confidence": 0.55, "reason": "motion blur: streaks"}],
    )
    moment = shoot.group(
        "burst",
        "named",
        "measured",
        "sharp",
        frame_defects={"measured": FRAME_BLUR | {"detail": 0.4}},
    )
    plan = shoot.plan(moment)
    assert {n: p.group for n, p in plan.items()} == {
        "sharp": "burst of 3, #1",
        "measured": "burst of 3, #2",
        "named": "burst of 3, #3",
    }
    assert plan["named"].reason == "burst of 3 (#3): motion blur: streaks of #1 on the same area"
