"""A rating key on a selection never stats the files on the UI thread (issue #29: a select-all on a
slow network share paid one stat per photo per key press), and a missing file is still never rated."""

from __future__ import annotations

import sqlite3
import threading

from PySide6.QtCore import Qt

import culler.gui.culling as culling
import culler.gui.presence as presence


def open_shoot(window, qtbot, db_path) -> dict[str, int]:
    window.open_catalog(db_path)
    window.show()
    qtbot.waitExposed(window)
    window.grid.setFocus()
    window.auto_advance = False
    return {rec.name.rsplit(".", 1)[0]: rec.id for rec in window.model.records}


def events(db_path, photo_id: int) -> list[tuple]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(
            "SELECT stars, decision FROM ratings WHERE photo_id = ? ORDER BY id", [photo_id]
        ).fetchall()


def watch_stats(monkeypatch, gate: threading.Event | None = None) -> list[tuple[str, bool]]:
    """Record every file check as (path, made on the UI thread); ``gate`` holds the worker back."""
    calls: list[tuple[str, bool]] = []
    real = presence.file_present

    def checked(path: str) -> bool:
        calls.append((path, threading.current_thread() is threading.main_thread()))
        if gate is not None:
            gate.wait(10)
        return real(path)

    monkeypatch.setattr(presence, "file_present", checked)
    monkeypatch.setattr(culling, "file_present", checked)
    return calls


def select_all(window) -> list[int]:
    window.grid.selectAll()
    return window.target_ids()


def test_a_key_on_a_selection_stats_nothing_on_the_ui_thread_and_skips_gone_files(
    window, qtbot, shoot, monkeypatch
):
    _folder, db_path, files = shoot
    ids = open_shoot(window, qtbot, db_path)
    calls = watch_stats(monkeypatch)
    targets = select_all(window)
    assert len(targets) > 3
    files["rocket"].unlink()  # gone since the scan: nobody knows yet
    known = window.model.record(ids["astronaut"])
    known.status = "missing"  # known missing (a failed read, an earlier check): never even statted
    qtbot.keyClick(window.grid, Qt.Key.Key_P)
    assert not any(on_ui for _path, on_ui in calls)
    qtbot.waitUntil(lambda: not window._queued_ratings)
    checked = {path for path, _ in calls}
    assert known.path not in checked and str(files["rocket"]) in checked
    assert events(db_path, ids["rocket"]) == [] and events(db_path, ids["astronaut"]) == []
    assert window.model.record(ids["rocket"]).status == "missing"
    assert "missing on disk" in window.statusBar().currentMessage()
    rated = [pid for pid in targets if pid not in (ids["rocket"], ids["astronaut"])]
    assert all(events(db_path, pid)[-1][1] == "pick" for pid in rated)
    assert all(window.model.record(pid).flagged == "pick" for pid in rated)
    # one photo (the one in view) is still checked at once, with one stat
    calls.clear()
    window.select_photo(rated[0])
    qtbot.keyClick(window.grid, Qt.Key.Key_3)
    assert calls == [(window.model.record(rated[0]).path, True)]
    assert events(db_path, rated[0])[-1][0] == 3


def test_keys_land_in_the_order_pressed_and_undo_drops_a_rating_not_yet_written(
    window, qtbot, shoot, monkeypatch
):
    _folder, db_path, _files = shoot
    open_shoot(window, qtbot, db_path)
    gate = threading.Event()
    watch_stats(monkeypatch, gate)
    targets = select_all(window)
    qtbot.keyClick(window.grid, Qt.Key.Key_X)  # held at the check: not written yet
    assert all(events(db_path, pid) == [] for pid in targets)
    assert "Checking" in window.statusBar().currentMessage()
    window.undo()  # Ctrl+Z before it lands: it is never written
    qtbot.keyClick(window.grid, Qt.Key.Key_P)
    window.select_photo(targets[0])  # a single photo's key queues behind the selection's
    qtbot.keyClick(window.grid, Qt.Key.Key_U)
    gate.set()
    assert window.wait_for_ratings()
    assert [e[1] for e in events(db_path, targets[0])] == ["pick", "none"]
    assert all([e[1] for e in events(db_path, pid)] == ["pick"] for pid in targets[1:])
    assert window.model.record(targets[0]).flagged == ""


def test_digits_typed_fast_on_a_selection_rate_nothing_whether_the_first_has_landed_or_not(
    window, qtbot, shoot, monkeypatch
):
    # The digit guard ("4053" typed for a text field) undoes the first digit's rating: on a
    # selection that rating may still wait for its check (then it is never written) or have landed.
    _folder, db_path, _files = shoot
    open_shoot(window, qtbot, db_path)
    gate = threading.Event()
    watch_stats(monkeypatch, gate)
    now = [100.0]
    window.clock = lambda: now[0]
    targets = select_all(window)
    qtbot.keyClick(window.grid, Qt.Key.Key_4)  # waits at the gate
    now[0] += 0.1
    qtbot.keyClick(window.grid, Qt.Key.Key_0)
    gate.set()
    assert window.wait_for_ratings()
    assert all(events(db_path, pid) == [] for pid in targets)
    assert "digits typed in quick succession" in window.statusBar().currentMessage()

    now[0] += 5.0
    qtbot.keyClick(window.grid, Qt.Key.Key_4)
    assert window.wait_for_ratings()  # landed: written for every photo
    assert all(events(db_path, pid) == [(4, None)] for pid in targets)
    now[0] += 0.1
    qtbot.keyClick(window.grid, Qt.Key.Key_5)
    assert window.wait_for_ratings()
    assert all(events(db_path, pid)[-1][0] in (None, 0) for pid in targets)  # undone
    assert all(not window.model.record(pid).stars for pid in targets)
