"""The grid marks a RAW+JPEG capture with a badge (issue #30), and only such a photo."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QRect  # noqa: E402
from PySide6.QtGui import QColor, QImage, QPainter  # noqa: E402

from culler.gui.delegates import ThumbnailDelegate  # noqa: E402
from culler.gui.records import PhotoRecord  # noqa: E402


def badges(rec: PhotoRecord) -> QImage:
    image = QImage(240, 180, QImage.Format.Format_RGB32)
    image.fill(QColor(0, 0, 0))
    painter = QPainter(image)
    ThumbnailDelegate(200)._paint_badges(painter, QRect(0, 0, 240, 180), rec, None, None)
    painter.end()
    return image


def lit_pixels(image: QImage, area: QRect) -> int:
    return sum(
        1
        for x in range(area.left(), area.right())
        for y in range(area.top(), area.bottom())
        if image.pixelColor(x, y) != QColor(0, 0, 0)
    )


def test_a_raw_jpeg_photo_gets_a_badge_and_a_lone_jpeg_none(qapp):
    corner = QRect(0, 0, 120, 24)
    lone = PhotoRecord(id=1, path="/shoot/IMG_0002.JPG")
    pair = PhotoRecord(
        id=2, path="/shoot/IMG_0001.JPG", companions=[("/shoot/IMG_0001.dng", "raw")]
    )
    heic = PhotoRecord(
        id=3, path="/shoot/IMG_0003.HEIC", companions=[("/shoot/IMG_0003.CR3", "raw")]
    )
    assert (lone.capture_badge, pair.capture_badge, heic.capture_badge) == (
        "",
        "RAW+JPEG",
        "RAW+HEIC",
    )
    assert lit_pixels(badges(lone), corner) == 0
    assert lit_pixels(badges(pair), corner) > 50
    # Beside a pick flag the badge moves over: the flag stays readable.
    picked = PhotoRecord(
        id=4, path="/shoot/IMG_0004.JPG", decision="pick", companions=[("/x.dng", "raw")]
    )
    assert lit_pixels(badges(picked), QRect(34, 6, 60, 12)) > 20
