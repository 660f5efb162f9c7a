"""The main window on a scanned catalog of real photos: keys write ratings, loupe, compare, panels."""

from __future__ import annotations

import os
import sqlite3

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from culler import hookimpl
from culler.gui.culling import GRID, LOUPE
from culler.gui.item_models import PhotoIdRole


def ratings(db_path) -> list[tuple]:
    """Every rating event in the catalog file: (photo_id, stars, decision, source)."""
    with sqlite3.connect(db_path) as conn:
        return conn.execute(
            "SELECT photo_id, stars, decision, source FROM ratings ORDER BY id"
        ).fetchall()


def open_window(window, qtbot, scanned):
    window.open_catalog(scanned)
    window.show()
    qtbot.waitExposed(window)
    window.grid.setFocus()
    return window


def current(window) -> int:
    return window.current_id()


def test_keys_write_ratings_at_once_and_ctrl_z_undoes(window, qtbot, scanned):
    open_window(window, qtbot, scanned)
    window.auto_advance = False
    pid = current(window)
    grid = window.grid
    qtbot.keyClick(grid, Qt.Key.Key_P)
    assert ratings(scanned)[-1] == (
        pid,
        None,
        "pick",
        "gui",
    )  # on disk before anything else happens
    qtbot.keyClick(grid, Qt.Key.Key_3)
    assert ratings(scanned)[-1] == (pid, 3, "pick", "gui")
    qtbot.keyClick(grid, Qt.Key.Key_X)
    assert ratings(scanned)[-1] == (pid, 3, "reject", "gui")
    qtbot.keyClick(grid, Qt.Key.Key_U)
    assert ratings(scanned)[-1] == (pid, 3, "none", "gui")
    for n, key in enumerate([Qt.Key.Key_0, Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_4, Qt.Key.Key_5]):
        qtbot.keyClick(grid, key)
        assert ratings(scanned)[-1][1] == [0, 1, 2, 4, 5][n]
    assert window.model.record(pid).stars == 5
    qtbot.keyClick(grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert ratings(scanned)[-1] == (pid, 4, "none", "gui")  # undo appends the previous state
    assert window.model.record(pid).stars == 4
    assert len(ratings(scanned)) == 10


def test_pick_advances_and_multi_selection_rates_all(window, qtbot, scanned):
    open_window(window, qtbot, scanned)
    first = current(window)
    qtbot.keyClick(window.grid, Qt.Key.Key_P)
    assert current(window) != first  # auto-advance to the next photo
    window.grid.selectAll()
    qtbot.keyClick(window.grid, Qt.Key.Key_2)
    assert window.wait_for_ratings()  # a selection's files are checked in a worker first
    assert {r[0] for r in ratings(scanned) if r[1] == 2} == {r.id for r in window.model.records}
    qtbot.keyClick(window.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert all(r.stars in (None,) for r in window.model.records)  # one undo step for the batch


def test_typing_in_search_never_rates(window, qtbot, scanned):
    open_window(window, qtbot, scanned)
    qtbot.keyClicks(window.filter_bar.search, "px05")
    assert ratings(scanned) == []
    window.filter_bar.search.setText("coffee")
    qtbot.waitUntil(lambda: window.proxy.rowCount() == 1)


def test_loupe_and_back(window, qtbot, scanned):
    open_window(window, qtbot, scanned)
    first = current(window)
    qtbot.keyClick(window.grid, Qt.Key.Key_Space)
    assert window.views.currentIndex() == LOUPE
    assert window.stage.focused.id == first
    qtbot.keyClick(window.stage, Qt.Key.Key_Right)
    second = current(window)
    assert second != first and window.stage.focused.id == second
    qtbot.keyClick(window.stage, Qt.Key.Key_X)
    assert ratings(scanned)[-1][:3] == (second, None, "reject")
    qtbot.keyClick(window.stage, Qt.Key.Key_Escape)
    assert window.views.currentIndex() == GRID


def test_compare_records_preferences(window, qtbot, scanned):
    open_window(window, qtbot, scanned)
    window.grid.selectAll()
    ids = [window.proxy.index(r, 0).data(PhotoIdRole) for r in range(3)]
    window.grid.clearSelection()
    for r in range(3):
        window.grid.selectionModel().select(
            window.proxy.index(r, 0), window.grid.selectionModel().SelectionFlag.Select
        )
    qtbot.keyClick(window.grid, Qt.Key.Key_C)
    assert [r.id for r in window.stage.records] == ids
    qtbot.keyClick(window.stage, Qt.Key.Key_Right)
    qtbot.keyClick(window.stage, Qt.Key.Key_P)
    with sqlite3.connect(scanned) as conn:
        prefs = conn.execute(
            "SELECT winner_photo_id, loser_photo_id, source FROM preferences"
        ).fetchall()
    assert sorted(prefs) == sorted([(ids[1], ids[0], "gui"), (ids[1], ids[2], "gui")])
    assert ratings(scanned)[-1][:3] == (ids[1], None, "pick")


def test_why_panel_and_plugin_panel(qtbot, scanned, settings, register_test_plugin):
    from culler.gui.main_window import MainWindow

    seen = []

    class Panel(QWidget):
        def set_photo(self, catalog, photo_id):
            seen.append(photo_id)

    class GuiPlugin:
        @hookimpl
        def register_gui_panels(register):
            register("Faces", Panel)

    register_test_plugin(GuiPlugin, "gui-panel-test")
    window = MainWindow(settings=settings, scan_workers=0)
    qtbot.addWidget(window)
    assert "Faces" in [window.details.tabText(i) for i in range(window.details.count())]
    open_window(window, qtbot, scanned)
    qtbot.waitUntil(lambda: bool(seen) and seen[-1] == current(window))
    text = " ".join(label.text() for label in window.why.widget().findChildren(type(window.counts)))
    assert "technical" in text and "/ 10" in text
    window.close()


def test_scorers_panel_lists_scorers_and_saves_choice(window, qtbot, scanned, settings):
    from culler.gui.scorers_panel import enabled_scorer_ids

    open_window(window, qtbot, scanned)
    panel = window.scorers_panel
    rows = {r.id: r for r in panel.model.rows}
    assert rows["technical"].weights == "none needed" and rows["technical"].enabled
    assert enabled_scorer_ids(settings) is None  # nothing changed: the scan's own default
    row = list(rows).index("technical")
    panel.model.setData(
        panel.model.index(row, 0), Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole
    )
    assert "technical" not in enabled_scorer_ids(settings)
    # A catalog is open and nothing is training: the button works and says what it does.
    assert panel.train_button.isEnabled()
    assert "Fine-tune a personal scorer" in panel.train_button.toolTip()


def test_xmp_on_rating_writes_the_sidecar_when_switched_on(window, qtbot, scanned):
    from culler.interop.xmp import read_sidecar

    open_window(window, qtbot, scanned)
    window.auto_advance = False
    pid = current(window)
    photo = window.catalog.photo(pid)["path"]
    stem = photo.rsplit(".", 1)[0]
    window._toggle_xmp(True)
    qtbot.keyClick(window.grid, Qt.Key.Key_X)
    sidecar = next(p for p in (stem + ".xmp", photo + ".xmp") if os.path.exists(p))
    assert read_sidecar(sidecar).rating == -1
    qtbot.keyClick(window.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert read_sidecar(sidecar).rating == 0  # back to unrated: no stale reject
    window._toggle_xmp(False)
    qtbot.keyClick(window.grid, Qt.Key.Key_4)
    assert read_sidecar(sidecar).rating == 0  # switched off: sidecar left alone


def test_a_foreign_database_is_refused_in_a_dialog_and_left_untouched(
    window, qtbot, scanned, tmp_path, monkeypatch
):
    """Opening another program's SQLite file shows why in a dialog, changes nothing in it, and
    keeps the catalog that was open."""
    from culler.gui import main_window

    open_window(window, qtbot, scanned)
    shown = []
    monkeypatch.setattr(
        main_window.QMessageBox, "warning", lambda parent, title, text: shown.append(text)
    )
    foreign = tmp_path / "other-app.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    before = foreign.read_bytes()
    assert window.open_catalog(foreign) is False
    assert len(shown) == 1 and "database of another application" in shown[0]
    assert foreign.read_bytes() == before
    assert window.db_path == scanned
    assert window.model.rowCount() > 0
