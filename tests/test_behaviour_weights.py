"""Personal models and heads, each behaviour pinned so that breaking it fails a test: a bundle or a
head file whose bytes do not match the sha256 recorded for them is refused, ``culler train --init
FILE`` starts from that file and records it, and the score-level prompts run from worst to best."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import torch
from culler_plugins import clip as clip_plugin
from culler_plugins.clip import ClipAestheticScorer, heads
from culler_plugins.clip.testing import (
    TINY_MODEL,
    TINY_SCORER_CONFIG,
    TINY_TAG,
    install_laion_head,
    install_tiny_backbone,
    register_tiny_model,
    write_laion_head,
)
from culler_trainer.registry import register_head

from culler.catalog import open_catalog
from culler.models.personal_heads import build_head, load_personal_head, mean_score, save_head
from culler.models.weights import WeightsError, load_state_dict, sha256_file
from culler.testing import rate_sharp_over_soft, scan_into, write_sharp_and_soft


def _personal_catalog(tmp_path: Path) -> tuple[Path, Path]:
    """A catalog with a personal linear head for ``technical`` registered; (db, head file)."""
    torch.manual_seed(0)
    head_file = tmp_path / "head.safetensors"
    save_head(build_head("linear", 8), head_file)
    db = tmp_path / "c.db"
    catalog = open_catalog(db)
    register_head(catalog, "technical", head_file)
    config = catalog.active_scorer("technical")["config"]
    catalog.close()
    return db, Path(config["head_file"])


def _tampered_copy(bundle: Path, out: Path) -> None:
    """The bundle with one byte of the head's tensor data changed (still valid safetensors)."""
    with zipfile.ZipFile(bundle) as zf:
        manifest, head = zf.read("manifest.json"), bytearray(zf.read("head.safetensors"))
    head[-1] ^= 0x01
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("manifest.json", manifest)
        zf.writestr("head.safetensors", bytes(head))


def _scorer_rows(db: Path) -> list[str]:
    catalog = open_catalog(db)
    try:
        return [r["version"] for r in catalog.query("SELECT version FROM scorers")]
    finally:
        catalog.close()


def test_a_bundle_whose_head_does_not_match_its_sha256_is_refused(tmp_path, culler_cli):
    db, _ = _personal_catalog(tmp_path)
    bundle = tmp_path / "taste.cullermodel"
    culler_cli("models", "export", "technical", "-o", bundle, "--db", db)
    bad = tmp_path / "damaged.cullermodel"
    _tampered_copy(bundle, bad)
    other = tmp_path / "other.db"
    open_catalog(other).close()
    result = culler_cli("models", "import-personal", bad, "--db", other, expect=1)
    assert "does not match its sha256" in result.output
    assert not any("personal" in v for v in _scorer_rows(other))
    # The undamaged bundle imports, so the refusal was the sha256's doing.
    culler_cli("models", "import-personal", bundle, "--db", other)
    assert any("+personal-" in v for v in _scorer_rows(other))


def test_a_head_file_changed_after_registration_is_refused(tmp_path, culler_cli):
    db, installed = _personal_catalog(tmp_path)
    catalog = open_catalog(db)
    config = catalog.active_scorer("technical")["config"]
    catalog.close()
    assert load_personal_head(config).kind == "linear"  # loads while it matches
    data = bytearray(installed.read_bytes())
    data[-1] ^= 0x01
    installed.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="does not match its sha256"):
        load_personal_head(config)
    with pytest.raises(WeightsError, match="does not match its sha256"):
        load_state_dict(installed, sha256=config["head_sha256"])
    result = culler_cli(
        "models", "export", "technical", "-o", tmp_path / "x.cullermodel", "--db", db, expect=1
    )
    assert "missing or changed" in result.output


def test_train_init_file_starts_from_that_file_and_records_it(tmp_path, culler_cli, monkeypatch):
    register_tiny_model()
    # The tiny model stands in for LAION's ViT-L-14; the installed LAION head is not the --init file.
    monkeypatch.setattr(clip_plugin, "LAION_BACKBONE", (TINY_MODEL, TINY_TAG))
    install_tiny_backbone("clip-aesthetic", tmp_path)
    install_laion_head(tmp_path, seed=7)
    folder = write_sharp_and_soft(tmp_path / "shoot")
    db = tmp_path / "c.db"
    catalog, _ = scan_into(db, folder, ["clip-aesthetic"], TINY_SCORER_CONFIG)
    rate_sharp_over_soft(catalog)
    catalog.close()
    start = tmp_path / "my-laion.pth"
    write_laion_head(start, seed=11)
    culler_cli(
        "train", "--db", db, "--epochs", "1", "--init", start, "--min-ratings", "4",
        "--runs-dir", tmp_path / "runs", "--name", "from-file",
    )  # fmt: skip
    saved = json.loads((tmp_path / "runs" / "from-file" / "result.json").read_text())
    assert saved["init"] == {
        "from": "file my-laion.pth",
        "file": "my-laion.pth",
        "sha256": sha256_file(start),
    }
    catalog = open_catalog(db)
    active = catalog.active_scorer("clip-aesthetic")
    catalog.close()
    assert active["config"]["init"]["sha256"] == sha256_file(start)
    # A file that fits no head of this scorer is an error that names it, not a silent scratch run.
    small = tmp_path / "small.pth"
    write_laion_head(small, in_dim=16)
    result = culler_cli(
        "train", "--db", db, "--epochs", "1", "--init", small, "--min-ratings", "4",
        "--runs-dir", tmp_path / "runs", "--name", "misfit", expect=None,
    )  # fmt: skip
    assert result.exit_code != 0
    assert "--init" in result.output and "small.pth" in result.output


def test_score_levels_run_from_the_worst_to_the_best():
    prompts = heads.score_prompts()
    assert len(prompts) == 10
    assert all("awful" in p for p in prompts[0])
    assert all("outstanding" in p for p in prompts[-1])
    # All the probability on bin k is a score of k (bins 1..10), whatever the code computes.
    for k in (1, 5, 10):
        one_hot = torch.zeros(1, 10)
        one_hot[0, k - 1] = 1.0
        assert float(mean_score(one_hot)) == pytest.approx(k)


def test_an_image_closest_to_the_best_level_scores_high_and_to_the_worst_low():
    """The zero-shot prompts head inside the scorer, with one text direction per level: an image
    embedding on the 'outstanding' direction must score near 10, one on 'awful' near 1."""
    text = torch.eye(10, 16)
    scorer = ClipAestheticScorer({"head": "prompts"})
    scorer.head = heads.PromptHead(text, logit_scale=100.0).eval()
    scorer.head_kind = "prompts"
    best, worst = text[9].numpy()[None, :], text[0].numpy()[None, :]
    high = scorer.score_embeddings(best)[0]
    low = scorer.score_embeddings(worst)[0]
    assert high.score > 9.5 and low.score < 1.5
    assert "'an outstanding photo'" in high.reasons[0]
    assert "'an awful photo'" in low.reasons[0]
