"""The scorers panel (the "Models" tab): installed scorers, weight status, which run next scan, and training.

A scorer whose weights are missing can be installed from here: Download runs the same pull as
``culler models pull`` in the background (progress, cancel, and the same clear message when offline or
unreachable), Import… the same code as ``culler models import`` on a file the user picks; the exact
command stays copyable for a terminal. Once installed, the panel offers a rescan.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PySide6.QtCore import QProcess, QSettings, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from culler.gui.item_models import ScorerRow, ScorerTableModel
from culler.gui.workers import WeightsWorker

SETTINGS_KEY = "scan/scorer_enabled"


def weight_status(cls) -> tuple[str, str]:
    """("none needed" | "installed" | "missing" | "damaged", the command that installs them): the
    status ``culler models list`` shows (culler.models.weight_status.weights_status), so GUI and CLI agree."""
    from culler.models.weight_status import weights_status

    return weights_status(cls)


def scorer_rows(settings: QSettings) -> list[ScorerRow]:
    """Every registered scorer with its weight status and the user's on/off choice."""
    from culler.plugin.scorers import get_scorer_classes

    overrides = load_overrides(settings)
    rows = []
    for scorer_id, cls in sorted(get_scorer_classes().items()):
        status, command = weight_status(cls)
        rows.append(
            ScorerRow(
                id=scorer_id,
                kind=cls.kind,
                plugin=cls.plugin_name or "",
                description=cls.description,
                weights=status,
                command=command,
                enabled=overrides.get(scorer_id, bool(cls.default_enabled)),
            )
        )
    return rows


def load_overrides(settings: QSettings) -> dict[str, bool]:
    raw = settings.value(SETTINGS_KEY, "")
    try:
        data = json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        return {}
    return {str(k): bool(v) for k, v in data.items()} if isinstance(data, dict) else {}


def enabled_scorer_ids(settings: QSettings) -> list[str] | None:
    """Scorers the next scan runs: None (scan's own default) when the user changed nothing."""
    if not load_overrides(settings):
        return None
    return [
        r.id
        for r in scorer_rows(settings)
        if r.enabled and r.weights in ("installed", "none needed")
    ]


def trainer_command(db_path: Path) -> list[str]:
    """The command that trains a personal model on this catalog (the trainer ships with culler)."""
    return [sys.executable, "-m", "culler_trainer", "--db", str(db_path)]


class ScorersPanel(QWidget):
    """Scorer table, install command, and the "Train my model" action running in a QProcess."""

    scanRequested = Signal()
    trainingFinished = Signal(int)  # exit code
    weightsFinished = Signal(bool, str)  # installed?, the message shown

    def __init__(self, settings: QSettings, parent=None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.db_path: Path | None = None
        self.process: QProcess | None = None
        self.model = ScorerTableModel(scorer_rows(settings), self)
        self.model.dataChanged.connect(self._save)

        self.table = self._build_table()

        self.command = QLabel("Select a scorer to see how to install its weights.")
        self.command.setWordWrap(True)
        self.command.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy_button = QPushButton("Copy command")
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self._copy)
        self._build_weight_controls()

        self.rescan_button = QPushButton("Rescan with these scorers")
        self.rescan_button.setToolTip(
            "Scan the catalog's folders again with the scorers ticked above"
        )
        self.rescan_button.clicked.connect(self.scanRequested)
        self.train_button = QPushButton("Train my model")
        self.train_button.clicked.connect(self.start_training)
        self.cancel_button = QPushButton("Stop training")
        self.cancel_button.clicked.connect(self.stop_training)
        self.cancel_button.hide()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setPlaceholderText("Training output appears here.")

        self._lay_out()
        self.set_catalog(None)

    def _build_table(self) -> QTableView:
        table = QTableView()
        table.setModel(self.model)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.verticalHeader().hide()
        table.setWordWrap(False)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        table.selectionModel().currentRowChanged.connect(self._show_command)
        return table

    def _lay_out(self) -> None:
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Installed scorers</b> — ticked ones run in the next scan"))
        layout.addWidget(self.table, 2)
        # The install hint gets the panel's whole width (beside the buttons it was a 60 px column).
        layout.addWidget(self.command)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.copy_button)
        row.addWidget(self.download_button)
        row.addWidget(self.import_button)
        layout.addLayout(row)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.weights_progress, 1)
        progress_row.addWidget(self.weights_cancel)
        layout.addLayout(progress_row)
        offer_row = QHBoxLayout()
        offer_row.addWidget(self.weights_status, 1)
        offer_row.addWidget(self.rescan_offer)
        layout.addLayout(offer_row)
        buttons = QHBoxLayout()
        buttons.addWidget(self.rescan_button)
        buttons.addStretch(1)
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        layout.addWidget(self.log, 1)

    def _build_weight_controls(self) -> None:
        """Download / Import… buttons, the download's progress and cancel, and the rescan offer."""
        self.download_button = QPushButton("Download")
        self.download_button.setToolTip("Download the published weights (as `culler models pull`)")
        self.download_button.clicked.connect(self.download)
        self.import_button = QPushButton("Import…")
        self.import_button.setToolTip(
            "Install a checkpoint file you have (as `culler models import`)"
        )
        self.import_button.clicked.connect(self.choose_import)
        self.weights_progress = QProgressBar()
        self.weights_progress.hide()
        self.weights_cancel = QPushButton("Cancel download")
        self.weights_cancel.clicked.connect(self.cancel_weights)
        self.weights_cancel.hide()
        self.weights_status = QLabel()
        self.weights_status.setWordWrap(True)
        self.weights_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.weights_status.hide()
        self.rescan_offer = QPushButton("Rescan now")
        self.rescan_offer.clicked.connect(self._rescan_from_offer)
        self.rescan_offer.hide()
        self.weights_worker: WeightsWorker | None = None
        self._selected: ScorerRow | None = None

    def set_catalog(self, db_path: Path | None) -> None:
        self.db_path = db_path
        self.refresh()

    def refresh(self) -> None:
        selected = self._selected.id if getattr(self, "_selected", None) else None
        self.model.set_rows(scorer_rows(self.settings))
        self._update_train_button()
        rows = [i for i, r in enumerate(self.model.rows) if r.id == selected]
        if rows:
            self.table.selectRow(rows[0])
        else:
            self._selected = None
            self._update_weight_buttons()

    def _update_train_button(self) -> None:
        running = self.process is not None
        if self.db_path is None:
            self.train_button.setEnabled(False)
            self.train_button.setToolTip("Open a catalog first.")
            return
        self.train_button.setEnabled(not running)
        self.train_button.setToolTip(
            "Fine-tune a personal scorer on your ratings and picks, in the background."
        )

    def _save(self) -> None:
        overrides = {row.id: row.enabled for row in self.model.rows}
        self.settings.setValue(SETTINGS_KEY, json.dumps(overrides, sort_keys=True))
        self.settings.sync()

    def _show_command(self, current, _previous) -> None:
        if not current.isValid():
            return
        row = self.model.rows[current.row()]
        if row.command:
            self.command.setText(
                f"<b>{row.id}</b> needs weights: run <code>{row.command}</code> "
                f"(or <code>culler models import {row.id} FILE</code>)"
            )
        else:
            self.command.setText(f"<b>{row.id}</b>: weights {row.weights}.")
        self.copy_button.setEnabled(bool(row.command))
        self._selected_command = row.command
        self._selected = row
        self._update_weight_buttons()

    # -- weights ---------------------------------------------------------------------------------
    def select_scorer(self, scorer_id: str) -> bool:
        for i, row in enumerate(self.model.rows):
            if row.id == scorer_id:
                self.table.selectRow(i)
                return True
        return False

    def _update_weight_buttons(self) -> None:
        row = self._selected
        busy = self.weights_worker is not None
        needs = row is not None and row.weights in ("missing", "damaged")
        pullable = needs and row.command.startswith("culler models pull")
        self.download_button.setEnabled(bool(pullable) and not busy)
        self.download_button.setToolTip(
            "Download the published weights (as `culler models pull`)"
            if pullable or not needs
            else "No published file to download: import a checkpoint (Import…)"
        )
        self.import_button.setEnabled(row is not None and row.weights != "none needed" and not busy)

    def download(self) -> None:
        if self._selected is not None:
            self._start_weights(WeightsWorker(self._selected.id, parent=self))

    def choose_import(self) -> None:
        if self._selected is None:
            return
        path, _ = QFileDialog.getOpenFileName(
            self,
            f"Import weights for {self._selected.id}",
            "",
            "Weights (*.safetensors *.pt *.pth *.bin *.ckpt *.zip *.tar *.tar.gz *.tgz);;All files (*)",
        )
        if path:
            self.import_file(self._selected.id, Path(path))

    def import_file(self, scorer_id: str, path: Path) -> None:
        self._start_weights(WeightsWorker(scorer_id, path, parent=self))

    def cancel_weights(self) -> None:
        if self.weights_worker is not None:
            self.weights_worker.cancel()
            self.weights_status.setText("Cancelling…")

    def _start_weights(self, worker: WeightsWorker) -> None:
        if self.weights_worker is not None:
            return
        self.weights_worker = worker
        worker.progress.connect(self._weights_progress)
        worker.message.connect(self.log.appendPlainText)
        worker.succeeded.connect(lambda text: self._weights_done(True, text))
        worker.failed.connect(lambda text: self._weights_done(False, text))
        worker.cancelled_signal.connect(
            lambda: self._weights_done(False, "Download cancelled; nothing was installed.")
        )
        what = "Importing" if worker.source is not None else "Downloading"
        self.weights_status.setText(f"{what} weights for {worker.scorer_id}…")
        self.weights_status.setStyleSheet("")
        self.weights_status.show()
        self.rescan_offer.hide()
        self.weights_progress.setRange(0, 0)  # busy until the size is known
        self.weights_progress.show()
        self.weights_cancel.setVisible(worker.source is None)
        self._update_weight_buttons()
        worker.start()

    def _weights_progress(self, done: int, total: int) -> None:
        if total:
            self.weights_progress.setRange(0, 1000)
            self.weights_progress.setValue(int(1000 * done / total))
            self.weights_progress.setFormat(f"{done / 1e6:.1f} / {total / 1e6:.1f} MB")
        else:
            self.weights_progress.setFormat(f"{done / 1e6:.1f} MB")

    def _weights_done(self, ok: bool, text: str) -> None:
        worker, self.weights_worker = self.weights_worker, None
        if worker is not None:
            worker.wait()  # it has emitted its last signal; the panel (its parent) owns it
        self.weights_progress.hide()
        self.weights_cancel.hide()
        self.log.appendPlainText(text)
        if ok:
            self.weights_status.setText(f"Installed — {text}. Rescan to score your photos with it.")
            self.weights_status.setStyleSheet("color: #8c8")
            self.rescan_offer.setVisible(self.db_path is not None)
        else:
            self.weights_status.setText(text)
            self.weights_status.setStyleSheet("color: #e88")
        self.refresh()
        self.weightsFinished.emit(ok, text)

    def _rescan_from_offer(self) -> None:
        self.rescan_offer.hide()
        self.scanRequested.emit()

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(getattr(self, "_selected_command", ""))

    # -- training --------------------------------------------------------------------------------
    def start_training(self) -> None:
        if self.db_path is None or self.process is not None:
            return
        command = trainer_command(self.db_path)
        self.log.appendPlainText("$ " + " ".join(command[1:]))
        process = QProcess(self)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        process.readyReadStandardOutput.connect(self._read_output)
        process.finished.connect(self._finished)
        self.process = process
        process.start(command[0], command[1:])
        self.cancel_button.show()
        self._update_train_button()

    def stop_training(self) -> None:
        if self.process is not None:
            self.process.terminate()

    def _read_output(self) -> None:
        if self.process is not None:
            text = bytes(self.process.readAllStandardOutput()).decode(errors="replace")
            self.log.appendPlainText(text.rstrip())

    def _finished(self, code: int, _status) -> None:
        self._read_output()
        self.log.appendPlainText(f"training finished with exit code {code}")
        self.process = None
        self.cancel_button.hide()
        self._update_train_button()
        self.trainingFinished.emit(code)
