"""Decoding JPEGs for the learned scorers on a CUDA GPU, in batches, overlapped with inference.

nvJPEG (through ``torchvision.io.decode_jpeg(..., device="cuda")``) decodes a batch of files on the
GPU and resizes them there; a reader thread prepares the next batch on its own CUDA stream while the
model runs on the current one. Every file the GPU path cannot take (not a JPEG, a CMYK or corrupt
JPEG, no CUDA, no torchvision) is decoded by culler's usual PIL path instead, so callers always get an
image or a reason.

Where the scan uses it: a new photo is still decoded on the CPU, because its decode worker must read
every pixel anyway for the in-worker scorers, the thumbnail and the near-duplicate signature, and
hands the learned scorers a 224–448 px copy that costs a few milliseconds to make; decoding the 24 MP
file a second time on the GPU would only add work. An unchanged photo that only lacks learned scores
(a learned scorer added to a scanned catalog) needs none of that, and is decoded here
(:mod:`culler.scan.gpu_feed`). ``benchmarks/gpu_scan.py`` measures both.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from culler import devices

JPEG_MAGIC = b"\xff\xd8\xff"


@dataclass
class DecodedBatch:
    """One batch: per file, an RGB uint8 tensor (3, H, W) with the longer side at most ``side``
    (on the GPU when it was decoded there), or the reason it could not be decoded."""

    paths: list[str]
    images: list[Any]  # torch.Tensor | None
    errors: list[str | None]
    on_gpu: bool


class BatchDecoder:
    """Decodes files in batches on ``device`` (nvJPEG) or, where that is not possible, with PIL."""

    def __init__(self, device: str, side: int) -> None:
        self.device = device
        self.side = side
        self.on_gpu = devices.gpu_jpeg_decoding(device)

    def decode(self, paths: list[str]) -> DecodedBatch:
        datas, errors = [], []
        for path in paths:
            try:
                datas.append(Path(path).read_bytes())
                errors.append(None)
            except OSError as exc:
                datas.append(b"")
                errors.append(f"cannot read file: {exc.strerror or exc}")
        images: list[Any] = [None] * len(paths)
        gpu = [i for i, d in enumerate(datas) if self.on_gpu and d.startswith(JPEG_MAGIC)]
        if gpu:
            for i, tensor in zip(gpu, self._gpu([datas[i] for i in gpu])):
                images[i] = tensor
        for i, path in enumerate(paths):
            if images[i] is None and errors[i] is None:
                images[i], errors[i] = self._cpu(path)
        return DecodedBatch(list(paths), images, errors, self.on_gpu)

    def _gpu(self, datas: list[bytes]) -> list[Any]:
        """Batch decode on the GPU; a batch that fails is retried file by file (None for a file
        nvJPEG refuses: the caller decodes it on the CPU)."""
        import torch
        from torchvision.io import ImageReadMode, decode_jpeg

        encoded = [torch.frombuffer(bytearray(d), dtype=torch.uint8) for d in datas]
        try:
            decoded = decode_jpeg(
                encoded, mode=ImageReadMode.RGB, device=self.device, apply_exif_orientation=True
            )
        except RuntimeError:
            decoded = []
            for one in encoded:
                try:
                    decoded.append(
                        decode_jpeg(
                            one,
                            mode=ImageReadMode.RGB,
                            device=self.device,
                            apply_exif_orientation=True,
                        )
                    )
                except RuntimeError:
                    decoded.append(None)
        return [None if t is None else fit_tensor(t, self.side) for t in decoded]

    def _cpu(self, path: str) -> tuple[Any, str | None]:
        import numpy as np
        import torch

        from culler.imaging.images import ImageError, open_photo

        try:
            image, _info = open_photo(path, self.side)
        except ImageError as exc:
            return None, str(exc)
        return torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1), None

    def batches(self, paths: list[str], batch_size: int, ahead: int = 2) -> Iterator[DecodedBatch]:
        """Decoded batches of ``paths`` in order; the next ``ahead`` are decoded by a reader thread
        (on its own CUDA stream) while the caller runs the model on the current one."""
        chunks = [paths[i : i + batch_size] for i in range(0, len(paths), batch_size)]
        ready: queue.Queue = queue.Queue(maxsize=max(1, ahead))
        stop = threading.Event()
        reader = threading.Thread(
            target=self._read_ahead, args=(chunks, ready, stop), daemon=True, name="culler-gpu-read"
        )
        reader.start()
        try:
            for _ in chunks:
                item = ready.get()
                if isinstance(item, BaseException):
                    raise item
                batch, event = item
                if event is not None:  # the model's stream waits for the reader's decode
                    import torch

                    torch.cuda.current_stream(self.device).wait_event(event)
                yield batch
        finally:
            stop.set()

    def _read_ahead(
        self, chunks: list[list[str]], ready: queue.Queue, stop: threading.Event
    ) -> None:
        try:
            # Inside the try: a reader that dies before its first batch must not leave the consumer
            # waiting for it for good.
            stream = None
            if self.on_gpu:
                import torch

                stream = torch.cuda.Stream(self.device)
            for chunk in chunks:
                if stop.is_set():
                    return
                if stream is None:
                    ready.put((self.decode(chunk), None))
                    continue
                import torch

                with torch.cuda.stream(stream):
                    batch = self.decode(chunk)
                    event = torch.cuda.Event()
                    event.record(stream)
                ready.put((batch, event))
        except BaseException as exc:  # handed to the consumer, which raises it
            ready.put(exc)


def fit_tensor(image: Any, side: int) -> Any:
    """A (3, H, W) uint8 tensor resized (antialiased bilinear, like the CPU path) so that its longer
    side is at most ``side``; unchanged when already small enough."""
    from torchvision.transforms.v2 import functional as F

    h, w = image.shape[-2:]
    if max(h, w) <= side:
        return image
    scale = side / max(h, w)
    size = [max(1, round(h * scale)), max(1, round(w * scale))]
    return F.resize(image, size, antialias=True)


def to_pil(image: Any):
    """A decoded tensor as the PIL image a scorer's ``score_batch`` takes."""
    from PIL import Image

    return Image.fromarray(image.permute(1, 2, 0).contiguous().cpu().numpy())
