"""Culling from the keyboard: rating keys, undo, loupe, compare and stacks.

Mixed into :class:`culler.gui.main_window.MainWindow`. Every rating goes through
:class:`culler.gui.ratings.RatingHistory`, which writes it to the catalog at once.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QMessageBox

from culler.gui import keys
from culler.gui.item_models import RecordRole
from culler.gui.presence import file_present

GRID, LOUPE = (
    0,
    1,
)  # pages of the window's view stack; compare is the loupe's stage with several photos
MAX_COMPARE = 6
#: A rating key on up to this many photos stats their files on the UI thread (the photo in view:
#: one stat); a larger selection is checked in a worker first (see :mod:`culler.gui.presence`).
STAT_ON_KEY = 1


class CullingActions:
    """What the culling keys do; the key filter is installed on the grid and the stage."""

    #: The clock the digit guard reads (seconds); tests replace it.
    clock = staticmethod(time.monotonic)

    def set_mode(self, mode: int) -> None:
        if mode == GRID:
            self.views.setCurrentIndex(GRID)
            self.grid.setFocus()
        elif mode == LOUPE:
            self.views.setCurrentIndex(LOUPE)
            self._show_in_loupe()
            self.stage.setFocus()
        self._details_timer.start()

    def _show_in_loupe(self) -> None:
        index = self.grid.currentIndex()
        rec = index.data(RecordRole) if index.isValid() else None
        self.stage.badge_scorer = self.model.badge_scorer
        self.stage.position_text = f"{index.row() + 1} / {self.proxy.rowCount()}" if rec else ""
        self.stage.set_records([rec] if rec else [])
        self._prefetch_neighbours()

    def _prefetch_neighbours(self) -> None:
        """At 100 %, decode the photos either side ahead so stepping through a burst stays instant."""
        row = self.grid.currentIndex().row()
        if self.stage.zoom.fitted or row < 0 or len(self.stage.records) > 1:
            return
        rows = [row + 1, row - 1, row + 2]
        found = [self.proxy.index(r, 0).data(RecordRole) for r in rows]
        self.stage.prefetch([rec for rec in found if rec is not None])

    def toggle_loupe(self) -> None:
        self.set_mode(GRID if self.views.currentIndex() != GRID else LOUPE)

    def compare(self) -> None:
        """Show the selected photos side by side, or the current photo's whole stack."""
        rows = sorted(i.row() for i in self.grid.selectionModel().selectedIndexes())
        records = [self.proxy.index(r, 0).data(RecordRole) for r in rows]
        if len(records) < 2:
            current = self.grid.currentIndex().data(RecordRole)
            if current is None or current.group_id is None:
                self.statusBar().showMessage(
                    "Select two or more photos (Shift/Ctrl+click) or a stack to compare", 5000
                )
                return
            records = self.model.stack_members(current.group_id)
        self.stage.badge_scorer = self.model.badge_scorer
        self.stage.set_records(records[:MAX_COMPARE])
        self.views.setCurrentIndex(LOUPE)
        self.stage.setFocus()
        self._details_timer.start()

    def toggle_stack(self) -> None:
        rec = self.grid.currentIndex().data(RecordRole)
        if rec is None or rec.group_id is None:
            return
        self.proxy.toggle_stack(rec.group_id)
        self.proxy.resort()
        self.select_photo(rec.id)
        self._update_counts()

    def _in_compare(self) -> bool:
        return self.views.currentIndex() == LOUPE and len(self.stage.records) > 1

    # -- rating ----------------------------------------------------------------------------------
    def decide(self, decision: str) -> None:
        ids = self.target_ids()
        if self._rate_later(ids, decision=decision, label=decision):
            return
        ids = self.rateable(ids)
        if not ids or self.history is None:
            return
        if self._in_compare() and decision == "pick":
            others = [r.id for r in self.stage.records if r.id != ids[0] and r.flagged != "pick"]
            count = self.history.prefer(ids[0], others)
            if count:
                self.statusBar().showMessage(f"Recorded: preferred over {count} photo(s)", 4000)
        self._apply(ids, decision=decision, label=decision)

    def set_colour_label(self, colour: str) -> None:
        """6–9 as in Lightroom: set the colour label; the same key again removes it."""
        ids = self.target_ids()
        first = self.model.record(ids[0]) if ids else None
        value = None if first is not None and first.label == colour else colour
        if self._rate_later(ids, colour=value, label=f"label {value or 'none'}"):
            return
        ids = self.rateable(ids)
        if ids and self.history is not None:
            self._apply(ids, colour=value, label=f"label {value or 'none'}")

    def tag_selection(self, text: str) -> int:
        """Tag the selected photos by hand (source ``user``, what `culler train --scorer emotion
        --model tags` learns from): ``"awe, -fear"`` adds awe and removes fear. Returns rows written."""
        ids = self.target_ids()
        words = [w.strip() for w in text.replace(";", ",").split(",") if w.strip()]
        add = [w for w in words if not w.startswith("-")]
        remove = [w[1:].strip() for w in words if w.startswith("-") and w[1:].strip()]
        if not ids or self.catalog is None or not (add or remove):
            return 0
        try:
            written = self.catalog.tag_photos(ids, add=add, remove=remove, source="user")
        except ValueError as exc:  # a tag both added and removed, or not a valid tag name
            self.statusBar().showMessage(f"Not tagged: {exc}", 6000)
            return 0
        changes = ", ".join([*add, *(f"-{t}" for t in remove)])
        self.statusBar().showMessage(f"Tagged {len(ids)} photo(s): {changes}", 4000)
        # The grid's search and tag filter read the records' tags: hand tags join them at once.
        tags = self.catalog.tag_maxima(ids)
        for pid in ids:
            rec = self.model.record(pid)
            if rec is not None:
                rec.tags = tags.get(pid, {})
        self._update_choices(self.model.records)
        self.proxy.refilter()
        self._refresh_details()
        return written

    def ask_tags(self) -> None:
        """T: ask which tags to add (or, with a leading minus, remove) on the selected photos."""
        from PySide6.QtWidgets import QInputDialog

        text, ok = QInputDialog.getText(
            self, "Tag photos", "Tags to add, comma separated (-tag removes one), e.g. awe, -fear:"
        )
        self._restore_focus()
        if ok:
            self.tag_selection(text)

    def zoom(self) -> None:
        """Z: in the loupe, fit ↔ 100 %; from the grid, open the loupe at 100 % on the centre."""
        if self.views.currentIndex() != LOUPE:
            self.set_mode(LOUPE)
            self.stage.toggle_zoom(self.stage.rect().center().toPointF())
        else:
            self.stage.toggle_zoom()

    def toggle_overlay(self) -> None:
        shown = self.stage.toggle_overlay()
        self.statusBar().showMessage(
            "Overlay on: sharpness per tile (green sharp, red soft; the sharpest outlined), "
            "motion blur, faces and eyes"
            if shown
            else "Overlay off",
            4000,
        )
        self.why.set_overlay_shown(shown)

    def set_stars(self, stars: int) -> None:
        ids = self.target_ids()
        if self._rate_later(ids, stars=stars, label=f"{stars} stars"):
            return
        ids = self.rateable(ids)
        if ids and self.history is not None:
            self._apply(ids, stars=stars, label=f"{stars} stars")

    def _rate_later(self, ids: list[int], label: str, **change) -> bool:
        """Rate a selection of more than :data:`STAT_ON_KEY` photos without a ``stat`` on the UI
        thread: photos known to be missing are left out at once, the others' files are checked in
        the presence checker's worker, and the rating is written for those found when it answers
        (:meth:`_presence_checked`). A rating pressed while one waits queues behind it, so keys land
        in the order pressed. Returns False when the caller rates now (one photo, nothing queued)."""
        if self.history is None or not ids:
            return False
        if len(ids) <= STAT_ON_KEY and not self._queued_ratings:
            return False
        records = [self.model.record(pid) for pid in ids]
        known = [r for r in records if r is not None and r.status == "missing"]
        if known:
            self._say_not_rated(known)
        items = [(r.id, r.path) for r in records if r is not None and r.status != "missing"]
        if items:
            ticket = self.presence.check(items)
            self._queued_ratings[ticket] = ([pid for pid, _ in items], label, change)
            if len(items) > STAT_ON_KEY:
                self.statusBar().showMessage(f"Checking {len(items):,} files before rating…")
        return True

    def _presence_checked(self, ticket: int, gone: set[int]) -> None:
        """The checker's answer: write the queued rating for the photos whose file is there."""
        queued = self._queued_ratings.pop(ticket, None)
        if queued is None or self.history is None:  # cancelled by an undo, or the catalog closed
            return
        ids, label, change = queued
        missing = [rec for pid in gone if (rec := self.model.record(pid)) is not None]
        present = [pid for pid in ids if pid not in gone]
        if present:
            self._apply(present, label=label, **change)
            self._landed[ticket] = self.history.last_step
        if missing:
            self.mark_missing(missing)
            self._say_not_rated(missing)

    def _say_not_rated(self, gone) -> None:
        names = ", ".join(r.name for r in gone[:3]) + (" …" if len(gone) > 3 else "")
        self.statusBar().showMessage(
            f"Not rated: {names} {'is' if len(gone) == 1 else 'are'} missing on disk "
            "(moved or deleted); reconnect the disk or rescan (F5) to find it",
            8000,
        )

    def wait_for_ratings(self, msecs: int = 30_000) -> bool:
        """Block until every queued rating has been checked and written (tests, closing)."""
        from PySide6.QtCore import QCoreApplication, QDeadlineTimer

        deadline = QDeadlineTimer(msecs)
        while self._queued_ratings and not deadline.hasExpired():
            self.presence.wait(max(1, deadline.remainingTime()))
            QCoreApplication.processEvents()
        return not self._queued_ratings

    def rateable(self, ids: list[int]) -> list[int]:
        """``ids`` without the photos whose file is gone (deleted, moved, a disk unplugged): those
        are marked missing in the catalog and the grid, and the status bar says so. A rating must
        never land on a photo that is not there; a rescan (F5) finds a moved file again. Checks
        with one ``stat`` each: for the photo in view (a selection goes through :meth:`_rate_later`)."""
        gone = []
        for pid in ids:
            rec = self.model.record(pid)
            if rec is not None and (rec.status == "missing" or not file_present(rec.path)):
                gone.append(rec)
        if gone:
            self.mark_missing(gone)
            self._say_not_rated(gone)
        missing = {r.id for r in gone}
        return [pid for pid in ids if pid not in missing]

    def mark_missing(self, records) -> None:
        """Show these photos as missing everywhere (grid, loupe, why panel) and store it."""
        fresh = [r for r in records if r.status != "missing"]
        if not fresh:
            return
        if self.catalog is not None:
            with self.catalog.transaction():
                self.catalog.mark_missing([r.id for r in fresh])
        for rec in fresh:
            rec.status = "missing"
            rec.error = "file not found: moved or deleted since the scan"
            self.model.refresh_row(rec.id)
        self.stage.refresh()
        self._details_timer.start()
        self._update_counts()

    def _apply(self, ids: list[int], label: str, **change) -> None:
        after = self.history.apply(ids, label=label, **change)
        self._show_ratings(after)
        self._report_xmp()
        self._say_rated(after, change)
        if self.auto_advance and len(ids) == 1 and "decision" in change:
            if self._in_compare():
                self.stage.move_focus(1)
                self._compare_focus_moved()
            else:
                self._step(1)

    def _say_rated(self, after: dict[int, dict], change: dict) -> None:
        """The status bar says what the key did: "IMG_4053: 4 ★", "3 photos: reject"."""
        if not after:
            return
        if "stars" in change:
            what = f"{change['stars']} ★" if change["stars"] else "no stars"
        elif "decision" in change:
            what = {"none": "unflagged"}.get(change["decision"], change["decision"])
        else:
            what = f"label {change.get('colour') or 'removed'}"
        if len(after) == 1:
            rec = self.model.record(next(iter(after)))
            who = rec.name.rsplit(".", 1)[0] if rec else "photo"
        else:
            who = f"{len(after)} photos"
        self.statusBar().showMessage(f"{who}: {what}", 5000)

    def _compare_focus_moved(self) -> None:
        """In compare the focused pane is the photo: the Why panel and the filmstrip follow it."""
        rec = self.stage.focused
        if rec is not None:
            self.select_photo(rec.id)
        self._details_timer.start()

    def undo(self) -> None:
        if self._queued_ratings:  # the newest rating is still being checked: it is never written
            ticket = max(self._queued_ratings)
            ids, _label, _change = self._queued_ratings.pop(ticket)
            self.statusBar().showMessage(
                f"Undone ({len(ids)} photo(s), before it was written)", 3000
            )
            return
        if self.history is None or not self.history.can_undo():
            self.statusBar().showMessage("Nothing to undo", 3000)
            return
        restored = self.history.undo()
        self.refresh_ratings(list(restored))
        if len(restored) == 1 and not self._in_compare():
            self.select_photo(next(iter(restored)))
        self.statusBar().showMessage(f"Undone ({len(restored)} photo(s))", 3000)
        self._report_xmp()

    def _report_xmp(self) -> None:
        """A sidecar that could not be written is said in the status bar (the rating itself is saved)."""
        errors = self.history.xmp_errors if self.history is not None else []
        if errors:
            self.statusBar().showMessage(
                f"Rating saved, but the XMP sidecar was not written: {errors[0]['error']}", 8000
            )

    def _show_ratings(self, states: dict[int, dict]) -> None:
        """Show ratings just made by hand; who decided each is read back (a label alone leaves a
        proposal a proposal)."""
        self.refresh_ratings(list(states))

    def _step(self, step: int) -> None:
        row = self.grid.currentIndex().row() + step
        if 0 <= row < self.proxy.rowCount():
            self.select_row(row)

    # -- keys ------------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress:
            if watched is self.filter_bar.search:
                return self._search_key(event)
            if self.handle_key(event, watched is self.grid):
                return True
        return super().eventFilter(watched, event)

    def _search_key(self, event) -> bool:
        """Esc, Enter and ↓ in the search box apply the search and give the keys back to the
        photos, so the next P or 1 rates instead of typing."""
        if event.key() not in keys.LEAVE_TEXT or event.modifiers() & ~(
            Qt.KeyboardModifier.KeypadModifier
        ):
            return False
        self.filter_bar.apply_now()
        self._restore_focus()
        return True

    def handle_key(self, event, in_grid: bool) -> bool:
        found = keys.lookup(event.key(), event.modifiers())
        if found is None or found[0] not in ("stars", "colour_label"):
            self._last_digit = None  # any other key between two digits: they are two ratings
        if found is None:
            return False
        name, arg = found
        if name in ("stars", "colour_label") and not self._digit_is_a_rating(event):
            return True
        if name in ("first", "last"):
            self.select_row(0 if name == "first" else self.proxy.rowCount() - 1)
            if name == "first":
                self.grid.scrollToTop()
            if self.views.currentIndex() == LOUPE:
                self._show_in_loupe()
            return True
        if name == "step":
            if in_grid:
                return False  # the grid moves its own selection (and extends it with Shift)
            if self._in_compare():
                self.stage.move_focus(arg)
                self._compare_focus_moved()
            else:
                self._step(arg)
            return True
        if name == "decide":
            self.decide(arg)
        elif name == "stars":
            self.set_stars(arg)
            self._remember_digit_step()
        elif name == "undo":
            self.undo()
        elif name == "toggle_loupe":
            self.toggle_loupe()
        elif name == "grid":
            self.set_mode(GRID)
        elif name == "compare":
            self.compare()
        elif name == "toggle_stack":
            self.toggle_stack()
        elif name == "zoom":
            self.zoom()
        elif name == "overlay":
            self.toggle_overlay()
        elif name == "colour_label":
            self.set_colour_label(arg)
            self._remember_digit_step()
        elif name == "tag":
            self.ask_tags()
        elif name == "redo":
            self.redo()
        elif name == "accept":
            self.accept_proposals()
        elif name == "accept_all":
            self.accept_all_shown()
        elif name == "next_undecided":
            self.next_undecided(arg)
        elif name == "flag_filter":
            self.set_flag_filter(arg)
        return True

    def _digit_is_a_rating(self, event) -> bool:
        """A digit key rates only when it is pressed on its own. A held key repeats nothing, and
        digits typed in quick succession ("4053", meant for a text field) are someone typing a
        number: the first digit's rating is undone and the rest do nothing, and the status bar
        says so."""
        if event.isAutoRepeat():
            return False
        now = self.clock()
        last, self._last_digit = getattr(self, "_last_digit", None), (now, None)
        if last is None or now - last[0] >= keys.TYPING_GAP:
            return True
        undone = ""
        step = last[1]
        if isinstance(step, int):  # the first digit rated a selection: a ticket of the checker
            if step in self._queued_ratings:  # not written yet: dropped, never written
                self._queued_ratings.pop(step)
                undone = " (the first digit's rating was undone)"
                step = None
            else:
                step = self._landed.get(step)
        if step is not None and self.history is not None and self.history.last_step is step:
            self.undo()
            undone = " (the first digit's rating was undone)"
        self.statusBar().showMessage(
            f"Not rated: digits typed in quick succession look like a number{undone}; "
            "press one digit at a time to rate",
            6000,
        )
        return False

    def _remember_digit_step(self) -> None:
        if getattr(self, "_last_digit", None) is not None and self.history is not None:
            queued = max(self._queued_ratings) if self._queued_ratings else None
            step = queued if queued is not None else self.history.last_step
            self._last_digit = (self._last_digit[0], step)

    def _focus_search(self) -> None:
        self.filter_bar.search.setFocus()
        self.filter_bar.search.selectAll()

    def _toggle_advance(self, checked: bool) -> None:
        self.auto_advance = checked

    def _show_keys(self) -> None:
        rows = "".join(
            f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in keys.HELP
        )
        QMessageBox.information(self, "Keyboard shortcuts", f"<table>{rows}</table>")
        self._restore_focus()
