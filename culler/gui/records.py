"""What the grid shows, loaded from the catalog in bulk (no Qt here, so it is tested and timed alone).

A 10,000-photo shoot must open in well under a second, so every table is read with one query for all
photos and joined in Python; nothing is queried per row.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

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
    #: Fraction of the second the frame was taken (EXIF SubSecTimeOriginal digits).
    subsec: str | None = None
    camera: str | None = None
    lens: str | None = None
    width: int | None = None
    height: int | None = None
    exposure_time: float | None = None
    f_number: float | None = None
    iso: int | None = None
    focal_length: float | None = None
    scores: dict[str, float | None] = field(default_factory=dict)
    tags: dict[str, float] = field(default_factory=dict)
    stars: int | None = None
    decision: str | None = None
    #: Colour label ("red", "yellow", "green", "blue") or None.
    label: str | None = None
    #: Who set the standing pick/reject: "auto" (the cull's proposal), "gui", "cli" or "xmp".
    source: str | None = None
    group_id: int | None = None
    group_kind: str | None = None
    rank: int = 0
    #: Number of photos in this photo's stack (1 when it is in none).
    group_size: int = 1
    #: Whether this photo is the best of its stack (shown on top when the stack is collapsed).
    is_top: bool = True
    #: The other files of its capture (the RAW beside this JPEG), as (path, kind).
    companions: list[tuple[str, str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def capture_badge(self) -> str:
        """``RAW+JPEG`` (or ``RAW+HEIC``) for a photo that is a RAW and its camera JPEG; else ""."""
        if not any(kind == "raw" for _, kind in self.companions):
            return ""
        ext = os.path.splitext(self.path)[1].lower()
        return "RAW+HEIC" if ext in (".heic", ".heif", ".hif") else "RAW+JPEG"

    @property
    def proposed(self) -> bool:
        """Whether the pick/reject is the cull's proposal, not yet accepted or overridden by hand."""
        return self.source == "auto" and bool(self.flagged)

    @property
    def flagged(self) -> str:
        """'pick', 'reject' or '' (unflagged)."""
        return self.decision if self.decision in ("pick", "reject") else ""

    def search_text(self) -> str:
        """Everything the search box matches against, lower-cased."""
        parts = [self.path, self.camera or "", self.lens or "", self.taken_at or ""]
        parts += [path for path, _ in self.companions]
        parts += list(self.tags)
        if self.error:
            parts.append(self.error)
        return " ".join(parts).lower()


def load_records(catalog: Catalog) -> list[PhotoRecord]:
    """Every photo in the catalog with scores, tags, current rating (and who decided), the other
    files of its capture and stack, in seven bulk queries."""
    records = {row["id"]: PhotoRecord(**row) for row in catalog.grid_photos()}
    for pid, scores in catalog.current_scores().items():
        if pid in records:
            records[pid].scores = scores
    for pid, tags in catalog.tag_maxima().items():
        if pid in records:
            records[pid].tags = tags
    for pid, rating in catalog.current_ratings().items():
        if pid in records:
            records[pid].stars, records[pid].decision = rating["stars"], rating["decision"]
            records[pid].label = rating.get("label")
    for pid, source in catalog.decision_sources().items():
        if pid in records:
            records[pid].source = source
    for pid, files in catalog.capture_files().items():
        if pid in records:
            records[pid].companions = [(f["path"], f["kind"]) for f in files]
    _attach_stacks(catalog, records)
    return list(records.values())


def _attach_stacks(catalog: Catalog, records: dict[int, PhotoRecord]) -> None:
    """Give each photo at most one stack: its burst, else its duplicate group; best rank on top."""
    members: dict[int, list[tuple[int, int]]] = {}
    kinds: dict[int, str] = {}
    claimed: set[int] = set()
    for group_id, kind, pid, _rank in catalog.stack_members():
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
