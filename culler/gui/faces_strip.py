"""The faces strip: every face of the selected photo cut out at 100 %, with its eye and focus
verdicts, so eight faces of a group photo are checked without zooming in eight times.

Each tile is the face with a margin, from the photo decoded at full size (the faces' boxes are in
pixels of the scan's 1024 px decode: scaled up), captioned "eyes open 0.82 · sharp" in the verdict's
colour (red for closed eyes and soft or motion-blurred faces, grey for "can't tell"). Left and Right
(or [ and ]) move between faces; the current face has a frame.

In compare view (``frames`` names the compared photos) the strip shows one person across the frames
side by side instead: the same person's face cut from each frame (matched by person, or, for faces
not yet clustered, by place in the frame, as in a burst), so "who blinked in which frame" is one
look. Left and Right then move to the next person of the focused frame.

:class:`PersonFilterProxy` is the grid's filter with a person: only the photos where that person's
face was found pass (the filter bar's person choice sets it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PIL import Image
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent, QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from culler.gui.item_models import PhotoFilterProxy, RecordRole

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


def _centre(face: dict[str, Any]) -> tuple[float, float]:
    """The face's centre as a fraction of the analysed image's width (both axes: one scale)."""
    x, y, w, h = face["box"]
    size = face.get("image_w") or 1024
    return (x + w / 2) / size, (y + h / 2) / size


def same_face(face: dict[str, Any], others: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The face among ``others`` (another frame's) that is ``face``'s person: the one with its
    person id; for a face not yet clustered, the nearest face within one face width of its place
    (a burst: people stay where they were). None when the person is not in that frame."""
    person = face.get("person_id")
    if person is not None:
        for other in others:
            if other.get("person_id") == person:
                return other
    cx, cy = _centre(face)
    reach = face["box"][2] / (face.get("image_w") or 1024)
    best, best_d = None, reach
    for other in others:
        if person is not None and other.get("person_id") not in (None, person):
            continue  # someone else, known
        ox, oy = _centre(other)
        d = ((ox - cx) ** 2 + (oy - cy) ** 2) ** 0.5
        if d <= best_d:
            best, best_d = other, d
    return best


class PersonFilterProxy(PhotoFilterProxy):
    """The grid's filter, and with ``person_photos`` set only the photos in it (a person's). A
    stack shows, as one unit at its top, when any of its frames holds the person: the person may
    be in the burst's frames the top one hides."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._person_photos: set[int] | None = None
        self._person_stacks: set[int] = set()

    @property
    def person_photos(self) -> set[int] | None:
        return self._person_photos

    @person_photos.setter
    def person_photos(self, photos: set[int] | None) -> None:
        self._person_photos = photos
        self._person_stacks = set()
        model = self.sourceModel()
        if photos and model is not None:
            for row in range(model.rowCount()):
                rec = model.index(row, 0).data(RecordRole)
                if rec is not None and rec.id in photos and rec.group_id is not None:
                    self._person_stacks.add(rec.group_id)

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:
        if self._person_photos is not None:
            rec = self.sourceModel().index(source_row, 0, source_parent).data(RecordRole)
            if rec is None:
                return False
            stack_top = rec.is_top and rec.group_id in self._person_stacks
            if rec.id not in self._person_photos and not stack_top:
                return False
        return super().filterAcceptsRow(source_row, source_parent)


def _pixmap(image: Image.Image) -> QPixmap:
    rgb = image.convert("RGB")
    data = rgb.tobytes()
    qimage = QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(qimage.copy())


class FaceTile(QFrame):
    def __init__(
        self,
        crop: Image.Image | None,
        face: dict[str, Any],
        parent=None,
        frame: int | None = None,
        note: str = "",
    ) -> None:
        super().__init__(parent)
        self.face = face
        self.frame = frame  # in compare: the frame's number (#1, #2, …)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.picture = picture = QLabel()
        if crop is not None:
            picture.setPixmap(_pixmap(crop))
            text, colour = verdict_text(face)
        else:  # compare: the person is not in this frame
            picture.setText(note)
            text, colour = "", UNSURE
        picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        if frame is not None:
            text = f"#{frame}  {text}".strip()
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
        self._photos: dict[str, Image.Image] = {}  # the photos decoded last (compare: several)
        self._pending: tuple[Any, int | None] | None = None  # set while hidden
        #: The photos compared side by side (set by the window); one or none: not comparing.
        self.frames: Callable[[], list[int]] = list
        #: In compare: which face of the focused frame is followed across the frames.
        self.person_index = 0
        self._shown: tuple[Any, int | None] | None = None

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
        self._shown, self._pending = (catalog, photo_id), None
        self._clear()
        if catalog is None or photo_id is None:
            self.message.setText("")
            return
        frames = self.frames()
        if len(frames) > 1 and photo_id in frames:
            self._fill_compare(catalog, photo_id, frames)
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

    def _fill_compare(self, catalog, photo_id: int, frames: list[int]) -> None:
        """One person across the compared frames: their face cut from each, side by side."""
        mine = catalog.photo_faces(photo_id)
        if not mine:
            self.message.setText("no faces found in this frame")
            return
        self.person_index = max(0, min(len(mine) - 1, self.person_index))
        face = mine[self.person_index]
        paths = catalog.photo_paths(frames)
        keep = {paths.get(f, (None, None))[0] for f in frames}
        self._photos = {p: im for p, im in self._photos.items() if p in keep}
        current = 0
        for n, frame in enumerate(frames, 1):
            match = face if frame == photo_id else same_face(face, catalog.photo_faces(frame))
            if frame == photo_id:
                current = len(self.tiles)
            image = self._decode(paths.get(frame, (None, None))[0]) if match else None
            if match is None or image is None:
                note = "not in this frame" if match is None else "cannot be read"
                tile = FaceTile(None, {}, frame=n, note=note)
                self.row.addWidget(tile)
                self.tiles.append(tile)
                continue
            tile = FaceTile(face_crop(image, match), match, frame=n)
            self.row.addWidget(tile)
            self.tiles.append(tile)
        who = face.get("person") or f"face {self.person_index + 1} of {len(mine)}"
        self.message.setText(f"{who} across {len(frames)} frames  (← → another person)")
        self.set_current(current)

    def _decode(self, path: str | None) -> Image.Image | None:
        if path is None:
            return None
        if path in self._photos:
            return self._photos[path]
        from culler.imaging.images import ImageError, open_photo

        try:
            image = open_photo(path, 100_000)[0]
        except (ImageError, OSError) as exc:
            log.info("faces strip: %s: %s", path, exc)
            return None
        if len(self.frames()) <= 1:
            self._photos.clear()  # one photo at a time outside compare
        self._photos[path] = image
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

    def comparing(self) -> bool:
        return len(self.frames()) > 1

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        step = {Qt.Key.Key_Right: 1, Qt.Key.Key_BracketRight: 1}.get(key) or {
            Qt.Key.Key_Left: -1,
            Qt.Key.Key_BracketLeft: -1,
        }.get(key)
        if step is None:
            super().keyPressEvent(event)
        elif self.comparing() and self._shown is not None:
            self.person_index = max(0, self.person_index + step)  # clamped by the refill
            self._pending = self._shown
            self._fill()
        else:
            self.set_current(self.current + step)
