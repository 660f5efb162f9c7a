"""Caffe-layout CaffeNet weights → culler's CharLeNet state dict (``culler models import charlenet``).

Three kinds of file are accepted:

* a ``.caffemodel`` (Caffe's protobuf), read by :mod:`culler_plugins.charlenet.caffemodel` without
  Caffe — BVLC's ``bvlc_reference_caffenet.caffemodel`` included;
* an ``.npz`` of the blobs, e.g. exported with pycaffe::

    net = caffe.Net("deploy.prototxt", "charlenet.caffemodel", caffe.TEST)
    numpy.savez("charlenet.npz", **{f"{n}/{i}": b.data for n, bs in net.params.items()
                                    for i, b in enumerate(bs)})

* a CharLeNet state dict (a ``culler train`` run's ``model.pt`` or culler's own safetensors).

Accepted array names, per layer ``conv1 … conv5, fc6, fc7, fc8``:

* ``LAYER/0`` (weights) and ``LAYER/1`` (bias) — Caffe's blob order, as above;
* ``LAYER_w`` and ``LAYER_b``.

The classifier may carry a suffix (``fc8_flickr``, ``fc8-aesthetic``): any single layer whose name starts
with ``fc8`` is the classifier. Shapes are Caffe's, which PyTorch shares: conv weights
(out, in / groups, kh, kw) — conv2/4/5 have 2 groups, so their ``in`` is half the previous width — and
fc weights (out, in); old caffemodels store fc weights as (1, 1, out, in), which is accepted. fc6's
inputs are conv5's output flattened in (C, H, W) order in both frameworks, so no permutation is needed.
Caffe's conv1 reads BGR input, which :func:`culler_plugins.charlenet.model.preprocess` provides.

A classifier with 2 (bad, good) or 3 (bad, average, good) outputs, "good" last, installs as the
scorer's weights. The ImageNet CaffeNet (1000 outputs) installs as ``caffenet-imagenet.safetensors``:
it does not score photos, it is what ``culler train --model charlenet`` transfers from (seed 004).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from culler_plugins.charlenet.names import IMAGENET_CLASSES, IMAGENET_WEIGHTS

from culler.api import WeightsError, check_zip_members, load_state_dict, state_mismatch

LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8")


def weight_name(num_classes: int) -> str:
    """The installed file for a head: ``charlenet.safetensors`` (2-way), ``charlenet-3way.safetensors``,
    or the ImageNet CaffeNet's :data:`IMAGENET_WEIGHTS` (1000-way)."""
    if num_classes == IMAGENET_CLASSES:
        return IMAGENET_WEIGHTS
    return (
        "charlenet.safetensors" if num_classes == 2 else f"charlenet-{num_classes}way.safetensors"
    )


def module_key(layer: str) -> str:
    return f"features.{layer}" if layer.startswith("conv") else f"classifier.{layer}"


def _classifier_name(names: set[str]) -> str:
    found = sorted({n for n in names if n.startswith("fc8")})
    if len(found) != 1:
        raise WeightsError(
            f"expected exactly one classifier layer named fc8…, found {found or 'none'}"
        )
    return found[0]


def split_layers(arrays: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{layer: (weight, bias)}`` from an npz's names (``LAYER/0``, ``LAYER/1`` or ``LAYER_w``, ``LAYER_b``)."""
    blobs: dict[str, dict[str, np.ndarray]] = {}
    for name, array in arrays.items():
        if "/" in name:
            layer, index = name.rsplit("/", 1)
            part = {"0": "w", "1": "b"}.get(index)
        else:
            layer, _, suffix = name.rpartition("_")
            part = suffix if suffix in ("w", "b") else None
        if part is None or not layer:
            raise WeightsError(
                f"array {name!r}: expected LAYER/0 and LAYER/1 (Caffe blob order) or LAYER_w and LAYER_b"
            )
        blobs.setdefault(layer, {})[part] = array
    fc8 = _classifier_name(set(blobs))
    layers = {}
    for layer in LAYERS:
        source = fc8 if layer == "fc8" else layer
        parts = blobs.get(source, {})
        if set(parts) != {"w", "b"}:
            raise WeightsError(f"layer {source} needs both a weight and a bias array")
        layers[layer] = (parts["w"], parts["b"])
    unused = set(blobs) - set(LAYERS) - {fc8}
    if unused:
        raise WeightsError(f"unexpected layers {sorted(unused)}: CaffeNet has {', '.join(LAYERS)}")
    return layers


def caffe_to_state_dict(arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """Caffe arrays → a CharLeNet state dict (float32 torch tensors), shapes checked."""
    import torch
    from culler_plugins.charlenet.model import CaffeNet

    layers = split_layers(arrays)
    num_classes = int(np.asarray(layers["fc8"][1]).reshape(-1).shape[0])
    _check_classes(num_classes)
    with torch.device("meta"):
        want = CaffeNet(num_classes).state_dict()
    state = {}
    for layer, (weight, bias) in layers.items():
        key = module_key(layer)
        weight = np.asarray(weight, dtype=np.float32)
        if layer.startswith("fc") and weight.ndim == 4 and weight.shape[:2] == (1, 1):
            weight = weight[0, 0]  # old Caffe InnerProduct blobs: (1, 1, out, in)
        bias = np.asarray(bias, dtype=np.float32).reshape(-1)
        for suffix, array in (("weight", weight), ("bias", bias)):
            expected = tuple(want[f"{key}.{suffix}"].shape)
            if array.shape != expected:
                hint = (
                    " (conv2/4/5 are 2-group convolutions: in = half the previous width)"
                    if layer in ("conv2", "conv4", "conv5")
                    else ""
                )
                raise WeightsError(
                    f"{layer} {suffix} has shape {array.shape}, CaffeNet needs {expected}{hint}"
                )
            state[f"{key}.{suffix}"] = torch.from_numpy(np.ascontiguousarray(array))
    return state


def _check_classes(num_classes: int) -> None:
    if num_classes not in (2, 3, IMAGENET_CLASSES):
        raise WeightsError(
            f"fc8 has {num_classes} outputs; CharLeNet needs 2 (bad, good) or 3 (bad, average, good), "
            f"or {IMAGENET_CLASSES} for the ImageNet CaffeNet it is trained from"
        )


def num_classes_of(state: dict[str, Any]) -> int:
    return int(state["classifier.fc8.bias"].shape[0])


def check(state: dict[str, Any], model: Any) -> None:
    """Refuse a state dict that does not fit ``model`` exactly (names and shapes)."""
    problems = state_mismatch(state, model.state_dict())
    if problems:
        raise WeightsError(f"not a CharLeNet state dict: {problems}")


def _strip(state: dict[str, Any], prefix: str) -> dict[str, Any]:
    if state and all(k.startswith(prefix) for k in state):
        return {k[len(prefix) :]: v for k, v in state.items()}
    return state


def convert_file(src: Path, workdir: Path) -> dict[str, Path]:
    """A ``.caffemodel``, a Caffe ``.npz``, a ``culler train --model charlenet`` run's model.pt or
    culler's own layout → ``charlenet[-3way].safetensors`` (or ``caffenet-imagenet.safetensors`` for
    the ImageNet CaffeNet), checked against the network before anything is installed."""
    import torch
    from culler_plugins.charlenet.model import CaffeNet
    from safetensors.torch import save_file

    if src.suffix.lower() == ".caffemodel":
        from culler_plugins.charlenet.caffemodel import read_caffemodel

        state = caffe_to_state_dict(read_caffemodel(src))
    elif zipfile.is_zipfile(src) and src.suffix == ".npz":
        check_zip_members(src, ".npz")  # every array's size, before numpy inflates one
        try:
            with np.load(src, allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in npz.files}
        except ValueError as exc:
            raise WeightsError(f"{src}: an .npz of plain numeric arrays is needed ({exc})") from exc
        state = caffe_to_state_dict(arrays)
    else:
        state = _strip(_strip(load_state_dict(src), "module."), "net.")
        if "classifier.fc8.bias" not in state:
            raise WeightsError(
                f"{src} is neither a Caffe-layout .npz (conv1/0, conv1/1, …) nor a CharLeNet state "
                "dict (features.conv1.weight, …, classifier.fc8.bias)"
            )
        state = {k: v.detach().float().contiguous() for k, v in state.items()}
    num_classes = num_classes_of(state)
    _check_classes(num_classes)
    with torch.device("meta"):
        check(state, CaffeNet(num_classes))
    workdir.mkdir(parents=True, exist_ok=True)
    name = weight_name(num_classes)
    out = workdir / name
    save_file(state, str(out), metadata={"format": "culler-charlenet", "classes": str(num_classes)})
    return {name: out}
