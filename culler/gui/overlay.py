"""The "why" overlay on the loupe: where the technical scorer measured sharpness, the direction of any
motion blur it found, and the faces the faces scorer judged with their eye state.

The data are the scores' ``extra`` in the catalog (``blur``: ``direction_deg`` when motion blur was
found; ``faces``: boxes in the pixels of the analysed image, whose longer side is at most
:data:`FACES_SIDE`) and the details a scorer computes for the photo on screen instead of storing
them (``sharpness_grid``: rows × columns of per-tile sharpness over the frame, which scans of
earlier versions stored; :mod:`culler.gui.overlay_details`). Whatever is missing is simply not
drawn: other scorers give none of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen

#: The faces scorer analyses the photo at this longer side (never upscaled).
FACES_SIDE = 1024
EYE_COLOURS = {"open": QColor(80, 220, 120), "closed": QColor(240, 80, 70)}
UNKNOWN_EYES = QColor(230, 200, 90)


@dataclass
class Overlay:
    """What can be drawn over one photo, in the photo's own [0, 1] coordinates."""

    grid: list[list[float]] | None = None
    #: Share of the frame's width and height the grid's tiles cover (whole tiles only).
    grid_cover: tuple[float, float] = (1.0, 1.0)
    blur_deg: float | None = None
    blur_text: str = ""
    faces: list[dict[str, Any]] = field(
        default_factory=list
    )  # {box: (u, v, w, h), eyes, eye_boxes}

    @property
    def empty(self) -> bool:
        return self.grid is None and self.blur_deg is None and not self.faces


def overlay_from_scores(
    scores: list[dict[str, Any]],
    width: int | None,
    height: int | None,
    details: dict[str, dict[str, Any]] | None = None,
) -> Overlay:
    """Collect the overlay from a photo's scores (``Catalog.scores_for``) and the details their
    scorers computed on demand (``{scorer id: details}``, read as part of that scorer's current
    ``extra``), tolerating any shape."""
    overlay = Overlay()
    details = dict(details or {})
    for row in scores:
        extra = row.get("extra") if isinstance(row.get("extra"), dict) else {}
        extra = {**extra, **(details.pop(row.get("scorer_id"), None) or {})}
        grid = extra.get("sharpness_grid")
        if overlay.grid is None and _is_grid(grid):
            overlay.grid = [[float(v) for v in r] for r in grid]
            overlay.grid_cover = _grid_cover(extra, overlay.grid)
        blur = extra.get("blur")
        if overlay.blur_deg is None and isinstance(blur, dict) and _motion_found(blur):
            deg = blur.get("direction_deg")
            if isinstance(deg, (int, float)):
                overlay.blur_deg = float(deg)
                overlay.blur_text = str(blur.get("direction") or f"{deg:.0f}°")
        faces = extra.get("faces")
        if not overlay.faces and isinstance(faces, list) and width and height:
            overlay.faces = [f for f in (_face(face, width, height) for face in faces) if f]
    return overlay


#: Motion-blur confidence from which the overlay draws the blur direction (the technical scorer names
#: motion blur as a defect from about there).
MOTION_SHOWN = 0.5


def _motion_found(blur: dict[str, Any]) -> bool:
    """Whether the scorer found motion blur (older results without a confidence: assume so)."""
    confidence = blur.get("motion_confidence", 1.0)
    return isinstance(confidence, (int, float)) and confidence >= MOTION_SHOWN


def _grid_cover(extra: dict[str, Any], grid: list[list[float]]) -> tuple[float, float]:
    """The part of the frame the tiles cover: a grid of whole tiles may stop short of the edges."""
    tile, size = extra.get("sharpness_grid_tile"), extra.get("scored_size")
    if not isinstance(tile, (int, float)) or not isinstance(size, list) or len(size) != 2:
        return (1.0, 1.0)
    try:
        w, h = (float(v) for v in size)
        return (min(1.0, len(grid[0]) * tile / w), min(1.0, len(grid) * tile / h))
    except (TypeError, ValueError, ZeroDivisionError):
        return (1.0, 1.0)


def _is_grid(grid: Any) -> bool:
    return (
        isinstance(grid, list)
        and bool(grid)
        and all(isinstance(r, list) and r and len(r) == len(grid[0]) for r in grid)
        and all(isinstance(v, (int, float)) for r in grid for v in r)
    )


def _face(face: Any, width: int, height: int) -> dict[str, Any] | None:
    """A face's box in [0, 1] of the frame: the scorer's pixels are those of the analysed copy."""
    box = face.get("box") if isinstance(face, dict) else None
    if not (isinstance(box, list) and len(box) == 4):
        return None
    analysed = min(FACES_SIDE, max(width, height)) / max(width, height)
    aw, ah = width * analysed, height * analysed
    x, y, w, h = (float(v) for v in box)
    eye_boxes = []
    for eye in face.get("eye_regions") or []:
        ebox = eye.get("box") if isinstance(eye, dict) else None
        if isinstance(ebox, list) and len(ebox) == 4:
            ex, ey, ew, eh = (float(v) for v in ebox)
            if ex + ew <= w * 1.05 and ey + eh <= h * 1.05:  # relative to the face box
                ex, ey = ex + x, ey + y
            eye_boxes.append((ex / aw, ey / ah, ew / aw, eh / ah))
    return {
        "box": (x / aw, y / ah, w / aw, h / ah),
        "eyes": str(face.get("eyes") or "unknown"),
        "eye_boxes": eye_boxes,
    }


def heat(value: float) -> QColor:
    """Soft tiles red, sharp tiles green (``value`` in 0..1 of the photo's sharpest tile)."""
    value = min(1.0, max(0.0, value))
    return QColor(int(235 * (1 - value) + 40 * value), int(70 + 150 * value), 60, 48)


def paint_overlay(
    painter: QPainter, overlay: Overlay, frame: QRectF, visible: QRectF | None = None
) -> None:
    """Draw ``overlay`` over a photo shown in ``frame`` (screen rectangle of the whole photo);
    ``visible`` is the part of it on screen (at 100 % the blur arrow is drawn there)."""
    painter.save()
    if overlay.grid:
        cover_w, cover_h = overlay.grid_cover
        covered = QRectF(frame.x(), frame.y(), frame.width() * cover_w, frame.height() * cover_h)
        _paint_grid(painter, overlay.grid, covered)
    if overlay.blur_deg is not None:
        shown = frame if visible is None else frame.intersected(visible)
        _paint_blur(painter, overlay.blur_deg, overlay.blur_text, shown)
    for face in overlay.faces:
        _paint_face(painter, face, frame)
    painter.restore()


def _paint_grid(painter: QPainter, grid: list[list[float]], frame: QRectF) -> None:
    rows, columns = len(grid), len(grid[0])
    top = max(max(r) for r in grid) or 1.0
    w, h = frame.width() / columns, frame.height() / rows
    best = max(((v, i, j) for i, r in enumerate(grid) for j, v in enumerate(r)))
    painter.setPen(QPen(QColor(0, 0, 0, 70), 1))
    font = QFont(painter.font())
    font.setPointSizeF(8)
    for i, row in enumerate(grid):
        for j, value in enumerate(row):
            if value < 0:  # too flat to judge (sky, fog, a smooth gradient): left clear
                continue
            tile = QRectF(frame.x() + j * w, frame.y() + i * h, w, h)
            painter.setBrush(heat(value / top))
            painter.drawRect(tile)
            if w >= 36 and h >= 20:  # the value itself, where the tile has room for it
                painter.setFont(font)
                painter.setPen(QColor(255, 255, 255, 210))
                painter.drawText(
                    tile.adjusted(4, 2, -4, -2),
                    Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                    f"{value / top:.0%}",
                )
                painter.setPen(QPen(QColor(0, 0, 0, 70), 1))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(QColor(255, 255, 255, 220), 2))
    painter.drawRect(QRectF(frame.x() + best[2] * w, frame.y() + best[1] * h, w, h))


def _paint_blur(painter: QPainter, degrees: float, text: str, frame: QRectF) -> None:
    """A double arrow along the blur through the frame's centre (image angles: 0° = horizontal)."""
    centre = frame.center()
    length = min(frame.width(), frame.height()) * 0.35
    dx = math.cos(math.radians(degrees)) * length
    dy = -math.sin(math.radians(degrees)) * length
    a, b = QPointF(centre.x() - dx, centre.y() - dy), QPointF(centre.x() + dx, centre.y() + dy)
    for pen in (QPen(QColor(0, 0, 0, 160), 6), QPen(QColor(255, 170, 40), 3)):
        painter.setPen(pen)
        painter.drawLine(a, b)
        for tip, back in ((a, b), (b, a)):
            angle = math.atan2(back.y() - tip.y(), back.x() - tip.x())
            for turn in (-0.45, 0.45):
                end = QPointF(
                    tip.x() + 16 * math.cos(angle + turn), tip.y() + 16 * math.sin(angle + turn)
                )
                painter.drawLine(tip, end)
    _label(painter, centre, f"motion blur {text}", QColor(255, 170, 40), frame)


def _paint_face(painter: QPainter, face: dict[str, Any], frame: QRectF) -> None:
    colour = EYE_COLOURS.get(face["eyes"], UNKNOWN_EYES)

    def place(box: tuple[float, float, float, float]) -> QRectF:
        u, v, w, h = box
        return QRectF(
            frame.x() + u * frame.width(),
            frame.y() + v * frame.height(),
            w * frame.width(),
            h * frame.height(),
        )

    painter.setBrush(Qt.BrushStyle.NoBrush)
    rect = place(face["box"])
    painter.setPen(QPen(colour, 2.5))
    painter.drawRect(rect)
    painter.setPen(QPen(colour, 1.5))
    for eye in face["eye_boxes"]:
        painter.drawEllipse(place(eye))
    _label(painter, QPointF(rect.x(), rect.y() - 6), f"eyes {face['eyes']}", colour)


def _label(
    painter: QPainter, at: QPointF, text: str, colour: QColor, within: QRectF | None = None
) -> None:
    font = QFont(painter.font())
    font.setPointSizeF(10)
    font.setBold(True)
    painter.setFont(font)
    width = painter.fontMetrics().horizontalAdvance(text) + 10
    box = QRectF(at.x(), at.y() - 18, width, 20)
    if within is not None:  # keep it readable inside the pane
        box.moveLeft(max(within.left() + 4, min(box.left(), within.right() - width - 4)))
        box.moveTop(max(within.top() + 4, min(box.top(), within.bottom() - 24)))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(0, 0, 0, 170))
    painter.drawRoundedRect(box, 4, 4)
    painter.setPen(colour)
    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
