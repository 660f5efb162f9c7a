"""Start the desktop app: a dark Fusion style, the main window, and the folder or catalog to open."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from culler.gui.main_window import MainWindow


def apply_style(app: QApplication) -> None:
    """Dark neutral greys: photos are judged against a neutral, unobtrusive surround."""
    app.setStyle("Fusion")
    palette = QPalette()
    colors = {
        QPalette.ColorRole.Window: QColor(36, 37, 40),
        QPalette.ColorRole.WindowText: QColor(220, 220, 220),
        QPalette.ColorRole.Base: QColor(30, 31, 34),
        QPalette.ColorRole.AlternateBase: QColor(42, 43, 47),
        QPalette.ColorRole.ToolTipBase: QColor(50, 52, 58),
        QPalette.ColorRole.ToolTipText: QColor(230, 230, 230),
        QPalette.ColorRole.Text: QColor(220, 220, 220),
        QPalette.ColorRole.Button: QColor(48, 50, 54),
        QPalette.ColorRole.ButtonText: QColor(220, 220, 220),
        QPalette.ColorRole.Highlight: QColor(64, 120, 210),
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.PlaceholderText: QColor(130, 130, 130),
        QPalette.ColorRole.Link: QColor(110, 160, 240),
    }
    for role, color in colors.items():
        palette.setColor(role, color)
    palette.setColor(
        QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(110, 110, 110)
    )
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(110, 110, 110))
    app.setPalette(palette)


def create_window(
    folder: Path | None = None, db_path: Path | None = None, scan: bool = True
) -> MainWindow:
    """The main window with ``folder`` (scanned in the background) or the catalog ``db_path`` open."""
    window = MainWindow()
    if folder is not None:
        window.open_folder(folder, db_path, scan=scan)
    elif db_path is not None:
        window.open_catalog(db_path)
    return window


def run(folder: Path | None = None, db_path: Path | None = None) -> int:
    """Run the GUI until the window closes; returns the exit status."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("culler")
    app.setOrganizationName("culler")
    apply_style(app)
    window = create_window(folder, db_path)
    window.show()
    return app.exec()
