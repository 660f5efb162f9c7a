"""Painting grid cells: thumbnail, pick/reject flag, stars, burst stack, RAW+JPEG and score badges.

One delegate paints every cell (no widget per photo). Badges are drawn as shapes on translucent pills so
they stay readable on bright and dark photos alike.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from culler.gui.item_models import RecordRole, ScoreRole, StackRole, ThumbFailedRole
from culler.gui.records import PhotoRecord

CAPTION_HEIGHT = 20
PADDING = 6

PICK = QColor(46, 170, 90)
REJECT = QColor(214, 64, 58)
STAR = QColor(255, 200, 40)
ACCENT = QColor(64, 150, 255)
PILL = QColor(0, 0, 0, 165)


#: Lightroom's colour labels (keys 6–9), as chips in the grid, filmstrip and loupe.
LABEL_COLOURS = {
    "red": QColor(220, 70, 60),
    "yellow": QColor(230, 200, 60),
    "green": QColor(80, 190, 90),
    "blue": QColor(70, 130, 230),
}


def score_color(score: float) -> QColor:
    """Red (0) through amber (5) to green (10)."""
    t = max(0.0, min(1.0, score / 10.0))
    if t < 0.5:
        return QColor.fromHsvF(0.0 + 0.12 * (t / 0.5), 0.75, 0.85)
    return QColor.fromHsvF(0.12 + 0.21 * ((t - 0.5) / 0.5), 0.75, 0.75)


class ThumbnailDelegate(QStyledItemDelegate):
    def __init__(self, side: int = 200, parent=None) -> None:
        super().__init__(parent)
        self.side = side
        self.cell_width = 0  # set by the grid when it widens cells to fill a row

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return QSize(self.side + 2 * PADDING, self.side + 2 * PADDING + CAPTION_HEIGHT)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        rec: PhotoRecord | None = index.data(RecordRole)
        if rec is None:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        # Qt centres the item in its grid cell; paint the whole cell so the grid has no gaps.
        cell = QRect(option.rect)
        if self.cell_width > cell.width():
            cell.setX(option.rect.center().x() - self.cell_width // 2 + 1)
            cell.setWidth(self.cell_width)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        current = bool(option.state & QStyle.StateFlag.State_HasFocus)
        background = QColor(70, 78, 92) if selected else QColor(44, 46, 50)
        painter.fillRect(cell.adjusted(2, 2, -2, -2), background)

        box = QRect(
            cell.x() + (cell.width() - self.side) // 2, cell.y() + PADDING, self.side, self.side
        )
        stack = index.data(StackRole)
        pixmap: QPixmap | None = index.data(Qt.ItemDataRole.DecorationRole)
        image_rect = self._image_rect(box, pixmap, rec)
        if stack and not stack[1] and rec.is_top:
            self._paint_stack_shadow(painter, image_rect)
        if pixmap is not None and not pixmap.isNull():
            painter.drawPixmap(image_rect, pixmap)
            if rec.flagged == "reject":
                painter.fillRect(image_rect, QColor(0, 0, 0, 120))
        else:
            failed = bool(index.data(ThumbFailedRole)) or rec.status != "ok"
            self._paint_placeholder(painter, image_rect, rec, failed)

        if selected or current:
            pen = QPen(ACCENT if selected else QColor(150, 150, 150), 3 if selected else 1)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(QRectF(cell.adjusted(2, 2, -2, -2)), 4, 4)

        self._paint_badges(painter, image_rect, rec, index.data(ScoreRole), stack)
        if rec.label in LABEL_COLOURS:
            painter.fillRect(
                QRect(cell.x() + 6, cell.bottom() - 7, cell.width() - 12, 4),
                LABEL_COLOURS[rec.label],
            )
        caption = QRect(box.x(), box.bottom() + 2, self.side, CAPTION_HEIGHT)
        painter.setPen(QColor(220, 220, 220) if selected else QColor(170, 170, 170))
        font = QFont(option.font)
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1))
        painter.setFont(font)
        text = caption_text(painter.fontMetrics(), rec.name, caption.width())
        painter.drawText(
            caption, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter, text
        )
        painter.restore()

    # -- pieces ----------------------------------------------------------------------------------
    def _image_rect(self, box: QRect, pixmap: QPixmap | None, rec: PhotoRecord) -> QRect:
        if pixmap is not None and not pixmap.isNull():
            w, h = pixmap.width(), pixmap.height()
        elif rec.width and rec.height:
            w, h = rec.width, rec.height
        else:
            w, h = 3, 2
        scale = min(box.width() / w, box.height() / h)
        sw, sh = max(1, int(w * scale)), max(1, int(h * scale))
        return QRect(box.x() + (box.width() - sw) // 2, box.y() + (box.height() - sh) // 2, sw, sh)

    def _paint_stack_shadow(self, painter: QPainter, rect: QRect) -> None:
        painter.setPen(QPen(QColor(20, 20, 20), 1))
        for offset, shade in ((6, 95), (3, 135)):
            painter.setBrush(QColor(shade, shade, shade))
            painter.drawRect(rect.translated(offset, -offset).adjusted(0, 0, -1, -1))

    def _paint_placeholder(self, painter: QPainter, rect: QRect, rec: PhotoRecord, failed: bool):
        painter.fillRect(rect, QColor(58, 60, 66))
        painter.setPen(QColor(230, 120, 110) if failed else QColor(140, 140, 140))
        if failed:
            reason = rec.error or "cannot read this file"
            label = "missing" if rec.status == "missing" else "cannot read"
            text = f"⚠ {label}\n{reason}"
        else:
            text = "…"
        painter.drawText(
            rect.adjusted(8, 8, -8, -8),
            Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
            text,
        )

    def _paint_badges(
        self,
        painter: QPainter,
        rect: QRect,
        rec: PhotoRecord,
        score: float | None,
        stack: tuple[int, bool] | None,
    ) -> None:
        font = painter.font()
        font.setBold(True)
        font.setPointSizeF(9)
        painter.setFont(font)
        if rec.flagged:
            center = QPointF(rect.x() + 14, rect.y() + 14)
            self._paint_flag(painter, center, rec.flagged, proposed=rec.proposed)
            if rec.proposed:
                self._paint_auto_mark(painter, center)
        # On a narrow (portrait, filmstrip) frame the score pill would cover the flag: the flag is
        # the decision, the score only its evidence.
        if score is not None and rect.width() >= 84:
            text = f"{score:.1f}"
            width = painter.fontMetrics().horizontalAdvance(text) + 12
            pill = QRectF(rect.right() - width - 4, rect.y() + 4, width, 18)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(score_color(score))
            painter.drawRoundedRect(pill, 9, 9)
            painter.setPen(QColor(15, 15, 15))
            painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)
        if rec.stars:
            self._paint_stars(painter, QPointF(rect.x() + 4, rect.bottom() - 20), rec.stars)
        badge = rec.capture_badge
        if badge and rect.width() >= 120:  # one photo of a RAW and its JPEG: said, never covering
            small = QFont(font)
            small.setPointSizeF(7)
            painter.setFont(small)
            width = painter.fontMetrics().horizontalAdvance(badge) + 10
            pill = QRectF(rect.x() + (32 if rec.flagged else 4), rect.y() + 5, width, 15)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(PILL)
            painter.drawRoundedRect(pill, 7, 7)
            painter.setPen(QColor(235, 235, 235))
            painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, badge)
            painter.setFont(font)
        if stack:
            size, expanded = stack
            # Collapsed: how many photos the stack holds. Expanded: each member's place in it.
            text = f"{rec.rank + 1}/{size}" if expanded else str(size)
            text_width = painter.fontMetrics().horizontalAdvance(text)
            width = 8 + 12 + 5 + text_width + 8
            pill = QRectF(rect.right() - width - 4, rect.bottom() - 22, width, 18)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(PILL)
            painter.drawRoundedRect(pill, 9, 9)
            self._paint_stack_icon(painter, QPointF(pill.x() + 8, pill.y() + 4))
            painter.setPen(QColor(235, 235, 235))
            painter.drawText(
                QRectF(pill.x() + 25, pill.y(), text_width + 2, pill.height()),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                text,
            )

    def _paint_flag(
        self, painter: QPainter, center: QPointF, flag: str, proposed: bool = False
    ) -> None:
        """A green tick or red cross; a proposal of the cull (not yet accepted) is drawn hollow, on
        a dashed ring, so it never looks like a decision the photographer made."""
        colour = PICK if flag == "pick" else REJECT
        if proposed:
            ring = QPen(colour.lighter(130), 2.2, Qt.PenStyle.DashLine)
            painter.setPen(ring)
            painter.setBrush(PILL)
        else:
            painter.setPen(QPen(QColor(255, 255, 255), 1.5))
            painter.setBrush(colour)
        painter.drawEllipse(center, 10, 10)
        pen = QPen(QColor(255, 255, 255), 2.4)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        x, y = center.x(), center.y()
        if flag == "pick":
            path = QPainterPath(QPointF(x - 5, y))
            path.lineTo(x - 1.5, y + 4)
            path.lineTo(x + 5, y - 4)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(path)
        else:
            painter.drawLine(QPointF(x - 4, y - 4), QPointF(x + 4, y + 4))
            painter.drawLine(QPointF(x - 4, y + 4), QPointF(x + 4, y - 4))

    def _paint_auto_mark(self, painter: QPainter, center: QPointF) -> None:
        """A small "A" pill beside a proposed flag: culler proposed it (Shift+A accepts it)."""
        pill = QRectF(center.x() + 12, center.y() - 8, 16, 16)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(PILL)
        painter.drawRoundedRect(pill, 8, 8)
        painter.setPen(QColor(235, 235, 235))
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, "A")

    def _paint_stars(self, painter: QPainter, origin: QPointF, stars: int) -> None:
        width = stars * 13 + 8
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(PILL)
        painter.drawRoundedRect(QRectF(origin.x(), origin.y(), width, 17), 8, 8)
        painter.setBrush(QBrush(STAR))
        for i in range(stars):
            painter.drawPath(star_path(QPointF(origin.x() + 10 + i * 13, origin.y() + 8.5), 5.5))

    def _paint_stack_icon(self, painter: QPainter, origin: QPointF) -> None:
        painter.setPen(QPen(QColor(235, 235, 235), 1.2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(origin.x() + 3, origin.y(), 8, 7))
        painter.setBrush(QColor(235, 235, 235))
        painter.drawRect(QRectF(origin.x(), origin.y() + 3, 8, 7))


def caption_text(metrics, name: str, width: int) -> str:
    """The file name as it fits ``width``: whole, else without its extension, else the end of its
    stem ("…4053"): a camera's names differ only in their last digits, so cutting the middle
    (``IMG_….jpg``) would make every frame look the same."""
    if metrics.horizontalAdvance(name) <= width:
        return name
    stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
    return metrics.elidedText(stem, Qt.TextElideMode.ElideLeft, width)


def star_path(center: QPointF, radius: float) -> QPainterPath:
    """A five-pointed star (drawn, so it needs no glyph from the user's fonts)."""
    import math

    path = QPainterPath()
    for i in range(10):
        r = radius if i % 2 == 0 else radius * 0.45
        angle = -math.pi / 2 + i * math.pi / 5
        point = QPointF(center.x() + r * math.cos(angle), center.y() + r * math.sin(angle))
        if i == 0:
            path.moveTo(point)
        else:
            path.lineTo(point)
    path.closeSubpath()
    return path
