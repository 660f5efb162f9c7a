"""SAAN training as the paper ran it: never on random frozen branches (verified ImageNet files or a
SAAN checkpoint to fine-tune), the BN+GN mixed variant, and horizontal-flip augmentation."""

from __future__ import annotations

import json

import pytest
import torch
from culler_plugins.saan import backbones, convert
from culler_plugins.saan.model import build_saan, preprocess, train_preprocess
from culler_plugins.saan.testing import write_imagenet_standins
from culler_trainer import main as trainer_main
from culler_trainer.params import parse_args
from torch import nn

from culler.models.weights import load_state_dict, scorer_dir, sha256_file
from culler.testing import available_samples, write_photos


@pytest.fixture
def baid(tmp_path):
    folder = tmp_path / "images"
    paths = write_photos(folder, 4)
    lines = ["image,score"] + [f"{p.name},{3 + i}" for i, p in enumerate(paths)]
    (tmp_path / "baid.csv").write_text("\n".join(lines) + "\n")
    return tmp_path / "baid.csv", folder


def saan_args(tmp_path, baid, *extra):
    csv, folder = baid
    return parse_args(
        ["--csv", str(csv), "--images", str(folder), "--model", "saan",
         "--schedule", "adam:1e-5:1:mse", "--batch-size", "2", "--val-fraction", "0.5",
         "--runs-dir", str(tmp_path / "runs"), "--no-progress", *extra]
    )  # fmt: skip


def test_refuses_to_train_on_random_frozen_branches(tmp_path, baid, culler_cli):
    with pytest.raises(ValueError, match="resnet50-0676ba61.pth") as missing:
        trainer_main.run(saan_args(tmp_path, baid, "--name", "none"))
    assert "Training on random frozen branches is refused" in str(missing.value)
    with pytest.raises(ValueError, match="refused"):
        trainer_main.run(saan_args(tmp_path, baid, "--name", "s", "--init", "scratch"))
    # A file under the published name that is not torchvision's is refused too.
    for spec in backbones.PRETRAINED_BACKBONES:
        (scorer_dir("saan") / spec.name).parent.mkdir(parents=True, exist_ok=True)
        (scorer_dir("saan") / spec.name).write_bytes(b"not the real weights")
    with pytest.raises(ValueError, match="does not start with 0676ba61"):
        trainer_main.run(saan_args(tmp_path, baid, "--name", "damaged"))
    csv, folder = baid
    result = culler_cli(
        "train", "--csv", csv, "--images", folder, "--model", "saan",
        "--runs-dir", tmp_path / "runs", "--name", "cli", expect=2,
    )  # fmt: skip
    assert "download https://download.pytorch.org/models/resnet50-0676ba61.pth" in result.output


def test_trains_from_verified_imagenet_branches_and_keeps_them_frozen(tmp_path, baid, monkeypatch):
    specs = write_imagenet_standins(scorer_dir("saan"))
    monkeypatch.setattr(backbones, "PRETRAINED_BACKBONES", specs)
    result = trainer_main.run(saan_args(tmp_path, baid, "--name", "mixed", "--norm", "mixed"))
    saved = json.loads((result.run_dir / "result.json").read_text())
    resnet = scorer_dir("saan") / specs[0].name
    assert saved["init"]["sha256"].startswith(sha256_file(resnet))
    assert saved["init"]["from"] == "ImageNet ResNet-50 + VGG-19 (torchvision)"
    state = torch.load(result.run_dir / "model.pt", weights_only=True)
    imagenet = load_state_dict(resnet)
    for key in ("conv1.weight", "layer3.5.conv3.weight", "bn1.running_mean"):
        assert torch.equal(state[f"net.generic.{key}"], imagenet[key])  # frozen: unchanged
    # The style branch trains (one Adam step of 1e-5 per batch) from the same ImageNet start.
    assert torch.allclose(state["net.style.conv1.weight"], imagenet["conv1.weight"], atol=1e-4)
    files = convert.convert_file(result.run_dir / "model.pt", tmp_path / "work")
    assert convert.norm_of(load_state_dict(files["saan.safetensors"])) == "mixed"
    # The trained checkpoint fine-tunes without the ImageNet files.
    monkeypatch.setattr(backbones, "PRETRAINED_BACKBONES", [])
    again = trainer_main.run(
        saan_args(
            tmp_path,
            baid,
            "--name",
            "ft",
            "--norm",
            "mixed",
            "--init",
            str(files["saan.safetensors"]),
        )  # fmt: skip
    )
    assert json.loads((again.run_dir / "result.json").read_text())["init"]["from"].endswith(
        "fine-tuned"
    )
    with pytest.raises(ValueError, match="pass the matching --norm"):
        trainer_main.run(
            saan_args(tmp_path, baid, "--name", "x", "--init", str(files["saan.safetensors"]))
        )


def test_mixed_variant_is_batchnorm_block_groupnorm_pooled():
    mixed = build_saan("mixed", pretrained=False)
    assert isinstance(mixed.nonlocal_block.out_norm, nn.BatchNorm2d)
    assert isinstance(mixed.pool_norm, nn.GroupNorm) and mixed.pool_norm.num_groups == 16
    assert convert.norm_of(mixed.state_dict()) == "mixed"
    assert convert.norm_of(build_saan("bn", pretrained=False).state_dict()) == "bn"
    assert convert.norm_of(build_saan("gn", pretrained=False).state_dict()) == "gn"


def test_training_images_are_flipped_half_the_time():
    image = available_samples()[0][1]
    plain = preprocess(image)
    torch.manual_seed(0)
    draws = [train_preprocess(image) for _ in range(40)]
    flipped = sum(torch.equal(x, plain.flip(-1)) for x in draws)
    kept = sum(torch.equal(x, plain) for x in draws)
    assert flipped + kept == 40 and 10 <= flipped <= 30
    torch.manual_seed(0)
    assert all(torch.equal(a, train_preprocess(image)) for a in draws)  # seeded: reproducible
