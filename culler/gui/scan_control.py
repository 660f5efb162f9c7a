"""Scanning from the window: a :class:`ScanWorker` thread, a progress bar with cancel, live grid merges.

Mixed into :class:`culler.gui.main_window.MainWindow`; it uses the window's catalog, model and status bar.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from culler.gui.scorers_panel import enabled_scorer_ids
from culler.gui.workers import ScanWorker


class ScanControl:
    """Start, follow and cancel a background scan of the catalog's folders."""

    def catalog_roots(self) -> list[Path]:
        if self.catalog is None:
            return []
        roots = self.catalog.photo_roots()
        if not roots and self.db_path is not None:
            roots = [str(self.db_path.parent)]
        return [Path(r) for r in roots if Path(r).is_dir()]

    def rescan(self) -> None:
        self.start_scan(self.catalog_roots())

    def start_scan(self, roots: list[Path]) -> None:
        if self.db_path is None or not roots or self.scan_worker is not None:
            return
        worker = ScanWorker(
            self.db_path, roots, enabled_scorer_ids(self.settings), workers=self.scan_workers
        )
        worker.progress.connect(self._scan_progress)
        worker.message.connect(
            lambda text: self.statusBar().showMessage(text.splitlines()[-1], 8000)
        )
        worker.succeeded.connect(self._scan_succeeded)
        worker.failed.connect(self._scan_failed)
        worker.finished.connect(self._scan_thread_done)
        self.scan_worker = worker
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self.cancel_button.setEnabled(True)
        self.statusBar().showMessage(f"Scanning {', '.join(str(r) for r in roots)}…")
        self._merge_timer.start()
        worker.start()

    def cancel_scan(self, wait: bool = False) -> None:
        worker = self.scan_worker
        if worker is None:
            return
        worker.cancel()
        self.cancel_button.setEnabled(False)
        self.statusBar().showMessage("Cancelling the scan after the photos in flight…")
        if wait:
            worker.wait()
            self._scan_thread_done()

    def _scan_progress(self, done: int, total: int, path: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _scan_succeeded(self, summary: dict) -> None:
        text = (
            f"Scan {summary.get('status', 'finished')}: {summary.get('files_seen', 0)} files, "
            f"{summary.get('new', 0)} new, {summary.get('scored', 0)} scored, "
            f"{summary.get('errors', 0)} unreadable in {summary.get('seconds', 0):.1f} s"
        )
        if summary.get("skipped_scorers"):
            text += " — skipped: " + ", ".join(s["scorer"] for s in summary["skipped_scorers"])
        self.statusBar().showMessage(text)

    def _scan_failed(self, message: str) -> None:
        self.statusBar().showMessage(message)
        QMessageBox.warning(self, "Scan failed", message)

    def _scan_thread_done(self) -> None:
        if self.scan_worker is None:
            return
        self.scan_worker = None
        self._merge_timer.stop()
        self.progress.hide()
        self.cancel_button.hide()
        self.merge_from_catalog()
        self.reload_stacks()

    def reload_stacks(self) -> None:
        """Groups are (re)computed after a scan; a full reload picks up the new stacks."""
        current = self.current_id()
        self.reload()
        if current is not None:
            self.select_photo(current)
