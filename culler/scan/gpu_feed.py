"""Photos that only lack learned scores, decoded on the GPU instead of by the decode workers.

When a learned scorer is added to a catalog that is already scanned (``culler models pull clip``, then
``culler scan``), an unchanged photo needs nothing but its 224–448 px copy for the model: its
thumbnail, content hash and near-duplicate signature are stored, and no in-worker scorer runs. On a
CUDA GPU those JPEGs are read here and batch-decoded by nvJPEG (:mod:`culler.imaging.gpu_decode`, a reader
thread one batch ahead of the model) instead of each being entropy-decoded at full size on a CPU core.
Everything else goes to the decode pool as before, and so does a file the GPU path cannot decode:
the pool gives it its error row.
"""

from __future__ import annotations

from pathlib import Path

from culler import devices
from culler.scan.work import ActiveScorer, WorkItem

JPEG_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe"})


def gpu_device(scorers: list[ActiveScorer]) -> str | None:
    """The device the scan's learned scorers run on, when JPEGs can be decoded there; else None."""
    device = next((s.scorer.device for s in scorers if not s.scorer.runs_in_worker), None)
    return device if device and devices.gpu_jpeg_decoding(device) else None


def split_for_gpu(items: list[WorkItem]) -> tuple[list[WorkItem], list[WorkItem]]:
    """(items the GPU can feed, the rest): unchanged JPEGs with a catalog row whose missing scores
    all come from learned scorers."""
    gpu, rest = [], []
    for item in items:
        eligible = (
            item.change == "unscored"
            and item.photo_id is not None
            and bool(item.needs)
            and not any(s.scorer.runs_in_worker for s in item.needs)
            and Path(item.path).suffix.lower() in JPEG_SUFFIXES
        )
        (gpu if eligible else rest).append(item)
    return gpu, rest
