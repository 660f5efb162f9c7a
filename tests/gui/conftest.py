"""Fixtures for the GUI tests: a scanned catalog of real photos, isolated settings, a main window."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")


@pytest.fixture
def scanned(photo_dir: Path) -> Path:
    """The sample photos scanned (technical scorer, in-process) into photo_dir/culler.db."""
    from culler.catalog import open_catalog
    from culler.scan import ScanOptions, scan_folders

    db_path = photo_dir / "culler.db"
    with open_catalog(db_path) as catalog:
        scan_folders(catalog, [photo_dir], ScanOptions(workers=0), echo=lambda _m: None)
    return db_path


@pytest.fixture
def shoot(tmp_path: Path) -> tuple[Path, Path, dict[str, Path]]:
    """culler.testing.shoot's burst, web copy and singles, scanned: (folder, catalog, files)."""
    from culler.catalog import open_catalog
    from culler.scan import ScanOptions, scan_folders
    from culler.testing.shoot import write_shoot

    folder = tmp_path / "shoot"
    files = write_shoot(folder)
    db_path = folder / "culler.db"
    with open_catalog(db_path) as catalog:
        scan_folders(catalog, [folder], ScanOptions(workers=0), echo=lambda _m: None)
    return folder, db_path, files


@pytest.fixture
def settings(tmp_path: Path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "gui-settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    from culler.gui.main_window import MainWindow

    win = MainWindow(settings=settings, scan_workers=0)
    # Keys are pressed as a person rates, a second apart (the digit guard reads this clock);
    # tests of typing speed set their own.
    win.clock = itertools.count(0.0, 1.0).__next__
    qtbot.addWidget(win)
    win.resize(1200, 800)
    yield win
    win.close()
