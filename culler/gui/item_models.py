"""Item models: the photo list behind the grid, its sort/filter proxy, and the scorer table.

Plain Qt models tested without a window. The grid is a view over :class:`PhotoFilterProxy`, so
10,000 photos cost 10,000 small Python objects and no widgets; thumbnails are fetched only for
cells that are painted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

from culler.gui.records import PageOrder, PhotoRecord, RecordPager, page_order
from culler.gui.thumbnails import ThumbnailCache

Index = QModelIndex | QPersistentModelIndex

RecordRole = Qt.ItemDataRole.UserRole + 1
PhotoIdRole = Qt.ItemDataRole.UserRole + 2
StarsRole = Qt.ItemDataRole.UserRole + 3
DecisionRole = Qt.ItemDataRole.UserRole + 4
ScoreRole = Qt.ItemDataRole.UserRole + 5  # the badge score (the sort scorer's, or the first one)
StackRole = Qt.ItemDataRole.UserRole + 6  # (stack size, expanded) or None
ThumbFailedRole = Qt.ItemDataRole.UserRole + 7


class PhotoListModel(QAbstractListModel):
    """One row per photo. Rating changes are applied in place (``dataChanged``), never by reset."""

    def __init__(self, thumbnails: ThumbnailCache | None = None, parent=None) -> None:
        super().__init__(parent)
        self.records: list[PhotoRecord] = []
        self._row_of: dict[int, int] = {}
        self.thumbnails = thumbnails
        self.badge_scorer: str | None = None
        self.expanded: set[int] = set()
        #: Reads the rest of a large catalog page by page (None: every record is loaded).
        self.pager: RecordPager | None = None
        if thumbnails is not None:
            thumbnails.ready.connect(self._thumbnail_ready)

    # -- Qt interface ----------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.records)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.records):
            return None
        rec = self.records[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return rec.name
        if role == Qt.ItemDataRole.DecorationRole:
            if self.thumbnails is None or rec.status == "missing":
                return None
            return self.thumbnails.get(rec.id, rec.path, rec.content_hash)
        if role == RecordRole:
            return rec
        if role == PhotoIdRole:
            return rec.id
        if role == StarsRole:
            return rec.stars or 0
        if role == DecisionRole:
            return rec.flagged
        if role == ScoreRole:
            return self.badge_score(rec)
        if role == StackRole:
            return (rec.group_size, rec.group_id in self.expanded) if rec.group_size > 1 else None
        if role == ThumbFailedRole:
            return self.thumbnails is not None and self.thumbnails.failed(rec.id)
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = rec.path
            if rec.error:
                tip += f"\n{rec.status}: {rec.error}"
            return tip
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:
        return not parent.isValid() and self.pager is not None and not self.pager.exhausted

    def fetchMore(self, parent: Index = QModelIndex()) -> None:
        """Append the pager's next page (the view asks as the user scrolls near the end)."""
        if parent.isValid() or self.pager is None:
            return
        self._append([r for r in self.pager.next_page() if r.id not in self._row_of])

    # -- paging ----------------------------------------------------------------------------------
    @property
    def paged(self) -> bool:
        """Whether some photos of the catalog are not loaded yet."""
        return self.canFetchMore()

    @property
    def total(self) -> int:
        """Photos in the catalog: loaded or not."""
        if self.pager is None:
            return len(self.records)
        return max(self.pager.total, len(self.records))

    def set_pager(self, pager: RecordPager) -> None:
        """Show a large catalog from its first page; the rest is read as the view fetches more."""
        self.beginResetModel()
        self.pager = pager
        self.records = pager.next_page()
        self._row_of = {rec.id: row for row, rec in enumerate(self.records)}
        self.endResetModel()

    def fetch_all(self) -> None:
        """Read every page still unread (before a sort or filter that needs every photo)."""
        while self.canFetchMore():
            self.fetchMore()

    # -- content ---------------------------------------------------------------------------------
    def badge_score(self, rec: PhotoRecord) -> float | None:
        if self.badge_scorer:
            return rec.scores.get(self.badge_scorer)
        return next(iter(rec.scores.values()), None) if rec.scores else None

    def set_records(self, records: list[PhotoRecord]) -> None:
        self.beginResetModel()
        self.pager = None
        self.records = list(records)
        self._row_of = {rec.id: row for row, rec in enumerate(self.records)}
        self.endResetModel()

    def merge_records(self, records: list[PhotoRecord]) -> tuple[int, int]:
        """Bring the model up to date with a fresh load (during a scan): update changed rows in place
        and append new ones, so selection and scroll position survive. Returns (changed, added)."""
        changed, added = [], []
        for rec in records:
            row = self._row_of.get(rec.id)
            if row is None:
                added.append(rec)
            elif self.records[row] != rec:
                old = self.records[row]
                if old.content_hash != rec.content_hash and self.thumbnails is not None:
                    self.thumbnails.invalidate(rec.id)
                self.records[row] = rec
                changed.append(row)
        for row in changed:
            index = self.index(row)
            self.dataChanged.emit(index, index)
        self._append(added)
        return len(changed), len(added)

    def _append(self, added: list[PhotoRecord]) -> None:
        if not added:
            return
        start = len(self.records)
        self.beginInsertRows(QModelIndex(), start, start + len(added) - 1)
        for offset, rec in enumerate(added):
            self.records.append(rec)
            self._row_of[rec.id] = start + offset
        self.endInsertRows()

    def reorder(self, order: list[int]) -> None:
        """Put the rows in ``order`` (a permutation of row numbers), keeping selections valid."""
        if order == list(range(len(self.records))):
            return
        self.layoutAboutToBeChanged.emit()
        new_row = {old: new for new, old in enumerate(order)}
        persistent = self.persistentIndexList()
        self.changePersistentIndexList(
            persistent, [self.index(new_row[index.row()]) for index in persistent]
        )
        self.records = [self.records[i] for i in order]
        self._row_of = {rec.id: row for row, rec in enumerate(self.records)}
        self.layoutChanged.emit()

    def row_of(self, photo_id: int) -> int | None:
        return self._row_of.get(photo_id)

    def record(self, photo_id: int) -> PhotoRecord | None:
        row = self._row_of.get(photo_id)
        return None if row is None else self.records[row]

    def update_rating(
        self,
        photo_id: int,
        stars: int | None,
        decision: str | None,
        label: str | None = None,
        source: str | None = "gui",
    ) -> None:
        """Show a photo's new rating; ``source`` set its pick/reject ("auto": a proposal)."""
        row = self._row_of.get(photo_id)
        if row is None:
            return
        rec = self.records[row]
        rec.stars, rec.decision, rec.label, rec.source = stars, decision, label, source
        index = self.index(row)
        self.dataChanged.emit(index, index, [StarsRole, DecisionRole])

    def refresh_row(self, photo_id: int) -> None:
        """Repaint a photo whose record changed in place (marked missing)."""
        row = self._row_of.get(photo_id)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index)

    def stack_members(self, group_id: int) -> list[PhotoRecord]:
        members = [r for r in self.records if r.group_id == group_id]
        return sorted(members, key=lambda r: r.rank)

    def _thumbnail_ready(self, photo_id: int) -> None:
        row = self._row_of.get(photo_id)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


SORT_KEYS = ("name", "path", "taken", "stars", "decision", "status")
DECISION_ORDER = {"pick": 0, "": 1, "reject": 2}


@dataclass
class Filters:
    """What the filter bar asks for. Empty/None fields do not filter."""

    text: str = ""
    statuses: frozenset[str] = frozenset({"ok", "error"})
    decision: str = "any"  # any | pick | reject | unflagged | proposals
    min_stars: int = 0
    tag: str | None = None
    min_tag_prob: float = 0.5
    min_score: float | None = None  # on the sort scorer's score


class PhotoFilterProxy(QSortFilterProxyModel):
    """Sorts by a scorer's score, stars, decision, date, name or status and filters by all of them.

    Sorting reorders the source model (see :meth:`sorted_rows`) and the proxy only filters, keeping
    source order. A stack sorts as one unit at the position of its best photo; its other members are
    hidden unless the stack is expanded.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.filters = Filters()
        #: Photos the catalog's search found for ``filters.text`` (None: not asked, match locally).
        self.search_ids: set[int] | None = None
        self.sort_key = "name"  # a SORT_KEYS entry or "score:<scorer id>"
        self.descending = False
        #: Only these photos (a person's; see the faces strip), or None for anyone.
        self.person_photos: set[int] | None = None
        self.setDynamicSortFilter(False)

    def source(self) -> PhotoListModel:
        return self.sourceModel()  # type: ignore[return-value]

    # -- configuration ---------------------------------------------------------------------------
    def set_filters(self, filters: Filters, search_ids: set[int] | None = None) -> None:
        """Filter by ``filters``; ``search_ids`` are the photos the catalog's search found for its
        text (they match as well as those whose name, camera, lens, date or tags hold the words)."""
        self.filters = filters
        self.search_ids = search_ids
        self.page_for_view()
        self.refilter()

    def refilter(self) -> None:
        """Re-run the filter (Qt 6.9 replaced invalidateFilter with begin/endFilterChange)."""
        if hasattr(self, "beginFilterChange"):
            self.beginFilterChange()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.invalidateFilter()

    def set_sort(self, key: str, descending: bool | None = None) -> None:
        """Sort by ``key``; scores and stars default to best first, the rest to ascending."""
        self.sort_key = key
        if descending is None:
            descending = key.startswith("score:") or key in ("stars",)
        self.descending = descending
        if key.startswith("score:"):
            self.source().badge_scorer = key.split(":", 1)[1]
        self.resort()

    def resort(self) -> None:
        """Order the source rows by the sort key; the proxy keeps source order (it never sorts itself).

        A paged model (a lifetime archive) reads its pages in the order shown, filtered by SQL
        (:func:`page_order`), and keeps the order they arrive in; a sort or filter SQL cannot serve
        reads the rest of the catalog first and sorts here."""
        source = self.source()
        if self.page_for_view():
            return
        source.reorder(self.sorted_rows())

    def page_for_view(self) -> bool:
        """Make a paged model read its pages in the order and with the filters shown. Returns
        whether its pages are in that order already (nothing to sort here); a model that holds
        every photo, or one whose order SQL cannot serve (then every photo is read), returns False."""
        source = self.source()
        pager = source.pager
        if pager is None or pager.complete:
            return False
        order = page_order(self.sort_key, self.descending, self.filters, self.person_photos)
        if order is None:
            if pager.order.filtered:  # the pages hold some photos only: read them all, unfiltered
                source.set_pager(pager.reordered(PageOrder()))
            source.fetch_all()
            return False
        if order != pager.order:
            source.set_pager(pager.reordered(order))
        return True

    def pages_suffice(self) -> bool:
        """Whether the loaded pages are in the order and under the filters shown (the rest is read
        as the view scrolls)."""
        pager = self.source().pager
        if pager is None or pager.complete:
            return True
        order = page_order(self.sort_key, self.descending, self.filters, self.person_photos)
        return order is not None and order == pager.order

    def toggle_stack(self, group_id: int) -> None:
        expanded = self.source().expanded
        expanded.symmetric_difference_update({group_id})
        self.refilter()

    # -- sorting ---------------------------------------------------------------------------------
    def _value(self, rec: PhotoRecord):
        """The sort value of one photo, or None when it has none (those always go last)."""
        key = self.sort_key
        if key.startswith("score:"):
            return rec.scores.get(key.split(":", 1)[1])
        if key == "stars":
            return rec.stars or 0
        if key == "decision":
            return DECISION_ORDER[rec.flagged]
        if key == "taken":
            return rec.taken_at or None
        if key == "status":
            return rec.status
        if key == "path":
            return rec.path
        return rec.name.lower()

    def sorted_rows(self) -> list[int]:
        """Source rows in display order. Python's sort on precomputed keys takes milliseconds for
        10,000 photos, where Qt's sort calling a Python ``lessThan`` 140,000 times takes half a second.
        """
        records = self.source().records
        tops = {r.group_id: r for r in records if r.group_id is not None and r.is_top}
        leads = [tops.get(r.group_id, r) if r.group_id is not None else r for r in records]
        # A stack sorts as one unit at its best photo's place; inside it, by rank.
        order = sorted(
            range(len(records)),
            key=lambda i: (leads[i].path, _member_order(records[i]), records[i].path),
        )
        values = [self._value(lead) for lead in leads]
        present = [i for i in order if values[i] is not None]
        missing = [i for i in order if values[i] is None]
        present.sort(key=values.__getitem__, reverse=self.descending)  # stable both ways
        return present + missing

    # -- filtering -------------------------------------------------------------------------------
    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.source()
        if source_row >= len(model.records):
            return False
        rec = model.records[source_row]
        f = self.filters
        # While searching, a photo that matches shows even inside a collapsed stack: the user is
        # looking for that one frame, not for its stack.
        searching = bool(f.text)
        if searching and not self._matches_text(rec):
            return False
        hidden = rec.group_id is not None and not rec.is_top and rec.group_id not in model.expanded
        if hidden and not searching:
            return False
        if f.statuses and rec.status not in f.statuses:
            return False
        if f.decision == "pick" and rec.flagged != "pick":
            return False
        if f.decision == "reject" and rec.flagged != "reject":
            return False
        if f.decision == "unflagged" and rec.flagged:
            return False
        if f.decision == "proposals" and not rec.proposed:
            return False
        if f.min_stars and (rec.stars or 0) < f.min_stars:
            return False
        if f.tag and rec.tags.get(f.tag, 0.0) < f.min_tag_prob:
            return False
        if f.min_score is not None and self.sort_key.startswith("score:"):
            value = rec.scores.get(self.sort_key.split(":", 1)[1])
            if value is None or value < f.min_score:
                return False
        return True

    def _matches_text(self, rec: PhotoRecord) -> bool:
        if self.search_ids is not None and rec.id in self.search_ids:
            return True
        haystack = rec.search_text()
        return all(word in haystack for word in self.filters.text.lower().split())


def _member_order(rec: PhotoRecord) -> tuple:
    """Where a photo goes inside its open stack: a burst's frames in the order they were taken
    (as Photo Mechanic shows them), anything else (and frames without a capture time) by rank."""
    if rec.group_kind == "burst" and rec.taken_at:
        fraction = float(f"0.{rec.subsec}") if rec.subsec and rec.subsec.isdigit() else 0.0
        return (0, rec.taken_at, fraction, rec.rank)
    return (1, "", 0.0, rec.rank)


@dataclass
class ScorerRow:
    """One installed scorer as the models panel shows it."""

    id: str
    kind: str
    plugin: str
    description: str
    weights: str  # "none needed" | "installed" | "missing"
    command: str  # how to install the weights ("" when nothing is needed)
    enabled: bool

    @property
    def runnable(self) -> bool:
        """Whether the scorer can run now (its weights are installed or it needs none)."""
        return self.weights in ("installed", "none needed")


class ScorerTableModel(QAbstractTableModel):
    """Installed scorers with weight status; the first column toggles the scorer for the next scan."""

    COLUMNS = ("On", "Scorer", "Kind", "Weights", "Install with")

    def __init__(self, rows: list[ScorerRow], parent=None) -> None:
        super().__init__(parent)
        self.rows = rows

    def set_rows(self, rows: list[ScorerRow]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.CheckStateRole and column == 0:
            # Ticked means "runs in the next scan": a scorer without its weights does not.
            return (
                Qt.CheckState.Checked if row.enabled and row.runnable else Qt.CheckState.Unchecked
            )
        if role == Qt.ItemDataRole.DisplayRole:
            return ("", row.id, row.kind, row.weights, row.command)[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            if not row.runnable:
                return f"{row.description or row.id}\nInstall its weights first: {row.command}"
            return row.description or row.id
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == 0 and self.rows[index.row()].runnable:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.CheckStateRole or index.column() != 0:
            return False
        checked = value in (Qt.CheckState.Checked, Qt.CheckState.Checked.value, 2, True)
        self.rows[index.row()].enabled = checked
        self.dataChanged.emit(index, index, [role])
        return True

    def enabled_ids(self) -> list[str]:
        return [r.id for r in self.rows if r.enabled]
