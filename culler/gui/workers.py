"""Long jobs off the UI thread, reporting through signals: the scan.

A job opens its own catalog connection (SQLite connections are not shared across threads); WAL lets the
UI keep reading and rating while the scan writes. Bursts and duplicates are regrouped by the scan itself
(the ``scan_finished`` hook of the grouping plugin), exactly as after ``culler scan``, so
``CULLER_LOAD_PLUGINS`` decides for both.
"""

from __future__ import annotations

import threading
import traceback
from pathlib import Path

from PySide6.QtCore import QThread, Signal

from culler.catalog import open_catalog


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
        parent=None,
    ) -> None:
        super().__init__(parent)
        self.db_path = Path(db_path)
        self.roots = [Path(r) for r in roots]
        self.scorer_ids = scorer_ids
        self.workers = workers
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
            self.succeeded.emit(summary)
        except Exception as exc:
            self.message.emit(traceback.format_exc())
            self.failed.emit(f"scan failed: {type(exc).__name__}: {exc}")
        finally:
            catalog.close()

    def _on_progress(self, done: int, total: int, path: str) -> None:
        self.progress.emit(done, total, path)
