"""ImageNet backbones for training SAAN from scratch (not needed to score).

A trained SAAN checkpoint already contains both ResNet-50 branches and the VGG-19 encoder, so the scorer
needs only that one file. Training a new SAAN starts from torchvision's published ImageNet weights:
ResNet-50 (IMAGENET1K_V1) for both branches and VGG-19 (IMAGENET1K_V1) for the style encoder.

torchvision publishes these as ``NAME-HASH8.pth``, where HASH8 is the first 8 hex digits of the file's
sha256, and checks only that prefix when it downloads them; the full digests are not published next to
the files, so :data:`PRETRAINED_BACKBONES` carries an empty ``sha256`` and :func:`verify_prefix` checks the
prefix the way torchvision does. The files are looked for in the scorer's weights folder
(``culler models import``-ed or copied there) and in torch's hub cache, where torchvision keeps them.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from culler.api import WeightsError, WeightSpec, load_state_dict, scorer_dir, sha256_file

log = logging.getLogger(__name__)

_TORCHVISION = "https://download.pytorch.org/models/"
_LICENCE = (
    "BSD-3-Clause (torchvision); ImageNet weights for non-commercial research per ImageNet terms"
)

PRETRAINED_BACKBONES = [
    WeightSpec(
        name="resnet50-0676ba61.pth",
        source=_TORCHVISION + "resnet50-0676ba61.pth",
        sha256="",
        size=None,
        licence=_LICENCE,
        description="torchvision ResNet-50 IMAGENET1K_V1 (sha256 prefix 0676ba61): both SAAN branches",
    ),
    WeightSpec(
        name="vgg19-dcbb9e9d.pth",
        source=_TORCHVISION + "vgg19-dcbb9e9d.pth",
        sha256="",
        size=None,
        licence=_LICENCE,
        description="torchvision VGG-19 IMAGENET1K_V1 (sha256 prefix dcbb9e9d): the AdaIN style encoder",
    ),
]


def hash_prefix(spec: WeightSpec) -> str:
    """The sha256 prefix torchvision embeds in the file name (``resnet50-0676ba61.pth`` → ``0676ba61``)."""
    match = re.search(r"-([0-9a-f]{8,})\.", spec.name)
    if not match:
        raise ValueError(f"{spec.name} carries no hash prefix")
    return match.group(1)


_verified: dict[tuple[str, int, int], str] = {}


def verify_prefix(path: Path, spec: WeightSpec) -> None:
    """Refuse a file whose sha256 does not start with the prefix in the published name (hashed once
    per process and file version: hyper-parameter search builds many models)."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if _verified.get(key) == spec.name:
        return
    want = hash_prefix(spec)
    if not sha256_file(path).startswith(want):
        raise WeightsError(
            f"{path} is not torchvision's {spec.name}: its sha256 does not start with {want}; "
            f"download it again from {spec.source}"
        )
    _verified[key] = spec.name


def find_backbone(spec: WeightSpec) -> Path | None:
    """The installed copy of ``spec``: in the saan weights folder, else in torch's hub cache."""
    candidates = [scorer_dir("saan") / spec.name]
    try:
        import torch

        candidates.append(Path(torch.hub.get_dir()) / "checkpoints" / spec.name)
    except Exception:  # a broken torch hub config must not stop a scan
        pass
    return next((p for p in candidates if p.is_file()), None)


def load_pretrained_backbones(model, required: bool = False) -> list[str]:
    """Load the ImageNet ResNet-50 into both branches and VGG-19 into the style encoder.

    Returns the names of the files loaded. Missing files raise :class:`WeightsError` when ``required``,
    else they are logged and the branches keep their random initialisation.
    """
    loaded = []
    resnet_spec, vgg_spec = PRETRAINED_BACKBONES
    resnet_path, vgg_path = find_backbone(resnet_spec), find_backbone(vgg_spec)
    missing = [s for s, p in ((resnet_spec, resnet_path), (vgg_spec, vgg_path)) if p is None]
    if missing:
        message = (
            "SAAN backbones not found: "
            + ", ".join(f"{s.name} ({s.source})" for s in missing)
            + f"; download them into {scorer_dir('saan')} to train from ImageNet features"
        )
        if required:
            raise WeightsError(message)
        log.warning(message)
    if resnet_path is not None:
        verify_prefix(resnet_path, resnet_spec)
        state = load_state_dict(resnet_path)
        for branch in (model.generic, model.style):
            wanted = {k: v for k, v in state.items() if k in branch.state_dict()}
            branch.load_state_dict(wanted, strict=True)
        loaded.append(resnet_spec.name)
    if vgg_path is not None:
        verify_prefix(vgg_path, vgg_spec)
        state = load_state_dict(vgg_path)
        prefix = "features."
        wanted = {
            k[len(prefix) :]: v
            for k, v in state.items()
            if k.startswith(prefix) and k[len(prefix) :] in model.vgg.state_dict()
        }
        model.vgg.load_state_dict(wanted, strict=True)
        loaded.append(vgg_spec.name)
    return loaded
