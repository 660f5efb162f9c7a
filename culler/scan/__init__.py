"""``culler scan``: find photos, decide what changed, decode, score and write the results.

The modules are the stages, and import only the ones before them: ``work`` (the types they pass on)
→ ``discover`` (find files) → ``plan`` (what to do; writes nothing) → ``unchanged`` (a rescan
with nothing to do, proved folder by folder) → ``decode`` (the worker) →
``decode_pool`` (the process pool) → ``gpu_feed`` (which photos a CUDA GPU decodes instead) →
``scoring`` (model batches) → ``writer`` (catalog rows) →
``pipeline`` (the wiring, :func:`scan_folders`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from culler.scan.pipeline import scan_folders
    from culler.scan.work import DEFAULT_BATCH_TIMEOUT, ScanOptions, ScanSummary
    from culler.scan.writer import CatalogWriteError

# Every decode worker process imports culler.scan.decode, and with it this file: importing the
# pipeline here (the catalog, sqlite_utils) would add about half a second to each worker's start.
# So the public names load on first use.
_EXPORTS = {
    "scan_folders": "culler.scan.pipeline",
    "DEFAULT_BATCH_TIMEOUT": "culler.scan.work",
    "ScanOptions": "culler.scan.work",
    "ScanSummary": "culler.scan.work",
    "CatalogWriteError": "culler.scan.writer",
}

__all__ = [
    "DEFAULT_BATCH_TIMEOUT",
    "CatalogWriteError",
    "ScanOptions",
    "ScanSummary",
    "scan_folders",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'culler.scan' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
