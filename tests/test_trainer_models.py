"""Every kind of model goes through the same loop: tag heads on cached features (emotion), whole
networks on images with a 10× head rate (CharLeNet-style), and preference pairs alone."""

import numpy as np
import pytest
import torch
from culler_trainer import main as trainer_main
from culler_trainer import models
from culler_trainer.data import Dataset, Sample
from culler_trainer.params import parse_args
from culler_trainer.prepare import Prepared
from culler_trainer.testing import ColourStatsPlugin, ColourStatsScorer, variant
from culler_trainer.train import tensor_data
from torch import nn

import culler
from culler.api import TrainableModel
from culler.testing import available_samples


@pytest.fixture
def variants_csv(tmp_path):
    """24 photo variants with a score (exposure) and tags ("warm"/"cool", "bright"/"dark")."""
    rng = np.random.default_rng(1)
    folder = tmp_path / "images"
    folder.mkdir()
    lines = ["image,score,labels"]
    bases = [im for _, im in available_samples()]
    for i in range(24):
        image, truth = variant(bases[i % len(bases)], rng, side=64)
        image.save(folder / f"v{i:02d}.jpg", quality=90)
        tags = [
            "warm" if truth["warmth"] > 0 else "cool",
            "bright" if truth["exposure"] > 1 else "dark",
        ]
        lines.append(
            f"v{i:02d}.jpg,{2 + 6 * (truth['exposure'] - 0.55) / 0.9:.3f},{';'.join(tags)}"
        )
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    return tmp_path / "data.csv", folder


def test_tag_head_on_cached_features(tmp_path, variants_csv, register_test_plugin, monkeypatch):
    register_test_plugin(ColourStatsPlugin, "colour-stats")
    csv_path, folder = variants_csv
    args = parse_args(
        [
            "--csv", str(csv_path), "--images", str(folder), "--score-column", "",
            "--scorer", "test-colour-aesthetic", "--model", "tags", "--lr", "0.05", "--epochs", "30",
            "--runs-dir", str(tmp_path / "runs"), "--name", "tags", "--progress",
        ]
    )  # fmt: skip
    result = trainer_main.run(args)
    assert result.history[0]["loss"] > result.history[-1]["loss"]
    assert {"val_top1", "val_top3", "val_top3_recall"} <= set(result.best)
    assert result.best["val_top1"] >= 0.8  # warm/cool and bright/dark are plain colour statistics
    from culler_trainer.registry import load_head

    head = load_head(result.head_file)
    assert head.meta["labels"] == ["bright", "cool", "dark", "warm"]
    # The features were computed once and cached: a second run decodes nothing.
    monkeypatch.setattr("culler_trainer.features._decode", lambda *a: pytest.fail("decoded again"))
    args.name = "tags-again"
    trainer_main.run(args)


def tiny_charlenet(num_classes):
    return nn.Sequential(
        nn.Conv2d(3, 4, 5, stride=4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(16, 8),
        nn.ReLU(),
        nn.Linear(8, num_classes),
    )


def test_image_network_with_ten_times_head_rate(tmp_path, variants_csv, monkeypatch):
    fake = TrainableModel("charlenet", "image", lambda outputs, settings: tiny_charlenet(outputs))
    monkeypatch.setattr(models, "_image_model", lambda name: fake)
    seen = []
    real = trainer_main.train_one_epoch

    def spy(model, data, optimizer, *a, **kw):
        seen.append([g["lr"] for g in optimizer.param_groups])
        return real(model, data, optimizer, *a, **kw)

    monkeypatch.setattr(trainer_main, "train_one_epoch", spy)
    csv_path, folder = variants_csv
    args = parse_args(
        [
            "--csv", str(csv_path), "--images", str(folder), "--classes", "2",
            "--model", "charlenet",
            "--schedule", "adam:1e-5:2:ce", "--unfreeze", "all",
            "--runs-dir", str(tmp_path / "runs"), "--name", "cnet",
        ]
    )  # fmt: skip
    result = trainer_main.run(args)
    assert seen == [pytest.approx([1e-5, 1e-4])] * 2
    assert "val_accuracy" in result.best and "val_plcc" in result.best
    assert (result.run_dir / "model.pt").exists()
    state = torch.load(result.run_dir / "model.pt", weights_only=True)
    assert state["net.6.weight"].shape == (2, 8)


def test_unfreeze_last_n_and_head_names():
    model = models.ImageModel(
        "charlenet", tiny_charlenet(2), models.new_head_names(tiny_charlenet(2))
    )
    assert model.head_names == {"net.6.weight", "net.6.bias"}
    models.freeze_backbone(model, "none")
    assert {n for n, p in model.named_parameters() if p.requires_grad} == model.head_names
    models.freeze_backbone(model, "last:2")
    assert {n for n, p in model.named_parameters() if p.requires_grad} == model.head_names | {
        "net.4.weight",
        "net.4.bias",
    }


def test_preferences_alone_teach_the_ranking(tmp_path):
    """All photos carry the same star rating; only pairwise picks say which is better."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(240, 8)).astype(np.float32)
    utility = x @ rng.normal(size=8)
    samples = [Sample(key=f"{i:03d}", score=6.0) for i in range(240)]
    pairs = []
    for _ in range(1200):
        a, b = rng.integers(0, 240, 2)
        if a != b:
            pairs.append(
                (samples[a].key, samples[b].key)
                if utility[a] > utility[b]
                else (samples[b].key, samples[a].key)
            )
    train, val = samples[60:], samples[:60]
    prepared = Prepared(
        Dataset("prefs", samples, pairs),
        {"train": [s.key for s in train], "val": [s.key for s in val]},
        tensor_data(x[60:], train, pairs),
        tensor_data(x[:60], val, pairs),
        train,
        val,
        in_dim=8,
    )
    args = parse_args(
        ["--csv", "unused.csv", "--model", "linear", "--lr", "0.02", "--epochs", "15",
         "--select-metric", "pref_agreement", "--runs-dir", str(tmp_path), "--name", "prefs"]
    )  # fmt: skip
    result = trainer_main.run(args, prepared=prepared)
    assert result.history[0]["rank_loss"] > result.history[-1]["rank_loss"]
    # Held-out pairs (both photos unseen in training) are ordered as the hidden utility says.
    assert result.best["val_pref_agreement"] > 0.9


class TinyBackboneScorer(ColourStatsScorer):
    """The colour scorer plus a small conv backbone it offers for fine-tuning."""

    id = "test-tiny-backbone"

    def trainable_backbone(self, device):
        from torchvision.transforms import v2

        module = nn.Sequential(
            nn.Conv2d(3, 6, 5, stride=4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        )
        transform = v2.Compose(
            [
                v2.Resize((48, 48), antialias=True),
                v2.ToImage(),
                v2.ToDtype(torch.float32, scale=True),
            ]
        )
        return {"module": module, "transform": transform, "dim": 6, "normalize": True}


class TinyBackbonePlugin:
    @staticmethod
    @culler.hookimpl
    def register_scorers(register):
        register(TinyBackboneScorer)


def test_unfrozen_backbone_with_per_group_rates(
    tmp_path, variants_csv, register_test_plugin, monkeypatch
):
    register_test_plugin(TinyBackbonePlugin, "tiny-backbone")
    seen = []
    real = trainer_main.train_one_epoch

    def spy(model, data, optimizer, *a, **kw):
        seen.append([(len(g["params"]), g["lr"]) for g in optimizer.param_groups])
        return real(model, data, optimizer, *a, **kw)

    monkeypatch.setattr(trainer_main, "train_one_epoch", spy)
    csv_path, folder = variants_csv
    args = parse_args(
        [
            "--csv", str(csv_path), "--images", str(folder), "--scorer", "test-tiny-backbone",
            "--model", "linear", "--unfreeze", "all", "--schedule", "adamw:1e-3:2:mse",
            "--runs-dir", str(tmp_path / "runs"), "--name", "anb-plus",
        ]
    )  # fmt: skip
    result = trainer_main.run(args)
    # Backbone conv (weight, bias) at the stage rate; the new head (linear weight, bias) at 10×.
    assert seen == [[(2, pytest.approx(1e-3)), (2, pytest.approx(1e-2))]] * 2
    assert "val_plcc" in result.best
    state = torch.load(result.run_dir / "model.pt", weights_only=True)
    assert "net.backbone.0.weight" in state and "net.head.1.weight" in state
