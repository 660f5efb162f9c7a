"""The large views: the loupe (one photo) and compare (two or more side by side) share one widget.

A pane first shows the cached thumbnail scaled up, then the full preview once a worker has decoded it
at screen size, so moving through photos never waits on a decode. Z (or a double-click) zooms to
100 % at the point under the cursor, the wheel zooms, dragging pans; the full-resolution frame is
decoded off the UI thread (:class:`FullResCache`) while the preview stands in. In compare, every pane
shares one :class:`ZoomState`: the frames are registered coarsely against the first one (phase
correlation of their thumbnails), so zooming or panning any of them shows the same scene point in all.
O shows the scorers' overlay (:mod:`culler.gui.overlay`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QFont, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QWidget

from culler.gui import zoom as geometry
from culler.gui.delegates import (
    ACCENT,
    LABEL_COLOURS,
    PICK,
    PILL,
    REJECT,
    STAR,
    score_color,
    star_path,
)
from culler.gui.fullres import FullResCache
from culler.gui.overlay import Overlay, paint_overlay
from culler.gui.records import PhotoRecord
from culler.gui.thumbnails import ThumbnailCache
from culler.gui.zoom import REGISTER_SIDE, ZoomState

PREVIEW_SIDE = 2048
INFO_HEIGHT = 30
#: The navigator's longer side at 100 % (pixels).
NAVIGATOR_SIDE = 160
#: A press that moves less than this is a click (choose the pane), not a drag.
DRAG_SLOP = 4


class PhotoStage(QWidget):
    """Paints one or more photos in equal panes, fitted or zoomed together, with an info strip under each."""

    paneClicked = Signal(int)  # pane index
    zoomChanged = Signal()

    def __init__(
        self, thumbnails: ThumbnailCache, full: FullResCache | None = None, parent=None
    ) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.full = full or FullResCache()
        self.records: list[PhotoRecord] = []
        self.focus_index = 0
        self.position_text = ""
        self.badge_scorer: str | None = None
        self.zoom = ZoomState()
        #: Registration of each compared frame against the first: (du, dv) in the frame's [0, 1].
        self.offsets: dict[int, tuple[float, float]] = {}
        self.overlay_visible = False
        #: Called for a record when the overlay is shown; the window reads the catalog.
        self.overlay_source: Callable[[PhotoRecord], Overlay | None] | None = None
        self._overlays: dict[int, Overlay | None] = {}
        self._previews: dict[int, QPixmap] = {}
        self._press: QPointF | None = None
        self._dragged = False
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(320, 240)
        thumbnails.previewReady.connect(self._preview_ready)
        thumbnails.ready.connect(self._thumb_ready)
        self.full.ready.connect(self._full_ready)

    def set_records(self, records: list[PhotoRecord], focus_index: int = 0) -> None:
        keep = {r.id for r in records}
        self._previews = {pid: px for pid, px in self._previews.items() if pid in keep}
        self._overlays = {pid: o for pid, o in self._overlays.items() if pid in keep}
        same_set = keep == {r.id for r in self.records}
        self.records = records
        self.focus_index = max(0, min(focus_index, len(records) - 1))
        if not same_set:
            self.offsets = {}
        side = min(PREVIEW_SIDE, int(max(self.width(), self.height()) * self.devicePixelRatioF()))
        for rec in records:
            if rec.id not in self._previews and rec.status == "ok":
                self.thumbnails.request_preview(rec.id, rec.path, max(side, 512))
        self._request_full()
        self._register()
        self.update()

    def refresh(self) -> None:
        self._overlays.clear()
        self.update()

    @property
    def focused(self) -> PhotoRecord | None:
        return self.records[self.focus_index] if self.records else None

    def move_focus(self, step: int) -> None:
        if self.records:
            self.focus_index = (self.focus_index + step) % len(self.records)
            self.update()

    # -- zoom, pan, overlay ----------------------------------------------------------------------
    def toggle_zoom(self, anchor: QPointF | None = None) -> None:
        """Fit ↔ 100 % at ``anchor`` (default: the cursor when it is over the stage, else the centre)."""
        if anchor is None:
            local = self.mapFromGlobal(QCursor.pos())
            anchor = QPointF(local) if self.rect().contains(local) else None
        scale = 1.0 / self.devicePixelRatioF() if self.zoom.fitted else None
        self._zoom_at(scale, anchor)

    def zoom_by(self, steps: float, anchor: QPointF | None = None) -> None:
        """The wheel: each step zooms by :data:`geometry.WHEEL_STEP`, out to fit at most."""
        index, area, size = self._pane_at(anchor)
        if size is None:
            return
        current = self.zoom.scale or geometry.fit_scale(size, _rect(area))
        self._zoom_at(current * geometry.WHEEL_STEP**steps, anchor)

    def pan_by(self, dx: float, dy: float) -> None:
        size = self._frame_size(self.focused) if self.focused else None
        if size is not None and not self.zoom.fitted:
            geometry.pan(self.zoom, dx, dy, size)
            self.update()
            self.zoomChanged.emit()

    def fit(self) -> None:
        if not self.zoom.fitted:
            self.zoom.fit()
            self.update()
            self.zoomChanged.emit()

    def toggle_overlay(self) -> bool:
        self.overlay_visible = not self.overlay_visible
        self.update()
        return self.overlay_visible

    def prefetch(self, records: list[PhotoRecord]) -> None:
        """Decode these frames at full resolution ahead (the loupe's neighbours) while zoomed."""
        if not self.zoom.fitted:
            for rec in records:
                if rec.status == "ok":
                    self.full.request(rec.id, rec.path)
            self.full.keep([r.id for r in self.records] + [r.id for r in records])

    def _zoom_at(self, scale: float | None, anchor: QPointF | None) -> None:
        index, area, size = self._pane_at(anchor)
        if size is None:
            return
        rec = self.records[index]
        point = (anchor.x(), anchor.y()) if anchor is not None else None
        geometry.zoom_to(
            self.zoom, scale, size, _rect(area), point, self.offsets.get(rec.id, (0.0, 0.0))
        )
        self._request_full()
        self.update()
        self.zoomChanged.emit()

    def _pane_at(self, anchor: QPointF | None) -> tuple[int, QRect, tuple[float, float] | None]:
        areas = [self._image_area(r) for r in self.pane_rects()]
        index = self.focus_index
        if anchor is not None:
            index = next(
                (i for i, a in enumerate(areas) if a.contains(anchor.toPoint())), self.focus_index
            )
        if not self.records:
            return 0, QRect(), None
        return index, areas[index], self._frame_size(self.records[index])

    def _request_full(self) -> None:
        if not self.zoom.fitted:
            for rec in self.records:
                if rec.status == "ok":
                    self.full.request(rec.id, rec.path)

    def _frame_size(self, rec: PhotoRecord) -> tuple[float, float] | None:
        """The frame's full-resolution size: the decoded frame's, else the catalog's, else the preview's."""
        image = self.full.get(rec.id)
        if image is not None:
            return (image.width(), image.height())
        if rec.width and rec.height:
            return (rec.width, rec.height)
        pixmap = self._pixmap(rec)
        return (pixmap.width(), pixmap.height()) if pixmap is not None else None

    def _pixmap(self, rec: PhotoRecord) -> QPixmap | None:
        pixmap = self._previews.get(rec.id)
        if pixmap is None:
            pixmap = self.thumbnails.get(rec.id, rec.path, rec.content_hash)
        return pixmap if pixmap is not None and not pixmap.isNull() else None

    def overlay_for(self, rec: PhotoRecord) -> Overlay | None:
        if rec.id not in self._overlays and self.overlay_source is not None:
            self._overlays[rec.id] = self.overlay_source(rec)
        return self._overlays.get(rec.id)

    def overlay_changed(self, photo_id: int) -> None:
        """Details computed for a photo's overlay arrived: read it again, draw it if shown."""
        self._overlays.pop(photo_id, None)
        if self.overlay_visible and any(r.id == photo_id for r in self.records):
            self.update()

    # -- registration ----------------------------------------------------------------------------
    def _register(self) -> None:
        """Offsets of the compared frames against the first, from their thumbnails (once each)."""
        if len(self.records) < 2:
            return
        reference = self._grey(self.records[0])
        if reference is None:
            return
        self.offsets.setdefault(self.records[0].id, (0.0, 0.0))
        for rec in self.records[1:]:
            if rec.id in self.offsets:
                continue
            frame = self._grey(rec)
            if frame is not None:
                self.offsets[rec.id] = geometry.register(reference, frame)

    def _grey(self, rec: PhotoRecord) -> np.ndarray | None:
        pixmap = self.thumbnails.get(rec.id, rec.path, rec.content_hash)
        if pixmap is None or pixmap.isNull():
            return None
        image = pixmap.toImage().scaled(
            REGISTER_SIDE,
            REGISTER_SIDE,
            Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        image = image.convertToFormat(QImage.Format.Format_Grayscale8)
        stride = image.bytesPerLine()
        data = np.frombuffer(image.constBits(), np.uint8, count=stride * REGISTER_SIDE)
        return data.reshape(REGISTER_SIDE, stride)[:, :REGISTER_SIDE].astype(np.float32)

    # -- arrivals --------------------------------------------------------------------------------
    def _preview_ready(self, photo_id: int, image: QImage) -> None:
        if any(r.id == photo_id for r in self.records) and not image.isNull():
            self._previews[photo_id] = QPixmap.fromImage(image)
            self.update()

    def _thumb_ready(self, photo_id: int) -> None:
        if any(r.id == photo_id for r in self.records):
            if len(self.records) > 1 and photo_id not in self.offsets:
                self._register()
            if photo_id not in self._previews:
                self.update()

    def _full_ready(self, photo_id: int) -> None:
        if not self.zoom.fitted and any(r.id == photo_id for r in self.records):
            self.update()

    # -- mouse -----------------------------------------------------------------------------------
    def pane_rects(self) -> list[QRect]:
        n = len(self.records)
        if not n:
            return []
        columns = n if n <= 3 else (n + 1) // 2
        rows = 1 if n <= 3 else 2
        w, h = self.width() // columns, self.height() // rows
        return [QRect((i % columns) * w, (i // columns) * h, w, h) for i in range(n)]

    @staticmethod
    def _image_area(pane: QRect) -> QRect:
        return pane.adjusted(4, 4, -4, -4 - INFO_HEIGHT)

    def mousePressEvent(self, event) -> None:
        self._press, self._dragged = event.position(), False
        for i, rect in enumerate(self.pane_rects()):
            if rect.contains(event.position().toPoint()):
                self.focus_index = i
                self.paneClicked.emit(i)
                self.update()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._press is None or self.zoom.fitted:
            return
        delta = event.position() - self._press
        if self._dragged or abs(delta.x()) + abs(delta.y()) > DRAG_SLOP:
            self._dragged = True
            self._press = event.position()
            self.pan_by(delta.x(), delta.y())

    def mouseReleaseEvent(self, event) -> None:
        self._press = None
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        self.toggle_zoom(event.position())

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(steps, event.position())
        event.accept()

    # -- painting --------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.fillRect(self.rect(), QColor(24, 25, 28))
        if not self.records:
            painter.setPen(QColor(150, 150, 150))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No photo selected")
            return
        many = len(self.records) > 1
        for i, (rec, rect) in enumerate(zip(self.records, self.pane_rects())):
            self._paint_pane(
                painter, rec, rect.adjusted(4, 4, -4, -4), many and i == self.focus_index
            )

    def frame_rect(self, index: int) -> QRectF | None:
        """Where record ``index``'s whole frame lies on screen (may extend past its pane when zoomed)."""
        rec = self.records[index]
        size = self._frame_size(rec)
        if size is None:
            return None
        area = self._image_area(self.pane_rects()[index])
        x, y, w, h = geometry.frame_rect(
            size, _rect(area), self.zoom, self.offsets.get(rec.id, (0.0, 0.0))
        )
        return QRectF(x, y, w, h)

    def _paint_pane(self, painter: QPainter, rec: PhotoRecord, rect: QRect, focused: bool) -> None:
        area = rect.adjusted(0, 0, 0, -INFO_HEIGHT)
        index = self.records.index(rec)
        frame = self.frame_rect(index)
        full = None if self.zoom.fitted else self.full.get(rec.id)
        source: QImage | QPixmap | None = full if full is not None else self._pixmap(rec)
        if frame is not None and source is not None:
            painter.save()
            painter.setClipRect(area)
            _draw_visible(painter, source, frame, QRectF(area))
            if rec.flagged == "reject":
                painter.fillRect(frame.intersected(QRectF(area)), QColor(0, 0, 0, 90))
            if self.overlay_visible and (overlay := self.overlay_for(rec)) is not None:
                paint_overlay(painter, overlay, frame, QRectF(area))
            painter.restore()
        else:
            painter.setPen(QColor(230, 120, 110) if rec.error else QColor(150, 150, 150))
            painter.drawText(
                area,
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                f"⚠ {rec.error}" if rec.error else "loading…",
            )
        if focused:
            painter.setPen(QPen(ACCENT, 3))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(QRectF(rect), 4, 4)
        if focused or len(self.records) == 1:
            self._paint_navigator(painter, rec, index, area)
        self._paint_info(
            painter, rec, QRect(rect.x(), area.bottom() + 1, rect.width(), INFO_HEIGHT)
        )

    def navigator(self, index: int) -> tuple[QRectF, QRectF] | None:
        """Zoomed in: where the navigator sits in the pane (a small copy of the whole frame, in
        its bottom-right corner) and the outline of the part shown; None at fit."""
        if self.zoom.fitted or not 0 <= index < len(self.records):
            return None
        frame = self.frame_rect(index)
        if frame is None:
            return None
        pane = self.pane_rects()[index].adjusted(4, 4, -4, -4)
        area = pane.adjusted(0, 0, 0, -INFO_HEIGHT)
        part = geometry.visible_part(
            (frame.x(), frame.y(), frame.width(), frame.height()), _rect(area)
        )
        if part is None:
            return None
        side = min(NAVIGATOR_SIDE, area.width() / 3, area.height() / 3)
        aspect = frame.width() / frame.height()
        w, h = (side, side / aspect) if aspect >= 1 else (side * aspect, side)
        box = QRectF(area.right() - w - 10, area.bottom() - h - 10, w, h)
        u, v, pw, ph = part
        outline = QRectF(box.x() + u * w, box.y() + v * h, pw * w, ph * h)
        return box, outline

    def _paint_navigator(self, painter: QPainter, rec: PhotoRecord, index: int, area: QRect):
        """Lightroom's navigator at 100 %: where in the frame the pane is looking."""
        found = self.navigator(index)
        pixmap = self._pixmap(rec)
        if found is None or pixmap is None:
            return
        box, outline = found
        painter.save()
        painter.setClipRect(area)
        painter.fillRect(box.adjusted(-3, -3, 3, 3), PILL)
        painter.drawPixmap(box, pixmap, QRectF(pixmap.rect()))
        painter.setPen(QPen(QColor(255, 255, 255), 1.5))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(outline)
        painter.restore()

    def zoom_text(self, rec: PhotoRecord) -> str:
        if rec.status == "missing":
            return "⚠ file missing: only the preview is shown, not rateable"
        if self.zoom.fitted:
            return "fit"
        percent = f"{self.zoom.scale * self.devicePixelRatioF() * 100:.0f} %"
        if self.full.get(rec.id) is None:
            if self.full.pending(rec.id):
                return percent + " (loading full size…)"
            if self.full.failed(rec.id):
                # Never "100 %" over an enlarged preview: say the full size could not be read.
                return f"preview enlarged: full size unreadable ({percent} of the preview)"
        return percent

    def _paint_info(self, painter: QPainter, rec: PhotoRecord, strip: QRect) -> None:
        painter.fillRect(strip, PILL)
        font = QFont(painter.font())
        font.setPointSizeF(10)
        painter.setFont(font)
        x = strip.x() + 10
        cy = strip.center().y()
        if rec.flagged:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(PICK if rec.flagged == "pick" else REJECT)
            label = "PICK" if rec.flagged == "pick" else "REJECT"
            width = painter.fontMetrics().horizontalAdvance(label) + 14
            painter.drawRoundedRect(QRectF(x, cy - 10, width, 20), 10, 10)
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(QRectF(x, cy - 10, width, 20), Qt.AlignmentFlag.AlignCenter, label)
            x += width + 10
        if rec.label in LABEL_COLOURS:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(LABEL_COLOURS[rec.label])
            painter.drawRoundedRect(QRectF(x, cy - 8, 16, 16), 3, 3)
            x += 24
        painter.setPen(Qt.PenStyle.NoPen)
        for i in range(5):
            painter.setBrush(STAR if i < (rec.stars or 0) else QColor(90, 90, 90))
            painter.drawPath(star_path(QPointF(x + 7 + i * 16, cy), 6.5))
        x += 5 * 16 + 12
        score = rec.scores.get(self.badge_scorer) if self.badge_scorer else None
        if score is None and rec.scores:
            score = next(iter(rec.scores.values()))
        if score is not None:
            text = f"{score:.1f}"
            width = painter.fontMetrics().horizontalAdvance(text) + 14
            painter.setBrush(score_color(score))
            painter.drawRoundedRect(QRectF(x, cy - 10, width, 20), 10, 10)
            painter.setPen(QColor(15, 15, 15))
            painter.drawText(QRectF(x, cy - 10, width, 20), Qt.AlignmentFlag.AlignCenter, text)
            x += width + 10
        painter.setPen(QColor(225, 225, 225))
        right = "  ·  ".join(
            t
            for t in (self.zoom_text(rec), self.position_text if len(self.records) == 1 else "")
            if t
        )
        right_width = painter.fontMetrics().horizontalAdvance(right) + 12 if right else 0
        name_rect = QRect(int(x), strip.y(), strip.right() - int(x) - right_width, strip.height())
        name = painter.fontMetrics().elidedText(
            rec.name, Qt.TextElideMode.ElideMiddle, name_rect.width()
        )
        painter.drawText(
            name_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, name
        )
        if right:
            painter.setPen(QColor(160, 160, 160))
            painter.drawText(
                strip.adjusted(0, 0, -10, 0),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                right,
            )


def _rect(rect: QRect) -> geometry.Rect:
    return (rect.x(), rect.y(), rect.width(), rect.height())


def _draw_visible(painter: QPainter, source: QImage | QPixmap, frame: QRectF, area: QRectF) -> None:
    """Draw only the part of ``source`` (the whole frame, any resolution) that falls inside ``area``:
    at 100 % the frame is many times the pane, and scaling all of it each paint would be slow."""
    visible = frame.intersected(area)
    if visible.isEmpty():
        return
    sx = source.width() / frame.width()
    sy = source.height() / frame.height()
    src = QRectF(
        (visible.x() - frame.x()) * sx,
        (visible.y() - frame.y()) * sy,
        visible.width() * sx,
        visible.height() * sy,
    )
    if isinstance(source, QImage):
        painter.drawImage(visible, source, src)
    else:
        painter.drawPixmap(visible, source, src)
