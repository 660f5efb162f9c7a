"""The main window: grid / loupe / compare on the left, why / models / plugin panels on the right.

Every rating key writes to the catalog at once through :class:`RatingHistory`; the scan runs in a
:class:`ScanWorker` thread and the grid is merged with fresh catalog rows once a second while it runs.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QSettings, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from culler.catalog import Catalog, CatalogError, open_catalog
from culler.gui.agreement_panel import AgreementPanel
from culler.gui.counts import CatalogCounter
from culler.gui.culling import GRID, LOUPE, CullingActions
from culler.gui.faces_strip import PersonFilterProxy
from culler.gui.grid import FilmStrip, FilterBar, GridView
from culler.gui.item_models import PhotoIdRole, PhotoListModel
from culler.gui.keys import LABELS
from culler.gui.overlay import Overlay, overlay_from_scores
from culler.gui.overlay_details import OverlayDetails
from culler.gui.presence import PresenceChecker
from culler.gui.ratings import RatingHistory
from culler.gui.records import (
    PAGED_FROM,
    PhotoRecord,
    RecordPager,
    load_records,
    page_order,
    scorer_ids,
    tag_names,
)
from culler.gui.review import ReviewActions
from culler.gui.scan_control import ScanControl
from culler.gui.scorers_panel import ScorersPanel
from culler.gui.stage import PhotoStage
from culler.gui.thumbnails import ThumbnailCache, thumb_dir_for
from culler.gui.why_panel import WhyPanel
from culler.gui.workers import ScanWorker
from culler.plugin import manager as plugins

log = logging.getLogger(__name__)


class MainWindow(ScanControl, ReviewActions, CullingActions, QMainWindow):
    def __init__(self, settings: QSettings | None = None, scan_workers: int | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings("culler", "culler")
        self.scan_workers = scan_workers
        self.catalog: Catalog | None = None
        self.db_path: Path | None = None
        self.history: RatingHistory | None = None
        self.scan_worker: ScanWorker | None = None
        self.auto_advance = True
        self.setWindowTitle("culler")
        self.resize(1400, 900)

        self.thumbnails = ThumbnailCache(Path.cwd())
        #: Ratings of a selection waiting for the presence check: ticket -> (ids, label, change);
        #: and the rating step each landed as (for the digit guard's undo).
        self.presence = PresenceChecker(self)
        self.presence.checked.connect(self._presence_checked)
        self._queued_ratings: dict[int, tuple] = {}
        self._landed: dict[int, object] = {}
        #: ((newest rating id, photos), whole-catalog counts) of a paged catalog, read once per change.
        self._catalog_counts: tuple | None = None
        self.counter = CatalogCounter(self)
        self.counter.counted.connect(self._counted)
        self.model = PhotoListModel(self.thumbnails, self)
        self.proxy = PersonFilterProxy(self)  # the filter bar's filters and its person
        self.proxy.setSourceModel(self.model)

        self.filter_bar = FilterBar()
        self.grid = GridView(self.thumbnails)
        self.grid.setModel(self.proxy)
        loupe_page = self._build_loupe_page()
        self.views = QStackedWidget()
        for widget in (self.grid, loupe_page):
            self.views.addWidget(widget)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.setSpacing(0)
        left_layout.addWidget(self.filter_bar)
        left_layout.addWidget(self.views, 1)

        self.details = self._build_details()
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 1)
        splitter.setSizes([1040, 360])
        self.setCentralWidget(splitter)

        self._build_status_bar()
        self._build_menus()
        self.filter_bar.changed.connect(self._filters_changed)
        self.filter_bar.sortChanged.connect(self._sort_changed)
        self.grid.activated_photo.connect(lambda: self.set_mode(LOUPE))
        self.grid.selectionModel().currentChanged.connect(self._current_changed)
        self.grid.selectionModel().selectionChanged.connect(lambda *_: self._update_counts())
        self.stage.paneClicked.connect(lambda _i: self._compare_focus_moved())
        for widget in (self.grid, self.stage, self.filter_bar.search):
            widget.installEventFilter(self)
        self._details_timer = QTimer(self, singleShot=True, interval=60)
        self._details_timer.timeout.connect(self._refresh_details)
        self._merge_timer = QTimer(self, interval=1000)
        self._merge_timer.timeout.connect(self.merge_from_catalog)

    # -- building --------------------------------------------------------------------------------
    def _toggle_develop(self, checked: bool) -> None:
        self.settings.setValue("loupe/develop_raw", checked)
        self.stage.full.set_develop(checked)
        self.stage.update()

    def _build_details(self) -> QTabWidget:
        """The right-hand tabs: why, models, and the panels plugins add."""
        self.why = WhyPanel()
        self.why.overlayRequested.connect(self._show_overlay_from_why)
        self.scorers_panel = ScorersPanel(self.settings)
        self.scorers_panel.scanRequested.connect(self.rescan)
        details = QTabWidget()
        details.addTab(self.why, "Why")
        details.addTab(self.scorers_panel, "Models")
        self.agreement_panel = AgreementPanel()
        self.agreement_panel.openRequested.connect(self.open_in_loupe)
        details.addTab(self.agreement_panel, "Agreement")
        self.details = details
        self.plugin_panels: list[QWidget] = []
        from culler.gui.faces_strip import FacesStrip  # every face of the photo at 100 %

        self.faces_strip = FacesStrip()
        # In compare the strip shows one person across the compared frames.
        self.faces_strip.frames = lambda: (
            [r.id for r in self.stage.records] if self._in_compare() else []
        )
        details.addTab(self.faces_strip, "Faces")
        self.plugin_panels.append(self.faces_strip)  # filled like the plugins' panels
        self._add_plugin_panels()
        return details

    def _build_loupe_page(self) -> QWidget:
        """The stage (loupe and compare) with the filmstrip under it, sharing the grid's selection."""
        self.stage = PhotoStage(self.thumbnails)
        self.stage.overlay_source = self._overlay_for
        self.overlay_details = OverlayDetails()
        self.overlay_details.ready.connect(self.stage.overlay_changed)
        self.stage.zoomChanged.connect(self._prefetch_neighbours)
        self.stage.full.ready.connect(self._full_size_read)
        self.filmstrip = FilmStrip(self.thumbnails)
        self.filmstrip.setModel(self.proxy)
        self.filmstrip.setSelectionModel(self.grid.selectionModel())
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.stage, 1)
        layout.addWidget(self.filmstrip)
        return page

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.counts = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setFormat("scanning %v / %m")
        self.cancel_button = QPushButton("Cancel scan")
        self.cancel_button.clicked.connect(self.cancel_job)
        bar.addPermanentWidget(self.counts)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.cancel_button)
        self.progress.hide()
        self.cancel_button.hide()

    def _build_menus(self) -> None:
        def action(menu, text, slot, shortcut=None, hint=None):
            act = QAction(text + (f"\t{hint}" if hint else ""), self)
            if shortcut:
                act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(slot)
            menu.addAction(act)
            return act

        file_menu = self.menuBar().addMenu("&File")
        action(file_menu, "Open &Folder…", self.choose_folder, "Ctrl+O")
        action(file_menu, "Open &Catalog…", self.choose_catalog, "Ctrl+Shift+O")
        action(file_menu, "&Rescan", self.rescan, "F5")
        action(file_menu, "Cancel Scan", self.cancel_scan)
        file_menu.addSeparator()
        action(file_menu, "&Export Picks…", lambda: self.export_picks(), "Ctrl+E")
        action(file_menu, "Write &XMP Sidecars", lambda: self.write_xmp(), "Ctrl+Shift+E")
        file_menu.addSeparator()
        action(file_menu, "&Quit", self.close, "Ctrl+Q")
        # Culling keys are handled by the grid/loupe key filter (so typing in the search box never
        # rates a photo); the menu lists them with their key for discoverability.
        photo = self.menuBar().addMenu("&Photo")
        action(photo, "Pick", lambda: self.decide("pick"), hint="P")
        action(photo, "Reject", lambda: self.decide("reject"), hint="X")
        action(photo, "Unflag", lambda: self.decide("none"), hint="U")
        for n in range(6):
            action(
                photo,
                f"{n} stars" if n != 1 else "1 star",
                lambda _=False, n=n: self.set_stars(n),
                hint=str(n),
            )
        for n, colour in zip(range(6, 10), LABELS):
            action(
                photo,
                f"Label {colour.capitalize()}",
                lambda _=False, c=colour: self.set_colour_label(c),
                hint=str(n),
            )
        action(photo, "Tag…", self.ask_tags, hint="T")
        photo.addSeparator()
        action(photo, "Undo", self.undo, hint="Ctrl+Z")
        action(photo, "Redo", self.redo, hint="Ctrl+Shift+Z")
        cull = self.menuBar().addMenu("&Cull")
        action(cull, "&Run Cull (Propose Picks and Rejects)", self.run_cull, "Ctrl+K")
        action(cull, "Accept Proposal", lambda: self.accept_proposals(), hint="A")
        action(cull, "Accept All Proposals Shown", self.accept_all_shown, hint="Shift+A")
        action(cull, "Next Undecided", lambda: self.next_undecided(1), hint="N")
        cull.addSeparator()
        for text, value, key in (
            ("Show Picks", "pick", "Shift+P"),
            ("Show Rejects", "reject", "Shift+X"),
            ("Show Unflagged", "unflagged", "Shift+U"),
            ("Show Proposals to Review", "proposals", "Shift+R"),
        ):
            action(cull, text, lambda _=False, v=value: self.set_flag_filter(v), hint=key)
        view = self.menuBar().addMenu("&View")
        action(view, "Loupe / Grid", self.toggle_loupe, hint="Space")
        action(view, "Compare", self.compare, hint="C")
        action(view, "Zoom Fit / 100 %", self.zoom, hint="Z")
        action(view, "Show Why on the Photo (Overlay)", self.toggle_overlay, hint="O")
        action(view, "Expand / Collapse Stack", self.toggle_stack, hint="S")
        action(view, "Bigger Thumbnails", lambda: self.grid.zoom(1), "Ctrl+=")
        action(view, "Smaller Thumbnails", lambda: self.grid.zoom(-1), "Ctrl+-")
        action(view, "Search", self._focus_search, "Ctrl+F")
        develop = action(
            view, "Develop RAW at 100 % (slower than the preview)", self._toggle_develop
        )
        develop.setCheckable(True)
        develop.setChecked(self.settings.value("loupe/develop_raw", False, type=bool))
        self.stage.full.set_develop(develop.isChecked())
        advance = action(view, "Advance After Pick/Reject", self._toggle_advance)
        advance.setCheckable(True)
        advance.setChecked(self.auto_advance)
        xmp = action(photo, "Write XMP Sidecars on Every Rating", self._toggle_xmp)
        xmp.setCheckable(True)
        xmp.setChecked(self._xmp_naming() is not None)
        help_menu = self.menuBar().addMenu("&Help")
        action(help_menu, "Keyboard Shortcuts", self._show_keys, "F1")

    def _xmp_naming(self) -> str | None:
        """The sidecar naming to write on every rating (QSettings ``xmp/on_rate``), or None for off."""
        value = self.settings.value("xmp/on_rate", "")
        from culler.interop.xmp import NAMINGS

        return str(value) if value in NAMINGS else None

    def _toggle_xmp(self, checked: bool) -> None:
        self.settings.setValue("xmp/on_rate", "auto" if checked else "")
        if self.history is not None:
            self.history.xmp_naming = self._xmp_naming()

    def _add_plugin_panels(self) -> None:
        def register(title: str, factory) -> None:
            try:
                widget = factory(self.details)
            except Exception as exc:  # a plugin's panel must not take the window down
                log.warning("GUI panel %r failed to build: %s", title, exc)
                return
            self.plugin_panels.append(widget)
            self.details.addTab(widget, str(title))

        plugins.call_safely("register_gui_panels", register=register)

    # -- opening ---------------------------------------------------------------------------------
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of photos")
        if folder:
            self.open_folder(Path(folder))

    def choose_catalog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a catalog", "", "culler catalog (*.db)")
        if path:
            self.open_catalog(Path(path))

    def open_folder(self, folder: Path, db_path: Path | None = None, scan: bool = True) -> None:
        """Open (or create) the folder's catalog, show what it has, and scan the folder in the background."""
        if self.open_catalog(db_path or folder / "culler.db") and scan:
            self.start_scan([folder])

    def open_catalog(self, db_path: Path) -> bool:
        """Show the catalog at ``db_path``. A file that cannot be used as one (another program's
        database, a newer culler's catalog, a locked or read-only file) is left untouched, the
        reason is shown in a dialog and the catalog open before stays open; returns False then."""
        try:
            catalog = open_catalog(Path(db_path))
        except (CatalogError, OSError) as exc:
            QMessageBox.warning(self, "Cannot open this catalog", str(exc))
            return False
        self.wait_for_ratings()  # ratings of a selection pressed on the catalog open before
        self._landed.clear()
        self.cancel_scan(wait=True)
        if self.catalog is not None:
            self.catalog.close()
        self.db_path = Path(db_path)
        self.catalog = catalog
        self.history = RatingHistory(self.catalog, xmp_naming=self._xmp_naming())
        self.thumbnails.clear()
        self.stage.full.clear()
        self.thumbnails.thumb_dir = thumb_dir_for(self.db_path)
        self.scorers_panel.set_catalog(self.db_path)
        self.agreement_panel.set_catalog(self.db_path)
        self.setWindowTitle(f"culler — {self.db_path}")
        self.reload()
        return True

    def reload(self) -> None:
        """Load every photo from the catalog (bulk queries) and rebuild the grid."""
        if self.catalog is None:
            return
        total = self.catalog.photo_total()
        if total >= PAGED_FROM:
            # A lifetime archive: the first page now, the rest as the grid scrolls (or sorts).
            # Pages are read in the order shown (capture time, a score, stars, path), filtered in
            # SQL; an order or filter SQL cannot serve reads the rest first. The choices come
            # first: they set the sort a first open shows, so one first page is read, not two.
            self._update_choices(None)
            filters = self.filter_bar.filters()
            order = page_order(self.filter_bar.sort_key(), self.filter_bar.descending(), filters)
            self.model.set_pager(RecordPager(self.catalog, order=order, total=total))
        else:
            records = load_records(self.catalog)
            self.model.set_records(records)
            self._update_choices(records)
        self._sort_changed()
        if self.proxy.rowCount():
            self.select_row(0)
        self._update_counts()
        self.grid.setFocus()

    def merge_from_catalog(self) -> None:
        """Pick up what a running scan wrote: new photos appended, changed ones updated in place."""
        if self.catalog is None:
            return
        pager = self.model.pager
        if pager is not None and not pager.complete:  # what is loaded, read again in its order
            records = pager.reordered(pager.order).next_page(max(1, len(self.model.records)))
        else:
            records = load_records(self.catalog)
        changed, added = self.model.merge_records(records)
        if added or changed:
            self._update_choices(None if self.model.paged else records)
            self.proxy.resort()
            if self.grid.currentIndex().row() < 0 and self.proxy.rowCount():
                self.select_row(0)
            self._update_counts()

    def _update_choices(self, records: list[PhotoRecord] | None) -> None:
        """Offer the scorers and tags of ``records`` (None: of the whole catalog, from its indexes)."""
        self.filter_bar.blockSignals(True)
        if records is None and self.catalog is not None:
            self.filter_bar.set_choices(
                self.catalog.scored_scorer_ids(), self.catalog.tag_vocabulary()
            )
        else:
            self.filter_bar.set_choices(scorer_ids(records or []), tag_names(records or []))
        catalog = self.catalog
        self.filter_bar.set_people(catalog.people() if catalog and catalog.has_people() else [])
        self.proxy.person_photos = self.filter_bar.person_photos(self.catalog)
        self.filter_bar.blockSignals(False)

    # -- selection -------------------------------------------------------------------------------
    def select_row(self, row: int) -> None:
        index = self.proxy.index(row, 0)
        if index.isValid():
            self.grid.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            )
            self.grid.scrollTo(index)

    def select_photo(self, photo_id: int) -> bool:
        row = self.model.row_of(photo_id)
        if row is None:
            return False
        index = self.proxy.mapFromSource(self.model.index(row))
        if not index.isValid():
            return False
        self.select_row(index.row())
        return True

    def open_in_loupe(self, photo_id: int) -> None:
        """Show one photo in the loupe (a disagreement from the Agreement tab), opening its
        burst's stack when it is folded inside it."""
        row = self.model.row_of(photo_id)
        rec = self.model.records[row] if row is not None else None
        if rec is not None and rec.group_id is not None and rec.group_id not in self.model.expanded:
            self.proxy.toggle_stack(rec.group_id)
            self.proxy.resort()
        if not self.select_photo(photo_id):
            self.statusBar().showMessage("that photo is hidden by the filters: clear them", 5000)
            return
        self.set_mode(LOUPE)

    def current_id(self) -> int | None:
        if self.views.currentIndex() == LOUPE and self.stage.records:
            return self._stage_focus_id()
        index = self.grid.currentIndex()
        return index.data(PhotoIdRole) if index.isValid() else None

    def _stage_focus_id(self) -> int | None:
        rec = self.stage.focused
        return rec.id if rec else None

    def target_ids(self) -> list[int]:
        """Photos a rating key applies to: the grid selection, or the photo shown in loupe/compare."""
        if self.views.currentIndex() != GRID:
            pid = self.current_id()
            return [pid] if pid is not None else []
        rows = sorted(i.row() for i in self.grid.selectionModel().selectedIndexes())
        ids = [self.proxy.index(r, 0).data(PhotoIdRole) for r in rows]
        if not ids and (pid := self.current_id()) is not None:
            ids = [pid]
        return ids

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._last_digit = None  # a digit on another photo is a new rating, however quick
        self.filmstrip.follow(current)
        if self.views.currentIndex() == LOUPE and len(self.stage.records) <= 1:
            self._show_in_loupe()
        self._details_timer.start()

    def _show_details(self, _pid) -> None:
        self._details_timer.start()

    def _refresh_details(self) -> None:
        pid = self.current_id()
        self.why.show_details(self.catalog, pid, self.model.record(pid) if pid else None)
        for panel in self.plugin_panels:
            try:
                panel.set_photo(self.catalog, pid)
            except Exception as exc:
                log.warning("GUI panel %r failed: %s", panel, exc)

    def _full_size_read(self, photo_id: int) -> None:
        """A full-size decode that failed because the file is gone marks the photo missing."""
        rec = self.model.record(photo_id)
        if rec is not None and self.stage.full.failed(photo_id) and not os.path.exists(rec.path):
            self.mark_missing([rec])

    def _overlay_for(self, rec: PhotoRecord) -> Overlay | None:
        """The scorers' overlay data for a photo, from the scores' ``extra`` in the catalog and
        the details they compute for the photo shown (off the UI thread: drawn when ready)."""
        if self.catalog is None:
            return None
        scores = self.catalog.scores_for(rec.id)
        details = self.overlay_details.details_for(rec, scores)
        return overlay_from_scores(scores, rec.width, rec.height, details)

    def _show_overlay_from_why(self) -> None:
        if self.views.currentIndex() != LOUPE:
            self.set_mode(LOUPE)
        if not self.stage.overlay_visible:
            self.toggle_overlay()

    # -- filters ---------------------------------------------------------------------------------
    def _filters_changed(self) -> None:
        current = self.current_id()
        filters = self.filter_bar.filters()
        found = None
        if filters.text and self.catalog is not None:
            found = set(self.catalog.search_photo_ids(filters.text))
        self.proxy.person_photos = self.filter_bar.person_photos(self.catalog)
        self.proxy.set_filters(filters, found)
        if current is None or not self.select_photo(current):
            self.select_row(0)
        if self.views.currentIndex() == LOUPE and len(self.stage.records) <= 1:
            self._show_in_loupe()  # the position ("3 / 40") counts what is shown now
        self._update_counts()

    def _sort_changed(self) -> None:
        current = self.current_id()
        self.proxy.filters = self.filter_bar.filters()
        self.proxy.set_sort(self.filter_bar.sort_key(), self.filter_bar.descending())
        self.proxy.refilter()
        self.grid.viewport().update()
        if current is not None:
            self.select_photo(current)
        self._update_counts()

    def _update_counts(self) -> None:
        records = self.model.records
        proposed = sum(1 for r in records if r.proposed)
        selected = len(self.grid.selectionModel().selectedIndexes())
        if self.model.pager is not None and self.catalog is not None:
            # A lifetime archive: the whole catalog's counts, from rating_now's indexes, counted
            # in a worker after a rating event or a new photo (never on a selection change); the
            # last counts show until the new ones arrive.
            key = (str(self.db_path), self.catalog.last_rating_id(), self.model.total)
            known = self._catalog_counts
            if known is None or known[0] != key:
                self.counter.request(self.db_path, key)
            if known is not None and known[0][0] == key[0]:
                counts = known[1]
                picks, rejects = counts["pick"], counts["reject"]
                unrated = f"  ·  {counts['unrated']:,} unrated"
            else:
                picks = rejects = "…"
                unrated = "  ·  counting"
        else:
            picks = sum(1 for r in records if r.flagged == "pick")
            rejects = sum(1 for r in records if r.flagged == "reject")
            unrated = ""
        text = (
            f"{self.proxy.rowCount():,} shown of {self.model.total:,}  ·  {_n(picks)} picks"
            f"  ·  {_n(rejects)} rejects{unrated}"
        )
        if self.model.paged:  # shown counts what is loaded so far
            text = f"{len(records):,} loaded  ·  " + text
        if proposed:
            text += f"  ·  {proposed} to review"
        if selected > 1:
            text = f"{selected} selected  ·  " + text
        self.counts.setText(text)
        # The count keeps its room: a long status message (the scan's skipped scorers) is cut
        # short on its left instead of being drawn over it.
        self.counts.setMinimumWidth(self.counts.fontMetrics().horizontalAdvance(text) + 12)

    def _counted(self, key, counts) -> None:
        """The whole catalog's counts arrived from the counter's worker."""
        if self.db_path is not None and key[0] == str(self.db_path):
            self._catalog_counts = (key, counts)
            self._update_counts()

    # -- lifecycle -------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        self.wait_for_ratings()  # a key pressed on a selection just before closing still lands
        self.cancel_scan(wait=True)
        if self.deliver_worker is not None:
            self.deliver_worker.cancel()
        self.wait_for_jobs()
        self.agreement_panel.shutdown()
        if (weights := self.scorers_panel.weights_worker) is not None:
            weights.cancel()  # a download stops at its next block; an import finishes first
            weights.wait()
        self.thumbnails.clear()
        self.thumbnails.wait(5000)
        self.counter.wait(10_000)
        self.stage.full.wait(10_000)
        if self.catalog is not None:
            self.catalog.close()
            self.catalog = None
        super().closeEvent(event)


def _n(count) -> str:
    """A count with thousands separators ("…" while it is being counted)."""
    return f"{count:,}" if isinstance(count, int) else str(count)
