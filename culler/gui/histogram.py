"""The why panel's histogram: red, green, blue and luminance, with highlight and shadow clipping.

Computed from the catalog's thumbnail (a few hundred pixels a side: the shape and the clipped share
of a histogram do not change with resolution), so selecting a photo never decodes the full file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath
from PySide6.QtWidgets import QWidget

from culler.imaging.clipping import clipping, luminance

BINS = 64
#: Clipping over this share of the pixels is worth a warning.
CLIP_WARN = 0.005
#: The ``extra`` keys the technical scorer stores its clipping figures under (percent of the pixels,
#: one definition: culler.imaging.clipping), so the histogram and the score never disagree.
EXTRA_HIGHLIGHTS, EXTRA_SHADOWS = "highlights_clipped_percent", "shadows_crushed_percent"


@dataclass
class Histogram:
    channels: np.ndarray  # (4, BINS): red, green, blue, luminance; each sums to 1
    highlights: float  # share of pixels clipped (luminance at HIGHLIGHT_LEVEL or above)
    shadows: float  # share of pixels crushed (luminance at SHADOW_LEVEL or below)
    #: Where the figures come from: the thumbnail, or the scorer that measured the decoded frame.
    measured_by: str = "thumbnail"

    def warnings(self) -> list[str]:
        out = []
        by = "" if self.measured_by == "thumbnail" else f" ({self.measured_by})"
        if self.highlights > CLIP_WARN:
            out.append(f"highlights clipped: {self.highlights:.1%} of the pixels{by}")
        if self.shadows > CLIP_WARN:
            out.append(f"shadows crushed: {self.shadows:.1%} of the pixels{by}")
        return out

    def with_scorer_figures(self, scores: list[dict]) -> Histogram:
        """The clipping a scorer measured on the decoded frame (its ``extra``), where one did: the
        same definitions on more pixels than the thumbnail, and the figures its reasons quote."""
        for row in scores:
            extra = row.get("extra") or {}
            if EXTRA_HIGHLIGHTS in extra and EXTRA_SHADOWS in extra:
                try:
                    high, low = float(extra[EXTRA_HIGHLIGHTS]), float(extra[EXTRA_SHADOWS])
                except (TypeError, ValueError):
                    continue
                if 0.0 <= high <= 100.0 and 0.0 <= low <= 100.0:
                    scorer = str(row.get("scorer_id"))
                    return Histogram(self.channels, high / 100.0, low / 100.0, scorer)
        return self


def histogram(rgb: np.ndarray) -> Histogram:
    """The histogram of an (h, w, 3) uint8 image, clipping measured as the technical scorer does."""
    pixels = rgb.reshape(-1, 3)
    luma = luminance(pixels).clip(0, 255)
    channels = [pixels[:, c] for c in range(3)] + [luma]
    counts = np.stack([np.histogram(c, bins=BINS, range=(0, 256))[0] for c in channels])
    total = max(1, len(pixels))
    clipped = clipping(rgb)
    return Histogram(
        channels=counts / total,
        highlights=clipped.highlights_percent / 100.0,
        shadows=clipped.shadows_percent / 100.0,
    )


class HistogramWidget(QWidget):
    COLOURS = (
        QColor(230, 80, 70, 110),
        QColor(90, 200, 90, 110),
        QColor(80, 130, 240, 110),
        QColor(220, 220, 220, 150),
    )

    def __init__(self, data: Histogram, parent=None) -> None:
        super().__init__(parent)
        self.data = data
        self.setFixedHeight(70)
        self.setToolTip("; ".join(data.warnings()) or "no clipping")

    def sizeHint(self) -> QSize:
        return QSize(220, 70)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor(32, 33, 37))
        w, h = self.width(), self.height()
        top = (
            float(np.percentile(self.data.channels, 99.5)) or 1.0
        )  # one spike must not flatten all
        painter.setPen(Qt.PenStyle.NoPen)
        for curve, colour in zip(self.data.channels, self.COLOURS):
            path = QPainterPath(QPointF(0, h))
            for i, value in enumerate(curve):
                path.lineTo(QPointF(i * w / (BINS - 1), h - min(1.0, value / top) * (h - 4)))
            path.lineTo(QPointF(w, h))
            painter.setBrush(colour)
            painter.drawPath(path)
        # Lightroom's clipping triangles: lit when that end is clipped.
        for clipped, x, direction in (
            (self.data.shadows > CLIP_WARN, 2.0, 1),
            (self.data.highlights > CLIP_WARN, w - 2.0, -1),
        ):
            painter.setBrush(QColor(90, 170, 255) if clipped else QColor(80, 80, 80))
            if x > w / 2:
                painter.setBrush(QColor(255, 90, 80) if clipped else QColor(80, 80, 80))
            tri = QPainterPath(QPointF(x, 2))
            tri.lineTo(QPointF(x + direction * 10, 2))
            tri.lineTo(QPointF(x, 12))
            tri.closeSubpath()
            painter.drawPath(tri)
        painter.setPen(QColor(70, 70, 70))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(0, 0, w - 1, h - 1))
