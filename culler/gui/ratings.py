"""Rating actions with undo, written to the catalog at once (no Qt here).

Every key press appends a ``ratings`` row immediately, so killing the app loses nothing. Each action is
one rating batch and Ctrl+Z undoes it with the catalog's undo (the same one as ``culler rate --undo``):
nothing is deleted, the state each photo had before is appended. Ctrl+Shift+Z (or Ctrl+Y) redoes an
undone step by appending its states again; a new rating ends the redo history, as in every editor. A
cull run from the window is one step too (its ``auto`` events), so it is undone and redone whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from culler.catalog import Catalog, RatingBatch

SOURCE = "gui"
_UNSET: Any = object()


class RatingHistory:
    """Applies rating changes for the GUI and remembers how to undo them (one step per action)."""

    def __init__(self, catalog: Catalog, limit: int = 500, xmp_naming: str | None = None) -> None:
        self.catalog = catalog
        self.limit = limit
        #: When set ("auto", "basename", "fullname"), every change also rewrites the photos' sidecars.
        self.xmp_naming = xmp_naming
        #: The last sidecar write's problems (shown in the status bar), empty when all went well.
        self.xmp_errors: list[dict[str, str]] = []
        self._steps: list[RatingBatch] = []
        self._redo: list[RatingBatch] = []

    def _sync_xmp(self, photo_ids: Iterable[int]) -> None:
        if not self.xmp_naming:
            return
        from culler.interop.xmp_sync import write_sidecars_for

        self.xmp_errors = write_sidecars_for(self.catalog, photo_ids, naming=self.xmp_naming).errors

    def apply(
        self,
        photo_ids: Iterable[int],
        *,
        stars: int | None = _UNSET,
        decision: str | None = _UNSET,
        colour: str | None = _UNSET,
        label: str = "",
    ) -> dict[int, dict[str, Any]]:
        """Rate every photo in one undoable step (``label`` names it, e.g. "pick"; ``colour`` is the
        colour label, None to remove it); return each photo's new {stars, decision, label}."""
        changes: dict[str, Any] = {}
        if colour is not _UNSET:
            changes["label"] = colour
        if stars is not _UNSET:
            changes["stars"] = stars
        if decision is not _UNSET:
            changes["decision"] = decision
        batch = self.catalog.rate_batch(photo_ids, label, source=SOURCE, **changes)
        return self.push(batch)

    def apply_each(
        self, states: dict[int, dict[str, Any]], label: str
    ) -> dict[int, dict[str, Any]]:
        """Give each photo its own change in one undoable step (accepting proposals)."""
        return self.push(self.catalog.rate_states(states, label, source=SOURCE))

    def push(self, batch: RatingBatch, sync: bool = True) -> dict[int, dict[str, Any]]:
        """Remember ``batch`` (already written) as the newest undoable step; a new step ends the
        redo history. Returns each photo's new {stars, decision, label}."""
        if not batch.event_ids:
            return {}
        self._steps.append(batch)
        del self._steps[: -self.limit]
        self._redo.clear()
        after = _states(batch)
        if sync:
            self._sync_xmp(after)
        return after

    def can_undo(self) -> bool:
        return bool(self._steps)

    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def last_step(self) -> RatingBatch | None:
        return self._steps[-1] if self._steps else None

    def redo(self) -> dict[int, dict[str, Any]]:
        """Write again the step undone last; return the photos' states after it."""
        if not self._redo:
            return {}
        batch = self.catalog.redo_batch(self._redo.pop())
        self._steps.append(batch)
        after = _states(batch)
        self._sync_xmp(after)
        return after

    def undo(self) -> dict[int, dict[str, Any]]:
        """Undo the last step (its events not undone since); return the photos' restored state."""
        if not self._steps:
            return {}
        step = self._steps.pop()
        self._redo.append(step)
        restored = {
            row["photo_id"]: {
                "stars": row["stars"],
                "decision": row["decision"],
                "label": row.get("label"),
            }
            for row in self.catalog.undo_batch(step)
        }
        self._sync_xmp(restored)
        return restored

    def prefer(self, winner: int, losers: Iterable[int]) -> int:
        """Record that ``winner`` was chosen over each of ``losers`` (pairwise data for the trainer)."""
        count = 0
        for loser in losers:
            if loser != winner:
                self.catalog.add_preference(winner, loser, source=SOURCE)
                count += 1
        return count


def _states(batch: RatingBatch) -> dict[int, dict[str, Any]]:
    return {
        pid: {"stars": state["stars"], "decision": state["decision"], "label": state["label"]}
        for pid, state in batch.states.items()
    }
