"""``culler agreement``: the figures, the photographer's marks, the dry run that hides them, the sheet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from culler.catalog import open_catalog
from culler.decide.agreement import (
    DROPPED,
    KEPT,
    PRESETS,
    Marks,
    Verdict,
    bootstrap_interval,
    disagreements,
    measure,
    ndcg,
    photographer_verdicts,
    shoot_counts,
    spearman,
    their_best,
)
from culler.decide.cull import Proposal
from culler.interop.xmp import SidecarData, write_sidecar
from culler.testing import scan_into
from culler.testing.photographers import make_shoots


def verdict(pid, verdict_, stars=None, decision=None, shoot="s1", label=None):
    return Verdict(pid, f"/{shoot}/{pid}.jpg", shoot, stars, decision, label, verdict_, "catalog")


def proposal(pid, decision, moment=None, rank=None, score=5.0, shoot="s1"):
    p = Proposal(pid, f"/{shoot}/{pid}.jpg", decision, f"reason {pid}", score)
    p.moment, p.rank = moment, rank
    return p


# -- the figures ----------------------------------------------------------------------------------


def test_ndcg_is_one_for_the_photographer_s_own_order_and_lower_reversed():
    stars = [5, 3, 1, 0]
    assert ndcg([4, 3, 2, 1], stars) == 1.0
    reversed_ = ndcg([1, 2, 3, 4], stars)
    assert 0 < reversed_ < 0.6
    assert ndcg([1, 2, 3, 4], [0, 0, 0, 0]) is None


def test_spearman_follows_the_ranks_and_refuses_a_constant_side():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    assert spearman([1, 2, 3], [2, 2, 2]) is None


def test_their_best_is_the_one_kept_frame_or_the_single_top_star():
    assert their_best([verdict(1, KEPT), verdict(2, DROPPED), verdict(3, DROPPED)]) == 1
    assert their_best([verdict(1, KEPT, 3), verdict(2, KEPT, 5), verdict(3, DROPPED)]) == 2
    assert their_best([verdict(1, KEPT, 3), verdict(2, KEPT, 3)]) is None  # a tie: no best
    assert their_best([verdict(1, DROPPED), verdict(2, DROPPED)]) is None


def test_a_shoot_s_counts_compare_picks_rejects_and_the_first_frame():
    verdicts = {
        1: verdict(1, KEPT, 3),
        2: verdict(2, DROPPED),
        3: verdict(3, DROPPED),
        4: verdict(4, KEPT, 4),
        5: verdict(5, DROPPED, decision="reject"),
    }
    proposals = [
        proposal(1, "reject", moment=0, rank=2),  # theirs came second
        proposal(2, "pick", moment=0, rank=1),
        proposal(3, "reject", moment=0, rank=3),
        proposal(4, "pick"),
        proposal(5, "pick"),
    ]
    c = shoot_counts(proposals, verdicts, {p.photo_id: p.score for p in proposals})
    f = c.figures()
    assert (f["groups"], f["top1"], f["mean_rank"]) == (1, 0.0, 2.0)
    assert f["pick_precision"] == pytest.approx(1 / 3, abs=1e-3)  # 4 right, 2 and 5 wrong
    assert f["pick_recall"] == 0.5  # 4 of 1 and 4
    assert f["reject_precision"] == 0.5  # 3 right, 1 wrong
    assert f["reject_recall"] == pytest.approx(1 / 3, abs=1e-3)


def test_the_largest_disagreement_is_a_starred_keeper_culler_would_reject():
    verdicts = {
        1: verdict(1, KEPT, 5, "pick"),
        2: verdict(2, KEPT, 1),
        3: verdict(3, DROPPED, decision="reject"),
        4: verdict(4, DROPPED),
        5: verdict(5, KEPT, 3),
    }
    proposals = [
        proposal(2, "reject"),
        proposal(1, "reject"),
        proposal(3, "pick"),
        proposal(4, "pick"),
        proposal(5, "pick"),  # agrees: not listed
    ]
    rows = disagreements(proposals, verdicts)
    assert [r["photo_id"] for r in rows] == [1, 2, 3, 4]
    assert rows[0]["photographer"] == "kept: picked, 5★"
    assert rows[0]["culler"] == "reject" and rows[0]["reason"] == "reason 1"


def test_intervals_resample_whole_shoots_and_repeat_exactly():
    verdicts, proposals = {}, []
    for s in range(5):
        for m in range(3):
            ids = [s * 100 + m * 10 + i for i in range(3)]
            for i, pid in enumerate(ids):
                verdicts[pid] = verdict(pid, KEPT if i == 0 else DROPPED, shoot=f"s{s}")
                hit = (s + m) % 2 == 0  # culler's first frame is theirs in about half the moments
                rank = (1 if i == 0 else i + 1) if hit else (2 if i == 0 else (1 if i == 1 else 3))
                proposals.append(proposal(pid, "pick" if rank == 1 else "reject", m + 10 * s, rank))
    report = measure(proposals, verdicts)
    assert report.overall["shoots"] == 5 and report.overall["groups"] == 15
    low, high = report.intervals["top1"]
    assert low <= report.overall["top1"] <= high and low < high
    assert measure(proposals, verdicts).intervals == report.intervals
    per_shoot = list(report.counts.values())
    assert bootstrap_interval(per_shoot[:1], "top1") is None  # one shoot: no interval


# -- the photographer's marks ---------------------------------------------------------------------


def test_marks_presets_read_lightroom_and_darktable_stars_differently():
    assert PRESETS["lightroom"].verdict(1, None, None) == KEPT
    assert PRESETS["darktable"].verdict(1, None, None) is None  # darktable's import star
    assert PRESETS["darktable"].verdict(2, None, None) == KEPT
    assert PRESETS["capture-one"].verdict(None, None, "Red") == DROPPED
    assert PRESETS["capture-one"].verdict(None, None, "Green") == KEPT
    assert PRESETS["picks-only"].verdict(5, None, None) is None
    assert Marks().verdict(5, "reject", None) == DROPPED  # a reject wins over stars


@pytest.fixture(scope="module")
def culled(tmp_path_factory):
    """Two small shoots of real photos, scanned (technical scorer), not yet marked."""
    root = tmp_path_factory.mktemp("agreement")
    shoots = make_shoots(root / "photos", shoots=2, moments=2, frames=3, side=256)
    catalog, _ = scan_into(root / "culler.db", root / "photos", ["technical"])
    catalog.close()
    return root, shoots


def _copy_db(culled, tmp_path) -> Path:
    root, _ = culled
    db = tmp_path / "culler.db"
    db.write_bytes((root / "culler.db").read_bytes())
    return db


def test_verdicts_come_from_sidecars_or_hand_decisions_never_from_culler_s_own(culled, tmp_path):
    db = _copy_db(culled, tmp_path)
    catalog = open_catalog(db)
    photos = catalog.readable_photos()
    first, second, third = (Path(p["path"]) for p in photos[:3])
    by_path = {Path(p["path"]): p["id"] for p in photos}
    sidecar = first.with_suffix(".xmp")
    write_sidecar(sidecar, SidecarData(rating=4))
    try:
        catalog.rate(by_path[second], decision="reject", source="gui")
        catalog.rate(by_path[third], decision="pick", source="auto")  # culler's own: not theirs
        found = photographer_verdicts(catalog, photos, source="auto")
        assert (found[by_path[first]].stars, found[by_path[first]].source) == (4, "xmp")
        assert found[by_path[first]].verdict == KEPT
        assert found[by_path[second]].verdict == DROPPED
        assert found[by_path[third]].source == "none"
        # unmarked photos of a shoot with a keeper count as dropped (Lightroom habit)
        assert found[by_path[third]].verdict == DROPPED
        ignoring = photographer_verdicts(catalog, photos, Marks(unmarked="ignored"), "catalog")
        assert ignoring[by_path[first]].verdict is None  # the sidecar is not read from "catalog"
        assert ignoring[by_path[third]].verdict is None
    finally:
        sidecar.unlink()
        catalog.close()


# -- the command ----------------------------------------------------------------------------------


def _mark_first_frames(catalog, shoots) -> None:
    """The photographer kept the first frame of each moment and rejected the others."""
    ids = {Path(r["path"]): r["id"] for r in catalog.readable_photos()}
    for shoot in shoots:
        for moment in shoot.moments:
            for i, frame in enumerate(moment):
                pid = ids[frame.path.resolve()]
                if i == 0:
                    catalog.rate(pid, stars=3, decision="pick", source="gui")
                else:
                    catalog.rate(pid, decision="reject", source="gui")


def test_agreement_hides_the_decisions_measures_and_writes_nothing(culled, tmp_path, culler_cli):
    _, shoots = culled
    db = _copy_db(culled, tmp_path)
    catalog = open_catalog(db)
    _mark_first_frames(catalog, shoots)
    before = catalog.current_ratings()
    catalog.close()
    data = culler_cli("agreement", "--db", str(db), "--from", "catalog", "--json").output
    report = json.loads(data)
    overall = report["overall"]
    assert overall["shoots"] == 2 and overall["photos_judged"] == 12
    assert overall["groups"] == 4  # every burst was found and each has their one frame
    assert overall["kept"] == 4 and overall["dropped"] == 8
    # culler picks one frame per burst whatever it was told: the picks are not theirs copied
    assert 0 <= overall["top1"] <= 1 and overall["pick_recall"] == overall["top1"]
    assert report["ranking"] == "default"
    assert len(report["disagreements"]) == round(8 * (1 - overall["top1"]))
    catalog = open_catalog(db)
    assert catalog.current_ratings() == before  # nothing written, no auto decision
    catalog.close()


def test_agreement_table_and_contact_sheet(culled, tmp_path, culler_cli):
    _, shoots = culled
    db = _copy_db(culled, tmp_path)
    catalog = open_catalog(db)
    _mark_first_frames(catalog, shoots)
    catalog.close()
    sheet = tmp_path / "sheet"
    out = culler_cli("agreement", "--db", str(db), "--html", str(sheet), "--limit", "3").output
    assert "shoot-01" in out and "all (2)" in out and "90 % intervals" in out
    index = sheet / "index.html"
    text = index.read_text(encoding="utf-8")
    assert "culler vs you" in text and "Largest disagreements" in text
    thumbs = sorted((sheet / "thumbs").iterdir())
    assert thumbs and all(t.suffix == ".jpg" and t.stat().st_size > 1000 for t in thumbs)
    assert text.count("<div class=card>") == len(thumbs) <= 3


def test_agreement_without_decisions_says_what_to_do(culled, tmp_path, culler_cli):
    db = _copy_db(culled, tmp_path)
    result = culler_cli("agreement", "--db", str(db), "--from", "catalog", expect=1)
    assert "no photo with your decisions" in result.output
    assert "Traceback" not in result.output


def test_agreement_only_measures_the_folders_given(culled, tmp_path, culler_cli):
    _, shoots = culled
    db = _copy_db(culled, tmp_path)
    catalog = open_catalog(db)
    _mark_first_frames(catalog, shoots)
    catalog.close()
    folder = str(shoots[1].folder)
    report = culler_cli.json("agreement", folder, "--db", str(db), "--json")
    assert list(report["shoots"]) == [str(shoots[1].folder.resolve())]


def test_agreement_help_names_the_presets(culler_cli):
    out = culler_cli("agreement", "--help").output
    for word in ("lightroom", "darktable", "--html", "--from", "--kept-stars"):
        assert word in out


def test_a_contact_sheet_folder_that_cannot_be_written_is_one_line(culled, tmp_path, culler_cli):
    _, shoots = culled
    db = _copy_db(culled, tmp_path)
    catalog = open_catalog(db)
    _mark_first_frames(catalog, shoots)
    catalog.close()
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the sheet's folder would go")
    result = culler_cli("agreement", "--db", str(db), "--html", str(blocked / "sheet"), expect=1)
    assert "cannot write the contact sheet" in result.output
    assert "Traceback" not in result.output


def test_a_label_with_control_characters_reaches_the_terminal_escaped(culled, tmp_path, culler_cli):
    _, shoots = culled
    db = _copy_db(culled, tmp_path)
    catalog = open_catalog(db)
    _mark_first_frames(catalog, shoots)
    for row in catalog.readable_photos():  # a label on every photo: every disagreement has one
        catalog.rate(row["id"], label="Green\x1b[2J", source="gui")
    catalog.close()
    report = culler_cli.json("agreement", "--db", str(db), "--from", "catalog", "--json")
    assert report["disagreements"]  # culler does not pick the first frame of every burst
    out = culler_cli("agreement", "--db", str(db), "--from", "catalog").output
    assert "label Green" in out and "\x1b" not in out


def test_sidecar_stars_count_by_the_editor_that_wrote_them(culled, tmp_path, culler_cli):
    """One star in a sidecar is a keeper for a Lightroom user, and darktable's import default."""
    from culler.testing.photographers import TASTES, chosen, mark_shoots

    _, shoots = culled
    db = _copy_db(culled, tmp_path)
    kept = chosen(shoots, TASTES["wider"])
    mark_shoots(kept, stars=1)
    try:
        lightroom = culler_cli.json("agreement", "--db", str(db), "--from", "xmp", "--json")
        darktable = culler_cli.json(
            "agreement", "--db", str(db), "--from", "xmp", "--editor", "darktable", "--json"
        )
        two = culler_cli.json(
            "agreement",
            "--db",
            str(db),
            "--from",
            "xmp",
            "--kept-stars",
            "1",
            "--json",
            "--editor",
            "darktable",
        )
    finally:
        for shoot in shoots:
            for sidecar in shoot.folder.glob("*.xmp"):
                sidecar.unlink()
    assert lightroom["overall"]["kept"] == sum(kept.values()) == 4
    assert lightroom["overall"]["dropped"] == 8 and lightroom["overall"]["groups"] == 4
    # darktable: one star keeps nothing, but the starred frame still ranks highest in its burst
    assert darktable["overall"]["photos_judged"] == 0 and darktable["overall"]["groups"] == 4
    assert darktable["overall"]["pick_precision"] is None
    assert two["overall"] == lightroom["overall"]  # --kept-stars 1 on top of the darktable preset


def test_mean_ranks_share_ties_and_the_mcnemar_tail_is_exact():
    from culler.decide.agreement_figures import mean_ranks
    from culler.decide.ranker_training import binomial_tail

    assert mean_ranks([3, 1, 2, 2, 5, 5, 5]).tolist() == [4, 1, 2.5, 2.5, 6, 6, 6]
    assert binomial_tail(13, 15) == pytest.approx(121 / 2**15)  # 1 + 15 + 105 ways
    assert binomial_tail(0, 4) == 1.0 and binomial_tail(4, 4) == 1 / 16
