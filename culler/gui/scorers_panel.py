"""The scorers panel (the "Models" tab): installed scorers, weight status, which run next scan, and training.

Weights are never downloaded from here: the panel shows the exact ``culler models`` command (copyable),
because pulling hundreds of megabytes deserves a terminal and its progress output.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PySide6.QtCore import QProcess, QSettings, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from culler.gui.item_models import ScorerRow, ScorerTableModel

SETTINGS_KEY = "scan/scorer_enabled"


def weight_status(cls) -> tuple[str, str]:
    """("none needed" | "installed" | "missing" | "damaged", the command that installs them): the
    status ``culler models list`` shows (culler.weight_status.weights_status), so GUI and CLI agree."""
    from culler.weight_status import weights_status

    return weights_status(cls)


def scorer_rows(settings: QSettings) -> list[ScorerRow]:
    """Every registered scorer with its weight status and the user's on/off choice."""
    from culler.scorers import get_scorer_classes

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

    def __init__(self, settings: QSettings, parent=None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.db_path: Path | None = None
        self.process: QProcess | None = None
        self.model = ScorerTableModel(scorer_rows(settings), self)
        self.model.dataChanged.connect(self._save)

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.selectionModel().currentRowChanged.connect(self._show_command)

        self.command = QLabel("Select a scorer to see how to install its weights.")
        self.command.setWordWrap(True)
        self.command.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy_button = QPushButton("Copy command")
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self._copy)

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

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Installed scorers</b> — ticked ones run in the next scan"))
        layout.addWidget(self.table, 2)
        row = QHBoxLayout()
        row.addWidget(self.command, 1)
        row.addWidget(self.copy_button)
        layout.addLayout(row)
        buttons = QHBoxLayout()
        buttons.addWidget(self.rescan_button)
        buttons.addStretch(1)
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        layout.addWidget(self.log, 1)
        self.set_catalog(None)

    def set_catalog(self, db_path: Path | None) -> None:
        self.db_path = db_path
        self.refresh()

    def refresh(self) -> None:
        self.model.set_rows(scorer_rows(self.settings))
        self._update_train_button()

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
