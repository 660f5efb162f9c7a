"""The personal ranker, proved on synthetic photographers with a known taste culling real photos.

The shoots are built once (real photographs from scikit-image and scikit-learn, bursts derived by
reframing, white balance and exposure); each test gives a copy of the scanned catalog to one
photographer. A real taste must be learned on held-out shoots and win the cull; the photographer who
keeps a random frame must teach nothing, and ``culler cull`` must keep the default ranking.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from culler.catalog import open_catalog
from culler.decide.cull import plan_cull
from culler.decide.ranker import RANKER_MARK, colour_features, face_features
from culler.decide.ranker_training import NotEnoughShoots, folds, train_personal_ranker
from culler.imaging.signatures import compute_bytes
from culler.testing import scan_into
from culler.testing.photographers import TASTES, chosen, derive_frame, make_shoots, scene_image


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """Eight culled shoots of four bursts each, scanned with the technical scorer."""
    root = tmp_path_factory.mktemp("archive")
    shoots = make_shoots(root / "photos", shoots=8, moments=4, frames=3, side=320, seed=3)
    catalog, _ = scan_into(root / "culler.db", root / "photos", ["technical"])
    catalog.close()
    return root, shoots


def photographer(archive, tmp_path, taste: str, seed: int = 0):
    """A copy of the archive's catalog in which ``taste`` culled every shoot by hand."""
    root, shoots = archive
    db = tmp_path / "culler.db"
    db.write_bytes((root / "culler.db").read_bytes())
    catalog = open_catalog(db)
    ids = {Path(r["path"]): r["id"] for r in catalog.readable_photos()}
    for path, keep in chosen(shoots, TASTES[taste], seed).items():
        if keep:
            catalog.rate(ids[path.resolve()], stars=3, decision="pick", source="gui")
        else:
            catalog.rate(ids[path.resolve()], decision="reject", source="gui")
    return catalog, db


@pytest.mark.parametrize("taste", ["warmer", "wider"])
def test_a_real_taste_is_learned_on_held_out_shoots(archive, tmp_path, taste):
    catalog, _ = photographer(archive, tmp_path, taste)
    try:
        result = train_personal_ranker(catalog, source="catalog")
    finally:
        catalog.close()
    top1 = result["figures"]["top1"]
    assert result["shoots"] == 8 and result["groups"] == 32
    assert top1["after"] >= top1["before"] + 0.15, (top1, result["test"])  # a margin
    assert result["figures"]["pick_precision"]["gain"] > 0
    assert result["beats_default"], result["test"]


def test_warmth_is_what_the_warm_photographer_s_ranker_weighs(archive, tmp_path):
    catalog, _ = photographer(archive, tmp_path, "warmer")
    try:
        result = train_personal_ranker(catalog, source="catalog")
    finally:
        catalog.close()
    strongest = [name for name, weight in result["strongest_features"][:2] if weight > 0]
    assert any(name.startswith("colour.warmth") for name in strongest), result


def test_a_random_photographer_teaches_nothing_and_cull_keeps_the_default(archive, tmp_path):
    catalog, db = photographer(archive, tmp_path, "random", seed=1)
    try:
        default = {p.photo_id: p.reason for p in plan_cull(catalog, decisions={})}
        result = train_personal_ranker(catalog, source="catalog")
        assert not result["beats_default"], result["test"]
        assert catalog.active_ranker()["beats_default"] is False
        after = {p.photo_id: p.reason for p in plan_cull(catalog, decisions={})}
    finally:
        catalog.close()
    assert after == default  # stored, but not used: the default ranking decides
    assert not any(RANKER_MARK in r for r in after.values())


def test_culler_train_model_ranker_prints_before_and_after_and_cull_uses_it(
    archive, tmp_path, culler_cli
):
    catalog, db = photographer(archive, tmp_path, "wider")
    catalog.close()
    out = culler_cli("train", "--db", str(db), "--model", "ranker", "--decisions-from", "catalog")
    text = out.output
    assert "default" in text and "your ranker" in text and "top-1 in groups" in text
    assert "McNemar" in text and "`culler cull` now uses it" in text
    plan = culler_cli.json("cull", "--db", str(db), "--dry-run", "--json")["plan"]
    # the photographer's own decisions are locked; the cull's reasons for the rest are not shown,
    # so check the proposal the ranker makes with their decisions hidden
    catalog = open_catalog(db)
    try:
        hidden = plan_cull(catalog, decisions={})
    finally:
        catalog.close()
    picks = [p for p in hidden if p.decision == "pick" and p.moment is not None]
    assert picks and all(RANKER_MARK + " #1" in p.reason for p in picks), picks[0].reason
    assert all(p["by_hand"] for p in plan)
    # the photographer's decisions cleared: `culler cull` proposes with the ranker, or without it
    catalog = open_catalog(db)
    for row in catalog.readable_photos():
        catalog.rate(row["id"], decision="none", stars=0, source="auto")
    catalog.close()
    ranked = culler_cli.json("cull", "--db", str(db), "--dry-run", "--json")["plan"]
    default = culler_cli.json("cull", "--db", str(db), "--dry-run", "--json", "--default-ranking")
    assert any(RANKER_MARK in p["reason"] for p in ranked)
    assert not any(RANKER_MARK in p["reason"] for p in default["plan"])
    # the stored groups (the GUI's stacks, `culler groups`) put the ranker's pick on top too
    first = {p["path"] for p in ranked if p["decision"] == "pick" and p["group"]}
    groups = culler_cli.json("groups", "--db", str(db), "--rebuild", "--json")
    assert {g["members"][0]["path"] for g in groups} == first


def test_agreement_with_an_active_ranker_says_its_figures_flatter_it(archive, tmp_path, culler_cli):
    catalog, db = photographer(archive, tmp_path, "warmer")
    train_personal_ranker(catalog, source="catalog")
    catalog.close()
    report = culler_cli.json("agreement", "--db", str(db), "--from", "catalog", "--json")
    default = culler_cli.json(
        "agreement", "--db", str(db), "--from", "catalog", "--json", "--default-ranking"
    )
    assert report["ranking"] == "personal" and "flatter" in report["note"]
    assert default["ranking"] == "default" and not default["note"]
    assert report["overall"]["top1"] > default["overall"]["top1"]


def test_cached_clip_embeddings_become_features_when_most_photos_have_one(archive, tmp_path):
    import numpy as np

    from culler.decide.cull import load_scores
    from culler.decide.ranker import EMBEDDING_COMPONENTS, embedding_projection, feature_table

    catalog, _ = photographer(archive, tmp_path, "warmer")
    try:
        ids = [r["id"] for r in catalog.readable_photos()]
        assert embedding_projection(catalog, ids) is None  # no embeddings: no CLIP features
        rng = np.random.default_rng(0)
        vectors = {pid: rng.normal(size=64).astype(np.float32) for pid in ids}
        catalog.save_embeddings("clip-test", vectors)
        projection = embedding_projection(catalog, ids)
        table = feature_table(catalog, load_scores(catalog, ids), projection)
        result = train_personal_ranker(catalog, source="catalog", save=False)
    finally:
        catalog.close()
    assert projection["model"] == "clip-test"
    names = {f"clip.pc{i + 1}" for i in range(EMBEDDING_COMPONENTS)}
    assert all(names <= set(features) for features in table.values())
    assert result["embedding"] == "clip-test"


def test_too_few_shoots_is_refused_with_what_to_do(archive, tmp_path):
    root, shoots = archive
    catalog, _ = photographer(archive, tmp_path, "warmer")
    try:
        with pytest.raises(NotEnoughShoots, match="at least 3"):
            train_personal_ranker(catalog, [shoots[0].folder, shoots[1].folder], source="catalog")
    finally:
        catalog.close()


def test_culler_train_ranker_error_is_one_line(archive, tmp_path, culler_cli):
    catalog, db = photographer(archive, tmp_path, "warmer")
    catalog.close()
    out = culler_cli(
        "train", "--db", str(db), "--model", "ranker", "--folder", str(tmp_path), expect=2
    )
    assert "needs at least 3" in out.output and "Traceback" not in out.output


def test_folds_never_split_a_shoot():
    shoots = [f"s{i}" for i in range(23)]
    dealt = folds(shoots)
    assert len(dealt) == 10
    assert sorted(s for f in dealt for s in f) == sorted(shoots)
    assert all(not (a & b) for i, a in enumerate(dealt) for b in dealt[i + 1 :])
    assert len(folds(shoots[:4])) == 4  # few shoots: leave one shoot out


def test_face_features_read_size_eyes_and_sharpness():
    faces = [
        {"box": [10, 10, 100, 100], "eyes": "open", "sharpness": 80.0},
        {"box": [200, 10, 80, 80], "eyes": "closed", "sharpness": 40.0},
        {"box": [300, 300, 20, 20], "eyes": "open", "sharpness": 5.0},  # a face in the crowd
    ]
    found = face_features(faces, 1000 * 1000)
    assert found["faces.count"] == 2
    assert found["faces.largest"] == pytest.approx(0.1)
    assert found["faces.eyes_open"] == 0.5 and found["faces.sharpness"] == 40.0
    assert face_features([], 1000) == {"faces.count": 0.0}


def test_warmth_feature_rises_with_warmer_white_balance_on_a_real_photo():
    image = scene_image("coffee")
    warmth = [
        colour_features(compute_bytes(derive_frame(image, 1.0, w, 1.0, (0, 0), 256)))[
            "colour.warmth"
        ]
        for w in (-1.0, 0.0, 1.0)
    ]
    assert warmth[0] < warmth[1] < warmth[2]


def test_the_ranker_is_stored_with_its_evaluation(archive, tmp_path):
    catalog, _ = photographer(archive, tmp_path, "wider")
    try:
        result = train_personal_ranker(catalog, source="catalog")
        row = catalog.active_ranker()
    finally:
        catalog.close()
    assert row["id"] == result["ranker_id"] and row["beats_default"] == result["beats_default"]
    assert row["evaluation"]["figures"] == json.loads(json.dumps(result["figures"]))
    assert row["model"]["kind"] == "linear-pairwise" and row["model"]["names"]
