"""Stand-ins for torchvision's ImageNet ResNet-50 / VGG-19 files, for tests of SAAN training without
downloading them.

torchvision names its files ``NAME-<first 8 hex digits of the sha256>.pth`` and culler checks that
prefix (:func:`culler_plugins.saan.backbones.verify_prefix`), so a stand-in cannot take the real name:
:func:`write_imagenet_standins` names each file after its own sha256 and returns matching
``WeightSpec``\\ s for a test to put in place of ``backbones.PRETRAINED_BACKBONES``. The weights are
seeded random values in torchvision's exact key layout; they mean nothing.
"""

from __future__ import annotations

from pathlib import Path

from culler.api import WeightSpec, sha256_file


def write_imagenet_standins(folder: Path, seed: int = 0) -> list[WeightSpec]:
    """Write ResNet-50 and VGG-19 (features up to relu4_1) state dicts into ``folder``; return specs
    in the order of ``PRETRAINED_BACKBONES`` (ResNet-50, VGG-19)."""
    import torch
    from culler_plugins.saan.model import vgg19_to_relu4_1
    from torchvision.models import resnet50

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    states = {
        "resnet50": resnet50(weights=None).state_dict(),
        "vgg19": {f"features.{k}": v for k, v in vgg19_to_relu4_1().state_dict().items()},
    }
    specs = []
    for name, state in states.items():
        tmp = folder / f"{name}.tmp"
        torch.save(state, tmp)
        final = folder / f"{name}-{sha256_file(tmp)[:8]}.pth"
        tmp.replace(final)
        specs.append(WeightSpec(final.name, f"https://example.invalid/{final.name}", ""))
    return specs
