"""Rating actions with undo, written to the catalog at once (no Qt here).

Every key press appends a ``ratings`` row immediately, so killing the app loses nothing. The table is
append-only, so undo does not delete: it appends the state each photo had before the undone action.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from culler.catalog import Catalog

SOURCE = "gui"
_UNSET: Any = object()


@dataclass
class _Step:
    label: str
    before: list[tuple[int, dict[str, Any]]]


class RatingHistory:
    """Applies rating changes for the GUI and remembers how to undo them (one step per action)."""

    def __init__(self, catalog: Catalog, limit: int = 500, xmp_naming: str | None = None) -> None:
        self.catalog = catalog
        self.limit = limit
        #: When set ("auto", "basename", "fullname"), every change also rewrites the photos' sidecars.
        self.xmp_naming = xmp_naming
        #: The last sidecar write's problems (shown in the status bar), empty when all went well.
        self.xmp_errors: list[dict[str, str]] = []
        self._steps: list[_Step] = []

    def _sync_xmp(self, photo_ids: Iterable[int]) -> None:
        if not self.xmp_naming:
            return
        from culler.xmp_sync import write_sidecars_for

        self.xmp_errors = write_sidecars_for(self.catalog, photo_ids, naming=self.xmp_naming).errors

    def apply(
        self,
        photo_ids: Iterable[int],
        *,
        stars: int | None = _UNSET,
        decision: str | None = _UNSET,
        label: str = "",
    ) -> dict[int, dict[str, Any]]:
        """Rate every photo in one undoable step; return each photo's new {stars, decision}."""
        kwargs: dict[str, Any] = {}
        if stars is not _UNSET:
            kwargs["stars"] = stars
        if decision is not _UNSET:
            kwargs["decision"] = decision
        before, after = [], {}
        for pid in photo_ids:
            current = self.catalog.current_rating(pid)
            before.append((pid, {k: current.get(k) for k in ("stars", "decision", "label")}))
            self.catalog.rate(pid, source=SOURCE, **kwargs)
            after[pid] = {
                "stars": kwargs.get("stars", current.get("stars")),
                "decision": kwargs.get("decision", current.get("decision")),
            }
        if before:
            self._steps.append(_Step(label, before))
            del self._steps[: -self.limit]
            self._sync_xmp(after)
        return after

    def can_undo(self) -> bool:
        return bool(self._steps)

    def undo(self) -> dict[int, dict[str, Any]]:
        """Append the pre-action state of the last step's photos; return their restored state."""
        if not self._steps:
            return {}
        step = self._steps.pop()
        restored = {}
        for pid, state in reversed(step.before):
            self.catalog.rate(
                pid,
                stars=state["stars"],
                decision=state["decision"],
                label=state["label"],
                source=SOURCE,
                reason=f"undo {step.label}".strip(),
            )
            restored[pid] = {"stars": state["stars"], "decision": state["decision"]}
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
