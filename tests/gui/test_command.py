"""`culler gui [DIR] [--db PATH]` resolves what to open, then hands over to the Qt app."""

from __future__ import annotations

from click.testing import CliRunner

from culler.cli import cli


def test_gui_opens_a_folder(monkeypatch, photo_dir):
    calls = []
    monkeypatch.setattr("culler.gui.app.run", lambda folder, db: calls.append((folder, db)) or 0)
    result = CliRunner().invoke(cli, ["gui", str(photo_dir)])
    assert result.exit_code == 0, result.output
    assert calls == [(photo_dir.resolve(), None)]


def test_gui_with_a_missing_catalog_says_what_to_do(tmp_path):
    result = CliRunner().invoke(cli, ["gui", "--db", str(tmp_path / "nope.db")])
    assert result.exit_code != 0
    assert "culler gui FOLDER" in result.output


def test_gui_window_opens_a_catalog(qtbot, scanned):
    from culler.gui.app import create_window

    window = create_window(db_path=scanned)
    qtbot.addWidget(window)
    assert window.model.rowCount() == 6
    assert window.proxy.rowCount() == 6
    window.close()
