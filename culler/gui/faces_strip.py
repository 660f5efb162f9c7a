"""The faces strip: every face of the selected photo cut out at 100 %, with its eye and focus
verdicts, so eight faces of a group photo are checked without zooming in eight times.

Each tile is the face with a margin, from the photo decoded at full size (the faces' boxes are in
pixels of the scan's 1024 px decode: scaled up), captioned "eyes open 0.82 · sharp" in the verdict's
colour (red for closed eyes and soft or motion-blurred faces, grey for "can't tell"). Left and Right
(or [ and ]) move between faces; the current face has a frame.
"""

from __future__ import annotations

import logging
from typing import Any

from PIL import Image
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent, QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

log = logging.getLogger(__name__)

#: Tiles show at most this many screen pixels of face height; a larger face is reduced to fit
#: (smaller ones stay at 100 %: that is what shows a missed focus).
TILE_HEIGHT = 220
MARGIN = 0.25  # of the face's width, around it
BAD, GOOD, UNSURE = "#e5534b", "#57ab5a", "#8b949e"


def verdict_text(face: dict[str, Any]) -> tuple[str, str]:
    """The caption of one face and its colour: the worst verdict decides the colour."""
    eyes = face.get("eyes") or "unknown"
    focus = face.get("focus") or "unknown"

    def conf(key: str) -> str:
        value = face.get(key)
        return f" {value:.2f}" if isinstance(value, (int, float)) else ""

    eye_part = "eyes can't tell" if eyes == "unknown" else f"eyes {eyes}{conf('eyes_confidence')}"
    focus_part = (
        "focus can't tell"
        if focus == "unknown"
        else {"motion": "motion-blurred"}.get(focus, focus) + conf("focus_confidence")
    )
    text = f"{eye_part} · {focus_part}"
    if face.get("person"):
        text = f"{face['person']}\n{text}"
    if eyes == "closed" or focus in ("soft", "motion"):
        return text, BAD
    if eyes == "open" and focus == "sharp":
        return text, GOOD
    return text, UNSURE


def face_crop(image: Image.Image, face: dict[str, Any]) -> Image.Image:
    """The face with a margin, in ``image``'s pixels (the box scaled from the analysed size)."""
    x, y, w, h = face["box"]
    k = image.width / face["image_w"] if face.get("image_w") else 1.0
    m = MARGIN * w
    box = (
        max(0, int((x - m) * k)),
        max(0, int((y - m) * k)),
        min(image.width, int((x + w + m) * k)),
        min(image.height, int((y + h + m) * k)),
    )
    crop = image.crop(box)
    if crop.height > TILE_HEIGHT:
        crop = crop.resize(
            (max(1, round(crop.width * TILE_HEIGHT / crop.height)), TILE_HEIGHT),
            Image.Resampling.LANCZOS,
        )
    return crop


def _pixmap(image: Image.Image) -> QPixmap:
    rgb = image.convert("RGB")
    data = rgb.tobytes()
    qimage = QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(qimage.copy())


class FaceTile(QFrame):
    def __init__(self, crop: Image.Image, face: dict[str, Any], parent=None) -> None:
        super().__init__(parent)
        self.face = face
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.picture = picture = QLabel()
        picture.setPixmap(_pixmap(crop))
        picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text, colour = verdict_text(face)
        self.caption = QLabel(text)
        self.caption.setStyleSheet(f"color: {colour};")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(picture)
        layout.addWidget(self.caption)
        self.set_current(False)

    def set_current(self, current: bool) -> None:
        colour = "#d0d7de" if current else "transparent"
        self.setStyleSheet(f"FaceTile {{ border: 2px solid {colour}; border-radius: 4px; }}")


class FacesStrip(QWidget):
    """Every face of one photo; ``set_photo(catalog, photo_id)`` fills it (the panels' protocol)."""

    currentFaceChanged = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.tiles: list[FaceTile] = []
        self.current = -1
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.row = QHBoxLayout()
        self.row.setAlignment(Qt.AlignmentFlag.AlignLeft)
        inner = QWidget()
        inner.setLayout(self.row)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(inner)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.scroll)
        self._photo: tuple[str, Image.Image] | None = None  # the last photo decoded
        self._pending: tuple[Any, int | None] | None = None  # set while hidden

    def set_photo(self, catalog, photo_id: int | None) -> None:
        """Show this photo's faces; while the strip is hidden (another tab in front) it only
        remembers the photo, so browsing the grid never decodes full-size photos for nothing."""
        self._pending = (catalog, photo_id)
        if self.isVisible():
            self._fill()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._pending is not None:
            self._fill()

    def _fill(self) -> None:
        catalog, photo_id = self._pending or (None, None)
        self._pending = None
        self._clear()
        if catalog is None or photo_id is None:
            self.message.setText("")
            return
        faces = catalog.photo_faces(photo_id)
        if not faces:
            self.message.setText("no faces found (scan with the faces scorer to see them here)")
            return
        path = catalog.photo_paths([photo_id]).get(photo_id, (None, None))[0]
        image = self._decode(path)
        if image is None:
            self.message.setText("the photo cannot be read: rescan its folder")
            return
        closed = sum(f["eyes"] == "closed" for f in faces if f.get("main", True))
        soft = sum(f["focus"] in ("soft", "motion") for f in faces if f.get("main", True))
        summary = f"{len(faces)} face{'s' * (len(faces) != 1)}"
        if closed or soft:
            summary += f": {closed} eyes closed, {soft} soft"
        self.message.setText(summary + "  (← → move between faces)")
        for face in faces:
            tile = FaceTile(face_crop(image, face), face)
            self.row.addWidget(tile)
            self.tiles.append(tile)
        self.set_current(0)

    def _decode(self, path: str | None) -> Image.Image | None:
        if path is None:
            return None
        if self._photo is not None and self._photo[0] == path:
            return self._photo[1]
        from culler.imaging.images import ImageError, open_photo

        try:
            image = open_photo(path, 100_000)[0]
        except (ImageError, OSError) as exc:
            log.info("faces strip: %s: %s", path, exc)
            return None
        self._photo = (path, image)
        return image

    def _clear(self) -> None:
        for tile in self.tiles:
            self.row.removeWidget(tile)
            tile.deleteLater()
        self.tiles = []
        self.current = -1

    def set_current(self, index: int) -> None:
        if not self.tiles:
            return
        index = max(0, min(len(self.tiles) - 1, index))
        for i, tile in enumerate(self.tiles):
            tile.set_current(i == index)
        self.current = index
        self.scroll.ensureWidgetVisible(self.tiles[index])
        self.currentFaceChanged.emit(index)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Right, Qt.Key.Key_BracketRight):
            self.set_current(self.current + 1)
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_BracketLeft):
            self.set_current(self.current - 1)
        else:
            super().keyPressEvent(event)
