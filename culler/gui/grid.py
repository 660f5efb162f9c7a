"""The virtualized thumbnail grid and the filter bar above it."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QToolButton,
    QWidget,
)

from culler.gui.delegates import ThumbnailDelegate
from culler.gui.item_models import Filters, PhotoIdRole, RecordRole
from culler.gui.thumbnails import ThumbnailCache

SIDES = (120, 160, 200, 260, 340)
#: Screenfuls of thumbnails read ahead of the viewport in the direction of the scroll.
READ_AHEAD_SCREENS = 2


class GridView(QListView):
    """Icon-mode list with uniform cells: Qt lays out and paints only what is visible."""

    activated_photo = Signal()  # double-click: open the loupe

    def __init__(self, thumbnails: ThumbnailCache, side: int = 200, parent=None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.delegate = ThumbnailDelegate(side, self)
        self.setItemDelegate(self.delegate)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        # Single-pass layout: with uniform cells it takes milliseconds even for 10,000 photos, and
        # scrollTo() a far row works at once (batched layout ignores rows not yet laid out).
        self.setLayoutMode(QListView.LayoutMode.SinglePass)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setSpacing(0)
        self.setWrapping(True)
        self.setMouseTracking(False)
        self.doubleClicked.connect(lambda _index: self.activated_photo.emit())
        #: Screenfuls read ahead while scrolling (0: only painted cells ask for thumbnails).
        self.read_ahead_screens = READ_AHEAD_SCREENS
        self.scroll_direction = 1  # +1 down, -1 up: where the read-ahead goes
        self._scroll_value = 0
        self.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.set_side(side)

    def set_side(self, side: int) -> None:
        self.delegate.side = side
        self.thumbnails.set_side(int(side * self.devicePixelRatioF()))
        self._fit_columns()
        self.viewport().update()

    def _fit_columns(self) -> None:
        """Share the row's spare width between the cells so the grid fills the view edge to edge."""
        base = self.delegate.sizeHint(None, None)
        width = self.viewport().width()
        columns = max(1, (width - 2) // base.width())
        size = QSize(max(base.width(), (width - 2) // columns), base.height())
        if size != self.gridSize():
            self.delegate.cell_width = size.width()
            self.setGridSize(size)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_columns()

    # -- read-ahead ------------------------------------------------------------------------------
    def visible_rows(self) -> range:
        """The model rows whose cells intersect the viewport (uniform cells, wrapped in lines)."""
        model = self.model()
        count = model.rowCount() if model is not None else 0
        cell = self.gridSize()
        if count == 0 or cell.width() <= 0 or cell.height() <= 0:
            return range(0)
        columns = max(1, (self.viewport().width() - 2) // cell.width())
        top = self.verticalScrollBar().value()
        first_line = top // cell.height()
        last_line = (top + self.viewport().height() - 1) // cell.height()
        return range(min(count, first_line * columns), min(count, (last_line + 1) * columns))

    def rows_ahead(self) -> list[int]:
        """The rows of the next :attr:`read_ahead_screens` screenfuls in the scroll's direction,
        nearest the viewport first."""
        shown = self.visible_rows()
        if not shown or self.read_ahead_screens <= 0:
            return []
        count = self.model().rowCount()
        span = len(shown) * self.read_ahead_screens
        if self.scroll_direction >= 0:
            return list(range(shown.stop, min(count, shown.stop + span)))
        return list(range(shown.start - 1, max(-1, shown.start - 1 - span), -1))

    def _scrolled(self, value: int) -> None:
        if value != self._scroll_value:
            self.scroll_direction = 1 if value > self._scroll_value else -1
        self._scroll_value = value
        self.read_ahead()

    def read_ahead(self) -> None:
        """Ask for the thumbnails of the rows ahead of the viewport, and let the cache drop what
        was asked for rows scrolled past (everything but the rows on screen and those ahead)."""
        if self.read_ahead_screens <= 0 or self.model() is None or not self.isVisible():
            return  # hidden (the loupe shows): the filmstrip's requests are not the grid's to drop
        model = self.model()
        ahead = self.rows_ahead()
        photos = []
        for row in ahead:
            rec = model.index(row, 0).data(RecordRole)
            if rec is not None and rec.status != "missing":
                photos.append((rec.id, rec.path, rec.content_hash))
        keep = {pid for pid, _path, _hash in photos}
        for row in self.visible_rows():
            pid = model.index(row, 0).data(PhotoIdRole)
            if pid is not None:
                keep.add(pid)
        self.thumbnails.read_ahead(photos, keep)

    def zoom(self, step: int) -> None:
        current = min(range(len(SIDES)), key=lambda i: abs(SIDES[i] - self.delegate.side))
        new = SIDES[max(0, min(len(SIDES) - 1, current + step))]
        if new != self.delegate.side:
            self.set_side(new)

    def selectionChanged(self, selected, deselected) -> None:
        # Cells are painted wider than Qt's item rect (to fill the row), so Qt's own repaint of a
        # deselected item would leave the rest of its border: repaint what is visible (cheap).
        super().selectionChanged(selected, deselected)
        self.viewport().update()

    def currentChanged(self, current, previous) -> None:
        super().currentChanged(current, previous)
        self.viewport().update()

    def wheelEvent(self, event) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom(1 if event.angleDelta().y() > 0 else -1)
            event.accept()
            return
        super().wheelEvent(event)


class FilterBar(QWidget):
    """Search, sort and filter controls. Emits ``changed`` (debounced for typing)."""

    changed = Signal()
    sortChanged = Signal()

    DECISIONS = (
        ("All flags", "any"),
        ("Picks", "pick"),
        ("Rejects", "reject"),
        ("Unflagged", "unflagged"),
        ("Proposals to review", "proposals"),
    )
    STATUSES = (
        ("Present", frozenset({"ok", "error"})),
        ("Readable", frozenset({"ok"})),
        ("Errors", frozenset({"error"})),
        ("Missing", frozenset({"missing"})),
        ("All files", frozenset()),
    )

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search name, camera, tag, date…  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        # Wide enough to read what was typed in a small window (1024 px); the combos give way.
        self.search.setMinimumWidth(180)
        self.sort = QComboBox()
        self.sort.setToolTip("Sort by")
        self.order = QToolButton()
        self.order.setCheckable(True)
        self.order.setToolTip("Reverse the order")
        self.decision = QComboBox()
        for text, value in self.DECISIONS:
            self.decision.addItem(text, value)
        self.stars = QComboBox()
        self.stars.addItem("Any stars", 0)
        for n in range(1, 6):
            self.stars.addItem("★" * n + ("+" if n < 5 else ""), n)
        self.tag = QComboBox()
        self.tag.addItem("Any tag", None)
        #: The people the faces scorer found (``culler people``): one chosen shows their photos.
        self.person = QComboBox()
        self.person.addItem("Anyone", None)
        self.person.setToolTip("Only the photos of this person (name people: culler people name)")
        self.person.setVisible(False)  # until set_people finds some
        self.status = QComboBox()
        for text, value in self.STATUSES:
            self.status.addItem(text, value)
        self.min_score = QDoubleSpinBox()
        self.min_score.setRange(0.0, 10.0)
        self.min_score.setSingleStep(0.5)
        self.min_score.setDecimals(1)
        self.min_score.setSpecialValueText("Score ≥ any")
        self.min_score.setPrefix("Score ≥ ")
        self.min_score.setToolTip("Minimum score of the scorer you sort by")

        # In a small window (1024 px) the combos give way to the search box: they keep their
        # natural width when there is room and elide their text when there is not.
        for combo in (self.sort, self.decision, self.stars, self.tag, self.status):
            combo.setMinimumWidth(52)
        self.person.setMinimumWidth(40)  # the person filter, when shown, fits a 1024 px window too
        self.min_score.setMinimumWidth(64)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(6)
        layout.addWidget(self.search, 3)
        layout.addWidget(QLabel("Sort"))
        layout.addWidget(self.sort)
        layout.addWidget(self.order)
        for widget in (
            self.decision,
            self.stars,
            self.tag,
            self.person,
            self.status,
            self.min_score,
        ):
            layout.addWidget(widget)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(150)
        self._debounce.timeout.connect(self.changed)
        self.search.textChanged.connect(self._debounce.start)
        for combo in (self.decision, self.stars, self.tag, self.person, self.status):
            combo.currentIndexChanged.connect(self.changed)
        self.min_score.valueChanged.connect(self.changed)
        self.sort.currentIndexChanged.connect(self._sort_changed)
        self.order.toggled.connect(self._order_changed)
        self._set_order_text()

    def set_choices(self, scorer_ids: list[str], tags: list[str]) -> None:
        """Offer every scorer as a sort key (best first by default) and every tag as a filter."""
        first_time = self.sort.count() == 0
        current_sort, current_tag = self.sort_key(), self.tag.currentData()
        if first_time:
            current_sort = "taken"  # a shoot reads best in the order it was taken
        self.sort.blockSignals(True)
        self.sort.clear()
        for sid in scorer_ids:
            self.sort.addItem(f"Score: {sid}", f"score:{sid}")
        for text, key in (
            ("Capture time", "taken"),
            ("File name", "name"),
            ("Folder, then file name", "path"),
            ("Stars", "stars"),
            ("Pick / reject", "decision"),
            ("Status", "status"),
        ):
            self.sort.addItem(text, key)
        index = self.sort.findData(current_sort)
        self.sort.setCurrentIndex(max(0, index))
        self.sort.blockSignals(False)
        self.tag.blockSignals(True)
        self.tag.clear()
        self.tag.addItem("Any tag", None)
        for tag in tags:
            self.tag.addItem(tag, tag)
        self.tag.setCurrentIndex(max(0, self.tag.findData(current_tag)))
        self.tag.blockSignals(False)

    def apply_now(self) -> None:
        """Apply what was typed without waiting for the typing pause (Enter, Esc, ↓)."""
        if self._debounce.isActive():
            self._debounce.stop()
            self.changed.emit()

    def sort_key(self) -> str:
        return self.sort.currentData() or "name"

    def use_sort(self, key: str) -> None:
        """Show ``key`` as the sort without announcing a change (the window applies it itself)."""
        index = self.sort.findData(key)
        if index >= 0:
            self.sort.blockSignals(True)
            self.sort.setCurrentIndex(index)
            self.sort.blockSignals(False)

    def descending(self) -> bool:
        default = self.sort_key().startswith("score:") or self.sort_key() == "stars"
        return default != self.order.isChecked()

    def set_people(self, people: list[dict]) -> None:
        """Offer every person (``Catalog.people()``): named ones first, by name, then the unnamed
        by how many photos they are in; the chosen person stays chosen."""
        current = self.person.currentData()
        named = sorted((p for p in people if p.get("name")), key=lambda p: p["name"].lower())
        unnamed = [p for p in people if not p.get("name")]
        self.person.blockSignals(True)
        self.person.clear()
        self.person.addItem("Anyone", None)
        for p in named + unnamed:
            label = p["name"] or f"person {p['id']}"
            self.person.addItem(f"{label} ({p['photos']})", p["id"])
        self.person.setCurrentIndex(max(0, self.person.findData(current)))
        self.person.blockSignals(False)
        # Only where the faces scorer found people: a small window keeps its room otherwise.
        self.person.setVisible(bool(people))

    def person_id(self) -> int | None:
        return self.person.currentData()

    def person_photos(self, catalog) -> set[int] | None:
        """The chosen person's photos, or None when anyone will do."""
        pid = self.person_id()
        if pid is None or catalog is None:
            return None
        return catalog.photos_of_person(pid)

    def filters(self) -> Filters:
        score = self.min_score.value()
        return Filters(
            text=self.search.text().strip(),
            statuses=self.status.currentData(),
            decision=self.decision.currentData(),
            min_stars=self.stars.currentData(),
            tag=self.tag.currentData(),
            min_score=score if score > 0 else None,
        )

    def _sort_changed(self) -> None:
        self.order.blockSignals(True)
        self.order.setChecked(False)
        self.order.blockSignals(False)
        self._set_order_text()
        self.sortChanged.emit()

    def _order_changed(self) -> None:
        self._set_order_text()
        self.sortChanged.emit()

    def _set_order_text(self) -> None:
        self.order.setText("↓" if self.descending() else "↑")


class FilmStrip(QListView):
    """One row of small thumbnails under the loupe, sharing the grid's model and selection."""

    def __init__(self, thumbnails: ThumbnailCache, side: int = 72, parent=None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.delegate = ThumbnailDelegate(side, self)
        self.setItemDelegate(self.delegate)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.SinglePass)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the loupe
        self.setSpacing(0)
        cell = self.delegate.sizeHint(None, None)
        self.setFixedHeight(cell.height() + self.horizontalScrollBar().sizeHint().height() + 4)

    def follow(self, index) -> None:
        """Keep the loupe's photo in view, centred."""
        if index.isValid():
            self.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
            self.viewport().update()
