"""SAAN: the architecture against the paper's arithmetic, frozen parts, the official checkpoint
layout, the scorer through `culler scan`, and one trainer epoch with the real network."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from culler_plugins.saan import SaanScorer, convert
from culler_plugins.saan.model import SAAN, adain, build_saan, preprocess
from torch import nn

from culler.catalog import score_json
from culler.models.weights import WeightsError, WeightsMissing, install_file, scorer_dir
from culler.testing import available_samples, write_photos

SIDE = 64  # adaptive pooling lets the network run on small inputs; the scorer always uses 224


@pytest.fixture(scope="module")
def saan():
    torch.manual_seed(0)
    return build_saan("bn", pretrained=False).eval()


def images(n=2, side=SIDE):
    return torch.stack([preprocess(im, side) for _, im in available_samples()[:n]])


# -- architecture -------------------------------------------------------------------------------
def conv(cin, cout, k, bias=True):
    return cin * cout * k * k + (cout if bias else 0)


def bn(c):
    return 2 * c  # weight and bias (running statistics are buffers, not parameters)


def bottleneck(cin, mid, cout, downsample):
    """ResNet-50 bottleneck: 1×1 → 3×3 → 1×1 convolutions without bias, each followed by BN."""
    n = conv(cin, mid, 1, False) + bn(mid) + conv(mid, mid, 3, False) + bn(mid)
    n += conv(mid, cout, 1, False) + bn(cout)
    return n + (conv(cin, cout, 1, False) + bn(cout) if downsample else 0)


def resnet_stage(cin, mid, blocks):
    cout = 4 * mid
    return bottleneck(cin, mid, cout, True) + (blocks - 1) * bottleneck(cout, mid, cout, False)


def test_parameter_counts_follow_the_paper(saan):
    stem = conv(3, 64, 7, False) + bn(64)  # 9 408 + 128
    layer1 = resnet_stage(64, 64, 3)  # 215 808
    layer2 = resnet_stage(256, 128, 4)  # 1 219 584
    layer3 = resnet_stage(512, 256, 6)  # 7 098 368
    generic = stem + layer1 + layer2 + layer3
    style = stem + layer1 + layer2
    # VGG-19 conv1_1 … conv4_1: 64, 64 | 128, 128 | 256 ×4 | 512, all 3×3 with bias.
    widths = [3, 64, 64, 128, 128, 256, 256, 256, 256, 512]
    vgg = sum(conv(a, b, 3) for a, b in zip(widths, widths[1:]))
    nonlocal_block = 3 * conv(1536, 768, 1) + conv(768, 1536, 1) + bn(1536)
    head = bn(1536) + (6144 * 2048 + 2048) + (2048 * 1 + 1)

    assert (generic, style, vgg) == (8_543_296, 1_444_928, 3_505_728)
    count = lambda module: sum(p.numel() for p in module.parameters())  # noqa: E731
    assert count(saan.generic) == generic
    assert count(saan.style) == style
    assert count(saan.vgg) == vgg
    assert count(saan.nonlocal_block) == nonlocal_block == 4_725_504
    assert count(saan.pool_norm) + count(saan.head) == head
    total = generic + style + vgg + nonlocal_block + head
    assert count(saan) == total == 30_809_537
    trainable = sum(p.numel() for p in saan.parameters() if p.requires_grad)
    assert trainable == total - generic - vgg == 18_760_513
    # GroupNorm(16) has the same affine parameters per channel, so the GN variant counts the same.
    gn = build_saan("group", pretrained=False)
    assert count(gn) == total
    assert isinstance(gn.pool_norm, nn.GroupNorm) and gn.pool_norm.num_groups == 16
    assert isinstance(gn.nonlocal_block.out_norm, nn.GroupNorm)


def test_shapes_range_and_deterministic_eval(saan):
    x = images()
    with torch.no_grad():
        a, b = saan(x), saan(x)
        features = saan.features(x)
    assert a.shape == (2,) and torch.equal(a, b)
    assert ((a >= 0) & (a <= 10)).all()
    assert features.shape == (2, 1536, 2, 2)
    parts = saan.explain(x)
    assert torch.allclose(parts["score"], a, atol=1e-5)
    logit = torch.logit(a / 10, eps=1e-7)
    assert torch.allclose(parts["style"] + parts["generic"] + parts["bias"], logit, atol=1e-3)


def test_adain_takes_the_style_statistics():
    content, style = torch.randn(2, 4, 6, 6), 3 + 2 * torch.randn(2, 4, 5, 5)
    out = adain(content, style)
    assert torch.allclose(out.flatten(2).mean(-1), style.flatten(2).mean(-1), atol=1e-4)
    assert torch.allclose(out.flatten(2).std(-1), style.flatten(2).std(-1), atol=1e-3)


def test_non_local_block_starts_as_the_identity(saan):
    x = torch.randn(2, 1536, 4, 4)
    with torch.no_grad():
        assert torch.equal(saan.nonlocal_block(x), x)


def test_frozen_parts_stay_frozen_while_training():
    torch.manual_seed(1)
    model = build_saan("gn", pretrained=False)
    before = copy.deepcopy(model.state_dict())
    model.train()
    assert not model.generic.training and not model.vgg.training and model.style.training
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    loss = F.mse_loss(model(images()) / 10, torch.tensor([0.3, 0.7]))
    loss.backward()
    optimizer.step()
    after = model.state_dict()
    for name, p in [*model.generic.named_parameters(), *model.vgg.named_parameters()]:
        assert not p.requires_grad and p.grad is None, name
    frozen = [k for k in before if k.startswith(("generic.", "vgg."))]
    assert frozen and all(torch.equal(before[k], after[k]) for k in frozen)  # incl. BN statistics
    assert not torch.equal(
        before["style.layer2.0.conv1.weight"], after["style.layer2.0.conv1.weight"]
    )
    assert not torch.equal(before["head.fc2.weight"], after["head.fc2.weight"])


# -- the official checkpoint layout ----------------------------------------------------------------
class Holder(nn.Module):
    """An attribute bag, so the test's model has the official module paths."""


def resnet_holder(depth):
    from torchvision.models import resnet50

    full, holder = resnet50(), Holder()
    for name in ["conv1", "bn1", "relu", "maxpool"] + [f"layer{i}" for i in range(1, depth + 1)]:
        setattr(holder, name, getattr(full, name))
    return holder


class OfficialLayoutSAAN(nn.Module):
    """SAAN with the module names of Dreemurr-T/BAID's models/model.py, written from the paper: the
    reference the converted checkpoint must reproduce."""

    def __init__(self):
        from torchvision.models import vgg19

        super().__init__()
        self.GenAes = Holder()
        self.GenAes.model = resnet_holder(3)
        self.StyAes = Holder()
        self.StyAes.model = resnet_holder(2)
        self.StyAes.vgg = Holder()
        self.StyAes.vgg.model = vgg19().features[:21]
        self.NLB = Holder()
        self.NLB.g = nn.Sequential(nn.Conv2d(1536, 768, 1), nn.MaxPool2d(2))
        self.NLB.theta = nn.Conv2d(1536, 768, 1)
        self.NLB.phi = nn.Sequential(nn.Conv2d(1536, 768, 1), nn.MaxPool2d(2))
        self.NLB.W = nn.Sequential(nn.Conv2d(768, 1536, 1), nn.BatchNorm2d(1536))
        self.bn = nn.BatchNorm2d(1536)
        self.predictor = nn.Sequential(
            nn.Linear(6144, 2048), nn.ReLU(), nn.Dropout(0.5), nn.Linear(2048, 1), nn.Sigmoid()
        )

    @staticmethod
    def trunk(m, x, depth):
        x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        for i in range(1, depth + 1):
            x = getattr(m, f"layer{i}")(x)
        return x

    def logit(self, x):
        gen = self.trunk(self.GenAes.model, x, 3)
        aes = self.trunk(self.StyAes.model, x, 2)
        sty = self.StyAes.vgg.model(x)
        a = aes.flatten(2)
        s = sty.flatten(2)
        normed = (aes - a.mean(-1)[..., None, None]) / (a.std(-1)[..., None, None] + 1e-6)
        out = F.relu(normed * (s.std(-1)[..., None, None] + 1e-6) + s.mean(-1)[..., None, None])
        out = F.max_pool2d(out, 3, 2, 1)
        z = torch.cat([out, gen], 1)
        b, c, h, w = z.shape
        theta = self.NLB.theta(z).view(b, 768, -1).permute(0, 2, 1)
        phi = self.NLB.phi(z).view(b, 768, -1)
        g = self.NLB.g(z).view(b, 768, -1).permute(0, 2, 1)
        y = (F.softmax(theta @ phi, -1) @ g).permute(0, 2, 1).reshape(b, 768, h, w)
        z = self.NLB.W(y) + z
        z = self.bn(F.adaptive_avg_pool2d(z, 2)).flatten(1)
        return self.predictor[:4](z).squeeze(1)


@pytest.fixture(scope="module")
def official_checkpoint(tmp_path_factory):
    """A checkpoint saved (torch.save of a state dict, as train.py does) from the official layout,
    with every BatchNorm given non-trivial statistics so a wrong mapping cannot go unnoticed."""
    torch.manual_seed(2)
    model = OfficialLayoutSAAN()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 2.0)
    path = tmp_path_factory.mktemp("official") / "model_best.pth"
    torch.save(model.state_dict(), path)
    return model.eval(), path


def test_official_checkpoint_converts_to_the_same_network(official_checkpoint, tmp_path):
    reference, path = official_checkpoint
    files = SaanScorer.convert_weights(path, tmp_path / "work")
    assert set(files) == {"saan.safetensors"}
    from culler.models.weights import load_state_dict

    state = load_state_dict(files["saan.safetensors"])
    assert convert.norm_of(state) == "bn"
    model = SAAN("bn")
    model.load_state_dict(state, strict=True)
    model.eval()
    x = images()
    with torch.no_grad():
        want = reference.logit(x)
        got = model.logit(model.features(x))
    assert torch.allclose(got, want, rtol=1e-4, atol=1e-4), (got, want)


def test_converter_accepts_data_parallel_and_trainer_checkpoints(official_checkpoint, tmp_path):
    _, path = official_checkpoint
    state = torch.load(path, weights_only=True)
    parallel = tmp_path / "parallel.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, parallel)
    ours = convert.to_culler_layout(state)
    trainer = tmp_path / "model.pt"
    torch.save({f"net.{k}": v for k, v in ours.items()}, trainer)
    for src in (parallel, trainer):
        out = SaanScorer.convert_weights(src, tmp_path / src.stem)["saan.safetensors"]
        from culler.models.weights import load_state_dict

        converted = load_state_dict(out)
        assert set(converted) == set(ours)
        assert torch.equal(converted["head.fc1.weight"], ours["head.fc1.weight"])


def test_converter_refuses_what_it_cannot_use(official_checkpoint, tmp_path):
    _, path = official_checkpoint
    state = torch.load(path, weights_only=True)
    older = {k.replace("predictor.3.", "predictor.6."): v for k, v in state.items()}
    torch.save(older, tmp_path / "old.pth")
    with pytest.raises(WeightsError, match="older revision"):
        SaanScorer.convert_weights(tmp_path / "old.pth", tmp_path / "w")
    cut = {k: v for k, v in state.items() if not k.startswith("NLB.W.1.")}
    torch.save(cut, tmp_path / "cut.pth")
    with pytest.raises(WeightsError, match="missing"):
        SaanScorer.convert_weights(tmp_path / "cut.pth", tmp_path / "w")
    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "other.pth")
    with pytest.raises(WeightsError, match="not a SAAN checkpoint"):
        SaanScorer.convert_weights(tmp_path / "other.pth", tmp_path / "w")


# -- the scorer ------------------------------------------------------------------------------------
def test_scorer_refuses_without_weights():
    scorer = SaanScorer()
    with pytest.raises(WeightsMissing, match="culler models import saan"):
        scorer.load("cpu")
    assert scorer.model is None
    assert SaanScorer.default_enabled is False  # nothing to pull: plain scans stay quiet


def import_weights(culler_cli, scorer_id, src, workdir):
    """`culler models import` when it exists; until then the same two steps it performs."""
    from culler.cli import cli

    models = cli.commands.get("models")
    if models is not None and "import" in getattr(models, "commands", {}):
        culler_cli("models", "import", scorer_id, src)
        return
    from culler.plugin.scorers import get_scorer_class

    for name, path in get_scorer_class(scorer_id).convert_weights(Path(src), workdir).items():
        install_file(scorer_id, name, path, source="import", origin=str(src))


def test_scan_scores_real_photos_with_an_imported_checkpoint(
    official_checkpoint, tmp_path, culler_cli
):
    _, path = official_checkpoint
    import_weights(culler_cli, "saan", path, tmp_path / "work")
    assert (scorer_dir("saan") / "saan.safetensors").is_file()
    assert SaanScorer.default_enabled is True
    folder = tmp_path / "photos"
    write_photos(folder, 3)
    db = tmp_path / "culler.db"
    culler_cli("scan", folder, "--db", db, "--scorer", "saan", "--workers", "0", "--json")
    from culler.catalog import open_catalog

    catalog = open_catalog(db)
    try:
        rows = catalog.query(
            "SELECT s.score, s.reasons, s.extra FROM scores s JOIN scorers r ON r.id = s.scorer_pk "
            "WHERE r.scorer_id = 'saan'"
        )
    finally:
        catalog.close()
    assert len(rows) == 3
    for row in rows:
        assert 0.0 <= row["score"] <= 10.0
        assert "style features" in score_json.load(row["reasons"])[0]
        assert set(score_json.load(row["extra"])) == {"logit_style", "logit_generic", "logit_bias"}
    assert len({round(r["score"], 6) for r in rows}) == 3  # the photos are told apart
    for row in rows:  # the reason's direction words follow the stored logit parts
        extra, reason = score_json.load(row["extra"]), score_json.load(row["reasons"])[0]
        word = "raise" if extra["logit_style"] >= 0 else "lower"
        assert f"style features {word} it" in reason


def test_one_training_epoch_through_the_trainer(tmp_path, monkeypatch):
    from culler_plugins.saan import backbones
    from culler_plugins.saan.testing import write_imagenet_standins
    from culler_trainer import main as trainer_main
    from culler_trainer.params import parse_args

    # Training needs verified ImageNet branches (test_training_paths_saan.py tests the refusal).
    monkeypatch.setattr(
        backbones, "PRETRAINED_BACKBONES", write_imagenet_standins(scorer_dir("saan"))
    )

    folder = tmp_path / "images"
    paths = write_photos(folder, 4)
    lines = ["image,score"] + [f"{p.name},{3 + i}" for i, p in enumerate(paths)]
    (tmp_path / "baid.csv").write_text("\n".join(lines) + "\n")
    args = parse_args(
        [
            "--csv", str(tmp_path / "baid.csv"), "--images", str(folder), "--model", "saan",
            "--norm", "group", "--schedule", "adam:1e-5:1:mse", "--batch-size", "2",
            "--val-fraction", "0.5", "--runs-dir", str(tmp_path / "runs"), "--name", "saan",
        ]
    )  # fmt: skip
    result = trainer_main.run(args)
    assert len(result.history) == 1 and "val_plcc" in result.best
    state = torch.load(result.run_dir / "model.pt", weights_only=True)
    assert state["net.head.fc2.weight"].shape == (1, 2048)
    # The run's checkpoint imports as the scorer's weights (GroupNorm variant recognised).
    files = SaanScorer.convert_weights(result.run_dir / "model.pt", tmp_path / "work")
    from culler.models.weights import load_state_dict

    assert convert.norm_of(load_state_dict(files["saan.safetensors"])) == "gn"
