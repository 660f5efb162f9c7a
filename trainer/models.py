"""What the trainer trains: heads on cached embeddings, and whole networks on images.

Every model returns a dict: ``score`` (B,) on the 0–10 scale for aesthetic models, plus
``distribution`` (B, 10) for distribution heads, or ``logits`` for taggers and classifiers. Heads for the
CLIP scorers come from ``culler_plugins.clip.heads`` so a trained head file loads in the scorer
unchanged; heads the CLIP plugin does not define (linear, tags, classes) are built here.
"""

from __future__ import annotations

import importlib
from typing import Any

import torch
from culler_trainer.losses import mean_score
from torch import nn

FEATURE_MODELS = ("mlp", "linear", "distribution", "prompts", "tags", "classes")
IMAGE_MODELS = ("saan", "charlenet")


def _clip_heads() -> Any | None:
    try:
        return importlib.import_module("culler_plugins.clip.heads")
    except ImportError:
        return None


class Head(nn.Module):
    """A head on (B, D) features, returning the output dict its kind promises."""

    def __init__(self, kind: str, net: nn.Module, meta: dict[str, Any]) -> None:
        super().__init__()
        self.kind = kind
        self.net = net
        self.meta = meta

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.net(x)
        return head_output(self.kind, out)


def head_output(kind: str, out: torch.Tensor) -> dict[str, torch.Tensor]:
    """Turn a head's raw tensor into the trainer's output dict."""
    if kind in ("mlp", "linear", "saan"):
        return {"score": out.reshape(-1)}
    if kind in ("distribution", "prompts"):
        # A head may return probabilities already (a softmax module) or logits.
        probs = out if _is_distribution(out) else torch.softmax(out, dim=-1)
        return {"distribution": probs, "score": mean_score(probs)}
    if kind == "tags":
        return {"logits": out, "probs": torch.sigmoid(out)}
    if kind in ("classes", "charlenet"):
        probs = torch.softmax(out, dim=-1)
        # The "good" class is the last one: its probability on the 0–10 scale ranks photos.
        return {"logits": out, "score": 10.0 * probs[:, -1]}
    raise ValueError(f"unknown model kind {kind!r}")


def _is_distribution(out: torch.Tensor) -> bool:
    with torch.no_grad():
        return bool(
            (out >= 0).all()
            and torch.allclose(out.sum(-1), torch.ones_like(out[..., 0]), atol=1e-4)
        )


class Standardize(nn.Module):
    """(x − mean) / std with statistics of the training features, saved with the head.

    Heads the trainer builds itself may sit on any features (colour statistics, a new backbone) whose
    dimensions differ in scale by orders of magnitude; standardising makes a few hundred Adam steps
    enough. CLIP heads keep the plugin's exact architecture (their inputs are L2-normalised already).
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def fit(self, x: torch.Tensor) -> None:
        self.mean.copy_(x.mean(0))
        self.std.copy_(x.std(0).clamp_min(1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def build_head(kind: str, in_dim: int, outputs: int = 1, labels: list[str] | None = None) -> Head:
    """Build a fresh head; ``outputs`` is the tag or class count for ``tags`` / ``classes``.

    Heads built here (not the CLIP plugin's) start with a :class:`Standardize` layer: call
    :func:`fit_inputs` with the training features.
    """
    heads = _clip_heads()
    meta: dict[str, Any] = {"kind": kind, "in_dim": in_dim, "outputs": outputs}
    if labels:
        meta["labels"] = list(labels)
    if kind == "mlp":
        if heads is None or not hasattr(heads, "MLPRegressor"):
            raise RuntimeError(
                "the mlp head lives in the CLIP plugin (culler_plugins.clip.heads), which is not "
                "installed; use --model linear"
            )
        net = heads.MLPRegressor(in_dim)
    elif kind == "distribution":
        if heads is not None and hasattr(heads, "DistributionHead"):
            net = heads.DistributionHead(in_dim)
        else:
            net = nn.Sequential(Standardize(in_dim), nn.Linear(in_dim, 10))
    elif kind == "prompts":
        if heads is None or not hasattr(heads, "TrainablePromptHead"):
            raise RuntimeError("the prompts head lives in the CLIP plugin, which is not installed")
        net = heads.TrainablePromptHead(in_dim)
    elif kind == "linear":
        net = nn.Sequential(Standardize(in_dim), nn.Linear(in_dim, 1))
    elif kind in ("tags", "classes"):
        if outputs < 2:
            raise ValueError(f"a {kind} head needs at least 2 outputs, got {outputs}")
        net = nn.Sequential(Standardize(in_dim), nn.Linear(in_dim, outputs))
    else:
        raise ValueError(f"{kind!r} is not a head on features; choose from {FEATURE_MODELS}")
    return Head(kind, net, meta)


def fit_inputs(head: Head, features: torch.Tensor) -> None:
    """Set the head's input standardisation (if it has one) from the training features."""
    for module in head.modules():
        if isinstance(module, Standardize):
            module.fit(features)


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
    """SAAN (``build_saan(norm=...)``) or CharLeNet (``build_charlenet(num_classes)``) from their plugins."""
    if kind == "saan":
        module = _plugin_model("saan")
        net = module.build_saan(norm=args.norm, pretrained=False)  # start_weights loads them
    elif kind == "charlenet":
        module = _plugin_model("charlenet")
        net = module.build_charlenet(outputs)
    else:
        raise ValueError(f"{kind!r} is not an image model; choose from {IMAGE_MODELS}")
    model = ImageModel(kind, net, new_head_names(net))
    # The plugin decides where training starts (CharLeNet: ImageNet CaffeNet) and may refuse.
    start = getattr(module, "start_weights", None)
    if start is not None:
        model.init_source = start(net, getattr(args, "init", "base"))
    return model


def _plugin_model(name: str) -> Any:
    try:
        return importlib.import_module(f"culler_plugins.{name}.model")
    except ImportError as exc:
        raise RuntimeError(
            f"the {name} network (culler_plugins.{name}.model) is not installed: {exc}"
        ) from exc


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
    """The plugin's own preprocessing when it has one (``preprocess``; for training data its
    ``train_preprocess`` when it augments, e.g. SAAN's flips), else the paper's."""
    try:
        module = importlib.import_module(f"culler_plugins.{kind}.model")
        if train and hasattr(module, "train_preprocess"):
            return module.train_preprocess
        if hasattr(module, "preprocess"):
            return module.preprocess
    except ImportError:
        pass
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
