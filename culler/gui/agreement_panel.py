"""The Agreement tab: how often culler's cull agrees with the photographer's own, one panel away.

"Measure" runs ``culler agreement`` on the open catalog (the photographer's decisions hidden, the cull
as a dry run; :mod:`culler.decide.agreement`) off the UI thread, with its own catalog connection, and
shows the overall figures and the largest disagreements. Double-clicking (or Enter on) a disagreement
asks the window to open that photo in the loupe (``openRequested``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QThread, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

#: The figures shown, in order: (report key, label).
FIGURES = (
    ("top1", "top-1 in bursts"),
    ("mean_rank", "mean rank of yours"),
    ("pick_precision", "pick precision"),
    ("pick_recall", "pick recall"),
    ("reject_precision", "reject precision"),
    ("reject_recall", "reject recall"),
)


class AgreementWorker(QThread):
    """Measures agreement on the catalog at ``db_path`` (its own connection: SQLite connections
    stay on the thread that made them)."""

    succeeded = Signal(object)  # the AgreementReport
    failed = Signal(str)

    def __init__(self, db_path: Path, editor: str, parent=None) -> None:
        super().__init__(parent)
        self.db_path, self.editor = db_path, editor

    def run(self) -> None:
        from culler.catalog import open_catalog
        from culler.decide.agreement import PRESETS, agreement

        try:
            catalog = open_catalog(self.db_path)
            try:
                report = agreement(catalog, marks=PRESETS[self.editor])
            finally:
                catalog.close()
        except Exception as exc:  # shown in the panel, in one line
            self.failed.emit(f"could not measure agreement: {exc}")
            return
        self.succeeded.emit(report)


def figure_text(key: str, value: Any, interval: list[float] | None = None) -> str:
    if value is None:
        return "–"
    text = f"{value:.2f}" if key == "mean_rank" else f"{100 * value:.0f} %"
    if interval:
        text += f"  [{100 * interval[0]:.0f}–{100 * interval[1]:.0f}]"
    return text


class AgreementPanel(QWidget):
    """Overall figures and the largest disagreements of the open catalog."""

    openRequested = Signal(int)  # a photo id to show in the loupe

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.db_path: Path | None = None
        self.worker: AgreementWorker | None = None
        self.report: Any = None
        layout = QVBoxLayout(self)
        controls = QHBoxLayout()
        self.editor = QComboBox()
        from culler.decide.agreement import PRESETS

        self.editor.addItems(sorted(PRESETS))
        self.editor.setCurrentText("lightroom")
        self.editor.setToolTip("Which of your marks mean kept and dropped (darktable: ≥2★ kept)")
        self.measure = QPushButton("Measure")
        self.measure.setToolTip("Hide your decisions, run the cull as a dry run, compare")
        self.measure.clicked.connect(self.start)
        controls.addWidget(self.editor, 1)
        controls.addWidget(self.measure)
        layout.addLayout(controls)
        self.status = QLabel("How often culler's cull agrees with yours, on shoots you culled.")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.figures: dict[str, QLabel] = {}
        for key, label in FIGURES:
            row = QHBoxLayout()
            row.addWidget(QLabel(label))
            value = QLabel("–")
            value.setAlignment(Qt.AlignmentFlag.AlignRight)
            self.figures[key] = value
            row.addWidget(value)
            layout.addLayout(row)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["photo", "you", "culler (why)"])
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.cellDoubleClicked.connect(lambda row, _col: self.open_row(row))
        self.table.cellActivated.connect(lambda row, _col: self.open_row(row))
        layout.addWidget(self.table, 1)

    def set_catalog(self, db_path: Path | None) -> None:
        """A new catalog: forget the figures of the last one."""
        self.db_path = db_path
        self.show_report(None)

    def start(self) -> None:
        if self.db_path is None or (self.worker is not None and self.worker.isRunning()):
            return
        self.measure.setEnabled(False)
        self.status.setText("measuring: the cull runs as a dry run with your decisions hidden…")
        self.worker = AgreementWorker(self.db_path, self.editor.currentText(), self)
        self.worker.succeeded.connect(self.show_report)
        self.worker.failed.connect(self._failed)
        self.worker.finished.connect(lambda: self.measure.setEnabled(True))
        self.worker.start()

    def _failed(self, message: str) -> None:
        self.status.setText(message)

    def show_report(self, report: Any) -> None:
        """Fill the panel from an AgreementReport (None clears it)."""
        self.report = report
        self.table.setRowCount(0)
        if report is None:
            for label in self.figures.values():
                label.setText("–")
            return
        o = report.overall
        if not report.shoots:
            self.status.setText(
                "no photo with your decisions: pick, reject or star photos (or import their "
                "sidecars with `culler xmp read`), or choose another editor's marks"
            )
        else:
            self.status.setText(
                f"{o['shoots']} shoots, {o['photos_judged']} photos judged, {o['groups']} bursts "
                f"where you kept one ({report.ranking} ranking). [a–b]: 90 % over shoots."
                + (f"\n{report.note}" if report.note else "")
            )
        for key, label in self.figures.items():
            label.setText(figure_text(key, o.get(key), report.intervals.get(key)))
        for d in report.disagreements:
            row = self.table.rowCount()
            self.table.insertRow(row)
            name = QTableWidgetItem(Path(d["path"]).name)
            name.setData(Qt.ItemDataRole.UserRole, int(d["photo_id"]))
            name.setToolTip(d["path"])
            self.table.setItem(row, 0, name)
            self.table.setItem(row, 1, QTableWidgetItem(d["photographer"]))
            why = QTableWidgetItem(f"{d['culler']}: {d['reason']}")
            why.setToolTip(d["reason"])
            self.table.setItem(row, 2, why)

    def open_row(self, row: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.openRequested.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def shutdown(self) -> None:
        """Wait for a measurement in flight (the window is closing)."""
        if self.worker is not None:
            self.worker.wait()
