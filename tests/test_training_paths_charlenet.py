"""CharLeNet as seed 004 trained it: BVLC's ImageNet CaffeNet imported from a .caffemodel (read by a
hand-written protobuf wire-format reader) or an .npz, every layer but fc8 transferred, a new 2-way fc8
learning 10× faster, AVA votes turned into good/bad classes, and no training from random weights."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from culler_plugins.charlenet import caffemodel, transfer
from culler_plugins.charlenet.convert import IMAGENET_WEIGHTS
from culler_plugins.charlenet.testing import blob, key, ld, varint, write_caffemodel
from culler_trainer import data
from culler_trainer import main as trainer_main
from culler_trainer.params import parse_args
from test_charlenet import CONVS, FCS  # noqa: I001 -- tests/ is on sys.path under pytest

from culler.models.weights import WeightsError, load_state_dict, scorer_dir, sha256_file
from culler.testing import available_samples


def test_reader_on_a_tiny_caffemodel_in_both_formats(tmp_path):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 3, 2, 2)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    fc = rng.standard_normal((5, 16)).astype(np.float32)
    fc_bias = rng.standard_normal(5).astype(np.float32)
    layers = {"data": [], "conv1": [w, b], "relu1": [], "fc8_new": [fc, fc_bias]}
    for v1 in (False, True):
        path = write_caffemodel(tmp_path / f"tiny-{v1}.caffemodel", layers, v1)
        arrays = caffemodel.read_caffemodel(path)
        assert set(arrays) == {"conv1/0", "conv1/1", "fc8_new/0", "fc8_new/1"}
        assert np.array_equal(arrays["conv1/0"], w) and np.array_equal(arrays["conv1/1"], b)
        assert np.array_equal(arrays["fc8_new/0"], fc)
        assert np.array_equal(arrays["fc8_new/1"], fc_bias)
    # Legacy 4-d shapes, one float per field (unpacked), and double data all read the same.
    legacy = tmp_path / "legacy.caffemodel"
    with open(legacy, "wb") as fh:
        unpacked = blob(fc, legacy=True, packed=False)
        doubles = key(1, 0) + varint(1) + key(4, 0) + varint(4) + ld(8, b.astype("<f8").tobytes())
        fh.write(ld(2, ld(4, b"fc6") + ld(6, unpacked) + ld(6, doubles)))
    arrays = caffemodel.read_caffemodel(legacy)
    assert arrays["fc6/0"].shape == (1, 1, 5, 16) and np.array_equal(arrays["fc6/0"][0, 0], fc)
    assert arrays["fc6/1"].shape == (1, 1, 1, 4) and np.allclose(arrays["fc6/1"].ravel(), b)
    # Damage is reported, never half-read.
    cut = tmp_path / "cut.caffemodel"
    cut.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(WeightsError, match="damaged|truncated"):
        caffemodel.read_caffemodel(cut)
    empty = tmp_path / "empty.caffemodel"
    empty.write_bytes(ld(1, b"net"))
    with pytest.raises(WeightsError, match="no layer with weights"):
        caffemodel.read_caffemodel(empty)


# -- the ImageNet CaffeNet -------------------------------------------------------------------------
def imagenet_arrays(seed: int = 0) -> dict[str, list[np.ndarray]]:
    """CaffeNet with a 1000-way fc8 in BVLC's blob shapes, with small random values."""
    rng = np.random.default_rng(seed)
    shapes = {n: (o, i, k, k) for n, (o, i, k, _) in CONVS.items()}
    shapes.update({**FCS, "fc8": (1000, 4096)})
    return {
        name: [
            (rng.standard_normal(shape, dtype=np.float32) * 0.01),
            rng.uniform(0, 0.1, shape[0]).astype(np.float32),
        ]
        for name, shape in shapes.items()
    }


@pytest.fixture(scope="module")
def imagenet_caffemodel(tmp_path_factory):
    """bvlc_reference_caffenet.caffemodel's layout: V1 layers, legacy 4-d blob shapes (fc weights
    (1, 1, out, in)), conv/relu/pool/norm layers in prototxt order."""
    arrays = imagenet_arrays()
    layers: dict[str, list[np.ndarray]] = {"data": []}
    for name in ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"):
        layers[name] = arrays[name]
        layers[f"relu_{name}"] = []
    path = tmp_path_factory.mktemp("zoo") / "bvlc_reference_caffenet.caffemodel"
    write_caffemodel(path, layers, v1=True, legacy=True)
    return path, arrays


def test_imagenet_caffenet_imports_from_caffemodel_and_npz(
    imagenet_caffemodel, tmp_path, culler_cli
):
    path, arrays = imagenet_caffemodel
    out = culler_cli("models", "import", "charlenet", path).output
    assert IMAGENET_WEIGHTS in out
    state = load_state_dict(scorer_dir("charlenet") / IMAGENET_WEIGHTS)
    assert state["classifier.fc8.weight"].shape == (1000, 4096)
    assert torch.equal(state["features.conv2.weight"], torch.from_numpy(arrays["conv2"][0]))
    assert torch.equal(state["classifier.fc6.weight"], torch.from_numpy(arrays["fc6"][0]))
    # The same network as an .npz of its blobs installs the same tensors.
    npz = tmp_path / "caffenet.npz"
    np.savez(npz, **{f"{n}/{i}": a for n, blobs in arrays.items() for i, a in enumerate(blobs)})
    from culler_plugins.charlenet import CharLeNetScorer

    files = CharLeNetScorer.convert_weights(npz, tmp_path / "w")
    again = load_state_dict(files[IMAGENET_WEIGHTS])
    assert all(torch.equal(again[k], state[k]) for k in state)


# -- AVA → classes ---------------------------------------------------------------------------------
def ava_line(index: int, image_id: str, mean_bin: int, spread: int = 0) -> str:
    votes = [0] * 10
    votes[mean_bin - 1] = 10
    if spread:
        votes[mean_bin] = spread  # pulls the mean up a little
    return " ".join(map(str, [index, image_id, *votes, 0, 0, 1]))


def test_ava_means_become_classes_by_the_papers_rule(tmp_path):
    # means: 3, 8, 5 (band), 5.5 exactly (band: "> 5.5" is good), 4.4 → bad
    lines = [
        ava_line(1, "a", 3), ava_line(2, "b", 8), ava_line(3, "c", 5),
        ava_line(4, "d", 5, spread=10), ava_line(5, "e", 4, spread=4),
    ]  # fmt: skip
    (tmp_path / "AVA.txt").write_text("\n".join(lines) + "\n")
    two = data.from_ava(tmp_path / "AVA.txt", tmp_path, classes=2)
    assert {s.key: s.target_class for s in two.samples} == {"a": 0, "b": 1, "e": 0}
    three = data.from_ava(tmp_path / "AVA.txt", tmp_path, classes=3)
    assert {s.key: s.target_class for s in three.samples} == {
        "a": 0, "b": 2, "c": 1, "d": 1, "e": 0,
    }  # fmt: skip
    plain = parse_args(["--ava", "x.txt", "--images", "y", "--model", "charlenet"])
    assert plain.classes == 2  # a CharLeNet run is good/bad unless --classes 3


# -- training ----------------------------------------------------------------------------------------
@pytest.fixture
def ava_folder(tmp_path):
    """Eight real photos (and their mirror images) with AVA votes: half good, half bad, two in the
    ambiguous band that the 2-way split must drop."""
    folder = tmp_path / "ava"
    folder.mkdir()
    lines = []
    photos = [im for _, im in available_samples()]
    means = [8, 2, 7, 3, 5, 9, 1, 5]
    for i, mean in enumerate(means):
        image = photos[i % len(photos)]
        if i >= len(photos):
            image = image.transpose(0)
        image.save(folder / f"{100 + i}.jpg", quality=90)
        lines.append(ava_line(i + 1, str(100 + i), mean))
    (tmp_path / "AVA.txt").write_text("\n".join(lines) + "\n")
    return tmp_path / "AVA.txt", folder


def charlenet_args(tmp_path, ava, folder, *extra):
    return parse_args(
        ["--ava", str(ava), "--images", str(folder), "--model", "charlenet", "--classes", "2",
         "--schedule", "adam:1e-5:1:ce", "--batch-size", "3", "--val-fraction", "0.34",
         "--runs-dir", str(tmp_path / "runs"), "--no-progress", *extra]
    )  # fmt: skip


def test_training_refuses_random_initialisation_and_says_how(tmp_path, ava_folder, culler_cli):
    ava, folder = ava_folder
    with pytest.raises(ValueError, match="bvlc_reference_caffenet.caffemodel"):
        trainer_main.run(charlenet_args(tmp_path, ava, folder, "--name", "none"))
    with pytest.raises(ValueError, match="never trained from random"):
        trainer_main.run(charlenet_args(tmp_path, ava, folder, "--name", "s", "--init", "scratch"))
    result = culler_cli(
        "train", "--ava", ava, "--images", folder, "--model", "charlenet",
        "--runs-dir", tmp_path / "runs", "--name", "cli", expect=2,
    )  # fmt: skip
    assert "culler models import charlenet bvlc_reference_caffenet.caffemodel" in result.output


def test_transfer_from_imagenet_with_a_new_fc8_at_ten_times_the_rate(
    imagenet_caffemodel, tmp_path, ava_folder, culler_cli, monkeypatch
):
    path, arrays = imagenet_caffemodel
    culler_cli("models", "import", "charlenet", path)
    installed = scorer_dir("charlenet") / IMAGENET_WEIGHTS
    seen, starts = [], []
    real = trainer_main.train_one_epoch

    def spy(model, data_, optimizer, *a, **kw):
        seen.append([g["lr"] for g in optimizer.param_groups])
        starts.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        return real(model, data_, optimizer, *a, **kw)

    monkeypatch.setattr(trainer_main, "train_one_epoch", spy)
    ava, folder = ava_folder
    result = trainer_main.run(charlenet_args(tmp_path, ava, folder, "--name", "transfer"))
    assert seen == [pytest.approx([1e-5, 1e-4])]  # fc8 learns 10× faster
    start = starts[0]
    for name, (weight, bias) in arrays.items():
        prefix = f"net.{'features' if name.startswith('conv') else 'classifier'}.{name}"
        if name == "fc8":  # new: Caffe's gaussian filler (σ .01), zero bias, 2 outputs
            assert start[f"{prefix}.weight"].shape == (2, 4096)
            assert float(start[f"{prefix}.weight"].std()) == pytest.approx(0.01, rel=0.05)
            assert float(start[f"{prefix}.bias"].abs().max()) == 0.0
        else:
            assert torch.equal(start[f"{prefix}.weight"], torch.from_numpy(weight))
            assert torch.equal(start[f"{prefix}.bias"], torch.from_numpy(bias))
    saved = json.loads((result.run_dir / "result.json").read_text())
    assert saved["init"]["sha256"] == sha256_file(installed)
    assert "conv1 … fc7 transferred, new fc8" in saved["init"]["from"]
    split = json.loads((result.run_dir / "split.json").read_text())
    assert len(split["train"]) + len(split["val"]) == 6  # the two 5.0 means were dropped
    assert "val_accuracy" in result.best


def test_fine_tune_of_an_installed_charlenet_needs_no_imagenet(tmp_path, ava_folder):
    from test_charlenet import caffe_arrays

    npz = tmp_path / "mine.npz"
    np.savez(npz, **caffe_arrays(2, seed=5))
    ava, folder = ava_folder
    result = trainer_main.run(
        charlenet_args(tmp_path, ava, folder, "--name", "ft", "--init", str(npz))
    )
    saved = json.loads((result.run_dir / "result.json").read_text())
    assert saved["init"]["file"] == "mine.npz" and saved["init"]["from"].endswith("fine-tuned")
    three = tmp_path / "three.npz"
    np.savez(three, **caffe_arrays(3, seed=5))
    with pytest.raises(ValueError, match="3-way CharLeNet"):
        trainer_main.run(charlenet_args(tmp_path, ava, folder, "--name", "x", "--init", str(three)))
    assert transfer.HOW_TO_GET.startswith("CharLeNet trains from BVLC's ImageNet CaffeNet")
