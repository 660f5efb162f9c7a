"""CharLeNet: CaffeNet's shapes from the prototxt arithmetic, Caffe-layout arrays converted and run
against a from-the-definition Caffe forward pass, the scorer through `culler scan`, one trainer epoch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from culler_plugins.charlenet import CharLeNetScorer, convert
from culler_plugins.charlenet.model import CaffeNet, build_charlenet, preprocess
from PIL import Image

from culler.catalog import score_json
from culler.models.weights import (
    WeightsError,
    WeightsMissing,
    install_file,
    load_state_dict,
    scorer_dir,
)
from culler.testing import available_samples, write_photos

#: CaffeNet's layers as the prototxt defines them: (out, in per group, kernel, groups).
CONVS = {
    "conv1": (96, 3, 11, 1),
    "conv2": (256, 48, 5, 2),
    "conv3": (384, 256, 3, 1),
    "conv4": (384, 192, 3, 2),
    "conv5": (256, 192, 3, 2),
}
FCS = {"fc6": (4096, 256 * 6 * 6), "fc7": (4096, 4096)}


def test_parameter_counts_follow_the_prototxt():
    conv1 = 96 * 3 * 11 * 11 + 96  # 34 944
    conv2 = 256 * (96 // 2) * 5 * 5 + 256  # 2 groups: 307 456
    conv3 = 384 * 256 * 3 * 3 + 384  # 885 120
    conv4 = 384 * (384 // 2) * 3 * 3 + 384  # 663 936
    conv5 = 256 * (384 // 2) * 3 * 3 + 256  # 442 624
    fc6 = 256 * 6 * 6 * 4096 + 4096  # 37 752 832
    fc7 = 4096 * 4096 + 4096  # 16 781 312
    body = conv1 + conv2 + conv3 + conv4 + conv5 + fc6 + fc7
    # The ImageNet CaffeNet (fc8 4096 → 1000) has the well-known 60 965 224 parameters.
    assert body + 4096 * 1000 + 1000 == 60_965_224
    for classes in (2, 3):
        model = build_charlenet(classes)
        assert sum(p.numel() for p in model.parameters()) == body + 4096 * classes + classes
    assert sum(p.numel() for p in build_charlenet(2).parameters()) == 56_876_418


def test_it_is_caffenet_not_torchvision_alexnet():
    """torchvision's alexnet has 64-192-384-256-256 ungrouped convolutions and no LRN."""
    model = build_charlenet(2)
    f = model.features
    assert [f.conv2.groups, f.conv4.groups, f.conv5.groups] == [2, 2, 2]
    assert f.conv1.out_channels == 96 and f.conv2.weight.shape == (256, 48, 5, 5)
    assert isinstance(f.norm1, torch.nn.LocalResponseNorm) and f.norm1.size == 5
    with pytest.raises(ValueError, match="227"):
        model(torch.zeros(1, 3, 160, 160))


def test_preprocess_is_227_bgr_minus_mean():
    x = preprocess(Image.new("RGB", (400, 300), (200, 100, 50)))
    assert x.shape == (3, 227, 227)
    assert x[:, 0, 0].tolist() == [50 - 104, 100 - 117, 200 - 123]


# -- Caffe-layout arrays ---------------------------------------------------------------------------
def caffe_arrays(classes: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Weights in Caffe's blob layout, named LAYER/0 (weight) and LAYER/1 (bias)."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for name, (out, cin, k, _) in CONVS.items():
        fan_in = cin * k * k
        arrays[f"{name}/0"] = rng.standard_normal((out, cin, k, k), np.float32) / np.sqrt(fan_in)
        arrays[f"{name}/1"] = rng.uniform(0, 0.1, out).astype(np.float32)
    for name, (out, cin) in {**FCS, "fc8": (classes, 4096)}.items():
        scale = (4.0 if name == "fc8" else 1.0) / np.sqrt(cin)
        arrays[f"{name}/0"] = rng.standard_normal((out, cin), np.float32) * np.float32(scale)
        arrays[f"{name}/1"] = rng.uniform(0, 0.1, out).astype(np.float32)
    return {name: array.astype(np.float32, copy=False) for name, array in arrays.items()}


def caffe_forward(arrays: dict[str, np.ndarray], x: torch.Tensor) -> torch.Tensor:
    """CaffeNet's forward pass from Caffe's layer definitions, one group at a time."""
    t = {k: torch.from_numpy(v) for k, v in arrays.items()}

    def conv(x, name, stride=1, pad=0):
        groups = CONVS[name][3]
        w, b = t[f"{name}/0"], t[f"{name}/1"]
        xs, ws, bs = x.chunk(groups, 1), w.chunk(groups, 0), b.chunk(groups, 0)
        return torch.cat(
            [F.conv2d(xi, wi, bi, stride, pad) for xi, wi, bi in zip(xs, ws, bs)], 1
        ).relu()

    def pool(x):  # Caffe rounds the output size up
        return F.max_pool2d(x, 3, 2, ceil_mode=True)

    def lrn(x, size=5, alpha=1e-4, beta=0.75):
        sq = F.pad(x * x, (0, 0, 0, 0, size // 2, size // 2))
        window = sum(sq[:, i : i + x.shape[1]] for i in range(size))
        return x / (1 + alpha / size * window) ** beta

    x = lrn(pool(conv(x, "conv1", stride=4)))
    x = lrn(pool(conv(x, "conv2", pad=2)))
    x = pool(conv(conv(conv(x, "conv3", pad=1), "conv4", pad=1), "conv5", pad=1)).flatten(1)
    x = F.linear(x, t["fc6/0"], t["fc6/1"]).relu()
    x = F.linear(x, t["fc7/0"], t["fc7/1"]).relu()
    return F.linear(x, t["fc8/0"], t["fc8/1"])


@pytest.fixture(scope="module")
def npz2(tmp_path_factory):
    arrays = caffe_arrays(2)
    path = tmp_path_factory.mktemp("caffe") / "charlenet.npz"
    np.savez(path, **arrays)
    return arrays, path


def photos_tensor(n=2):
    return torch.stack([preprocess(im) for _, im in available_samples()[:n]])


def test_caffe_arrays_convert_and_compute_caffes_forward(npz2, tmp_path):
    arrays, path = npz2
    files = CharLeNetScorer.convert_weights(path, tmp_path / "work")
    assert set(files) == {"charlenet.safetensors"}
    model = CaffeNet(2)
    model.load_state_dict(load_state_dict(files["charlenet.safetensors"]), strict=True)
    model.eval()
    x = photos_tensor()
    with torch.no_grad():
        got, again = model(x), model(x)
        want = caffe_forward(arrays, x)
    assert got.shape == (2, 2) and torch.equal(got, again)
    assert torch.allclose(got, want, rtol=1e-4, atol=1e-4), (got, want)
    # Our own safetensors imports unchanged (a round trip).
    round_trip = CharLeNetScorer.convert_weights(files["charlenet.safetensors"], tmp_path / "rt")
    a = load_state_dict(round_trip["charlenet.safetensors"])
    b = load_state_dict(files["charlenet.safetensors"])
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_other_naming_scheme_and_old_fc_blobs(npz2, tmp_path):
    arrays, _ = npz2
    renamed = {}
    for name, array in arrays.items():
        layer, index = name.split("/")
        layer = "fc8_flickr" if layer == "fc8" else layer
        if layer.startswith("fc") and index == "0":
            array = array[None, None]  # old InnerProduct blobs: (1, 1, out, in)
        renamed[f"{layer}_{'w' if index == '0' else 'b'}"] = array
    a = convert.caffe_to_state_dict(arrays)
    b = convert.caffe_to_state_dict(renamed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert a["features.conv2.weight"].shape == (256, 48, 5, 5)


def test_converter_refuses_what_it_cannot_use(tmp_path):
    shapes = {k: np.zeros(1, np.float32) for k in ("conv3/1",)}
    with pytest.raises(WeightsError, match="fc8"):
        convert.split_layers(shapes)
    ungrouped = caffe_arrays(2, seed=1)
    ungrouped["conv2/0"] = np.zeros((256, 96, 5, 5), np.float32)
    with pytest.raises(WeightsError, match="2-group"):
        convert.caffe_to_state_dict(ungrouped)
    five = caffe_arrays(2, seed=1)
    five["fc8/0"], five["fc8/1"] = np.zeros((5, 4096), np.float32), np.zeros(5)
    with pytest.raises(WeightsError, match="ImageNet CaffeNet it is trained from"):
        convert.caffe_to_state_dict(five)
    bad = tmp_path / "objects.npz"
    np.savez(bad, conv1=np.array([{"code": 1}], dtype=object))
    with pytest.raises(WeightsError):
        CharLeNetScorer.convert_weights(bad, tmp_path / "w")


# -- the scorer ------------------------------------------------------------------------------------
def test_scorer_refuses_without_weights():
    with pytest.raises(WeightsMissing, match="culler models import charlenet"):
        CharLeNetScorer().load("cpu")
    assert CharLeNetScorer.default_enabled is False
    assert CharLeNetScorer.weight_specs({"classes": 3})[0].name == "charlenet-3way.safetensors"
    with pytest.raises(WeightsMissing, match="charlenet-3way"):
        CharLeNetScorer({"classes": 3}).load("cpu")
    with pytest.raises(ValueError, match="2 or 3"):
        CharLeNetScorer({"classes": 5})


def import_weights(culler_cli, scorer_id, src, workdir):
    """`culler models import` when it exists; until then the same two steps it performs."""
    from culler.cli import cli

    models = cli.commands.get("models")
    if models is not None and "import" in getattr(models, "commands", {}):
        culler_cli("models", "import", scorer_id, src)
        return
    for name, path in CharLeNetScorer.convert_weights(Path(src), workdir).items():
        install_file(scorer_id, name, path, source="import", origin=str(src))


def test_scan_scores_real_photos_with_imported_caffe_weights(npz2, tmp_path, culler_cli):
    _, path = npz2
    import_weights(culler_cli, "charlenet", path, tmp_path / "work")
    assert CharLeNetScorer.default_enabled is True
    folder = tmp_path / "photos"
    write_photos(folder, 3)
    db = tmp_path / "culler.db"
    culler_cli("scan", folder, "--db", db, "--scorer", "charlenet", "--workers", "0", "--json")
    from culler.catalog import open_catalog

    catalog = open_catalog(db)
    try:
        rows = catalog.query(
            "SELECT s.score, s.reasons, s.extra FROM scores s JOIN scorers r ON r.id = s.scorer_pk "
            "WHERE r.scorer_id = 'charlenet'"
        )
    finally:
        catalog.close()
    assert len(rows) == 3
    for row in rows:
        extra = score_json.load(row["extra"])
        probs = extra["probabilities"]
        assert row["score"] == pytest.approx(10 * probs["good"])
        assert sum(probs.values()) == pytest.approx(1.0)
        assert extra["class"] == max(probs, key=probs.get)
        assert score_json.load(row["reasons"])[0].startswith(f"P(good) {probs['good']:.2f}")


def test_three_way_head(tmp_path, run_scorer):
    arrays = caffe_arrays(3, seed=3)
    path = tmp_path / "three.npz"
    np.savez(path, **arrays)
    files = CharLeNetScorer.convert_weights(path, tmp_path / "work")
    assert set(files) == {"charlenet-3way.safetensors"}
    for name, file in files.items():
        install_file("charlenet", name, file)
    assert (scorer_dir("charlenet") / "charlenet-3way.safetensors").is_file()
    images = [im for _, im in available_samples()[:2]]
    results = run_scorer(CharLeNetScorer, images, config={"classes": 3})
    want = torch.softmax(caffe_forward(arrays, photos_tensor()), -1)
    for result, p in zip(results, want):
        assert list(result.extra["probabilities"]) == ["bad", "average", "good"]
        assert result.score == pytest.approx(10 * float(p[2]), abs=1e-3)
        assert "P(average)" in result.reasons[0]


def test_one_training_epoch_through_the_trainer(tmp_path, npz2):
    """Fine-tuning an installed CharLeNet (no ImageNet CaffeNet needed); transfer from ImageNet is
    tested in test_training_paths_charlenet.py."""
    from culler_trainer import main as trainer_main
    from culler_trainer.params import parse_args

    for name, file in CharLeNetScorer.convert_weights(npz2[1], tmp_path / "installed").items():
        install_file("charlenet", name, file)

    folder = tmp_path / "images"
    paths = write_photos(folder, 4)
    lines = ["image,score"] + [f"{p.name},{s}" for p, s in zip(paths, (2, 8, 3, 7))]
    (tmp_path / "ava.csv").write_text("\n".join(lines) + "\n")
    args = parse_args(
        [
            "--csv", str(tmp_path / "ava.csv"), "--images", str(folder), "--model", "charlenet",
            "--classes", "2", "--schedule", "adam:1e-5:1:ce", "--unfreeze", "all",
            "--batch-size", "2", "--val-fraction", "0.5",
            "--runs-dir", str(tmp_path / "runs"), "--name", "cnet",
        ]
    )  # fmt: skip
    result = trainer_main.run(args)
    assert len(result.history) == 1 and "val_accuracy" in result.best
    run_file = result.run_dir / "model.pt"
    assert torch.load(run_file, weights_only=True)["net.classifier.fc8.weight"].shape == (2, 4096)
    # The run's checkpoint imports as the scorer's 2-way weights.
    assert set(CharLeNetScorer.convert_weights(run_file, tmp_path / "w")) == {
        "charlenet.safetensors"
    }
