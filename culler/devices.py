"""Pick the compute device: CUDA, then Apple's MPS, then the CPU."""

from __future__ import annotations

import os

CHOICES = ("auto", "cuda", "mps", "cpu")


def pick_device(preference: str | None = None) -> str:
    """Return "cuda", "mps" or "cpu". ``preference`` (or ``CULLER_DEVICE``) forces one; "auto" picks.

    torch is imported only here and only when a learned scorer asks, so a technical-only scan never
    pays for it.
    """
    preference = (preference or os.environ.get("CULLER_DEVICE") or "auto").lower()
    if preference not in CHOICES:
        raise ValueError(f"unknown device {preference!r}; choose one of {', '.join(CHOICES)}")
    if preference == "cpu":
        return "cpu"
    import torch

    if preference == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("--device cuda was asked for, but PyTorch sees no CUDA GPU")
        return "cuda"
    if preference == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise RuntimeError("--device mps was asked for, but PyTorch sees no Apple GPU")
        return "mps"
    if torch.cuda.is_available():
        return "cuda"
    if hasattr(torch.backends, "mps") and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def place_conv_net(model, device: str):
    """Move a convolutional network to ``device`` for inference; return ``(model, memory_format)``.

    channels_last is oneDNN's and cuDNN's fast convolution layout: +28 % (SAAN) and +17 % (CharLeNet)
    images/s on a 2-core CPU (benchmarks/scorer_throughput.py). MPS keeps the default layout (its
    channels_last support is uneven and was not measured). Inputs must use the returned format too.
    """
    import torch

    fast = device.split(":")[0] in ("cpu", "cuda")
    memory_format = torch.channels_last if fast else torch.contiguous_format
    return model.to(device, memory_format=memory_format).eval(), memory_format
