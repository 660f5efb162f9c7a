"""CharLeNet (seed 004): CaffeNet with a new good/bad (or bad/average/good) classifier.

CaffeNet is BVLC's single-GPU re-training of AlexNet, and differs from torchvision's ``alexnet``
(64-192-384-256-256 channels, no LRN, no groups, 224 input) in every layer that matters here:

====== ========================================= ===========================
layer  CaffeNet                                   output at 227
====== ========================================= ===========================
conv1  96 × 11×11, stride 4 → ReLU → max 3/2 → LRN  96 × 27 × 27
conv2  256 × 5×5, pad 2, 2 groups → ReLU → max → LRN 256 × 13 × 13
conv3  384 × 3×3, pad 1 → ReLU                   384 × 13 × 13
conv4  384 × 3×3, pad 1, 2 groups → ReLU         384 × 13 × 13
conv5  256 × 3×3, pad 1, 2 groups → ReLU → max   256 × 6 × 6
fc6    9216 → 4096 → ReLU → dropout .5
fc7    4096 → 4096 → ReLU → dropout .5
fc8    4096 → C (2: bad, good; 3: bad, average, good)
====== ========================================= ===========================

LRN is Caffe's ACROSS_CHANNELS (size 5, α 1e-4, β .75, k 1; α divided by the size, as PyTorch's
``LocalResponseNorm`` does). Max-pools round up like Caffe's (``ceil_mode``; at 227 the sizes agree
anyway). Input: 227×227, BGR, 0–255 minus the per-channel ImageNet mean (104, 117, 123). The "good"
class is always the last one, so P(good) ranks photos for both heads.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from culler_plugins.charlenet.names import IMAGENET_CLASSES
from PIL import Image
from torch import nn

INPUT_SIZE = 227
#: CaffeNet's BGR pixel means on the 0–255 scale.
BGR_MEAN = (104.0, 117.0, 123.0)
CLASS_NAMES = {2: ("bad", "good"), 3: ("bad", "average", "good")}

_MEAN = torch.tensor(BGR_MEAN).view(3, 1, 1)


def preprocess(image: Image.Image, size: int = INPUT_SIZE) -> torch.Tensor:
    """PIL image → (3, 227, 227) float tensor: resize, RGB → BGR, 0–255 minus the BGR mean."""
    image = image.convert("RGB").resize((size, size), Image.BILINEAR)
    x = torch.from_numpy(np.asarray(image, dtype=np.float32).copy()).permute(2, 0, 1)
    return x.flip(0) - _MEAN


def _lrn() -> nn.LocalResponseNorm:
    return nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=1.0)


def _pool() -> nn.MaxPool2d:
    return nn.MaxPool2d(3, stride=2, ceil_mode=True)


class CaffeNet(nn.Module):
    """CaffeNet with ``num_classes`` outputs; ``forward`` returns logits (B, C), "good" last.

    1000 outputs is BVLC's ImageNet CaffeNet itself, loaded only to transfer its layers.

    Layer names follow the Caffe prototxt (conv1 … fc8), so converted weights map one to one.
    """

    def __init__(self, num_classes: int = 2) -> None:
        super().__init__()
        if num_classes not in CLASS_NAMES and num_classes != IMAGENET_CLASSES:
            raise ValueError(
                f"CharLeNet has 2 (bad, good) or 3 (bad, average, good) classes, not {num_classes}"
            )
        self.num_classes = num_classes
        self.features = nn.Sequential(
            OrderedDict(
                conv1=nn.Conv2d(3, 96, 11, stride=4),
                relu1=nn.ReLU(inplace=True),
                pool1=_pool(),
                norm1=_lrn(),
                conv2=nn.Conv2d(96, 256, 5, padding=2, groups=2),
                relu2=nn.ReLU(inplace=True),
                pool2=_pool(),
                norm2=_lrn(),
                conv3=nn.Conv2d(256, 384, 3, padding=1),
                relu3=nn.ReLU(inplace=True),
                conv4=nn.Conv2d(384, 384, 3, padding=1, groups=2),
                relu4=nn.ReLU(inplace=True),
                conv5=nn.Conv2d(384, 256, 3, padding=1, groups=2),
                relu5=nn.ReLU(inplace=True),
                pool5=_pool(),
            )
        )
        self.classifier = nn.Sequential(
            OrderedDict(
                fc6=nn.Linear(256 * 6 * 6, 4096),
                relu6=nn.ReLU(inplace=True),
                drop6=nn.Dropout(0.5),
                fc7=nn.Linear(4096, 4096),
                relu7=nn.ReLU(inplace=True),
                drop7=nn.Dropout(0.5),
                fc8=nn.Linear(4096, num_classes),
            )
        )
        self._init_weights()

    def _init_weights(self) -> None:
        """Caffe's CaffeNet fillers: gaussian weights (σ .01 convs/fc8, .005 fc6/fc7), biases 0 or 1."""
        for name, module in self.named_modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                std = 0.005 if name.endswith(("fc6", "fc7")) else 0.01
                nn.init.normal_(module.weight, 0.0, std)
                one = name.endswith(("conv2", "conv4", "conv5", "fc6", "fc7"))
                nn.init.constant_(module.bias, 1.0 if one else 0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        if x.shape[-2:] != (6, 6):
            raise ValueError(
                f"CharLeNet needs {INPUT_SIZE}×{INPUT_SIZE} input (conv5 gives {tuple(x.shape[-2:])}, "
                "fc6 expects 6×6); use culler_plugins.charlenet.model.preprocess"
            )
        return self.classifier(x.flatten(1))


def build_charlenet(num_classes: int = 2) -> CaffeNet:
    """A fresh CharLeNet (random Caffe-style initialisation) with 2 or 3 classes, "good" last."""
    return CaffeNet(num_classes)
