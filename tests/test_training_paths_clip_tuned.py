"""`culler train --unfreeze all` (AnB+) ends in a scorer version: the fine-tuned CLIP tower and its head
in one safetensors file, embeddings under their own key, used by the next scan, carried by
export / import-personal to a second catalog."""

from __future__ import annotations

import pytest
from culler_plugins.clip import ClipAestheticScorer
from culler_plugins.clip.testing import (
    TINY_SCORER_CONFIG,
    install_tiny_backbone,
    register_tiny_model,
)

from culler.catalog import open_catalog
from culler.models.weights import sha256_file
from culler.testing import (
    carry_personal_model,
    rate_sharp_over_soft,
    scan_into,
    write_sharp_and_soft,
)


def scores_by_name(catalog):
    rows = catalog.query(
        "SELECT p.path, s.score, s.reasons FROM current_scores s JOIN photos p ON p.id = s.photo_id"
        " WHERE s.scorer_id = 'clip-aesthetic'"
    )
    return {r["path"].rsplit("/", 1)[-1]: r for r in rows}


def test_full_fine_tune_is_a_scorer_version_with_its_own_embeddings(tmp_path, culler_cli):
    register_tiny_model()
    install_tiny_backbone("clip-aesthetic", tmp_path)
    folder = write_sharp_and_soft(tmp_path / "shoot")
    db = tmp_path / "c.db"
    config = {**TINY_SCORER_CONFIG, "head": "prompts"}
    catalog, summary = scan_into(db, folder, ["clip-aesthetic"], config)
    base_key = ClipAestheticScorer(config).embedding_key
    rate_sharp_over_soft(catalog)
    catalog.close()

    out = culler_cli(
        "train", "--db", db, "--unfreeze", "all", "--epochs", "1", "--batch-size", "4",
        "--lr", "1e-4", "--min-ratings", "4", "--runs-dir", tmp_path / "runs", "--name", "anb",
    ).output  # fmt: skip
    assert "registered as scorer version" in out
    network = tmp_path / "runs" / "anb" / "network.safetensors"
    catalog = open_catalog(db)
    active = catalog.active_scorer("clip-aesthetic")
    assert active["config"]["backbone_tuned"] is True
    assert active["config"]["head_sha256"] == sha256_file(network)
    catalog.close()

    tuned_key = f"{base_key}+ft-{sha256_file(network)[:12]}"
    catalog, again = scan_into(db, folder, ["clip-aesthetic"])
    # The base backbone's cached vectors are not this tower's.
    assert again.get("from_cache", 0) == 0
    assert len(catalog.embeddings(tuned_key)) == summary["scored"]
    assert len(catalog.embeddings(base_key)) == summary["scored"]  # kept apart, not overwritten
    first = scores_by_name(catalog)
    assert len(first) == summary["scored"]
    assert all("personal mlp" in r["reasons"] for r in first.values())
    catalog.close()

    second = carry_personal_model(
        culler_cli, "clip-aesthetic", db, folder, tmp_path / "other.db", config
    )
    moved = scores_by_name(second)
    assert len(second.embeddings(tuned_key)) == summary["scored"]
    second.close()
    assert moved.keys() == first.keys()
    for name, row in first.items():
        assert moved[name]["score"] == pytest.approx(row["score"], abs=1e-4)
