"""The large views: the loupe (one photo) and compare (two or more side by side) share one widget.

A pane first shows the cached thumbnail scaled up, then the full preview once a worker has decoded it
at screen size, so moving through photos never waits on a decode.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QWidget

from culler.gui.delegates import ACCENT, PICK, PILL, REJECT, STAR, score_color, star_path
from culler.gui.records import PhotoRecord
from culler.gui.thumbnails import ThumbnailCache

PREVIEW_SIDE = 2048
INFO_HEIGHT = 30


class PhotoStage(QWidget):
    """Paints one or more photos fitted to equal panes, with an info strip under each."""

    paneClicked = Signal(int)  # pane index

    def __init__(self, thumbnails: ThumbnailCache, parent=None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.records: list[PhotoRecord] = []
        self.focus_index = 0
        self.position_text = ""
        self.badge_scorer: str | None = None
        self._previews: dict[int, QPixmap] = {}
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(320, 240)
        thumbnails.previewReady.connect(self._preview_ready)
        thumbnails.ready.connect(self._thumb_ready)

    def set_records(self, records: list[PhotoRecord], focus_index: int = 0) -> None:
        keep = {r.id for r in records}
        self._previews = {pid: px for pid, px in self._previews.items() if pid in keep}
        self.records = records
        self.focus_index = max(0, min(focus_index, len(records) - 1))
        side = min(PREVIEW_SIDE, int(max(self.width(), self.height()) * self.devicePixelRatioF()))
        for rec in records:
            if rec.id not in self._previews and rec.status == "ok":
                self.thumbnails.request_preview(rec.id, rec.path, max(side, 512))
        self.update()

    def refresh(self) -> None:
        self.update()

    @property
    def focused(self) -> PhotoRecord | None:
        return self.records[self.focus_index] if self.records else None

    def move_focus(self, step: int) -> None:
        if self.records:
            self.focus_index = (self.focus_index + step) % len(self.records)
            self.update()

    def _preview_ready(self, photo_id: int, image: QImage) -> None:
        if any(r.id == photo_id for r in self.records) and not image.isNull():
            self._previews[photo_id] = QPixmap.fromImage(image)
            self.update()

    def _thumb_ready(self, photo_id: int) -> None:
        if any(r.id == photo_id for r in self.records) and photo_id not in self._previews:
            self.update()

    # -- painting --------------------------------------------------------------------------------
    def pane_rects(self) -> list[QRect]:
        n = len(self.records)
        if not n:
            return []
        columns = n if n <= 3 else (n + 1) // 2
        rows = 1 if n <= 3 else 2
        w, h = self.width() // columns, self.height() // rows
        return [QRect((i % columns) * w, (i // columns) * h, w, h) for i in range(n)]

    def mousePressEvent(self, event) -> None:
        for i, rect in enumerate(self.pane_rects()):
            if rect.contains(event.position().toPoint()):
                self.focus_index = i
                self.paneClicked.emit(i)
                self.update()
        super().mousePressEvent(event)

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

    def _paint_pane(self, painter: QPainter, rec: PhotoRecord, rect: QRect, focused: bool) -> None:
        area = rect.adjusted(0, 0, 0, -INFO_HEIGHT)
        pixmap = self._previews.get(rec.id)
        if pixmap is None:
            pixmap = self.thumbnails.get(rec.id, rec.path, rec.content_hash)
        if pixmap is not None and not pixmap.isNull():
            scaled = pixmap.size().scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(area.center())
            painter.drawPixmap(target, pixmap)
            if rec.flagged == "reject":
                painter.fillRect(target, QColor(0, 0, 0, 90))
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
        self._paint_info(
            painter, rec, QRect(rect.x(), area.bottom() + 1, rect.width(), INFO_HEIGHT)
        )

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
        right = self.position_text if len(self.records) == 1 else ""
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
