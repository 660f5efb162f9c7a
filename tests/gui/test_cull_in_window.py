"""Issue #29 in the window: the cull's proposals, the reasons, and the defects that mis-rated photos.

Each defect test failed on the code before the fix; the shoot is real photographs
(:mod:`culler.testing.shoot`): a burst of three (one sharp), an original with its web copy, singles.
"""

from __future__ import annotations

import sqlite3

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFont, QFontMetrics, QKeyEvent
from PySide6.QtWidgets import QApplication, QLabel

from culler.gui.culling import GRID, LOUPE
from culler.gui.item_models import PhotoIdRole, RecordRole


def open_shoot(window, qtbot, db_path):
    window.open_catalog(db_path)
    window.show()
    qtbot.waitExposed(window)
    window.grid.setFocus()
    window.auto_advance = False
    return {rec.name.rsplit(".", 1)[0]: rec.id for rec in window.model.records}


def cull(window, qtbot) -> None:
    assert window.run_cull()
    qtbot.waitUntil(lambda: window.cull_worker is None, timeout=120_000)


def go_to(window, qtbot, photo_id: int) -> None:
    """Select a photo, expanding its stack when it is hidden inside one."""
    if not window.select_photo(photo_id):
        rec = window.model.record(photo_id)
        window.proxy.toggle_stack(rec.group_id)
        assert window.select_photo(photo_id)
    qtbot.waitUntil(lambda: window.why.photo_id == photo_id)


def events(db_path, photo_id: int) -> list[tuple]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(
            "SELECT stars, decision, label, source FROM ratings WHERE photo_id = ? ORDER BY id",
            [photo_id],
        ).fetchall()


def panel_text(window) -> str:
    return "\n".join(label.text() for label in window.why.widget().findChildren(QLabel))


def shown_ids(window) -> list[int]:
    return [window.proxy.index(r, 0).data(PhotoIdRole) for r in range(window.proxy.rowCount())]


# -- the cull in the window ------------------------------------------------------------------------
def test_the_cull_runs_off_the_ui_thread_and_its_proposals_are_told_apart(window, qtbot, shoot):
    _folder, db_path, _files = shoot
    ids = open_shoot(window, qtbot, db_path)
    go_to(window, qtbot, ids["astronaut"])
    qtbot.keyClick(window.grid, Qt.Key.Key_X)  # the photographer's own decision
    cull(window, qtbot)
    rec = window.model.record
    assert (rec(ids["IMG_4051"]).decision, rec(ids["IMG_4051"]).proposed) == ("pick", True)
    assert (rec(ids["IMG_4052"]).decision, rec(ids["IMG_4052"]).proposed) == ("reject", True)
    assert (rec(ids["coffee-web"]).decision, rec(ids["coffee-web"]).proposed) == ("reject", True)
    assert (rec(ids["astronaut"]).decision, rec(ids["astronaut"]).proposed) == ("reject", False)
    assert "proposed 4 picks and 3 rejects; 1 photos decided by hand" in window.last_summary
    assert "to review" in window.counts.text()
    # the filter shows the proposals only (Shift+R), and again shows everything
    qtbot.keyClick(window.grid, Qt.Key.Key_R, Qt.KeyboardModifier.ShiftModifier)
    shown = shown_ids(window)
    assert shown and ids["astronaut"] not in shown
    assert all(rec(pid).proposed for pid in shown)
    qtbot.keyClick(window.grid, Qt.Key.Key_R, Qt.KeyboardModifier.ShiftModifier)
    assert ids["astronaut"] in shown_ids(window)


def test_the_why_panel_says_the_reason_in_the_words_culler_cull_prints(window, qtbot, shoot):
    # Issue #29 item 4: the stored reason was never shown.
    _folder, db_path, _files = shoot
    ids = open_shoot(window, qtbot, db_path)
    cull(window, qtbot)
    go_to(window, qtbot, ids["IMG_4052"])
    assert window.why.decision_text.startswith("reject (proposed): burst of 3 (#2): missed focus")
    assert "proposed by the cull" in panel_text(window)
    go_to(window, qtbot, ids["coffee-web"])
    assert window.why.decision_text == (
        "reject (proposed): 2 near-duplicates (#2): a smaller copy (300×200) of #1"
    )


def test_accept_override_undo_and_redo_cover_the_proposals(window, qtbot, shoot):
    _folder, db_path, _files = shoot
    ids = open_shoot(window, qtbot, db_path)
    cull(window, qtbot)
    rec = window.model.record
    go_to(window, qtbot, ids["coffee-web"])
    qtbot.keyClick(window.grid, Qt.Key.Key_A)  # accept: now the photographer's decision
    assert events(db_path, ids["coffee-web"])[-1] == (None, "reject", None, "gui")
    assert not rec(ids["coffee-web"]).proposed
    assert "coffee-web: reject" in window.statusBar().currentMessage()
    go_to(window, qtbot, ids["rocket"])
    qtbot.keyClick(window.grid, Qt.Key.Key_X)  # override: a pick proposal turned down
    assert (rec(ids["rocket"]).decision, rec(ids["rocket"]).proposed) == ("reject", False)
    ctrl = Qt.KeyboardModifier.ControlModifier
    qtbot.keyClick(window.grid, Qt.Key.Key_Z, ctrl)  # undo the override: the proposal is back
    assert (rec(ids["rocket"]).decision, rec(ids["rocket"]).proposed) == ("pick", True)
    qtbot.keyClick(window.grid, Qt.Key.Key_Z, ctrl | Qt.KeyboardModifier.ShiftModifier)  # redo
    assert (rec(ids["rocket"]).decision, rec(ids["rocket"]).proposed) == ("reject", False)
    for _ in range(3):  # the override, the accept, and the whole cull run
        qtbot.keyClick(window.grid, Qt.Key.Key_Z, ctrl)
    assert [r.decision for r in window.model.records] == [None] * len(window.model.records)
    qtbot.keyClick(window.grid, Qt.Key.Key_Y, ctrl)  # redo the cull: proposals again
    assert rec(ids["IMG_4052"]).proposed and rec(ids["coffee-web"]).proposed
    qtbot.keyClick(window.grid, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)  # all shown
    shown = set(shown_ids(window))
    assert all(not rec(pid).proposed for pid in shown)
    assert rec(ids["IMG_4052"]).proposed  # hidden in its collapsed burst: not accepted


def test_next_undecided_skips_what_the_photographer_decided(window, qtbot, shoot):
    _folder, db_path, _files = shoot
    ids = open_shoot(window, qtbot, db_path)
    window.select_row(0)
    first = window.current_id()
    qtbot.keyClick(window.grid, Qt.Key.Key_P)
    second = shown_ids(window)[1]
    qtbot.keyClick(window.grid, Qt.Key.Key_Right)
    qtbot.keyClick(window.grid, Qt.Key.Key_X)
    window.select_row(0)
    qtbot.keyClick(window.grid, Qt.Key.Key_N)
    assert window.current_id() not in (first, second)
    assert window.model.record(window.current_id()).decision is None
    assert ids  # the shoot is open


# -- defects ---------------------------------------------------------------------------------------
def test_an_undone_rating_does_not_stop_the_cull_picking_the_original(window, qtbot, shoot):
    # Issue #29 item 1: stars given to the original and undone still counted as a hand decision.
    _folder, db_path, _files = shoot
    ids = open_shoot(window, qtbot, db_path)
    go_to(window, qtbot, ids["coffee"])
    qtbot.keyClick(window.grid, Qt.Key.Key_4)
    qtbot.keyClick(window.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    cull(window, qtbot)
    assert window.model.record(ids["coffee"]).decision == "pick"
    assert window.model.record(ids["coffee-web"]).decision == "reject"


def test_a_colour_label_does_not_stop_the_best_frame_getting_a_decision(window, qtbot, shoot):
    _folder, db_path, _files = shoot
    ids = open_shoot(window, qtbot, db_path)
    go_to(window, qtbot, ids["IMG_4051"])
    qtbot.keyClick(window.grid, Qt.Key.Key_6)  # red label
    cull(window, qtbot)
    best = window.model.record(ids["IMG_4051"])
    assert (best.decision, best.proposed, best.label) == ("pick", True, "red")


def test_esc_return_and_down_leave_the_search_box_for_the_grid(window, qtbot, shoot):
    # Issue #29 item 2: after Ctrl+F the next P or 1 was typed into the box.
    _folder, db_path, _files = shoot
    ids = open_shoot(window, qtbot, db_path)
    search = window.filter_bar.search
    for key in (Qt.Key.Key_Escape, Qt.Key.Key_Return, Qt.Key.Key_Down):
        window._focus_search()  # what Ctrl+F does
        assert window.focusWidget() is search
        qtbot.keyClicks(search, "rocket")
        qtbot.keyClick(search, key)
        assert window.focusWidget() is window.grid, key
        assert shown_ids(window) == [ids["rocket"]]  # applied at once, no typing pause
        qtbot.keyClick(window.grid, Qt.Key.Key_P)
        assert window.model.record(ids["rocket"]).decision == "pick"
        assert search.text() == "rocket"
        search.clear()
        window.filter_bar.apply_now()


def test_digits_typed_in_quick_succession_rate_nothing(window, qtbot, shoot):
    # Issue #29 item 2: typing "4053" meant for a text field rated a photo 4, 0, 5 and 3 stars.
    _folder, db_path, _files = shoot
    open_shoot(window, qtbot, db_path)
    now = [100.0]
    window.clock = lambda: now[0]
    pid = window.current_id()
    for key in (Qt.Key.Key_4, Qt.Key.Key_0, Qt.Key.Key_5, Qt.Key.Key_3):
        qtbot.keyClick(window.grid, key)
        now[0] += 0.1
    assert window.model.record(pid).stars is None
    assert [e[0] for e in events(db_path, pid)] == [4, None]  # the 4, then its undo
    assert "digits typed in quick succession" in window.statusBar().currentMessage()
    now[0] += 2.0  # one digit on its own, later, is a rating, and the status bar says so
    qtbot.keyClick(window.grid, Qt.Key.Key_3)
    assert window.model.record(pid).stars == 3
    name = window.model.record(pid).name.rsplit(".", 1)[0]
    assert window.statusBar().currentMessage() == f"{name}: 3 ★"
    now[0] += 2.0  # a held key repeats nothing
    repeat = QKeyEvent(
        QEvent.Type.KeyPress, Qt.Key.Key_5, Qt.KeyboardModifier.NoModifier, "5", True
    )
    QApplication.sendEvent(window.grid, repeat)
    assert window.model.record(pid).stars == 3


def test_a_deleted_file_is_marked_missing_and_cannot_be_rated(window, qtbot, shoot):
    # Issue #29 item 3: P worked on a deleted file and Z showed an enlarged preview as "100 %".
    _folder, db_path, files = shoot
    ids = open_shoot(window, qtbot, db_path)
    go_to(window, qtbot, ids["rocket"])
    files["rocket"].unlink()
    before = events(db_path, ids["rocket"])
    qtbot.keyClick(window.grid, Qt.Key.Key_P)
    qtbot.keyClick(window.grid, Qt.Key.Key_4)
    assert events(db_path, ids["rocket"]) == before
    rec = window.model.record(ids["rocket"])
    assert rec.status == "missing"
    assert "missing on disk" in window.statusBar().currentMessage()
    with sqlite3.connect(db_path) as conn:
        status = conn.execute("SELECT status FROM photos WHERE id = ?", [ids["rocket"]])
        assert status.fetchone()[0] == "missing"
    qtbot.waitUntil(lambda: "⚠ missing" in panel_text(window))
    window.set_mode(LOUPE)
    assert "file missing" in window.stage.zoom_text(rec)
    qtbot.keyClick(window.stage, Qt.Key.Key_Z)
    assert "100 %" not in window.stage.zoom_text(rec)


def test_in_compare_the_why_panel_and_the_filmstrip_follow_the_focused_pane(window, qtbot, shoot):
    # Issue #29 item 5: after P the Why panel kept the previous photo.
    _folder, db_path, _files = shoot
    ids = open_shoot(window, qtbot, db_path)
    window.auto_advance = True
    singles = [ids["astronaut"], ids["hubble_deep_field"], ids["rocket"]]
    selection = window.grid.selectionModel()
    window.select_photo(singles[0])
    for pid in singles[1:]:
        index = window.proxy.mapFromSource(window.model.index(window.model.row_of(pid)))
        selection.select(index, selection.SelectionFlag.Select)
    qtbot.keyClick(window.grid, Qt.Key.Key_C)
    assert [r.id for r in window.stage.records] == singles
    qtbot.keyClick(window.stage, Qt.Key.Key_P)
    focused = window.stage.focused.id
    assert focused == singles[1]
    qtbot.waitUntil(lambda: window.why.photo_id == focused)
    assert window.filmstrip.currentIndex().data(PhotoIdRole) == focused
    qtbot.keyClick(window.stage, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: window.why.photo_id == singles[2])
    assert window.filmstrip.currentIndex().data(PhotoIdRole) == singles[2]


def test_search_finds_a_frame_inside_a_collapsed_burst(window, qtbot, shoot):
    # Issue #29 item 6: "4053" showed 0 of 60 until the burst was expanded.
    _folder, db_path, _files = shoot
    ids = open_shoot(window, qtbot, db_path)
    assert ids["IMG_4053"] not in shown_ids(window)  # collapsed under its best frame
    window.filter_bar.search.setText("4053")
    window._filters_changed()  # what the search box's typing pause triggers
    assert shown_ids(window) == [ids["IMG_4053"]]
    assert sorted(window.catalog.search_photo_ids("img_405")) == [
        ids["IMG_4051"],
        ids["IMG_4052"],
        ids["IMG_4053"],
    ]


def test_the_info_panel_shows_the_shooting_data(window, qtbot, shoot):
    _folder, db_path, _files = shoot
    ids = open_shoot(window, qtbot, db_path)
    go_to(window, qtbot, ids["IMG_4051"])
    text = panel_text(window)
    assert "1/250 s · f/2.8 · ISO 800 · 85 mm" in text
    assert "RF85mm F1.2 L USM" in text


def test_the_histogram_quotes_the_clipping_the_technical_scorer_measured(window, qtbot, shoot):
    # Issue #29 item 7 (GUI side): "shadows crushed 8 %" in the score, 1.9 % in the histogram.
    _folder, db_path, _files = shoot
    ids = open_shoot(window, qtbot, db_path)
    for name in ("hubble_deep_field", "astronaut"):
        go_to(window, qtbot, ids[name])
        extra = next(
            s["extra"]
            for s in window.catalog.scores_for(ids[name])
            if s["scorer_id"] == "technical"
        )
        assert window.why.histogram.shadows == extra["shadows_crushed_percent"] / 100
        assert window.why.histogram.highlights == extra["highlights_clipped_percent"] / 100
    go_to(window, qtbot, ids["astronaut"])  # the black of space behind her: crushed shadows
    warnings = window.why.histogram.warnings()
    assert any("shadows crushed" in w and "(technical)" in w for w in warnings), warnings


# -- rough edges -----------------------------------------------------------------------------------
def test_filmstrip_captions_keep_the_frame_number(qtbot):
    from culler.gui.delegates import caption_text

    metrics = QFontMetrics(QFont())
    narrow = metrics.horizontalAdvance("IMG_4053") - 2
    text = caption_text(metrics, "IMG_4053.jpg", narrow)
    assert text.endswith("4053") or text.endswith("053")
    assert text != "IMG_….jpg"
    assert caption_text(metrics, "IMG_4053.jpg", 500) == "IMG_4053.jpg"


def test_home_goes_to_the_top_and_the_loupe_counts_what_is_shown(window, qtbot, shoot):
    _folder, db_path, _files = shoot
    ids = open_shoot(window, qtbot, db_path)
    window.select_row(0)
    window.grid.verticalScrollBar().setValue(window.grid.verticalScrollBar().maximum())
    qtbot.keyClick(window.grid, Qt.Key.Key_Home)
    assert window.grid.verticalScrollBar().value() == 0
    window.filter_bar.search.setText("rocket")
    window._filters_changed()
    window.set_mode(LOUPE)
    assert window.stage.position_text == "1 / 1"
    window.filter_bar.search.clear()
    window._filters_changed()
    assert window.stage.position_text.endswith(f"/ {window.proxy.rowCount()}")
    assert window.proxy.rowCount() > 1
    window.set_mode(GRID)
    assert window.grid.currentIndex().data(RecordRole).id == ids["rocket"]


def test_export_from_the_window_keeps_the_clis_safety(window, qtbot, shoot, tmp_path):
    folder, db_path, files = shoot
    ids = open_shoot(window, qtbot, db_path)
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("a file where the folder should be")
    go_to(window, qtbot, ids["rocket"])
    qtbot.keyClick(window.grid, Qt.Key.Key_P)
    assert window.export_picks(not_a_folder)
    qtbot.waitUntil(lambda: window.deliver_worker is None, timeout=60_000)
    assert window.last_summary == f"{not_a_folder} exists and is not a folder: choose another one"
    assert "\n" not in window.last_summary and "Traceback" not in window.last_summary
    window.summary_box.close()
    # an existing file of the same name is never overwritten: the copy gets a new name
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "rocket.jpg").write_bytes(b"someone else's file")
    assert window.export_picks(dest)
    qtbot.waitUntil(lambda: window.deliver_worker is None, timeout=60_000)
    assert (dest / "rocket.jpg").read_bytes() == b"someone else's file"
    assert (dest / "rocket-1.jpg").read_bytes() == files["rocket"].read_bytes()
    window.summary_box.close()
    # move: the file goes, and the catalog follows it
    moved = tmp_path / "moved"
    assert window.export_picks(moved, mode="move")
    qtbot.waitUntil(lambda: window.deliver_worker is None, timeout=60_000)
    assert not files["rocket"].exists() and (moved / "rocket.jpg").exists()
    assert window.model.record(ids["rocket"]).path == str(moved / "rocket.jpg")
    assert "1 of 1 picks moved" in window.last_summary


def test_an_open_burst_shows_its_frames_in_capture_order(window, qtbot, shoot):
    _folder, db_path, _files = shoot
    ids = open_shoot(window, qtbot, db_path)
    burst = window.model.record(ids["IMG_4051"]).group_id
    # rank the last frame best: the open stack still reads in the order the frames were taken
    window.model.record(ids["IMG_4053"]).rank, window.model.record(ids["IMG_4051"]).rank = 0, 2
    window.proxy.toggle_stack(burst)
    window.proxy.resort()
    shown = [pid for pid in shown_ids(window) if window.model.record(pid).group_id == burst]
    assert shown == [ids["IMG_4051"], ids["IMG_4052"], ids["IMG_4053"]]


def test_a_small_window_keeps_the_search_box_readable(window, qtbot, shoot):
    # Issue #29: at 1024 × 640 the search box shrank to "S…".
    _folder, db_path, _files = shoot
    open_shoot(window, qtbot, db_path)
    window.resize(1024, 640)
    qtbot.waitUntil(lambda: window.width() <= 1024)
    assert window.filter_bar.search.width() >= 180
