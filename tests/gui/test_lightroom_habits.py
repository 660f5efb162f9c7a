"""Lightroom habits: 6–9 colour labels, the filmstrip under the loupe, the histogram with clipping."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from PySide6.QtCore import QItemSelectionModel, Qt

from culler.gui.culling import LOUPE
from culler.gui.histogram import histogram
from culler.gui.item_models import PhotoIdRole


def last_label(db_path, photo_id: int):
    with sqlite3.connect(db_path) as conn:
        return conn.execute(
            "SELECT label FROM ratings WHERE photo_id = ? ORDER BY id DESC LIMIT 1", [photo_id]
        ).fetchone()[0]


def open_window(window, qtbot, scanned):
    window.open_catalog(scanned)
    window.show()
    qtbot.waitExposed(window)
    window.grid.setFocus()
    window.auto_advance = False


def test_6_to_9_set_colour_labels_again_removes_and_undo_restores(window, qtbot, scanned):
    open_window(window, qtbot, scanned)
    pid = window.current_id()
    qtbot.keyClick(window.grid, Qt.Key.Key_6)
    assert last_label(scanned, pid) == "red"
    assert window.model.record(pid).label == "red"
    qtbot.keyClick(window.grid, Qt.Key.Key_9)
    assert last_label(scanned, pid) == "blue"
    qtbot.keyClick(window.grid, Qt.Key.Key_9)  # the same key again: no label
    assert last_label(scanned, pid) is None
    qtbot.keyClick(window.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert last_label(scanned, pid) == "blue" and window.model.record(pid).label == "blue"
    window.set_mode(LOUPE)
    qtbot.keyClick(window.stage, Qt.Key.Key_7)
    assert last_label(scanned, pid) == "yellow"
    assert window.model.record(pid).stars is None  # a label leaves the rating alone


def test_the_filmstrip_follows_the_loupe_and_choosing_in_it_moves_the_loupe(window, qtbot, scanned):
    open_window(window, qtbot, scanned)
    window.set_mode(LOUPE)
    assert window.filmstrip.isVisible()
    assert window.filmstrip.model() is window.proxy
    third = window.proxy.index(2, 0)
    window.filmstrip.selectionModel().setCurrentIndex(
        third, QItemSelectionModel.SelectionFlag.ClearAndSelect
    )
    assert window.stage.focused.id == third.data(PhotoIdRole)
    qtbot.keyClick(window.stage, Qt.Key.Key_Left)
    assert window.filmstrip.currentIndex().row() == 1


def test_histogram_measures_clipping_on_a_real_photo():
    from skimage import data

    photo = data.astronaut()
    normal = histogram(photo)
    assert normal.channels.shape == (4, 64)
    assert normal.channels.sum(axis=1) == pytest.approx(np.ones(4))
    overexposed = histogram(np.clip(photo.astype(int) * 2, 0, 255).astype(np.uint8))
    assert overexposed.highlights > 0.2 > normal.highlights
    assert any("highlights clipped" in w for w in overexposed.warnings())
    dark = histogram((photo // 8).astype(np.uint8))
    assert dark.shadows > normal.shadows


def test_why_panel_shows_the_histogram(window, qtbot, scanned):
    open_window(window, qtbot, scanned)
    window._refresh_details()
    assert window.why.histogram is not None
    assert window.why.histogram.channels.sum() == pytest.approx(4.0)


def test_t_tags_the_selection_by_hand_for_the_emotion_head(window, qtbot, scanned, monkeypatch):
    """T asks for tags; `awe, -fear` adds awe and removes fear, as `culler tag` does (source user)."""
    from PySide6.QtWidgets import QInputDialog

    open_window(window, qtbot, scanned)
    pid = window.current_id()
    answers = iter([("Awe, fear", True), ("-fear", True), ("ignored", False)])
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: next(answers))
    qtbot.keyClick(window.grid, Qt.Key.Key_T)
    assert window.catalog.user_tags([pid])[pid] == {"awe", "fear"}
    qtbot.keyClick(window.grid, Qt.Key.Key_T)
    assert window.catalog.user_tags([pid])[pid] == {"awe"}
    qtbot.keyClick(window.grid, Qt.Key.Key_T)  # cancelled: nothing changes
    assert window.catalog.user_tags([pid])[pid] == {"awe"}
    assert window.tag_selection("awe, -awe") == 0  # contradictory: refused with a message
    assert "Not tagged" in window.statusBar().currentMessage()


def test_a_hand_tag_is_found_by_search_the_tag_filter_and_the_why_panel(window, qtbot, scanned):
    """T's tags join the records at once: the search box and the tag filter find them, and the Why
    panel shows them marked as hand tags."""
    from PySide6.QtWidgets import QLabel

    open_window(window, qtbot, scanned)
    pid = window.current_id()
    total = window.proxy.rowCount()
    assert window.tag_selection("first dance") == 1
    assert window.model.record(pid).tags == {"first dance": 1.0}
    window.filter_bar.search.setText("first dance")
    qtbot.waitUntil(lambda: window.proxy.rowCount() == 1)
    window.filter_bar.search.setText("")
    qtbot.waitUntil(lambda: window.proxy.rowCount() == total)
    combo = window.filter_bar.tag
    assert combo.findData("first dance") >= 0
    combo.setCurrentIndex(combo.findData("first dance"))
    qtbot.waitUntil(lambda: window.proxy.rowCount() == 1)
    texts = " ".join(label.text() for label in window.why.findChildren(QLabel))
    assert "first dance (hand)" in texts


def test_the_histogram_and_the_technical_scorer_measure_clipping_one_way():
    """Issue #29 item 7: "shadows crushed 8 %" in the score against 1.9 % in the histogram. Both now
    use culler.imaging.clipping, on a real photo and on a darkened and a brightened copy of it."""
    from culler.imaging.clipping import clipping
    from culler.testing import sample_image

    photo = np.asarray(sample_image("astronaut").convert("RGB"))
    for rgb in (photo, (photo // 6).astype(np.uint8), np.clip(photo * 2, 0, 255).astype(np.uint8)):
        measured = clipping(rgb)
        shown = histogram(rgb)
        assert shown.highlights == pytest.approx(measured.highlights_percent / 100)
        assert shown.shadows == pytest.approx(measured.shadows_percent / 100)
