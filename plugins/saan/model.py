"""SAAN, the style-specific art assessment network (Yi et al., "Towards Artistic Image Aesthetics
Assessment", CVPR 2023; seed 001).

Two ResNet-50 branches look at the same 224 px image:

* the *generic* branch (stem..layer3, 1024 channels) is frozen: it brings what a photo looks like;
* the *style* branch (stem..layer2, 512 channels) is trained, and its features are re-normalised by
  AdaIN to the channel statistics of a frozen VGG-19 (up to relu4_1, 512 channels), then ReLU and a
  3×3 stride-2 max-pool bring it to the generic branch's resolution.

The two are concatenated style first (1536 channels), mixed by a non-local block (embedded Gaussian,
inner width 768, 2×2 max-pool subsampling of φ and g, output 1×1 conv + norm initialised to zero so
the block starts as the identity), average-pooled to 2×2, normalised, flattened (6144) and regressed
by 6144→2048→1 with sigmoid ×10.

The style max-pool is the official implementation's (kernel 3, stride 2, padding 1): trained
checkpoints expect it. ``norm="gn"`` swaps the two trainable BatchNorms (non-local output, pooled
features) for GroupNorm(16) — seed 001's better variant; ``norm="mixed"`` swaps only the pooled one
(BatchNorm inside the non-local block, where it sits in a residual branch like ResNet's, GroupNorm on the
2×2 pooled features, whose batch statistics are the noisiest). The backbones keep their ImageNet
BatchNorms.
Frozen branches stay in eval mode even while the model trains, so their running statistics are never
updated: frozen means frozen.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from culler_plugins.saan.backbones import load_pretrained_backbones
from PIL import Image
from torch import nn

INPUT_SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Channels of each part of the concatenated feature map (style first, as in the official code).
STYLE_CHANNELS, GENERIC_CHANNELS = 512, 1024
FEATURE_CHANNELS = STYLE_CHANNELS + GENERIC_CHANNELS
#: torchvision's VGG-19 ``features`` up to and including relu4_1.
VGG_RELU4_1 = 21

_MEAN = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
_STD = torch.tensor(IMAGENET_STD).view(3, 1, 1)


def preprocess(image: Image.Image, size: int = INPUT_SIZE) -> torch.Tensor:
    """PIL image → (3, size, size) float tensor: plain resize (no crop: composition matters for
    aesthetics), ImageNet normalisation."""
    image = image.convert("RGB").resize((size, size), Image.BICUBIC)
    x = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1)
    return (x - _MEAN) / _STD


#: The variants: which norm the non-local block's output and the pooled features use.
NORMS = {
    "bn": ("bn", "bn"),  # the paper's
    "gn": ("gn", "gn"),  # GroupNorm(16) in both: seed 001's better result
    "mixed": ("bn", "gn"),  # BatchNorm inside the non-local block, GroupNorm(16) on pooled features
}
NORM_NAMES = {"bn": "BatchNorm", "gn": "GroupNorm", "mixed": "BatchNorm + GroupNorm (mixed)"}


def normalize_norm(norm: str) -> str:
    """Accept the trainer's spelling (``batch``/``group``/``mixed``) and the short one
    (``bn``/``gn``/``bn+gn``)."""
    aliases = {
        "bn": "bn",
        "batch": "bn",
        "gn": "gn",
        "group": "gn",
        "mixed": "mixed",
        "bn+gn": "mixed",
    }
    if norm not in aliases:
        raise ValueError(
            f"SAAN norm must be 'bn' (BatchNorm), 'gn' (GroupNorm(16)) or 'mixed' (BatchNorm in "
            f"the non-local block, GroupNorm(16) on the pooled features), not {norm!r}"
        )
    return aliases[norm]


def _norm(kind: str, channels: int) -> nn.Module:
    return nn.BatchNorm2d(channels) if kind == "bn" else nn.GroupNorm(16, channels)


class ResNetTrunk(nn.Module):
    """The first ``depth`` stages of a torchvision ResNet-50, with torchvision's parameter names
    (so the published ImageNet file loads into it unchanged)."""

    def __init__(self, depth: int) -> None:
        super().__init__()
        from torchvision.models import resnet50

        full = resnet50(weights=None)
        self.conv1, self.bn1, self.relu, self.maxpool = (
            full.conv1,
            full.bn1,
            full.relu,
            full.maxpool,
        )
        self.depth = depth
        for i in range(1, depth + 1):
            setattr(self, f"layer{i}", getattr(full, f"layer{i}"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(1, self.depth + 1):
            x = getattr(self, f"layer{i}")(x)
        return x


#: VGG-19's configuration up to conv4_1 (numbers: 3×3 conv widths, "M": 2×2 max-pool).
_VGG19_TO_CONV4_1 = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512)


def vgg19_to_relu4_1() -> nn.Sequential:
    """VGG-19 conv1_1 … relu4_1 with the module indices of torchvision's ``vgg19().features`` (so
    its state dict loads unchanged). Built directly: constructing the whole torchvision VGG-19 would
    initialise its 120 M classifier weights for nothing (3 s on a laptop CPU)."""
    layers: list[nn.Module] = []
    channels = 3
    for item in _VGG19_TO_CONV4_1:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
            continue
        conv = nn.Conv2d(channels, int(item), 3, padding=1)
        nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
        nn.init.zeros_(conv.bias)
        layers += [conv, nn.ReLU(inplace=True)]
        channels = int(item)
    assert len(layers) == VGG_RELU4_1
    return nn.Sequential(*layers)


def channel_stats(x: torch.Tensor, eps: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample, per-channel mean and (unbiased, as in the official code) standard deviation."""
    flat = x.flatten(2)
    return flat.mean(-1)[..., None, None], flat.std(-1)[..., None, None] + eps


def adain(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """Adaptive instance normalisation: ``content`` re-scaled to ``style``'s channel statistics.
    Only statistics of ``style`` are used, so the two maps need not share a spatial size."""
    c_mean, c_std = channel_stats(content)
    s_mean, s_std = channel_stats(style)
    return s_std * (content - c_mean) / c_std + s_mean


class NonLocalBlock(nn.Module):
    """Embedded-Gaussian non-local block (Wang et al. 2018) with subsampled keys/values.

    ``z = x + norm(out_conv(softmax(θ(x)ᵀ φ(x)) g(x)))``; the output norm starts at zero weight and bias,
    so a fresh block is the identity and training starts from the two branches' plain features.
    """

    def __init__(self, channels: int, inner: int, norm: str = "bn") -> None:
        super().__init__()
        self.inner = inner
        self.theta = nn.Conv2d(channels, inner, 1)
        self.phi = nn.Conv2d(channels, inner, 1)
        self.g = nn.Conv2d(channels, inner, 1)
        self.subsample = nn.MaxPool2d(2)
        self.out_conv = nn.Conv2d(inner, channels, 1)
        self.out_norm = _norm(norm, channels)
        nn.init.zeros_(self.out_norm.weight)
        nn.init.zeros_(self.out_norm.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        theta = self.theta(x).flatten(2).transpose(1, 2)  # (B, HW, C')
        phi = self.subsample(self.phi(x)).flatten(2)  # (B, C', hw)
        g = self.subsample(self.g(x)).flatten(2).transpose(1, 2)  # (B, hw, C')
        attention = torch.softmax(theta @ phi, dim=-1)  # (B, HW, hw)
        y = (attention @ g).transpose(1, 2).reshape(b, self.inner, h, w)
        return x + self.out_norm(self.out_conv(y))


class SAAN(nn.Module):
    """The full network; ``forward`` returns the aesthetic score on 0–10, shape (B,)."""

    def __init__(self, norm: str = "bn") -> None:
        super().__init__()
        self.norm = normalize_norm(norm)
        self.generic = ResNetTrunk(depth=3)
        self.style = ResNetTrunk(depth=2)
        self.vgg = vgg19_to_relu4_1()
        self.style_pool = nn.MaxPool2d(3, stride=2, padding=1)
        block_norm, pool_norm = NORMS[self.norm]
        self.nonlocal_block = NonLocalBlock(FEATURE_CHANNELS, FEATURE_CHANNELS // 2, block_norm)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.pool_norm = _norm(pool_norm, FEATURE_CHANNELS)
        # Registered last: the trainer treats the last nn.Linear (head.fc2) as the new head.
        self.head = nn.Sequential(
            OrderedDict(
                fc1=nn.Linear(FEATURE_CHANNELS * 4, 2048),
                relu=nn.ReLU(inplace=True),
                dropout=nn.Dropout(0.5),
                fc2=nn.Linear(2048, 1),
            )
        )
        self._init_new_layers()
        for module in self.frozen_modules():
            module.requires_grad_(False)
            module.eval()

    def _init_new_layers(self) -> None:
        nn.init.normal_(self.pool_norm.weight, 1.0, 0.02)
        nn.init.zeros_(self.pool_norm.bias)
        for layer in (self.head.fc1, self.head.fc2):
            nn.init.normal_(layer.weight, 0.0, 0.02)
            nn.init.zeros_(layer.bias)

    def frozen_modules(self) -> list[nn.Module]:
        """The generic ResNet branch and the VGG style encoder: never trained."""
        return [self.generic, self.vgg]

    def train(self, mode: bool = True) -> SAAN:
        super().train(mode)
        for module in self.frozen_modules():
            module.eval()
        return self

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled, normalised (B, 1536, 2, 2) map the head reads (style channels first)."""
        generic = self.generic(x)
        style = F.relu(adain(self.style(x), self.vgg(x)))
        style = self.style_pool(style)
        if style.shape[-2:] != generic.shape[-2:]:  # odd input sizes: align to the generic map
            style = F.adaptive_max_pool2d(style, generic.shape[-2:])
        mixed = self.nonlocal_block(torch.cat([style, generic], dim=1))
        return self.pool_norm(self.pool(mixed))

    def logit(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features.flatten(1)).squeeze(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 10.0 * torch.sigmoid(self.logit(self.features(x)))

    @torch.no_grad()
    def explain(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Score plus an exact split of the pre-sigmoid logit into style-channel, generic-channel and
        bias parts (eval mode).

        With the ReLU pattern of the hidden layer fixed, the logit is linear in the features:
        ``logit = Σ_j w2_j [h_j > 0] (W1 f + b1)_j + b2``, so the style part uses the columns of W1 that
        read channels 0–511 and the generic part the rest. Both come from channels *after* the non-local
        block, which also mixes the branches, so read them as "which half of the feature map the head
        leaned on", not as pure branch outputs. Costs one extra 6144×2048 product.
        """
        f = self.features(x).flatten(1)
        fc1, fc2 = self.head.fc1, self.head.fc2
        split = STYLE_CHANNELS * 4  # flatten order is channel-major: c * 4 + position
        hidden = F.linear(f, fc1.weight, fc1.bias)
        gate = (hidden > 0).to(f.dtype) * fc2.weight[0]  # (B, 2048)
        style_part = ((f[:, :split] @ fc1.weight[:, :split].T) * gate).sum(1)
        generic_part = ((f[:, split:] @ fc1.weight[:, split:].T) * gate).sum(1)
        bias_part = (fc1.bias * gate).sum(1) + fc2.bias[0]
        logit = style_part + generic_part + bias_part
        return {
            "score": 10.0 * torch.sigmoid(logit),
            "style": style_part,
            "generic": generic_part,
            "bias": bias_part,
        }


def train_preprocess(image: Image.Image, size: int = INPUT_SIZE) -> torch.Tensor:
    """:func:`preprocess` plus the paper's training augmentation: a horizontal flip half the time
    (a mirrored photo is as good as the original; composition rules are left–right symmetric). The
    coin comes from torch's generator, so a seeded run draws the same flips."""
    x = preprocess(image, size)
    return x.flip(-1) if bool(torch.rand(()) < 0.5) else x


def build_saan(norm: str = "bn", pretrained: bool | None = None) -> SAAN:
    """A fresh SAAN for training (``norm``: ``bn``/``batch`` or ``gn``/``group``).

    ``pretrained``: None loads torchvision's ImageNet ResNet-50 / VGG-19 files when they are present
    (see :mod:`culler_plugins.saan.backbones`) and warns otherwise; True requires them; False keeps the
    random initialisation (tests, timing, or loading a full trained checkpoint right after).
    """
    model = SAAN(norm)
    if pretrained is not False:
        load_pretrained_backbones(model, required=bool(pretrained))
    return model
