"""From proposal to delivery in the window: run the cull, review its proposals, export, write XMP.

Mixed into :class:`culler.gui.main_window.MainWindow`. The cull runs :func:`culler.decide.cull.run_cull`
(exactly what ``culler cull`` runs) in a :class:`CullWorker` thread; what it wrote are *proposals*: pick
and reject events with source ``auto``, drawn hollow with an "A" in the grid and listed by the
"Proposals" flag filter until the photographer accepts them (A, Shift+A for all shown) or overrides
one (P / X / U), which makes it a hand decision. The whole run is one undo step; accepting is one too.
Export and XMP run in a :class:`DeliverWorker` with the CLI's code and safety, with progress and a
summary of what was written.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QWidget,
)

from culler.catalog import RatingBatch
from culler.gui.item_models import RecordRole
from culler.gui.workers import CullWorker, DeliverWorker

EXPORT_MODES = (
    ("Copy (originals stay where they are)", "copy"),
    ("Link (symbolic links to the originals)", "link"),
    ("Move (the catalog follows the files)", "move"),
)
PAST = {"copy": "copied", "link": "linked", "move": "moved"}


class ExportDialog(QDialog):
    """Where and how to export the picks: a folder, copy / link / move, a minimum of stars."""

    def __init__(self, parent=None, dest: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Export picks")
        self.folder = QLineEdit(dest)
        self.folder.setPlaceholderText("Folder to export the picks to")
        self.folder.setMinimumWidth(320)
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        row = QWidget()
        row_layout = QHBoxLayout(row)
        row_layout.setContentsMargins(0, 0, 0, 0)
        row_layout.addWidget(self.folder, 1)
        row_layout.addWidget(browse)
        self.mode = QComboBox()
        for text, value in EXPORT_MODES:
            self.mode.addItem(text, value)
        self.min_stars = QSpinBox()
        self.min_stars.setRange(0, 5)
        self.min_stars.setSpecialValueText("picks only")
        self.min_stars.setSuffix(" ★ and up, unless rejected")
        self.keep_folders = QCheckBox("Keep the folder structure under the scanned folders")
        form = QFormLayout(self)
        form.addRow("To", row)
        form.addRow("How", self.mode)
        form.addRow("Also", self.min_stars)
        form.addRow("", self.keep_folders)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export the picks to", self.folder.text())
        if folder:
            self.folder.setText(folder)


class ReviewActions:
    """Cull, accept / override, redo, flag filters, next undecided, export and XMP."""

    cull_worker: CullWorker | None = None
    deliver_worker: DeliverWorker | None = None
    #: The last summary shown (cull, export or XMP), also in the status bar.
    last_summary: str = ""

    # -- the cull --------------------------------------------------------------------------------
    def run_cull(self) -> bool:
        """Run the cull off the UI thread; False (and a message) when it cannot start now."""
        if self.db_path is None:
            self.statusBar().showMessage("Open a folder or a catalog first (Ctrl+O)", 5000)
            return False
        if self.scan_worker is not None or self._busy():
            self.statusBar().showMessage(
                "Wait for the running scan, cull or export to finish, then cull again", 6000
            )
            return False
        worker = CullWorker(self.db_path)
        worker.message.connect(lambda text: self.statusBar().showMessage(f"Cull: {text}"))
        worker.succeeded.connect(self._cull_done)
        worker.failed.connect(self._job_failed)
        worker.finished.connect(self._job_thread_done)
        self.cull_worker = worker
        self.progress.setFormat("culling…")
        self.progress.setRange(0, 0)
        self.progress.show()
        worker.start()
        return True

    def _cull_done(self, plan: list, events: list) -> None:
        batch = RatingBatch("cull", "auto", list(events))
        if self.history is not None:
            self.history.push(batch, sync=False)
        picks = sum(1 for p in plan if p.changes and p.decision == "pick")
        rejects = sum(1 for p in plan if p.changes and p.decision == "reject")
        kept = sum(1 for p in plan if p.locked)
        self.refresh_ratings([p.photo_id for p in plan])
        self.last_summary = (
            f"Cull proposed {picks} picks and {rejects} rejects; {kept} photos decided by hand "
            f"were left as they are. Review with Shift+R, accept with A (all shown: Shift+A), "
            f"override with P / X / U, undo with Ctrl+Z."
        )
        self.statusBar().showMessage(self.last_summary)
        self._details_timer.start()

    def refresh_ratings(self, photo_ids: list[int]) -> None:
        """Re-read these photos' ratings and who decided them from the catalog into the grid."""
        if self.catalog is None:
            return
        ratings = self.catalog.current_ratings(photo_ids)
        sources = self.catalog.decision_sources(photo_ids)
        for pid in photo_ids:
            state = ratings.get(pid, {})
            self.model.update_rating(
                pid,
                state.get("stars"),
                state.get("decision"),
                state.get("label"),
                sources.get(pid),
            )
        self.proxy.refilter()
        self.stage.refresh()
        self._update_counts()
        self._details_timer.start()  # the Why panel says who decided now

    # -- reviewing -------------------------------------------------------------------------------
    def accept_proposals(self, photo_ids: list[int] | None = None) -> int:
        """A: make the cull's proposals of these photos (default: the selection) hand decisions."""
        if self.history is None:
            return 0
        ids = self.target_ids() if photo_ids is None else photo_ids
        records = [r for r in (self.model.record(pid) for pid in ids) if r is not None]
        states = {r.id: {"decision": r.decision} for r in records if r.proposed}
        if not states:
            self.statusBar().showMessage("No proposal to accept here: run the cull (Ctrl+K)", 4000)
            return 0
        self.history.apply_each(states, "accept proposal")
        self.refresh_ratings(list(states))
        self._report_xmp()
        self.statusBar().showMessage(f"Accepted {self._what(states)}", 4000)
        if photo_ids is None and len(ids) == 1 and self.auto_advance:
            self.next_undecided()
        return len(states)

    def accept_all_shown(self) -> int:
        """Shift+A: accept every proposal the current filters show. Frames inside a collapsed
        stack are not shown, so they stay to review (S opens the stack, as in Lightroom)."""
        ids = [
            rec.id
            for row in range(self.proxy.rowCount())
            if (rec := self.proxy.index(row, 0).data(RecordRole)) is not None and rec.proposed
        ]
        accepted = self.accept_proposals(ids)
        hidden = sum(1 for r in self.model.records if r.proposed)
        if accepted and hidden:
            self.statusBar().showMessage(
                f"Accepted {accepted} proposals; {hidden} inside collapsed stacks stay to review "
                "(S opens a stack)",
                6000,
            )
        return accepted

    def _what(self, states: dict[int, dict]) -> str:
        if len(states) == 1:
            pid, state = next(iter(states.items()))
            rec = self.model.record(pid)
            return f"{rec.name.rsplit('.', 1)[0] if rec else pid}: {state['decision']}"
        return f"{len(states)} proposals"

    def next_undecided(self, step: int = 1) -> bool:
        """N: the next photo shown (after the current one) with no decision of the photographer's:
        unflagged, or only proposed by the cull."""
        start = self.grid.currentIndex().row()
        rows = self.proxy.rowCount()
        for offset in range(1, rows + 1):
            row = start + offset * step
            if not 0 <= row < rows:
                break
            rec = self.proxy.index(row, 0).data(RecordRole)
            if rec is not None and (not rec.flagged or rec.proposed) and rec.status != "missing":
                self.select_row(row)
                if self._in_compare() or self.views.currentIndex() != 0:
                    self._show_in_loupe()
                return True
        self.statusBar().showMessage("No undecided photo after this one", 4000)
        return False

    def set_flag_filter(self, value: str) -> None:
        """Shift+P / X / U / R: show only picks, rejects, unflagged or proposals; again: all."""
        combo = self.filter_bar.decision
        index = combo.findData(value)
        combo.setCurrentIndex(0 if combo.currentIndex() == index else max(0, index))
        self.statusBar().showMessage(f"Showing: {combo.currentText()}", 3000)

    def redo(self) -> None:
        if self.history is None or not self.history.can_redo():
            self.statusBar().showMessage("Nothing to redo", 3000)
            return
        states = self.history.redo()
        self.refresh_ratings(list(states))
        self.statusBar().showMessage(f"Redone ({len(states)} photo(s))", 3000)
        self._report_xmp()

    # -- delivering ------------------------------------------------------------------------------
    def export_picks(
        self,
        dest: Path | None = None,
        mode: str = "copy",
        min_stars: int | None = None,
        keep_folders: bool = False,
    ) -> bool:
        """Ctrl+E: export the picks (asks where and how unless ``dest`` is given)."""
        if self.db_path is None or self._refuse_while_busy():
            return False
        if dest is None:
            dialog = ExportDialog(self, str(self.settings.value("export/dest", "")))
            accepted = dialog.exec() == QDialog.DialogCode.Accepted
            self._restore_focus()
            if not accepted or not dialog.folder.text().strip():
                return False
            dest = Path(dialog.folder.text().strip()).expanduser()
            mode = dialog.mode.currentData()
            min_stars = dialog.min_stars.value() or None
            keep_folders = dialog.keep_folders.isChecked()
        dest = Path(dest).expanduser().resolve()
        self.settings.setValue("export/dest", str(dest))
        worker = DeliverWorker(
            self.db_path,
            "export",
            dest=dest,
            mode=mode,
            min_stars=min_stars,
            keep_folders=keep_folders,
        )
        return self._start_delivery(worker, f"{PAST[mode]} %v / %m")

    def write_xmp(self, naming: str | None = None) -> bool:
        """Ctrl+Shift+E: write (merge) an XMP sidecar for every readable photo, as ``culler xmp
        write``: ratings, labels and culler's scores, for Lightroom, Capture One or darktable."""
        if self.db_path is None or self._refuse_while_busy():
            return False
        worker = DeliverWorker(self.db_path, "xmp", naming=naming or self._xmp_naming() or "auto")
        return self._start_delivery(worker, "XMP %v / %m")

    def _start_delivery(self, worker: DeliverWorker, fmt: str) -> bool:
        worker.progress.connect(self._delivery_progress)
        worker.succeeded.connect(self._delivered)
        worker.failed.connect(self._job_failed)
        worker.finished.connect(self._job_thread_done)
        self.deliver_worker = worker
        self.progress.setFormat(fmt)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setEnabled(True)
        self.cancel_button.show()
        worker.start()
        return True

    def _delivery_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _delivered(self, summary: dict) -> None:
        lines = []
        if summary["job"] == "export":
            lines.append(
                f"{summary['done']} of {summary['photos']} picks {PAST[summary['mode']]} to "
                f"{summary['dest']} with {summary['sidecars']} sidecar(s); "
                f"{summary['exists']} were already there"
            )
            if summary["moved"]:
                self.reload_stacks()  # the catalog follows moved files
        else:
            lines.append(
                f"XMP sidecars: {summary['written']} written or updated, "
                f"{summary['unchanged']} already up to date, of {summary['photos']} photos"
            )
        if summary.get("cancelled"):
            lines.append("Cancelled: the rest was not done")
        lines += [f"note: {n}" for n in summary["notes"]]
        if summary["errors"]:
            lines.append(f"{len(summary['errors'])} failed:")
            lines += [f"  {e}" for e in summary["errors"][:20]]
        self.last_summary = "\n".join(lines)
        self.statusBar().showMessage(lines[0])
        box = QMessageBox(
            QMessageBox.Icon.Warning if summary["errors"] else QMessageBox.Icon.Information,
            "Export" if summary["job"] == "export" else "XMP sidecars",
            self.last_summary,
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.finished.connect(lambda _r: self._restore_focus())
        box.open()  # not exec(): the window stays live (and scripted sessions go on)
        self.summary_box = box

    # -- shared ----------------------------------------------------------------------------------
    def _busy(self) -> bool:
        return self.cull_worker is not None or self.deliver_worker is not None

    def _refuse_while_busy(self) -> bool:
        if self.scan_worker is not None or self._busy():
            self.statusBar().showMessage(
                "Wait for the running scan, cull or export to finish, then try again", 6000
            )
            return True
        return False

    def cancel_job(self) -> None:
        if self.deliver_worker is not None:
            self.deliver_worker.cancel()
            self.cancel_button.setEnabled(False)
        else:
            self.cancel_scan()

    def _job_failed(self, message: str) -> None:
        self.last_summary = message
        self.statusBar().showMessage(message)
        box = QMessageBox(
            QMessageBox.Icon.Warning, "Not done", message, QMessageBox.StandardButton.Ok, self
        )
        box.finished.connect(lambda _r: self._restore_focus())
        box.open()
        self.summary_box = box

    def _job_thread_done(self) -> None:
        self.cull_worker = None
        self.deliver_worker = None
        self.progress.hide()
        self.progress.setFormat("scanning %v / %m")
        self.cancel_button.setText("Cancel scan")
        self.cancel_button.hide()

    def wait_for_jobs(self, msecs: int = 60_000) -> None:
        for worker in (self.cull_worker, self.deliver_worker):
            if worker is not None:
                worker.wait(msecs)

    def _restore_focus(self) -> None:
        """After a dialog: the keys go back to the grid or the loupe, never to a stray widget."""
        target = self.stage if self.views.currentIndex() == 1 else self.grid
        target.setFocus()
