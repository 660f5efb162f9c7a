"""emotion: zero-shot calibration, tags in the catalog and `culler list --tag`, the shared CLIP
forward pass, and trained (personal) tag heads through the trainer's registry."""

from __future__ import annotations

import json

import pytest
import torch
from culler_plugins.clip import ClipAestheticScorer, backbone
from culler_plugins.clip.testing import (
    TINY_MODEL,
    TINY_SCORER_CONFIG,
    install_tiny_backbone,
    register_tiny_model,
)
from culler_plugins.emotion import MIKELS_LABELS, EmotionScorer
from culler_plugins.emotion.zeroshot import NEUTRAL, ZeroShotTagger, prompts_for

from culler.catalog import open_catalog, score_json
from culler.models.weights import WeightsMissing
from culler.testing import scan_into as scan

MISSING = "emotion: weights not installed — run `culler models pull emotion`"


@pytest.fixture(scope="module", autouse=True)
def tiny_model():
    register_tiny_model()


class FakeBackbone:
    """Text embeddings chosen by hand: each prompt set maps to a fixed unit vector."""

    logit_scale = 100.0

    def __init__(self, vectors: dict[str, torch.Tensor]) -> None:
        self.vectors = vectors

    def encode_prompt_sets(self, sets):
        return torch.stack([self.vectors[s[0]] for s in sets])


def test_zero_shot_is_multi_label_and_calibrated_against_a_neutral_caption():
    e = torch.eye(4)
    texts = {
        prompts_for(("awe", "awestruck"))[0]: e[0],
        prompts_for(("contentment", "content"))[0]: e[1],
        prompts_for(("fear", "afraid"))[0]: e[2],
        prompts_for(NEUTRAL)[0]: e[3],
    }
    tagger = ZeroShotTagger(FakeBackbone(texts), ["awe", "contentment", "fear"])
    image = torch.nn.functional.normalize(torch.tensor([[0.5, 0.5, 0.0, 0.45]]), dim=-1)
    probs = tagger(image)[0]
    cos = image[0]
    expected = torch.sigmoid(100 * (cos[:3] - cos[3]))
    torch.testing.assert_close(probs, expected)
    # Awe and contentment both beat the neutral caption: two tags above 0.5 (a softmax would split
    # them to about 0.5 each); fear matches less than the neutral caption and stays low.
    assert probs[0] > 0.9 and probs[1] > 0.9 and probs[2] < 0.01
    calibrated = ZeroShotTagger(
        FakeBackbone(texts), ["awe", "contentment", "fear"], calibration={"awe": [10.0, -1.0]}
    )
    assert float(calibrated(image)[0, 0]) == pytest.approx(
        float(torch.sigmoid(10 * (cos[0] - cos[3]) - 1)), abs=1e-6
    )


def test_without_a_backbone_emotion_is_skipped_with_the_exact_message(
    photo_dir, tmp_path, culler_cli
):
    result = culler_cli(
        "scan", photo_dir, "--db", tmp_path / "c.db", "--scorer", "emotion", "--workers", "0"
    )
    assert result.output.count(MISSING) == 1
    catalog = open_catalog(tmp_path / "c.db")
    assert catalog.execute("SELECT COUNT(*) FROM tags").fetchone()[0] == 0
    with pytest.raises(WeightsMissing, match="pull clip-aesthetic` installs it too"):
        EmotionScorer({}).load("cpu")


def test_zero_shot_tags_are_stored_and_found_by_culler_list(photo_dir, tmp_path, culler_cli):
    # Installed for clip-aesthetic only: emotion finds the shared backbone there.
    install_tiny_backbone("clip-aesthetic", tmp_path)
    catalog, summary = scan(tmp_path / "c.db", photo_dir, ["emotion"], TINY_SCORER_CONFIG)
    assert summary["scorers"] == ["emotion"] and not summary["scorer_errors"]
    rows = catalog.query("SELECT photo_id, tag, probability FROM tags")
    assert len(rows) == 6 * 8 and {r["tag"] for r in rows} == set(MIKELS_LABELS)
    assert all(0 < r["probability"] < 1 for r in rows)
    awe = sorted(r["probability"] for r in rows if r["tag"] == "awe")
    threshold = (awe[2] + awe[3]) / 2  # between the 3rd and 4th photo: exactly three match
    listed = culler_cli.json(
        "list", "--db", tmp_path / "c.db", "--tag", "awe", "--min-prob", threshold, "--json"
    )
    want = {r["photo_id"] for r in rows if r["tag"] == "awe" and r["probability"] >= threshold}
    assert {p["id"] for p in listed} == want and len(want) == 3
    reasons = catalog.query("SELECT reasons FROM scores")
    assert all("(zero-shot)" in score_json.load(r["reasons"])[0] for r in reasons)


def test_clip_aesthetic_and_emotion_share_one_forward_pass(photo_dir, tmp_path):
    install_tiny_backbone("emotion", tmp_path)
    config = {**TINY_SCORER_CONFIG, "head": "prompts"}
    assert EmotionScorer(config).embedding_key == ClipAestheticScorer(config).embedding_key
    EmotionScorer(config).load("cpu")  # make sure the shared backbone is loaded to hook it
    calls = [0]
    handles = [
        bb.model.visual.register_forward_hook(lambda *a: calls.__setitem__(0, calls[0] + 1))
        for key, bb in backbone._BACKBONES.items()
        if key[0] == TINY_MODEL
    ]
    try:
        catalog, summary = scan(tmp_path / "c.db", photo_dir, ["clip-aesthetic", "emotion"], config)
    finally:
        for h in handles:
            h.remove()
    assert calls[0] == 1  # six photos, one batch, one image-tower pass for both scorers
    assert catalog.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == 6
    scored = catalog.query(
        "SELECT sc.scorer_id, COUNT(*) AS n FROM scores s JOIN scorers sc ON sc.id = s.scorer_pk"
        " GROUP BY sc.scorer_id"
    )
    assert {r["scorer_id"]: r["n"] for r in scored} == {"clip-aesthetic": 6, "emotion": 6}


def test_personal_tag_head_changes_the_tags(photo_dir, tmp_path, culler_cli):
    from culler_trainer.models import build_head
    from culler_trainer.registry import register_head, save_head

    install_tiny_backbone("emotion", tmp_path)
    catalog, _ = scan(tmp_path / "c.db", photo_dir, ["emotion"], TINY_SCORER_CONFIG)
    labels = ["awe", "sadness", "calm"]
    head = build_head("tags", 768, len(labels), labels)
    with torch.no_grad():  # a head that is sure of awe and calm and rules out sadness
        linear = head.net[-1]
        linear.weight.zero_()
        linear.bias.copy_(torch.tensor([4.0, -4.0, 3.0]))
    head.meta["embedding_key"] = EmotionScorer(TINY_SCORER_CONFIG).embedding_key
    save_head(head, tmp_path / "tags.safetensors")
    pk = register_head(catalog, "emotion", tmp_path / "tags.safetensors")
    catalog.close()
    catalog, summary = scan(tmp_path / "c.db", photo_dir, ["emotion"])
    assert summary["from_cache"] == 6
    rows = catalog.query("SELECT tag, probability FROM tags WHERE scorer_pk = ?", [pk])
    probs = {}
    for r in rows:
        probs.setdefault(r["tag"], []).append(r["probability"])
    assert set(probs) == set(labels)
    assert probs["awe"] == pytest.approx([float(torch.sigmoid(torch.tensor(4.0)))] * 6)
    assert max(probs["sadness"]) < 0.02 and min(probs["calm"]) > 0.95
    assert len(culler_cli.json("list", "--db", tmp_path / "c.db", "--tag", "calm", "--json")) == 6
    reason = json.loads(
        catalog.query("SELECT reasons FROM scores WHERE scorer_pk = ?", [pk])[0]["reasons"]
    )
    assert reason == ["evokes awe 0.98, calm 0.95 (personal head)"]
