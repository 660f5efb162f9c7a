"""What the grid shows, loaded from the catalog in bulk (no Qt here, so it is tested and timed alone).

A 10,000-photo shoot must open in well under a second, so every table is read with one query for all
photos and joined in Python; nothing is queried per row.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from culler.catalog import Catalog

#: Kinds of group shown as stacks, in order of preference when a photo belongs to several.
STACK_KINDS = ("burst", "duplicate")


@dataclass
class PhotoRecord:
    """One photo as the grid needs it: identity, file state, scores, tags, rating and stack."""

    id: int
    path: str
    status: str = "ok"
    error: str | None = None
    content_hash: str | None = None
    taken_at: str | None = None
    camera: str | None = None
    lens: str | None = None
    width: int | None = None
    height: int | None = None
    scores: dict[str, float | None] = field(default_factory=dict)
    tags: dict[str, float] = field(default_factory=dict)
    stars: int | None = None
    decision: str | None = None
    group_id: int | None = None
    group_kind: str | None = None
    rank: int = 0
    #: Number of photos in this photo's stack (1 when it is in none).
    group_size: int = 1
    #: Whether this photo is the best of its stack (shown on top when the stack is collapsed).
    is_top: bool = True

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def flagged(self) -> str:
        """'pick', 'reject' or '' (unflagged)."""
        return self.decision if self.decision in ("pick", "reject") else ""

    def search_text(self) -> str:
        """Everything the search box matches against, lower-cased."""
        parts = [self.path, self.camera or "", self.lens or "", self.taken_at or ""]
        parts += list(self.tags)
        if self.error:
            parts.append(self.error)
        return " ".join(parts).lower()


def load_records(catalog: Catalog) -> list[PhotoRecord]:
    """Every photo in the catalog with scores, tags, current rating and stack, in five bulk queries."""
    records: dict[int, PhotoRecord] = {}
    for row in catalog.execute(
        "SELECT id, path, status, error, content_hash, taken_at, camera, lens, width, height"
        " FROM photos ORDER BY path"
    ):
        records[row[0]] = PhotoRecord(*row)
    for pid, scorer_id, score in catalog.execute(
        "SELECT photo_id, scorer_id, score FROM current_scores"
    ):
        rec = records.get(pid)
        if rec is not None:
            rec.scores[scorer_id] = score
    for pid, tag, prob in catalog.execute(
        "SELECT photo_id, tag, MAX(probability) FROM tags GROUP BY photo_id, tag"
    ):
        rec = records.get(pid)
        if rec is not None:
            rec.tags[tag] = prob
    # The newest event per photo; one grouped scan instead of the view's per-row subquery.
    for pid, stars, decision in catalog.execute(
        "SELECT r.photo_id, r.stars, r.decision FROM ratings r"
        " JOIN (SELECT MAX(id) AS id FROM ratings GROUP BY photo_id) last ON last.id = r.id"
    ):
        rec = records.get(pid)
        if rec is not None:
            rec.stars, rec.decision = stars, decision
    _attach_stacks(catalog, records)
    return list(records.values())


def _attach_stacks(catalog: Catalog, records: dict[int, PhotoRecord]) -> None:
    """Give each photo at most one stack: its burst, else its duplicate group; best rank on top."""
    members: dict[int, list[tuple[int, int]]] = {}
    kinds: dict[int, str] = {}
    claimed: set[int] = set()
    rows = catalog.execute(
        "SELECT m.group_id, g.kind, m.photo_id, m.rank FROM group_members m"
        " JOIN groups g ON g.id = m.group_id"
        " ORDER BY CASE g.kind WHEN 'burst' THEN 0 ELSE 1 END, m.group_id,"
        " m.rank IS NULL, m.rank, m.photo_id"
    ).fetchall()
    for group_id, kind, pid, _rank in rows:
        if pid in claimed or pid not in records or kind not in STACK_KINDS:
            continue
        if group_id not in members:
            members[group_id] = []
            kinds[group_id] = kind
        members[group_id].append((pid, len(members[group_id])))
        claimed.add(pid)
    for group_id, photos in members.items():
        if len(photos) < 2:
            continue
        for pid, position in photos:
            rec = records[pid]
            rec.group_id = group_id
            rec.group_kind = kinds[group_id]
            rec.rank = position
            rec.group_size = len(photos)
            rec.is_top = position == 0


def scorer_ids(records: list[PhotoRecord]) -> list[str]:
    """Every scorer id that has scored at least one of ``records``, sorted."""
    found: set[str] = set()
    for rec in records:
        found.update(rec.scores)
    return sorted(found)


def tag_names(records: list[PhotoRecord]) -> list[str]:
    found: set[str] = set()
    for rec in records:
        found.update(rec.tags)
    return sorted(found)


def rating_state(rec: PhotoRecord) -> dict[str, Any]:
    return {"stars": rec.stars, "decision": rec.decision}
