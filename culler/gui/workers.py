"""Long jobs off the UI thread, reporting through signals: scanning and burst grouping.

A job opens its own catalog connection (SQLite connections are not shared across threads); WAL lets the
UI keep reading and rating while the scan writes.
"""

from __future__ import annotations

import importlib
import threading
import traceback
from pathlib import Path
from typing import Any

from PySide6.QtCore import QThread, Signal

from culler.catalog import open_catalog


def regroup(catalog: Any) -> str | None:
    """Recompute bursts/duplicates with :mod:`culler.cull` when it offers a grouping function.

    Returns a one-line note when grouping is unavailable or failed (the grid then shows no stacks).
    """
    try:
        cull = importlib.import_module("culler.cull")
    except ModuleNotFoundError:
        return "burst grouping is not available in this build (culler.cull is missing)"
    for name in ("update_groups", "compute_groups", "group_photos", "regroup"):
        fn = getattr(cull, name, None)
        if callable(fn):
            try:
                fn(catalog)
            except Exception as exc:
                return f"burst grouping failed: {type(exc).__name__}: {exc}"
            return None
    return "burst grouping is not available in this build (no grouping function in culler.cull)"


class ScanWorker(QThread):
    """Runs :func:`culler.scan.scan_folders` in a thread; cancel() stops after the files in flight."""

    progress = Signal(int, int, str)  # done, total, path
    message = Signal(str)
    succeeded = Signal(dict)  # the scan summary
    failed = Signal(str)

    def __init__(
        self,
        db_path: str | Path,
        roots: list[Path],
        scorer_ids: list[str] | None = None,
        workers: int | None = None,
        group_after: bool = True,
        parent=None,
    ) -> None:
        super().__init__(parent)
        self.db_path = Path(db_path)
        self.roots = [Path(r) for r in roots]
        self.scorer_ids = scorer_ids
        self.workers = workers
        self.group_after = group_after
        self.cancel_event = threading.Event()

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def run(self) -> None:
        from culler.scan import ScanOptions, scan_folders

        try:
            catalog = open_catalog(self.db_path)
        except Exception as exc:
            self.failed.emit(f"cannot open catalog {self.db_path}: {exc}")
            return
        try:
            options = ScanOptions(
                scorer_ids=self.scorer_ids,
                workers=self.workers,
                cancel=self.cancel_event,
                on_progress=self._on_progress,
            )
            summary = scan_folders(catalog, self.roots, options, echo=self.message.emit)
            if self.group_after and not self.cancelled:
                note = regroup(catalog)
                if note:
                    summary["grouping"] = note
            self.succeeded.emit(summary)
        except Exception as exc:
            self.message.emit(traceback.format_exc())
            self.failed.emit(f"scan failed: {type(exc).__name__}: {exc}")
        finally:
            catalog.close()

    def _on_progress(self, done: int, total: int, path: str) -> None:
        self.progress.emit(done, total, path)
