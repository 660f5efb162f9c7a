"""Rating events, preferences and the one undo (``culler rate --undo`` and the GUI's Ctrl+Z).

The ``ratings`` table is append-only: every event stores the photo's whole rating state after it, so the
current rating is the newest row. A batch (one ``culler rate`` command, one key press on a selection)
shares one reason ending in ``(batch XXXXXXXX)``; undoing it appends, for each of its events, the state
before that event with the reason ``undo of event #N``. Nothing is ever deleted, and an undone event is
never undone twice, whichever of the CLI and the GUI undid it.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from culler.catalog.chunks import in_clauses
from culler.catalog.timestamps import now

#: Rating sources that mean "a person decided this"; auto-cull never overrides them.
HUMAN_SOURCES = ("gui", "cli", "xmp")
UNDO_PREFIX = "undo of event #"
FIELDS = ("stars", "decision", "label")
_BATCH_SUFFIX = re.compile(r"(^| )\(batch [0-9a-f]{8}\)$")
_UNSET: Any = object()


@dataclass
class RatingBatch:
    """One undoable batch: its shared reason, its event ids and each photo's state after it."""

    reason: str
    source: str
    event_ids: list[int] = field(default_factory=list)
    states: dict[int, dict[str, Any]] = field(default_factory=dict)


def _unrated(photo_id: int) -> dict[str, Any]:
    return {"photo_id": photo_id, "stars": None, "decision": None, "label": None}


class RatingsMixin:
    """Rating reads and writes of :class:`culler.catalog.Catalog`."""

    conn: sqlite3.Connection

    # -- reads -----------------------------------------------------------------------------------
    def current_rating(self, photo_id: int) -> dict[str, Any]:
        rows = self.query("SELECT * FROM current_ratings WHERE photo_id = ?", [photo_id])
        return rows[0] if rows else _unrated(photo_id)

    def label_cleared(self, photo_id: int) -> bool:
        """Whether the photo has no label now but had one in an earlier rating event (cleared in
        culler, or imported from a sidecar and then cleared)."""
        rows = self.query(
            "SELECT (SELECT label FROM current_ratings WHERE photo_id = :p) IS NULL"
            " AND EXISTS (SELECT 1 FROM ratings WHERE photo_id = :p AND label IS NOT NULL) AS cleared",
            {"p": photo_id},
        )
        return bool(rows[0]["cleared"])

    def current_ratings(self, photo_ids: Iterable[int] | None = None) -> dict[int, dict[str, Any]]:
        """{photo id: {stars, decision, label, source}} for rated photos (all, or those of ``photo_ids``).

        One grouped scan for the newest event per photo: the ``current_ratings`` view's per-row subquery
        is slow for a whole catalog.
        """
        sql = (
            "SELECT r.photo_id, r.stars, r.decision, r.label, r.source FROM ratings r"
            " JOIN (SELECT MAX(id) AS id FROM ratings {where} GROUP BY photo_id) last"
            " ON last.id = r.id"
        )
        result: dict[int, dict[str, Any]] = {}
        for where, params in in_clauses("WHERE photo_id", photo_ids):
            for row in self.query(sql.format(where=where), params):
                result[row.pop("photo_id")] = row
        return result

    def hand_decided(
        self, photo_ids: Iterable[int] | None = None, sources: Iterable[str] = HUMAN_SOURCES
    ) -> set[int]:
        """Photos (all, or those of ``photo_ids``) whose stars or pick/reject stand now as a person
        set them: what auto-cull leaves alone.

        Only stars above 0 and a pick or reject count: a colour label is not a decision, nor is an
        unflag or 0 stars. An undone event does not count, and neither does the undo that restored
        the state before it (see :meth:`standing_ratings`).
        """
        human = set(sources)
        return {
            pid
            for pid, s in self.standing_ratings(photo_ids).items()
            if (s["decision"] in ("pick", "reject") and s["decision_by"] in human)
            or ((s["stars"] or 0) > 0 and s["stars_by"] in human)
        }

    def decision_sources(self, photo_ids: Iterable[int] | None = None) -> dict[int, str]:
        """{photo id: the source that set its standing pick or reject} ("auto" for a proposal of
        the cull nobody has accepted or overridden); photos without a pick or reject are left out."""
        return {
            pid: s["decision_by"]
            for pid, s in self.standing_ratings(photo_ids).items()
            if s["decision"] in ("pick", "reject")
        }

    def standing_ratings(self, photo_ids: Iterable[int] | None = None) -> dict[int, dict[str, Any]]:
        """{photo id: {stars, stars_by, decision, decision_by}}: each rated photo's stars and decision
        with the source of the event that set them (``ratings.fields`` names what an event set, so
        a pick pressed on a proposed pick is the person's). The events are replayed without the undone ones
        and without the undos that restored the state before them, so an undone rating leaves no
        trace and a decision restored by an undo keeps the source that first set it."""
        events: dict[int, list[tuple]] = {}
        undone: set[int] = set()
        sql = "SELECT id, photo_id, stars, decision, source, reason, fields FROM ratings {where}"
        for where, params in in_clauses("WHERE photo_id", photo_ids):
            for row in self.conn.execute(sql.format(where=where), params):
                events.setdefault(row[1], []).append(row)
                if row[5] and row[5].startswith(UNDO_PREFIX):  # an undo is its photo's own event
                    number = row[5][len(UNDO_PREFIX) :]
                    if number.isdigit():
                        undone.add(int(number))
        standing: dict[int, dict[str, Any]] = {}
        for pid, rows in events.items():
            state: dict[str, Any] = {
                "stars": None,
                "stars_by": None,
                "decision": None,
                "decision_by": None,
            }
            for event, _pid, stars, decision, source, reason, fields in sorted(rows):
                if event in undone or (reason or "").startswith(UNDO_PREFIX):
                    continue
                named = set(fields.split(",")) if fields is not None else set()
                if stars != state["stars"] or "stars" in named:
                    state["stars"], state["stars_by"] = stars, source
                if decision != state["decision"] or "decision" in named:
                    state["decision"], state["decision_by"] = decision, source
            standing[pid] = state
        return standing

    def rated_photos(self) -> list[dict[str, Any]]:
        """Readable photos with stars or a pick/reject: the trainer's personal examples."""
        return self.query(
            "SELECT r.photo_id, r.stars, r.decision, p.path FROM current_ratings r"
            " JOIN photos p ON p.id = r.photo_id WHERE p.status = 'ok'"
            " AND ((r.stars IS NOT NULL AND r.stars > 0) OR r.decision IN ('pick', 'reject'))"
            " ORDER BY r.photo_id"
        )

    def preferences(self) -> list[tuple[int, int]]:
        """Every (winner, loser) pair chosen in compare view, oldest first."""
        return [
            (w, lo)
            for w, lo in self.conn.execute(
                "SELECT winner_photo_id, loser_photo_id FROM preferences ORDER BY id"
            )
        ]

    # -- writes ----------------------------------------------------------------------------------
    def rate(
        self,
        photo_id: int,
        *,
        stars: int | None = _UNSET,
        decision: str | None = _UNSET,
        label: str | None = _UNSET,
        source: str = "cli",
        reason: str | None = None,
    ) -> int:
        """Append a rating event. Fields left out keep their current value; returns the event id."""
        changes = {
            k: v for k, v in zip(FIELDS, (stars, decision, label), strict=True) if v is not _UNSET
        }
        with self.transaction() as conn:
            return self._append_event(conn, photo_id, changes, source, reason)[0]

    def rate_batch(
        self, photo_ids: Iterable[int], action: str, *, source: str, **changes: Any
    ) -> RatingBatch:
        """Rate photos as one undoable batch in one transaction (``changes``: stars, decision, label).

        ``action`` says what was done ("culler rate decision=pick", "3 stars"); it starts the reason.
        """
        unknown = set(changes) - set(FIELDS)
        if unknown:
            raise TypeError(f"not rating fields: {', '.join(sorted(unknown))}")
        batch = RatingBatch(f"{action} (batch {uuid.uuid4().hex[:8]})".lstrip(), source)
        with self.transaction() as conn:
            for pid in photo_ids:
                event, state = self._append_event(conn, pid, changes, source, batch.reason)
                batch.event_ids.append(event)
                batch.states[pid] = state
        return batch

    def undo_batch(self, batch: RatingBatch, source: str | None = None) -> list[dict[str, Any]]:
        """Undo ``batch``'s events that are not undone yet (the GUI's Ctrl+Z); see :meth:`undo_last`."""
        with self.transaction() as conn:
            undone = self._undone_event_ids()
            events = [
                event
                for where, params in in_clauses("WHERE id", batch.event_ids)
                for event in self.query(f"SELECT * FROM ratings {where}", params)
                if event["id"] not in undone
            ]
            events.sort(key=lambda e: -e["id"])
            return self._undo_events(conn, events, source or batch.source)

    def rate_states(
        self, states: dict[int, dict[str, Any]], action: str, *, source: str
    ) -> RatingBatch:
        """Give each photo its own change (``{photo id: {stars, decision, label}}``, fields left
        out keep their value) as one undoable batch: accepting proposals that differ per photo."""
        batch = RatingBatch(f"{action} (batch {uuid.uuid4().hex[:8]})".lstrip(), source)
        with self.transaction() as conn:
            for pid, changes in states.items():
                unknown = set(changes) - set(FIELDS)
                if unknown:
                    raise TypeError(f"not rating fields: {', '.join(sorted(unknown))}")
                event, state = self._append_event(conn, pid, changes, source, batch.reason)
                batch.event_ids.append(event)
                batch.states[pid] = state
        return batch

    def redo_batch(self, batch: RatingBatch) -> RatingBatch:
        """Append again, as a new batch, what ``batch`` (undone since) wrote: each event's state,
        source and reason (an auto-cull event keeps the reason that decided it)."""
        suffix = f"(batch {uuid.uuid4().hex[:8]})"
        redone = RatingBatch(_BATCH_SUFFIX.sub(lambda m: m.group(1) + suffix, batch.reason), "")
        with self.transaction() as conn:
            events = [
                event
                for where, params in in_clauses("WHERE id", batch.event_ids)
                for event in self.query(f"SELECT * FROM ratings {where}", params)
            ]
            for event in sorted(events, key=lambda e: e["id"]):
                reason = event["reason"] or ""
                if _BATCH_SUFFIX.search(reason):
                    reason = _BATCH_SUFFIX.sub(lambda m: m.group(1) + suffix, reason)
                state = {k: event[k] for k in FIELDS}
                new, after = self._append_event(
                    conn, event["photo_id"], state, event["source"], reason or None
                )
                redone.source = event["source"]
                redone.event_ids.append(new)
                redone.states[event["photo_id"]] = after
        redone.source = redone.source or batch.source
        return redone

    def cull_reason(self, photo_id: int) -> str | None:
        """The reason the newest auto-cull decision of this photo gave (not undone), if any: what
        ``culler cull`` printed for it."""
        undone = self._undone_event_ids()
        for event_id, reason in self.conn.execute(
            "SELECT id, reason FROM ratings WHERE photo_id = ? AND source = 'auto'"
            " ORDER BY id DESC",
            [photo_id],
        ):
            if event_id not in undone and reason:
                return reason
        return None

    def undo_last(
        self, sources: Iterable[str] = HUMAN_SOURCES, source: str = "cli"
    ) -> list[dict[str, Any]]:
        """Undo the newest rating made by hand (from ``sources``), with the rest of its batch.

        For each undone event the state its photo had before it is appended (reason ``undo of event
        #N``). Returns {photo_id, event, stars, decision, label} per undone event, newest event first,
        so a photo's last entry is the state it is left in. Undo events are never undone themselves,
        so repeating steps further back instead of redoing.
        """
        sources = tuple(sources)
        marks = ",".join("?" * len(sources))
        # Read and append in one write transaction, so two undos at once cannot undo one event twice.
        with self.transaction() as conn:
            undone = self._undone_event_ids()
            live = [
                r
                for r in self.query(
                    f"SELECT * FROM ratings WHERE source IN ({marks}) ORDER BY id DESC", sources
                )
                if r["id"] not in undone and not (r["reason"] or "").startswith(UNDO_PREFIX)
            ]
            if not live:
                return []
            last = live[0]
            batch = [last]  # an event made outside a batch (a sidecar import) is undone alone
            if _BATCH_SUFFIX.search(last["reason"] or ""):
                key = (last["reason"], last["source"])
                batch = [r for r in live if (r["reason"], r["source"]) == key]
            return self._undo_events(conn, batch, source)

    def add_preference(
        self, winner_photo_id: int, loser_photo_id: int, source: str = "gui"
    ) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO preferences (winner_photo_id, loser_photo_id, source, at)"
                " VALUES (?, ?, ?, ?)",
                [winner_photo_id, loser_photo_id, source, now()],
            )

    # -- internals -------------------------------------------------------------------------------
    def _undo_events(
        self, conn: sqlite3.Connection, events: list[dict[str, Any]], source: str
    ) -> list[dict[str, Any]]:
        """Append, for each event (newest first), the state its photo had before it."""
        restored = []
        for event in events:
            before = conn.execute(
                "SELECT stars, decision, label FROM ratings WHERE photo_id = ? AND id < ?"
                " ORDER BY id DESC LIMIT 1",
                [event["photo_id"], event["id"]],
            ).fetchone()
            state = dict(zip(FIELDS, before or (None, None, None), strict=True))
            reason = f"{UNDO_PREFIX}{event['id']}"
            self._append_event(conn, event["photo_id"], state, source, reason)
            restored.append({"photo_id": event["photo_id"], "event": event["id"], **state})
        return restored

    def _append_event(
        self,
        conn: sqlite3.Connection,
        photo_id: int,
        changes: dict[str, Any],
        source: str,
        reason: str | None,
    ) -> tuple[int, dict[str, Any]]:
        """Insert one event inside the caller's transaction; return (event id, the new state)."""
        current = self.current_rating(photo_id)
        state = {k: changes.get(k, current.get(k)) for k in FIELDS}
        cursor = conn.execute(
            "INSERT INTO ratings (photo_id, stars, decision, label, source, reason, at, fields)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                photo_id,
                state["stars"],
                state["decision"],
                state["label"],
                source,
                reason,
                now(),
                ",".join(k for k in FIELDS if k in changes),
            ],
        )
        return cursor.lastrowid, state

    def _undone_event_ids(self) -> set[int]:
        return {
            int(reason[len(UNDO_PREFIX) :])
            for (reason,) in self.conn.execute(
                "SELECT reason FROM ratings WHERE reason LIKE ?", [UNDO_PREFIX + "%"]
            )
        }
