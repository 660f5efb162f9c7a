"""What the converter and the network both need to know about BVLC's ImageNet CaffeNet.

Its own module, free of torch, so the network (:mod:`culler_plugins.charlenet.model`) can read it
without importing the converter, which imports the network: no import circle.
"""

from __future__ import annotations

#: fc8's width in BVLC's ImageNet CaffeNet, the network CharLeNet is transferred from.
IMAGENET_CLASSES = 1000
#: The ImageNet CaffeNet's installed name: the starting point of training, never a scorer.
IMAGENET_WEIGHTS = "caffenet-imagenet.safetensors"
