"""Read-ahead while scrolling (issue #29: a fast flick left 30-51 % of the grid grey until it stopped):
the grid asks for the thumbnails of the screenfuls ahead of the viewport in the direction of the
scroll, nearest first, behind the cells being painted, and drops what was asked for rows scrolled past.
No clock: the workers are held at a gate so the queues can be read as they stand."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtGui import QImage

import culler.gui.thumbnails as thumbnails
from culler.gui.grid import GridView
from culler.gui.item_models import PhotoListModel
from culler.gui.records import PhotoRecord
from culler.gui.thumbnails import ThumbnailCache


@pytest.fixture
def held(monkeypatch):
    """Thumbnail loads wait at a gate (opened at the end of the test)."""
    gate = threading.Event()
    loaded: list[int] = []

    def load(path, content_hash, thumb_dir, side):
        gate.wait(20)
        loaded.append(int(path.rsplit("_", 1)[1].split(".")[0]))
        image = QImage(8, 8, QImage.Format.Format_RGB32)
        image.fill(0x808080)
        return image

    monkeypatch.setattr(thumbnails, "load_thumbnail", load)
    yield gate
    gate.set()


@pytest.fixture
def grid(qtbot, tmp_path, held):
    cache = ThumbnailCache(tmp_path / "thumbs", threads=1)
    model = PhotoListModel(cache)
    model.set_records([PhotoRecord(id=i, path=f"/shoot/IMG_{i}.jpg") for i in range(2000)])
    view = GridView(cache, side=120)
    view.setModel(model)
    view.resize(800, 600)
    view.show()
    qtbot.waitExposed(view)
    yield view
    held.set()
    cache.wait(5000)


def scroll_lines(view, qtbot, lines: int) -> None:
    bar = view.verticalScrollBar()
    bar.setValue(bar.value() + lines * view.gridSize().height())
    view.viewport().repaint()  # the frame the user sees: its cells ask for their thumbnails


def test_the_rows_ahead_are_asked_for_in_the_scroll_direction_and_rows_passed_are_dropped(
    grid, qtbot
):
    cache = grid.thumbnails
    scroll_lines(grid, qtbot, 10)
    shown = grid.visible_rows()
    # the arithmetic matches Qt's layout: the first and last rows reach into the viewport, the
    # rows before and after do not
    height = grid.viewport().height()

    def rect(row):
        return grid.visualRect(grid.model().index(row, 0))

    assert rect(shown.start).bottom() >= 0 and rect(shown.stop - 1).top() < height
    assert rect(shown.start - 1).bottom() < 0 and rect(shown.stop).top() >= height - 1
    painted, ahead = cache.queued()
    screen = len(shown)
    # two screenfuls below the viewport, nearest first (a worker may hold the first one)
    assert ahead == [r for r in range(shown.stop, shown.stop + 2 * screen)][-len(ahead) :]
    assert len(ahead) >= 2 * screen - 1
    assert set(painted) <= set(shown) | set(range(shown.start - screen, shown.start))

    before = shown
    scroll_lines(grid, qtbot, 30)  # a flick: everything asked for before is behind now
    shown = grid.visible_rows()
    painted, ahead = cache.queued()
    waiting = set(painted) | set(ahead)
    assert not waiting & set(before)  # rows scrolled past: dropped, not decoded
    assert ahead[0] == shown.stop or ahead[0] == shown.stop + 1
    assert all(shown.stop <= r < shown.stop + 2 * screen for r in ahead)
    assert set(painted) <= set(shown)

    scroll_lines(grid, qtbot, -3)  # back up: the read-ahead turns round
    shown = grid.visible_rows()
    _painted, ahead = cache.queued()
    assert grid.scroll_direction == -1
    assert ahead and all(r < shown.start for r in ahead)
    assert ahead == sorted(ahead, reverse=True)  # nearest the viewport first
    assert cache.read_ahead_requests > 0


def test_read_ahead_thumbnails_arrive_and_the_queues_stay_bounded(grid, qtbot, held):
    cache = grid.thumbnails
    for _ in range(40):
        scroll_lines(grid, qtbot, 5)
        painted, ahead = cache.queued()
        assert len(painted) <= thumbnails.MAX_PENDING and len(ahead) <= thumbnails.MAX_AHEAD
    shown = grid.visible_rows()
    _painted, ahead = cache.queued()
    held.set()  # the workers run: what is ahead is loaded and in memory before it is scrolled to
    qtbot.waitUntil(lambda: all(cache.has(r) for r in ahead), timeout=20_000)
    scroll_lines(
        grid, qtbot, len(shown) // max(1, grid.viewport().width() // grid.gridSize().width())
    )
    assert all(cache.has(r) for r in grid.visible_rows() if r in ahead)
