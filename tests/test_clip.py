"""clip-aesthetic: weights contract, LAION conversion, heads, embedding cache, trainer hooks.

Everything runs on a tiny open_clip model registered with open_clip itself (culler_plugins.clip.testing),
so the real create_model / load / preprocess path is used, with checkpoints saved as real files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from culler_plugins import clip as clip_plugin
from culler_plugins.clip import ClipAestheticScorer, backbone, common, heads
from culler_plugins.clip.testing import (
    TINY_MODEL,
    TINY_SCORER_CONFIG,
    TINY_TAG,
    install_tiny_backbone,
    laion_sequential,
    register_tiny_model,
    write_laion_head,
    write_tiny_backbone,
)
from torch import nn

from culler.catalog import open_catalog, score_json
from culler.models.weights import (
    WeightsError,
    WeightsMissing,
    install_file,
    is_safetensors,
    load_state_dict,
    sha256_file,
)
from culler.testing import scan_into as scan

MISSING = "clip-aesthetic: weights not installed — run `culler models pull clip-aesthetic`"


@pytest.fixture(scope="module", autouse=True)
def tiny_model():
    register_tiny_model()


def save_laion(path: Path, seed: int = 0) -> tuple[Path, nn.Sequential]:
    return path, write_laion_head(path, seed=seed)


@pytest.fixture
def visual_forwards():
    """``visual_forwards()`` starts counting image-tower forward passes on the loaded tiny backbones."""
    handles = []

    def start(model: str = TINY_MODEL) -> list[int]:
        calls = [0]
        for key, bb in backbone._BACKBONES.items():
            if key[0] == model:
                hook = bb.model.visual.register_forward_hook(
                    lambda *a: calls.__setitem__(0, calls[0] + 1)
                )
                handles.append(hook)
        return calls

    yield start
    for handle in handles:
        handle.remove()


def test_plugin_modules_import_no_torch():
    code = (
        "import sys, culler_plugins.clip, culler_plugins.emotion; "
        "print([m for m in ('torch', 'open_clip') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_weight_specs_follow_the_config():
    default = ClipAestheticScorer.weight_specs({})
    assert [s.source for s in default] == [
        "open_clip://ViT-L-14/openai",
        common.LAION_HEAD.source,
    ]
    assert common.LAION_HEAD.sha256 == (
        "21dd590f3ccdc646f0d53120778b296013b096a035a2718c9cb0d511bff0f1e0"
    )
    prompts = ClipAestheticScorer.weight_specs({"model": "ViT-B-32", "head": "prompts"})
    assert [s.source for s in prompts] == ["open_clip://ViT-B-32/openai"]
    assert ClipAestheticScorer({}).embedding_key == "open_clip/ViT-L-14/openai"


def test_scan_without_weights_reports_once_and_skips(photo_dir, tmp_path, culler_cli):
    result = culler_cli(
        "scan", photo_dir, "--db", tmp_path / "c.db", "--scorer", "clip-aesthetic", "--workers", "0"
    )
    assert result.output.count(MISSING) == 1
    catalog = open_catalog(tmp_path / "c.db")
    assert catalog.execute("SELECT COUNT(*) FROM scores").fetchone()[0] == 0
    assert catalog.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == 0
    with pytest.raises(WeightsMissing, match="^" + MISSING.replace("(", r"\(")):
        ClipAestheticScorer({}).load("cpu")


def test_laion_checkpoint_converts_to_identical_outputs(tmp_path, monkeypatch):
    src, net = save_laion(tmp_path / "sac+logos+ava1-l14-linearMSE.pth")
    out = ClipAestheticScorer.convert_weights(src, tmp_path)
    assert set(out) == {common.LAION_HEAD.name}
    assert is_safetensors(out[common.LAION_HEAD.name])
    mlp = heads.MLPRegressor(768)
    mlp.load_state_dict(load_state_dict(out[common.LAION_HEAD.name]), strict=True)
    x = nn.functional.normalize(torch.randn(32, 768), dim=-1)
    with torch.no_grad():
        assert torch.equal(mlp.eval()(x), net(x))
    # The published file itself is installed unchanged.
    published = common.LAION_HEAD.__class__(
        **{**common.LAION_HEAD.__dict__, "sha256": sha256_file(src)}
    )
    monkeypatch.setattr(common, "LAION_HEAD", published)
    assert ClipAestheticScorer.convert_weights(src, tmp_path) is None


def test_converter_refuses_what_it_cannot_use(tmp_path):
    torch.save(nn.Linear(3, 1), tmp_path / "module.pth")  # a pickled object: code, not tensors
    with pytest.raises(WeightsError, match="refused"):
        ClipAestheticScorer.convert_weights(tmp_path / "module.pth", tmp_path)
    torch.save({"fc.weight": torch.zeros(1, 768)}, tmp_path / "other.pth")
    with pytest.raises(WeightsError, match="neither a LAION"):
        ClipAestheticScorer.convert_weights(tmp_path / "other.pth", tmp_path)
    small = laion_sequential(in_dim=512)
    torch.save({f"layers.{k}": v for k, v in small.state_dict().items()}, tmp_path / "b32.pth")
    with pytest.raises(WeightsError, match="512-d"):
        ClipAestheticScorer.convert_weights(tmp_path / "b32.pth", tmp_path)


def test_backbone_import_is_checked_against_the_configured_model(tmp_path):
    bin_path = tmp_path / "open_clip_pytorch_model.bin"
    state = load_state_dict(write_tiny_backbone(tmp_path / "t.safetensors"))
    torch.save({f"module.{k}": v for k, v in state.items()}, bin_path)  # DataParallel-style keys
    out = ClipAestheticScorer.convert_weights(bin_path, tmp_path / "w", TINY_SCORER_CONFIG)
    name = common.backbone_spec(TINY_MODEL, TINY_TAG).name
    assert set(out) == {name} and is_safetensors(out[name])
    install_file("clip-aesthetic", name, out[name], origin=str(bin_path))
    scorer = ClipAestheticScorer({**TINY_SCORER_CONFIG, "head": "prompts"})
    scorer.load("cpu")
    assert scorer.embed_batch([_photo()]).shape == (1, 768)
    with pytest.raises(WeightsError, match="does not fit ViT-B-32"):
        ClipAestheticScorer.convert_weights(bin_path, tmp_path / "w", {"model": "ViT-B-32"})


def _photo():
    from culler.testing import available_samples

    return available_samples()[0][1]


def test_prompt_head_scan_end_to_end(photo_dir, tmp_path):
    install_tiny_backbone("clip-aesthetic", tmp_path)
    config = {**TINY_SCORER_CONFIG, "head": "prompts"}
    catalog, summary = scan(tmp_path / "c.db", photo_dir, ["clip-aesthetic"], config)
    assert summary["scorers"] == ["clip-aesthetic"] and not summary["scorer_errors"]
    rows = catalog.query("SELECT score, distribution, reasons FROM current_scores")
    assert len(rows) == 6
    for row in rows:
        dist = json.loads(row["distribution"])
        assert len(dist) == 10 and sum(dist) == pytest.approx(1, abs=1e-5)
        assert row["score"] == pytest.approx(sum(k * p for k, p in enumerate(dist, 1)), abs=1e-4)
        assert 0 <= row["score"] <= 10 and "zero-shot" in score_json.load(row["reasons"])[0]
    vectors = catalog.embeddings(ClipAestheticScorer(config).embedding_key)
    assert len(vectors) == 6
    assert all(v.shape == (768,) and abs(np.linalg.norm(v) - 1) < 1e-5 for v in vectors.values())


def test_laion_head_scan_and_rescan_from_cache(photo_dir, tmp_path, monkeypatch, visual_forwards):
    # The tiny model stands in for ViT-L-14 (same 768-d embedding) so LAION's head path runs for real.
    monkeypatch.setattr(clip_plugin, "LAION_BACKBONE", (TINY_MODEL, TINY_TAG))
    install_tiny_backbone("clip-aesthetic", tmp_path)
    src, net = save_laion(tmp_path / "laion.pth", seed=3)
    for name, path in ClipAestheticScorer.convert_weights(src, tmp_path).items():
        install_file("clip-aesthetic", name, path, origin=str(src))
    catalog, _ = scan(tmp_path / "c.db", photo_dir, ["clip-aesthetic"], TINY_SCORER_CONFIG)
    key = ClipAestheticScorer(TINY_SCORER_CONFIG).embedding_key
    vectors = catalog.embeddings(key)
    rows = catalog.query("SELECT photo_id, score, reasons, distribution FROM current_scores")
    assert len(rows) == 6
    for row in rows:
        with torch.no_grad():
            expected = float(net(torch.from_numpy(vectors[row["photo_id"]].copy())[None]))
        assert row["score"] == pytest.approx(min(10.0, max(0.0, expected)), abs=1e-4)
        assert (
            "AVA 1–10 scale" in score_json.load(row["reasons"])[0] and row["distribution"] is None
        )

    forwards = visual_forwards()
    catalog.close()
    catalog, summary = scan(tmp_path / "c.db", photo_dir, ["clip-aesthetic"], rescore=True)
    assert forwards[0] == 0  # every photo scored from its cached embedding
    assert summary["from_cache"] == 6 and summary["decoded"] == 0


def test_personal_mlp_head_from_the_trainer(photo_dir, tmp_path, visual_forwards):
    from culler_trainer.models import build_head
    from culler_trainer.registry import register_head, save_head

    install_tiny_backbone("clip-aesthetic", tmp_path)
    config = {**TINY_SCORER_CONFIG, "head": "prompts"}
    catalog, _ = scan(tmp_path / "c.db", photo_dir, ["clip-aesthetic"], config)
    head = build_head("mlp", 768)
    assert isinstance(head.net, heads.MLPRegressor)
    with torch.no_grad():
        for p in head.net.parameters():
            p.zero_()
        head.net.layers[7].bias.fill_(12.5)  # above the scale: the scorer must clamp
    head.meta["embedding_key"] = ClipAestheticScorer(config).embedding_key
    sha = save_head(head, tmp_path / "head.safetensors")
    pk = register_head(catalog, "clip-aesthetic", tmp_path / "head.safetensors")
    catalog.close()
    forwards = visual_forwards()
    catalog, summary = scan(tmp_path / "c.db", photo_dir, ["clip-aesthetic"])
    rows = catalog.query("SELECT score, reasons FROM scores WHERE scorer_pk = ?", [pk])
    assert [r["score"] for r in rows] == [10.0] * 6
    reasons = [score_json.load(r["reasons"])[0] for r in rows]
    assert all("clamped" in r and "personal mlp" in r for r in reasons), reasons
    assert (
        catalog.query("SELECT weights_sha256 FROM scorers WHERE id = ?", [pk])[0]["weights_sha256"]
        == sha
    )
    assert forwards[0] == 0 and summary["from_cache"] == 6


def test_trainable_backbone_for_fine_tuning(tmp_path):
    install_tiny_backbone("clip-aesthetic", tmp_path)
    scorer = ClipAestheticScorer({**TINY_SCORER_CONFIG, "head": "prompts"})
    offered = scorer.trainable_backbone("cpu")
    assert offered["dim"] == 768 and offered["normalize"] is True
    x = offered["transform"](_photo())[None]
    features = offered["module"](x)
    assert features.shape == (1, 768) and features.requires_grad
    scorer.load("cpu")
    embedded = scorer.embed_batch([_photo()])[0]
    with torch.no_grad():
        fresh = nn.functional.normalize(offered["module"].eval()(x), dim=-1)[0].numpy()
    np.testing.assert_allclose(embedded, fresh, atol=1e-5)


def test_scan_config_option_sets_the_head_and_is_kept(photo_dir, tmp_path, culler_cli):
    install_tiny_backbone("clip-aesthetic", tmp_path)
    db = tmp_path / "c.db"
    settings = [
        f"clip-aesthetic.{k}={v}" for k, v in {**TINY_SCORER_CONFIG, "head": "prompts"}.items()
    ]
    args = [a for s in settings for a in ("--config", s)]
    first = culler_cli.json(
        "scan",
        photo_dir,
        "--db",
        db,
        "--scorer",
        "clip-aesthetic",
        "--workers",
        "0",
        "--json",
        *args,
    )
    assert first["scored"] == 6 and not first["skipped_scorers"], first
    # A later scan without --config keeps the settings: same scorer row, nothing to do.
    again = culler_cli.json(
        "scan", photo_dir, "--db", db, "--scorer", "clip-aesthetic", "--workers", "0", "--json"
    )
    assert again["scored"] == 0 and not again["skipped_scorers"], again
    catalog = open_catalog(db)
    rows = catalog.query("SELECT config, active FROM scorers WHERE scorer_id = 'clip-aesthetic'")
    assert [(json.loads(r["config"])["head"], r["active"]) for r in rows] == [("prompts", 1)]
    reasons = catalog.query("SELECT reasons FROM current_scores")
    assert all("zero-shot" in score_json.load(r["reasons"])[0] for r in reasons)
    catalog.close()
    bad = culler_cli("scan", photo_dir, "--db", db, "--config", "head=prompts", expect=2)
    assert "SCORER.KEY=VALUE" in bad.output
    unknown = culler_cli("scan", photo_dir, "--db", db, "--config", "nope.head=x", expect=1)
    assert "unknown scorer nope" in unknown.output


def test_culler_train_fits_a_personal_head_on_cached_clip_embeddings(
    tmp_path, culler_cli, visual_forwards
):
    """The trainer's default (clip-aesthetic, mlp head) on a real scan: it reads the cached vectors,
    registers a new scorer version, and the next scan scores from the cache with that head."""
    from culler.testing import available_samples, blurred, noisy, overexposed

    install_tiny_backbone("clip-aesthetic", tmp_path)
    folder = tmp_path / "shoot"
    folder.mkdir()
    keep = set()
    for name, image in available_samples():
        image.save(folder / f"{name}.jpg", quality=92)
        keep.add(f"{name}.jpg")
        for label, damage in (("soft", blurred), ("noisy", noisy), ("blown", overexposed)):
            damage(image).save(folder / f"{name}-{label}.jpg", quality=92)
    db = tmp_path / "c.db"
    config = {**TINY_SCORER_CONFIG, "head": "prompts"}
    catalog, summary = scan(db, folder, ["clip-aesthetic"], config)
    assert summary["scored"] == 24
    for row in catalog.query("SELECT id, path FROM photos"):
        good = Path(row["path"]).name in keep
        catalog.rate(row["id"], stars=5 if good else 1, decision="pick" if good else "reject")
    catalog.close()

    runs = tmp_path / "runs"
    culler_cli("train", "--db", db, "--epochs", "3", "--runs-dir", runs, "--name", "mine")
    assert (runs / "mine" / "head.safetensors").is_file()
    forwards = visual_forwards()
    catalog, again = scan(db, folder, ["clip-aesthetic"])
    assert forwards[0] == 0 and again["from_cache"] == 24
    active = catalog.active_scorer("clip-aesthetic")
    assert active["config"]["head_file"] and active["parent"] is not None
    reasons = catalog.query("SELECT reasons FROM current_scores")
    assert len(reasons) == 24 and all("personal mlp" in r["reasons"] for r in reasons)
    catalog.close()


def test_missing_other_backbone_names_the_pull_with_its_settings():
    scorer = ClipAestheticScorer(
        {"model": "ViT-B-32", "pretrained": "laion2b_s34b_b79k", "head": "prompts"}
    )
    with pytest.raises(WeightsMissing) as info:
        scorer.load("cpu")
    assert (
        "`culler models pull clip-aesthetic --config model=ViT-B-32 "
        "--config pretrained=laion2b_s34b_b79k`" in str(info.value)
    )
