"""What the grid shows, loaded from the catalog in bulk (no Qt here, so it is tested and timed alone).

A 10,000-photo shoot must open in well under a second, so every table is read with one query for all
photos and joined in Python; nothing is queried per row.

A lifetime archive (a million photos) is not read whole: :class:`RecordPager` reads one page of photos
at a time down the path index, with the scores, tags, ratings and stacks of that page only, so the
first screenful costs the same at 1 M photos as at 1 k; the grid's model asks for the next page as
the user scrolls (``fetchMore``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from culler.catalog import Catalog
from culler.catalog.grid_pages import INDEXED_SORTS, GridWhere

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


def _attach_stacks(catalog: Catalog, records: dict[int, PhotoRecord], paged: bool = False) -> None:
    """Give each photo at most one stack: its burst, else its duplicate group; best rank on top.

    ``paged``: ``records`` are one page of the catalog; their stacks are read whole (members on other
    pages count in the stack's size and rank)."""
    members: dict[int, list[tuple[int, int]]] = {}
    kinds: dict[int, str] = {}
    claimed: set[int] = set()
    rows = catalog.stack_members(list(records)) if paged else catalog.stack_members()
    for group_id, kind, pid, _rank in rows:
        if pid in claimed or (pid not in records and not paged) or kind not in STACK_KINDS:
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
            rec = records.get(pid)
            if rec is None:  # on another page
                continue
            rec.group_id = group_id
            rec.group_kind = kinds[group_id]
            rec.rank = position
            rec.group_size = len(photos)
            rec.is_top = position == 0


def load_page(catalog: Catalog, rows: list[dict]) -> list[PhotoRecord]:
    """Records for one page of :meth:`Catalog.grid_page` rows: each table read for these photos only
    (by primary key or ``photo_id`` index), in the rows' order."""
    records = {row["id"]: PhotoRecord(**row) for row in rows}
    ids = list(records)
    for pid, scores in catalog.page_scores(ids).items():
        records[pid].scores = scores
    for pid, tags in catalog.tag_maxima(ids).items():
        records[pid].tags = tags
    for pid, rating in catalog.current_ratings(ids).items():
        records[pid].stars, records[pid].decision = rating["stars"], rating["decision"]
        records[pid].label = rating.get("label")
    for pid, source in catalog.decision_sources(ids).items():
        records[pid].source = source
    _attach_stacks(catalog, records, paged=True)
    return list(records.values())


#: Photos per page of a paged grid: a few screenfuls of the densest grid.
PAGE_SIZE = 1_000
#: From this many photos on the grid opens paged (below it, everything is loaded at once: sorting
#: and filtering a shoot need every record, and 20,000 load in about a second).
PAGED_FROM = 20_000


@dataclass(frozen=True)
class PageOrder:
    """The order and filters a pager reads in: ``sort`` is "path", "taken", "stars" or
    "score:<scorer id>" (see :meth:`Catalog.grid_order_page`)."""

    sort: str = "path"
    descending: bool = False
    where: GridWhere = field(default_factory=GridWhere)

    @property
    def filtered(self) -> bool:
        """Whether the pages hold only some photos (a filter), not every photo of the catalog."""
        return self.where != GridWhere()


class RecordPager:
    """Reads a catalog's photos page by page in one :class:`PageOrder` (keyset paging: each page
    seeks past the last key read, so page 1,000 costs what page 1 does)."""

    def __init__(
        self,
        catalog: Catalog,
        page_size: int | None = None,
        order: PageOrder | None = None,
        total: int | None = None,
    ) -> None:
        self.catalog = catalog
        self.page_size = page_size or PAGE_SIZE
        self.order = order or PageOrder()
        self.total = catalog.photo_total() if total is None else total
        self.loaded = 0
        self._cursor: tuple | None = None
        self._done = self.total == 0

    @property
    def exhausted(self) -> bool:
        return self._done

    @property
    def complete(self) -> bool:
        """Every photo of the catalog has been read (an unfiltered order, read to its end)."""
        return self._done and not self.order.filtered

    def reordered(self, order: PageOrder) -> RecordPager:
        """A pager over the same catalog from the first page of ``order``."""
        return RecordPager(self.catalog, self.page_size, order)

    def next_page(self, size: int | None = None) -> list[PhotoRecord]:
        """The next page of records ([] once every photo has been read)."""
        if self._done:
            return []
        size = size or self.page_size
        o = self.order
        rows, self._cursor = self.catalog.grid_order_page(
            o.sort, o.descending, o.where, self._cursor, size
        )
        if self._cursor is None:
            self._done = True
        if not rows:
            return []
        self.loaded += len(rows)
        return load_page(self.catalog, rows)


def page_order(
    sort_key: str, descending: bool, filters, person_photos: set[int] | None = None
) -> PageOrder | None:
    """The :class:`PageOrder` that shows what the grid's sort and filters (an
    :class:`culler.gui.item_models.Filters`) ask for, or None when SQL cannot serve them page by
    page (sorting by file name, flag or status; a person or proposals filter): the grid then
    reads every photo and sorts and filters them itself."""
    if not (sort_key in INDEXED_SORTS or sort_key.startswith("score:")):
        return None
    if person_photos is not None or filters.decision not in PAGED_DECISIONS:
        return None
    min_score = filters.min_score if sort_key.startswith("score:") else None
    # Every status but missing is what the grid shows by default: its pages hold every photo and
    # the few missing ones are hidden as they load, so a page read in full is the whole catalog.
    statuses = () if set(filters.statuses) in (set(), {"ok", "error"}) else filters.statuses
    where = GridWhere(
        statuses=tuple(sorted(statuses)),
        decision="" if filters.decision == "any" else filters.decision,
        min_stars=int(filters.min_stars or 0),
        search=filters.text,
        min_score=min_score,
        tag=filters.tag or "",
        min_tag_prob=filters.min_tag_prob,
    )
    return PageOrder(sort_key, bool(descending), where)


#: Flag filters a page applies in SQL (the proposals filter needs each photo's rating history).
PAGED_DECISIONS = ("any", "pick", "reject", "unflagged")


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
