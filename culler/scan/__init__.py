"""``culler scan``: find photos, decide what changed, decode, score and write the results."""

from culler.scan.pipeline import DEFAULT_BATCH_TIMEOUT, ScanOptions, scan_folders
from culler.scan.writer import CatalogWriteError

__all__ = ["DEFAULT_BATCH_TIMEOUT", "CatalogWriteError", "ScanOptions", "scan_folders"]
