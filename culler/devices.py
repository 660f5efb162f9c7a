"""Pick the compute device (CUDA, then Apple's MPS, then the CPU) and how learned scorers run on it:
reduced precision, batch sizes sized to the memory, whether JPEGs can be decoded there."""

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


# -- running learned scorers on a GPU ---------------------------------------------------------------
#: Scorers' own batch sizes are chosen for a GPU with this much free memory; a larger one gets
#: proportionally larger batches, up to MAX_BATCH_SCALE times (the learned models are small next to
#: an H100's memory, and larger batches keep it busy while the next batch is decoded).
REFERENCE_FREE_BYTES = 8 * 2**30
MAX_BATCH_SCALE = 8


def device_kind(device: str | None) -> str:
    """ "cuda", "mps" or "cpu" for a torch device string such as "cuda:1"."""
    return (device or "cpu").split(":", 1)[0]


def autocast_dtype(device: str):
    """The reduced precision learned scorers run in on ``device``: bf16 on a CUDA GPU that has it
    (Ampere and later: same range as fp32, no overflow), else fp16 on CUDA; None (fp32) on the CPU
    and MPS, where autocast was slower or unreliable when measured."""
    if device_kind(device) != "cuda":
        return None
    import torch

    return torch.bfloat16 if _cuda_bf16_supported() else torch.float16


def _cuda_bf16_supported() -> bool:
    import torch

    return bool(torch.cuda.is_bf16_supported())


def inference_autocast(device: str):
    """A context manager for a model's forward pass on ``device``: autocast in
    :func:`autocast_dtype` on CUDA, nothing elsewhere. Autocast is per thread: enter it in the thread
    that runs the model."""
    import contextlib

    dtype = autocast_dtype(device)
    if dtype is None:
        return contextlib.nullcontext()
    import torch

    return torch.autocast("cuda", dtype=dtype)


def batch_size_for(device: str, base: int, free_bytes: int | None = None) -> int:
    """A scorer's batch size on ``device``: ``base`` on the CPU and MPS; on CUDA scaled with the
    GPU's free memory (``free_bytes``, asked from the driver when None), a power-of-two multiple of
    ``base``. Too large a guess costs nothing lasting: a batch that runs out of memory is halved."""
    base = max(1, int(base))
    if device_kind(device) != "cuda":
        return base
    if free_bytes is None:
        free_bytes = _cuda_free_bytes(device)
    scale = 1
    while scale < MAX_BATCH_SCALE and free_bytes >= 2 * scale * REFERENCE_FREE_BYTES:
        scale *= 2
    return base * scale


def _cuda_free_bytes(device: str) -> int:
    import torch

    try:
        free, _total = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    except Exception:  # an odd driver: keep the scorer's own batch size
        return REFERENCE_FREE_BYTES


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is a device running out of memory (a smaller batch may fit)."""
    if type(exc).__name__ == "OutOfMemoryError":
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def gpu_jpeg_decoding(device: str | None) -> bool:
    """Whether JPEGs can be decoded on ``device`` (nvJPEG through torchvision on a CUDA GPU)."""
    if device_kind(device) != "cuda":
        return False
    try:
        import torch
        from torchvision.io import decode_jpeg  # noqa: F401
    except ImportError:
        return False
    return bool(torch.cuda.is_available())
