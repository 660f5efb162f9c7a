"""The loupe: zoom to 100 % at a point, wheel and drag, full-resolution frames decoded off the UI thread
and cached for the neighbours, compare zoomed and panned together on a drifted burst."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from culler.gui import zoom as geometry
from culler.gui.culling import LOUPE
from culler.gui.item_models import PhotoIdRole
from culler.gui.records import PhotoRecord
from culler.gui.zoom import ZoomState

#: Where each frame of the synthetic burst starts in the astronaut photo: a hand-held drift.
DRIFT = [(40, 40), (64, 24), (12, 58)]
CROP = 400


@pytest.fixture
def burst(tmp_path: Path) -> list[PhotoRecord]:
    """Three 400 px crops of skimage's astronaut, each shifted as a hand-held burst drifts."""
    from skimage import data

    photo = data.astronaut()
    records = []
    for i, (x, y) in enumerate(DRIFT):
        path = tmp_path / f"burst_{i}.png"
        Image.fromarray(photo[y : y + CROP, x : x + CROP]).save(path)
        records.append(PhotoRecord(id=i + 1, path=str(path), width=CROP, height=CROP))
    return records


@pytest.fixture
def stage(qtbot, tmp_path):
    from culler.gui.stage import PhotoStage
    from culler.gui.thumbnails import ThumbnailCache

    thumbs = ThumbnailCache(tmp_path / "thumbs")
    widget = PhotoStage(thumbs)
    qtbot.addWidget(widget)
    widget.resize(900, 400)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    thumbs.wait()
    widget.full.wait()


def settle(qtbot, stage, condition) -> None:
    qtbot.waitUntil(lambda: (stage.thumbnails.wait(100), condition())[1], timeout=20_000)


def scene_at_centres(stage) -> list[tuple[float, float]]:
    """The astronaut pixel each pane shows at its centre."""
    points = []
    for i, (x0, y0) in enumerate(DRIFT):
        frame = stage.frame_rect(i)
        centre = stage._image_area(stage.pane_rects()[i]).center()
        u, v = geometry.point_in_frame(
            (frame.x(), frame.y(), frame.width(), frame.height()), centre.x(), centre.y()
        )
        points.append((x0 + u * CROP, y0 + v * CROP))
    return points


# -- geometry, no window ---------------------------------------------------------------------------
def test_zoom_keeps_the_point_under_the_cursor():
    area, size = (0.0, 0.0, 800.0, 600.0), (6000.0, 4000.0)
    zoom = ZoomState()
    fitted = geometry.frame_rect(size, area, zoom)
    before = geometry.point_in_frame(fitted, 600, 200)
    geometry.zoom_to(zoom, 1.0, size, area, (600, 200))
    assert zoom.scale == 1.0
    after = geometry.point_in_frame(geometry.frame_rect(size, area, zoom), 600, 200)
    assert after == pytest.approx(before, abs=1e-6)
    geometry.zoom_to(zoom, 0.01, size, area, (600, 200))  # below fit: back to fit
    assert zoom.fitted and zoom.center == (0.5, 0.5)


def test_pan_follows_the_mouse_and_stops_at_the_edges():
    zoom = ZoomState(scale=1.0, center=(0.5, 0.5))
    geometry.pan(zoom, -600, 0, (6000.0, 4000.0))
    assert zoom.center == pytest.approx((0.6, 0.5))
    geometry.pan(zoom, 100_000, -100_000, (6000.0, 4000.0))
    assert zoom.center == (0.0, 1.0)


def test_registration_finds_a_burst_drift_on_a_real_photo():
    from skimage import data

    photo = data.astronaut()
    (x0, y0), (x1, y1) = DRIFT[0], DRIFT[1]
    ref = geometry.grey_copy(photo[y0 : y0 + CROP, x0 : x0 + CROP])
    frame = geometry.grey_copy(photo[y1 : y1 + CROP, x1 : x1 + CROP])
    du, dv = geometry.register(ref, frame)
    # The scene point at u in the first frame is at u + du in the second: it started 24 px further right.
    assert du == pytest.approx((x0 - x1) / CROP, abs=0.01)
    assert dv == pytest.approx((y0 - y1) / CROP, abs=0.01)


# -- the stage -------------------------------------------------------------------------------------
def test_compare_zooms_and_pans_all_frames_to_the_same_scene_point(qtbot, stage, burst):
    stage.set_records(burst)
    settle(qtbot, stage, lambda: len(stage.offsets) == 3)
    stage.toggle_zoom(QPointF(stage._image_area(stage.pane_rects()[1]).center()))
    assert stage.zoom.scale == pytest.approx(1.0)
    points = scene_at_centres(stage)
    for point in points[1:]:
        assert point == pytest.approx(points[0], abs=5)  # 5 px of 400: the thumbnails' resolution
    pane = stage._image_area(stage.pane_rects()[2]).center()
    drag(stage, QPointF(pane), QPointF(pane) + QPointF(-80, 30))
    moved = scene_at_centres(stage)
    assert moved[0][0] == pytest.approx(points[0][0] + 80, abs=1)
    assert moved[0][1] == pytest.approx(points[0][1] - 30, abs=1)
    for point in moved[1:]:
        assert point == pytest.approx(moved[0], abs=5)
    stage.toggle_zoom()
    assert stage.zoom.fitted


def test_wheel_zooms_at_the_cursor_and_full_frames_arrive_off_the_ui_thread(qtbot, stage, burst):
    stage.set_records(burst[:1])
    anchor = QPointF(stage.width() * 0.7, stage.height() * 0.3)
    frame = stage.frame_rect(0)
    before = geometry.point_in_frame(
        (frame.x(), frame.y(), frame.width(), frame.height()), 630, 120
    )
    stage.zoom_by(3, anchor)
    area = stage._image_area(stage.pane_rects()[0])
    fit = geometry.fit_scale((CROP, CROP), (0, 0, area.width(), area.height()))
    assert stage.zoom.scale == pytest.approx(fit * geometry.WHEEL_STEP**3)
    frame = stage.frame_rect(0)
    after = geometry.point_in_frame((frame.x(), frame.y(), frame.width(), frame.height()), 630, 120)
    assert after == pytest.approx(before, abs=0.01)
    qtbot.waitUntil(lambda: stage.full.get(burst[0].id) is not None, timeout=20_000)
    assert stage.full.get(burst[0].id).size().width() == CROP
    stage.prefetch(burst[1:])  # the loupe's neighbours, decoded ahead while zoomed
    qtbot.waitUntil(lambda: all(stage.full.get(r.id) is not None for r in burst), timeout=20_000)
    stage.grab()  # paints the zoomed frame without error
    stage.zoom_by(-40, anchor)
    assert stage.zoom.fitted


def drag(widget, start: QPointF, end: QPointF) -> None:
    def send(kind, pos, buttons):
        event = QMouseEvent(
            kind,
            pos,
            widget.mapToGlobal(pos),
            Qt.MouseButton.LeftButton,
            buttons,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(widget, event)

    send(QEvent.Type.MouseButtonPress, start, Qt.MouseButton.LeftButton)
    send(QEvent.Type.MouseMove, (start + end) / 2, Qt.MouseButton.LeftButton)
    send(QEvent.Type.MouseMove, end, Qt.MouseButton.LeftButton)
    send(QEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton)


# -- in the window ---------------------------------------------------------------------------------
def test_z_zooms_the_loupe_and_steps_keep_the_zoom(window, qtbot, scanned):
    window.open_catalog(scanned)
    window.show()
    qtbot.waitExposed(window)
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_Z)
    assert window.views.currentIndex() == LOUPE
    assert window.stage.zoom.scale == pytest.approx(1.0 / window.stage.devicePixelRatioF())
    first = window.current_id()
    qtbot.waitUntil(lambda: window.stage.full.get(first) is not None, timeout=30_000)
    following = window.proxy.index(1, 0).data(PhotoIdRole)
    qtbot.waitUntil(lambda: window.stage.full.get(following) is not None, timeout=30_000)
    qtbot.keyClick(window.stage, Qt.Key.Key_Right)
    assert window.current_id() == following and not window.stage.zoom.fitted
    assert "100 %" in window.stage.zoom_text(window.stage.focused)
    assert "loading" not in window.stage.zoom_text(window.stage.focused)  # it was decoded ahead
    window.stage.setFocus()
    qtbot.keyClick(window.stage, Qt.Key.Key_Z)
    assert window.stage.zoom.fitted


def test_full_frame_cache_keeps_the_most_recent_frames_within_its_budget(qtbot, burst):
    from culler.gui.fullres import FullResCache

    frame_bytes = CROP * CROP * 3
    cache = FullResCache(budget_bytes=int(frame_bytes * 2.5))
    for rec in burst:
        cache.request(rec.id, rec.path)
        qtbot.waitUntil(lambda rec=rec: cache.get(rec.id) is not None, timeout=20_000)
    assert cache.get(burst[0].id) is None  # the oldest went first
    assert cache.get(burst[1].id) is not None and cache.get(burst[2].id) is not None
    cache.request(99, str(burst[0].path) + ".missing")
    qtbot.waitUntil(lambda: not cache.pending(99), timeout=20_000)
    assert cache.get(99) is None
    cache.request(99, str(burst[0].path) + ".missing")
    assert not cache.pending(
        99
    )  # a file that failed is not decoded again on every step  # unreadable: not retried, no crash


def test_develop_raw_switches_the_loupe_from_the_preview_to_the_sensor(qtbot, raw_photo):
    """View ▸ Develop RAW at 100 %: the full-size frame is the demosaiced sensor, not the preview."""
    pytest.importorskip("rawpy")
    from culler.gui.fullres import FullResCache
    from culler.testing import sample_image

    path = str(raw_photo(sample_image("chelsea").resize((1200, 800)), preview_side=600))
    cache = FullResCache()
    with qtbot.waitSignal(cache.ready, timeout=30_000):
        cache.request(1, path)
    assert max(cache.get(1).width(), cache.get(1).height()) == 600  # the embedded preview
    cache.set_develop(True)
    assert cache.get(1) is None  # frames decoded the other way are dropped
    with qtbot.waitSignal(cache.ready, timeout=30_000):
        cache.request(1, path)
    assert (cache.get(1).width(), cache.get(1).height()) == (1200, 800)


def test_visible_part_is_what_the_pane_shows_of_the_frame():
    # a 4000 × 3000 frame at 100 % in an 800 × 600 pane, centred: a fifth of each side
    frame = (400 - 2000, 300 - 1500, 4000, 3000)
    assert geometry.visible_part(frame, (0, 0, 800, 600)) == pytest.approx((0.4, 0.4, 0.2, 0.2))
    assert geometry.visible_part((0, 0, 800, 600), (0, 0, 800, 600)) is None  # all in view


def test_the_navigator_outlines_the_part_shown_at_100_percent(qtbot, tmp_path):
    from culler.gui.stage import PhotoStage
    from culler.gui.thumbnails import ThumbnailCache
    from culler.testing import sample_image

    path = tmp_path / "big.jpg"
    big = sample_image("astronaut").resize((2048, 2048))
    big.save(path, quality=90)
    thumbs = ThumbnailCache(tmp_path / "thumbs")
    stage = PhotoStage(thumbs)
    qtbot.addWidget(stage)
    stage.resize(800, 600)
    stage.show()
    qtbot.waitExposed(stage)
    stage.set_records([PhotoRecord(id=1, path=str(path), width=2048, height=2048)])
    assert stage.navigator(0) is None  # at fit the whole frame is in view
    stage.toggle_zoom(QPointF(stage._image_area(stage.pane_rects()[0]).center()))
    box, outline = stage.navigator(0)
    assert box.contains(outline)
    assert box.width() <= 160
    # at 100 % an 800 × 600 pane shows well under half of a 2048 px frame, around its centre
    assert outline.width() < box.width() / 2
    assert outline.center().x() == pytest.approx(box.center().x(), abs=2)
    stage.grab()  # paints the navigator without error
    thumbs.wait()
    stage.full.wait()
