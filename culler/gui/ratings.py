"""Rating actions with undo, written to the catalog at once (no Qt here).

Every key press appends a ``ratings`` row immediately, so killing the app loses nothing. Each action is
one rating batch and Ctrl+Z undoes it with the catalog's undo (the same one as ``culler rate --undo``):
nothing is deleted, the state each photo had before is appended.
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
        if not batch.event_ids:
            return {}
        self._steps.append(batch)
        del self._steps[: -self.limit]
        after = {
            pid: {"stars": state["stars"], "decision": state["decision"], "label": state["label"]}
            for pid, state in batch.states.items()
        }
        self._sync_xmp(after)
        return after

    def can_undo(self) -> bool:
        return bool(self._steps)

    def undo(self) -> dict[int, dict[str, Any]]:
        """Undo the last step (its events not undone since); return the photos' restored state."""
        if not self._steps:
            return {}
        restored = {
            row["photo_id"]: {
                "stars": row["stars"],
                "decision": row["decision"],
                "label": row.get("label"),
            }
            for row in self.catalog.undo_batch(self._steps.pop())
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
