"""Where a CharLeNet training run starts: BVLC's ImageNet CaffeNet, as seed 004 trained it.

The paper's core step is transfer: every layer of the ImageNet CaffeNet (conv1 … fc7) is copied, fc8
is replaced by a new 2- or 3-way layer (Caffe's gaussian filler, σ .01), and the new layer learns ten
times faster than the transferred ones (the trainer's ``--head-lr-mult``, 10 by default). A CaffeNet
trained from random initialisation on a few thousand photos learns little, so culler refuses to start
one: training needs the ImageNet CaffeNet installed, an installed CharLeNet to fine-tune, or a file
given with ``--init``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from culler_plugins.charlenet.convert import IMAGENET_CLASSES, IMAGENET_WEIGHTS, convert_file
from culler_plugins.charlenet.convert import weight_name as _weight_name

from culler.api import (
    WeightsError,
    WeightsMissing,
    WeightSpec,
    load_state_dict,
    resolve,
    sha256_file,
)

SCORER_ID = "charlenet"
CAFFENET_URL = "http://dl.caffe.berkeleyvision.org/bvlc_reference_caffenet.caffemodel"

IMAGENET_SPEC = WeightSpec(
    name=IMAGENET_WEIGHTS,
    source="",
    sha256="",
    size=None,
    licence="BVLC: unrestricted use",
    description=(
        "BVLC's ImageNet CaffeNet (bvlc_reference_caffenet), what `culler train --model charlenet` "
        f"transfers from; download {CAFFENET_URL} and run `culler models import charlenet "
        "bvlc_reference_caffenet.caffemodel`"
    ),
)

HOW_TO_GET = (
    "CharLeNet trains from BVLC's ImageNet CaffeNet (seed 004), which is not installed: download "
    f"bvlc_reference_caffenet.caffemodel ({CAFFENET_URL}, about 240 MB, listed in Caffe's model zoo) and "
    "run `culler models import charlenet bvlc_reference_caffenet.caffemodel` (an .npz of its blobs "
    "works too); or fine-tune a CharLeNet you have with `--init FILE`. It is never trained from "
    "random initialisation"
)


def _installed(spec_name: str) -> Path | None:
    """The verified installed file of that name, or None when absent (damaged files raise)."""
    spec = IMAGENET_SPEC if spec_name == IMAGENET_WEIGHTS else WeightSpec(spec_name, "", "")
    try:
        return resolve(SCORER_ID, spec)
    except WeightsMissing:
        return None


def _state_of(path: Path) -> dict[str, Any]:
    """A CharLeNet/CaffeNet state dict from any file the importer accepts (.caffemodel, .npz, …)."""
    if path.suffix == ".safetensors":
        return load_state_dict(path)
    with tempfile.TemporaryDirectory(prefix="culler-charlenet-") as tmp:
        converted = convert_file(path, Path(tmp))
        return load_state_dict(next(iter(converted.values())))


def _candidate(init: str, num_classes: int) -> tuple[Path, str]:
    if init == "scratch":
        raise ValueError(f"--init scratch: {HOW_TO_GET}")
    if init != "base":
        path = Path(init)
        if not path.is_file():
            raise FileNotFoundError(f"--init {path}: no such file")
        return path, f"file {path.name}"
    imagenet = _installed(IMAGENET_WEIGHTS)
    if imagenet is not None:
        return imagenet, "ImageNet CaffeNet"
    own = _installed(_weight_name(num_classes))
    if own is not None:
        return own, f"installed CharLeNet ({num_classes} classes)"
    raise ValueError(HOW_TO_GET)


def start_weights(net: Any, init: str = "base") -> dict[str, str]:
    """Load ``net``'s starting weights in place; return where they came from (``from``, ``file``,
    ``sha256``) for the run record.

    An ImageNet CaffeNet (1000 outputs) gives every layer but fc8, which keeps its fresh
    initialisation; a CharLeNet with ``net``'s classes gives everything (a fine-tune).
    """
    path, label = _candidate(init, net.num_classes)
    try:
        state = _state_of(path)
    except WeightsError as exc:
        raise ValueError(f"{path.name} cannot start a CharLeNet: {exc}") from exc
    classes = int(state["classifier.fc8.bias"].shape[0])
    if classes == IMAGENET_CLASSES:
        state = {k: v for k, v in state.items() if not k.startswith("classifier.fc8.")}
        missing, unexpected = net.load_state_dict(state, strict=False)
        if unexpected or set(missing) != {"classifier.fc8.weight", "classifier.fc8.bias"}:
            raise ValueError(f"{path.name} does not fit CaffeNet ({missing or unexpected})")
        label += ": conv1 … fc7 transferred, new fc8"
    elif classes == net.num_classes:
        net.load_state_dict(state, strict=True)
        label += ": fine-tuned"
    else:
        raise ValueError(
            f"{path.name} is a {classes}-way CharLeNet; this run trains {net.num_classes} classes. "
            "Start from the ImageNet CaffeNet instead (--init base after importing it)"
        )
    return {"from": label, "file": path.name, "sha256": sha256_file(path)}
