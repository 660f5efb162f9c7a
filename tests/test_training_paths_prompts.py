"""The trained "logits per text" head (seed 000's variant): score-level prompts with a learnable
temperature, level biases and prompt context, regressed on ratings, registered like the other heads."""

from __future__ import annotations

import pytest
import torch
from culler_plugins.clip import ClipAestheticScorer, heads
from culler_plugins.clip.testing import (
    TINY_SCORER_CONFIG,
    install_tiny_backbone,
    register_tiny_model,
)
from culler_trainer.registry import load_head

from culler.catalog import open_catalog
from culler.testing import (
    rate_sharp_over_soft,
    scan_into,
    write_sharp_and_soft,
)


def test_untrained_prompt_head_is_the_zero_shot_head():
    torch.manual_seed(0)
    text = torch.randn(10, 32)
    x = torch.randn(5, 32)
    zero_shot = heads.PromptHead(text, 100.0)
    trainable = heads.TrainablePromptHead(32)
    trainable.set_text(text, 100.0)
    assert torch.allclose(trainable(x), zero_shot(x), atol=1e-6)
    assert {n for n, p in trainable.named_parameters()} == {"log_scale", "bias", "context"}


def test_prompt_head_is_fitted_to_ratings_and_scored(tmp_path, culler_cli):
    register_tiny_model()
    install_tiny_backbone("clip-aesthetic", tmp_path)
    folder = write_sharp_and_soft(tmp_path / "shoot", radius=6)
    db = tmp_path / "c.db"
    config = {**TINY_SCORER_CONFIG, "head": "prompts"}
    catalog, summary = scan_into(db, folder, ["clip-aesthetic"], config)
    rate_sharp_over_soft(catalog)
    catalog.close()
    culler_cli(
        "train", "--db", db, "--model", "prompts", "--lr", "0.01", "--epochs", "20",
        "--min-ratings", "4", "--runs-dir", tmp_path / "runs", "--name", "lpt",
    )  # fmt: skip
    head = load_head(tmp_path / "runs" / "lpt" / "head.safetensors")
    assert head.meta["kind"] == "prompts"
    # It started from the backbone's own score-level prompts and moved away from them.
    backbone_text, scale = heads.prompt_text(ClipAestheticScorer(config))
    assert torch.allclose(head.net.text, torch.nn.functional.normalize(backbone_text, dim=-1))
    moved = float(head.net.context.detach().abs().max() + head.net.bias.detach().abs().max())
    assert moved > 0 and float(head.net.log_scale.exp()) != pytest.approx(scale, rel=1e-6)
    catalog, again = scan_into(db, folder, ["clip-aesthetic"])
    rows = catalog.query("SELECT score, reasons, distribution FROM current_scores")
    catalog.close()
    assert again.get("from_cache", 0) == summary["scored"] and len(rows) == summary["scored"]
    assert all("personal prompts" in r["reasons"] and r["distribution"] for r in rows)
    catalog = open_catalog(db)
    assert catalog.active_scorer("clip-aesthetic")["config"]["head_kind"] == "prompts"
    catalog.close()
