"""Where a SAAN training run starts, and the refusal to start anywhere else.

SAAN's generic branch and VGG-19 style encoder are frozen: whatever they hold when training starts is
what the trained model sees for ever. Trained from random initialisation they would hold noise, and the
result would still import and score like a real model — so training refuses to start unless torchvision's
ImageNet ResNet-50 and VGG-19 files are installed and pass their sha256 prefix check
(:mod:`culler_plugins.saan.backbones`), or a whole SAAN checkpoint (which carries trained branches) is
given with ``--init FILE`` to fine-tune.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from culler.api import WeightsError, load_state_dict, scorer_dir, sha256_file


def how_to_get() -> str:
    from culler_plugins.saan.backbones import PRETRAINED_BACKBONES

    urls = " and ".join(spec.source for spec in PRETRAINED_BACKBONES)
    return (
        "SAAN trains on frozen ImageNet branches (torchvision's ResNet-50 and VGG-19 IMAGENET1K_V1); "
        f"download {urls} into {scorer_dir('saan')} (or into torch's hub cache, where "
        "`torchvision.models.resnet50(weights='IMAGENET1K_V1')` and `vgg19(weights='IMAGENET1K_V1')` "
        "put them), or fine-tune a SAAN checkpoint with --init FILE. Training on random frozen "
        "branches is refused"
    )


def _backbones(net: Any) -> dict[str, str]:
    from culler_plugins.saan.backbones import PRETRAINED_BACKBONES, find_backbone
    from culler_plugins.saan.backbones import load_pretrained_backbones as load

    try:
        load(net, required=True)
    except WeightsError as exc:
        raise ValueError(f"{exc}. {how_to_get()}") from exc
    files = [find_backbone(spec) for spec in PRETRAINED_BACKBONES]
    return {
        "from": "ImageNet ResNet-50 + VGG-19 (torchvision)",
        "file": " + ".join(p.name for p in files if p is not None),
        "sha256": " + ".join(sha256_file(p) for p in files if p is not None),
    }


def _checkpoint(net: Any, path: Path) -> dict[str, str]:
    from culler_plugins.saan.convert import WEIGHT_NAME, check, convert_file, norm_of
    from culler_plugins.saan.model import NORM_NAMES

    if not path.is_file():
        raise FileNotFoundError(f"--init {path}: no such file")
    with tempfile.TemporaryDirectory(prefix="culler-saan-") as tmp:
        try:
            state = load_state_dict(convert_file(path, Path(tmp))[WEIGHT_NAME])
        except WeightsError as exc:
            raise ValueError(f"--init {path.name} cannot start a SAAN: {exc}") from exc
    norm = norm_of(state)
    if norm != net.norm:
        raise ValueError(
            f"--init {path.name} is the {NORM_NAMES[norm]} variant; this run builds "
            f"{NORM_NAMES[net.norm]}: pass the matching --norm"
        )
    check(state, net)
    net.load_state_dict(state, strict=True)
    return {"from": f"file {path.name}: fine-tuned", "file": path.name, "sha256": sha256_file(path)}


def start_weights(net: Any, init: str = "base") -> dict[str, str]:
    """Load ``net``'s starting weights in place; return where they came from for the run record."""
    if init == "scratch":
        raise ValueError(f"--init scratch: {how_to_get()}")
    if init == "base":
        return _backbones(net)
    return _checkpoint(net, Path(init))
