"""What the trainer trains: heads on cached embeddings, and whole networks on images.

Every model returns a dict: ``score`` (B,) on the 0–10 scale for aesthetic models, plus
``distribution`` (B, 10) for distribution heads, or ``logits`` for taggers and classifiers. Heads and
their files are core's (:mod:`culler.api`: ``build_head``, ``save_head``), so a trained head loads in
its scorer unchanged; the architectures a plugin owns (the CLIP plugin's ``mlp``, ``distribution``
and ``prompts`` heads, SAAN, CharLeNet) come from the ``register_trainable_models`` hook, never from an
import of the plugin.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from culler.api import (
    Head,
    TrainableModel,
    build_head,
    fit_inputs,
    head_output,
    trainable_models,
)

FEATURE_MODELS = ("mlp", "linear", "distribution", "prompts", "tags", "classes")
IMAGE_MODELS = ("saan", "charlenet")

__all__ = [
    "FEATURE_MODELS",
    "IMAGE_MODELS",
    "BackboneWithHead",
    "ImageModel",
    "build_image_model",
    "freeze_backbone",
    "image_transform",
    "new_head_names",
    "param_groups",
    # Heads on features are core's (culler.api); re-exported for the trainer's callers.
    "Head",
    "build_head",
    "fit_inputs",
    "head_output",
]


class ImageModel(nn.Module):
    """A whole network trained on images (SAAN, CharLeNet, or a CLIP backbone with a head)."""

    def __init__(self, kind: str, net: nn.Module, head_names: set[str]) -> None:
        super().__init__()
        self.kind = kind
        self.net = net
        #: Parameter names of the freshly initialised part, which trains at ``--head-lr-mult``.
        self.head_names = head_names
        #: Where the starting weights came from (``from``, ``file``, ``sha256``), when not random.
        self.init_source: dict[str, str] | None = None

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return head_output(self.kind, self.net(x))


class BackboneWithHead(nn.Module):
    """A backbone trained together with a feature head (AnB+): images → features → head."""

    def __init__(self, backbone: nn.Module, head: nn.Module, normalize: bool = True) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.normalize = normalize

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.backbone(x)
        if self.normalize:
            features = torch.nn.functional.normalize(features, dim=-1)
        return self.head(features)


def build_image_model(kind: str, args: Any, outputs: int = 2) -> ImageModel:
    """SAAN or CharLeNet, as their plugins declare them (``register_trainable_models``)."""
    declared = _image_model(kind)
    net = declared.build(outputs, dict(vars(args)))
    model = ImageModel(kind, net, new_head_names(net))
    # The plugin decides where training starts (CharLeNet: ImageNet CaffeNet) and may refuse.
    if declared.start is not None:
        model.init_source = declared.start(net, getattr(args, "init", "base"))
    return model


def _image_model(kind: str) -> TrainableModel:
    if kind not in IMAGE_MODELS:
        raise ValueError(f"{kind!r} is not an image model; choose from {IMAGE_MODELS}")
    declared = trainable_models().get(kind)
    if declared is None or declared.kind != "image":
        raise RuntimeError(
            f"no loaded plugin declares the {kind} network (its plugin, culler_plugins.{kind}, is "
            "not installed or failed to load: see `culler plugins`)"
        )
    return declared


def new_head_names(net: nn.Module) -> set[str]:
    """Parameters of the network's last Linear layer: the new classifier/regressor (fc8, fc2)."""
    last = None
    for name, module in net.named_modules():
        if isinstance(module, nn.Linear):
            last = name
    if last is None:
        return set()
    prefix = f"{last}." if last else ""
    return {f"net.{prefix}{n}" for n, _ in net.get_submodule(last).named_parameters()}


def freeze_backbone(model: ImageModel, unfreeze: str) -> None:
    """``none``: only the head trains; ``all``: everything; ``last:N``: the head plus the last N
    parameter tensors before it (AnB vs AnB+ in seed 003)."""
    params = list(model.named_parameters())
    if unfreeze == "all":
        trainable = {n for n, _ in params}
    elif unfreeze.startswith("last:"):
        n_last = int(unfreeze.split(":", 1)[1])
        body = [n for n, _ in params if n not in model.head_names]
        trainable = set(body[len(body) - n_last :] if n_last else []) | model.head_names
    else:
        trainable = set(model.head_names)
    for name, p in params:
        p.requires_grad_(name in trainable)


def param_groups(model: nn.Module, head_lr_mult: float) -> list[dict]:
    """Trainable parameters split into backbone (×1) and new head (×``head_lr_mult``, seed 004)."""
    head_names = getattr(model, "head_names", None)
    if head_names is None:  # a head on cached features: all of it is new
        return [{"params": [p for p in model.parameters() if p.requires_grad], "lr_mult": 1.0}]
    body, head = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (head if name in head_names else body).append(p)
    return [{"params": body, "lr_mult": 1.0}, {"params": head, "lr_mult": head_lr_mult}]


IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
#: CaffeNet's BGR pixel means on the 0–255 scale.
CAFFE_BGR_MEAN = (104.0, 117.0, 123.0)


def image_transform(kind: str, train: bool = False) -> Any:
    """The plugin's own preprocessing when it declares one (for training data its
    ``train_preprocess`` when it augments, e.g. SAAN's flips), else the paper's."""
    declared = trainable_models().get(kind)
    if declared is not None:
        if train and declared.train_preprocess is not None:
            return declared.train_preprocess
        if declared.preprocess is not None:
            return declared.preprocess
    from torchvision.transforms import v2

    if kind == "charlenet":
        mean = torch.tensor(CAFFE_BGR_MEAN).view(3, 1, 1)

        def caffe(image: Any) -> torch.Tensor:
            x = v2.functional.pil_to_tensor(image.convert("RGB").resize((227, 227))).float()
            return x.flip(0) - mean

        return caffe
    return v2.Compose(
        [
            v2.Resize((224, 224), antialias=True),
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )
