"""--init base starts from whatever base head is installed, in any format the scorer's converter
accepts (LAION's head is installed as a .pth), and the run records the file's sha256."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from culler_plugins import clip as clip_plugin
from culler_plugins.clip import ClipAestheticScorer
from culler_plugins.clip.common import LAION_HEAD
from culler_plugins.clip.testing import (
    TINY_MODEL,
    TINY_SCORER_CONFIG,
    TINY_TAG,
    install_laion_head,
    install_tiny_backbone,
    register_tiny_model,
    write_laion_head,
)
from culler_trainer import main as trainer_main
from culler_trainer.params import parse_args
from safetensors.torch import load_file
from test_trainer_learning import synthetic  # noqa: I001 -- tests/ is on sys.path under pytest

from culler.catalog import open_catalog
from culler.models.weights import install_file, installed_path, sha256_file
from culler.testing import (
    carry_personal_model,
    rate_sharp_over_soft,
    scan_into,
    write_sharp_and_soft,
)


def _args(tmp_path, *extra):
    return parse_args(
        ["--csv", "unused.csv", "--runs-dir", str(tmp_path / "runs"), "--no-progress",
         "--scorer", "clip-aesthetic", "--model", "mlp", "--optimizer", "sgd", "--momentum", "0",
         "--lr", "1e-12", "--epochs", "1", *extra]
    )  # fmt: skip


def _same_weights(head_file, net) -> bool:
    trained = load_file(str(head_file))
    expected = {f"layers.{k}": v for k, v in net.state_dict().items()}
    return set(trained) == set(expected) and all(
        torch.allclose(trained[k], expected[k], atol=1e-6) for k in expected
    )


def test_init_base_reads_the_laion_pth_as_pulled(tmp_path):
    # A pulled LAION head is the published torch.save pickle under its .pth name.
    dest = installed_path("clip-aesthetic", LAION_HEAD)
    dest.parent.mkdir(parents=True, exist_ok=True)
    net = write_laion_head(dest, seed=4)
    result = trainer_main.run(_args(tmp_path, "--name", "pth"), prepared=synthetic(n=80, dim=768))
    saved = json.loads((result.run_dir / "result.json").read_text())
    assert saved["init"] == {
        "from": f"clip-aesthetic {LAION_HEAD.name}",
        "file": LAION_HEAD.name,
        "sha256": sha256_file(dest),
    }
    assert sha256_file(dest) in result.history[0]["init"]
    assert _same_weights(result.head_file, net)  # a 1e-12 step leaves the LAION weights in place


def test_init_base_reads_an_imported_laion_head(tmp_path):
    # `culler models import clip-aesthetic FILE` converts a LAION-layout copy to safetensors, kept
    # under the spec's .pth name.
    src = tmp_path / "my-laion.pth"
    net = write_laion_head(src, seed=5)
    for name, path in ClipAestheticScorer.convert_weights(src, tmp_path).items():
        installed = install_file("clip-aesthetic", name, path, origin=str(src))
    result = trainer_main.run(_args(tmp_path, "--name", "imp"), prepared=synthetic(n=80, dim=768))
    assert result.history[0]["init"].endswith(f"(sha256 {sha256_file(installed)})")
    assert _same_weights(result.head_file, net)


def test_init_file_goes_through_the_converter_and_a_misfit_is_an_error(tmp_path):
    src = tmp_path / "laion-copy.pth"
    net = write_laion_head(src, seed=6)
    result = trainer_main.run(
        _args(tmp_path, "--name", "file", "--init", str(src)), prepared=synthetic(n=80, dim=768)
    )
    assert json.loads((result.run_dir / "result.json").read_text())["init"]["sha256"] == (
        sha256_file(src)
    )
    assert _same_weights(result.head_file, net)
    small = tmp_path / "small.pth"
    write_laion_head(small, in_dim=16)
    with pytest.raises(ValueError, match="does not fit a mlp head on 768 features"):
        trainer_main.run(
            _args(tmp_path, "--name", "bad", "--init", str(small)),
            prepared=synthetic(n=80, dim=768),
        )


def test_init_base_without_an_installed_head_says_scratch(tmp_path):
    result = trainer_main.run(_args(tmp_path, "--name", "none"), prepared=synthetic(n=80, dim=768))
    assert result.history[0]["init"] == "scratch"
    assert json.loads((result.run_dir / "result.json").read_text())["init"]["from"] == "scratch"


def test_personal_head_from_laion_is_scanned_and_travels(tmp_path, culler_cli, monkeypatch):
    """train --init base on a real scan → registered with the LAION file's sha256 → the next scan
    uses it → export / import-personal into a second catalog scores the same."""
    register_tiny_model()
    monkeypatch.setattr(clip_plugin, "LAION_BACKBONE", (TINY_MODEL, TINY_TAG))
    install_tiny_backbone("clip-aesthetic", tmp_path)
    installed = install_laion_head(tmp_path, seed=7)
    folder = write_sharp_and_soft(tmp_path / "shoot")
    db = tmp_path / "c.db"
    catalog, summary = scan_into(db, folder, ["clip-aesthetic"], TINY_SCORER_CONFIG)
    rate_sharp_over_soft(catalog)
    catalog.close()
    culler_cli(
        "train", "--db", db, "--epochs", "2", "--init", "base", "--min-ratings", "4",
        "--runs-dir", tmp_path / "runs", "--name", "from-laion",
    )  # fmt: skip
    catalog = open_catalog(db)
    active = catalog.active_scorer("clip-aesthetic")
    assert active["config"]["init"]["sha256"] == sha256_file(installed)
    catalog.close()
    catalog, again = scan_into(db, folder, ["clip-aesthetic"])
    assert again["from_cache"] == summary["scored"]
    first = {
        r["path"].rsplit("/", 1)[-1]: r["score"]
        for r in catalog.query(
            "SELECT p.path, s.score FROM current_scores s JOIN photos p ON p.id = s.photo_id"
        )
    }
    assert len(first) == summary["scored"]
    assert all(
        "personal mlp" in r["reasons"] for r in catalog.query("SELECT reasons FROM current_scores")
    )
    catalog.close()
    second = carry_personal_model(
        culler_cli, "clip-aesthetic", db, folder, tmp_path / "other.db", TINY_SCORER_CONFIG
    )
    moved = {
        r["path"].rsplit("/", 1)[-1]: r["score"]
        for r in second.query(
            "SELECT p.path, s.score FROM current_scores s JOIN photos p ON p.id = s.photo_id"
        )
    }
    second.close()
    assert moved.keys() == first.keys()
    assert np.allclose([moved[k] for k in first], list(first.values()), atol=1e-5)
