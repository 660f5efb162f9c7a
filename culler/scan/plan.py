"""Planning a scan: compare what is on disk with the catalog and decide what to do. Writes nothing.

Unchanged files (same size and mtime_ns, already scored) are skipped without a decode. A new file with
the size and content hash of a vanished one is that file moved: it keeps its row, scores and ratings.
Rows under the scanned roots whose files are gone are marked missing, never dropped. The writer applies
the plan; keeping the decisions pure makes them testable without a catalog or a pool.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from culler.catalog.scanning import PhotoState
from culler.scan.discover import root_of, under_roots
from culler.scan.work import ActiveScorer, Found, WorkItem


@dataclass
class Move:
    """The file of ``photo_id`` is now at ``path`` (same bytes, new place)."""

    photo_id: int
    path: str
    root: str
    mtime_ns: int | None


@dataclass
class ScanPlan:
    #: Files to score: by decoding them, or from cached embeddings.
    items: list[WorkItem] = field(default_factory=list)
    #: Files that could not even be stat'ed, with their roots: each gets an error row.
    unreadable: list[tuple[Found, str]] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    #: Rows whose files are gone from under the scanned roots.
    missing: list[int] = field(default_factory=list)
    #: Rows whose files changed: their scores, tags and embeddings describe other bytes.
    forget: list[int] = field(default_factory=list)
    #: Unchanged files that every scorer has already scored.
    skipped: int = 0
    new: int = 0

    @property
    def changed(self) -> int:
        return sum(1 for i in self.items if i.change == "changed")


def plan_scan(
    known: dict[str, PhotoState],
    found: list[Found],
    roots: list[Path],
    scorers: list[ActiveScorer],
    *,
    rescore: bool = False,
    unlisted: list[Path] = (),
    content_hash: Callable[[str], str | None],
) -> ScanPlan:
    """Decide what a scan of ``roots`` must do, given the catalog's rows (``known``) and the disk.

    ``unlisted`` are folders that could not be listed: the photos under them are not known to be
    gone, so they are left as they are. ``content_hash(path)`` hashes a file (None when unreadable);
    it is called only for new files whose size matches a vanished one.
    """
    plan = ScanPlan()
    new: list[Found] = []
    for f in found:
        if f.error:
            plan.unreadable.append((f, root_of(f.path, roots)))
        elif f.path in known:
            _compare(f, known[f.path], roots, scorers, rescore, plan)
        else:
            new.append(f)
    seen = {f.path for f in found}
    gone = [
        state
        for path, state in known.items()
        if path not in seen
        and state.status != "missing"
        and under_roots(path, roots)
        and not (unlisted and under_roots(path, unlisted))
    ]
    moved = _match_moves(new, gone, roots, scorers, content_hash, rescore, plan)
    plan.missing = [state.id for state in gone if state.id not in moved]
    return plan


def _compare(
    f: Found,
    state: PhotoState,
    roots: list[Path],
    scorers: list[ActiveScorer],
    rescore: bool,
    plan: ScanPlan,
) -> None:
    """A file the catalog knows: skip it, score what it lacks, or redo it if its bytes changed."""
    same_file = state.size == f.size and state.mtime_ns == f.mtime_ns
    if state.status == "ok" and same_file:
        needs = _needs(scorers, state.id, rescore)
        if needs:
            plan.items.append(_item(f, roots, state.id, needs, "unscored"))
        else:
            plan.skipped += 1  # the common case of a rescan: nothing is computed for it
        return
    # An error row for the same bytes is retried (a plugin may read it now); anything else changed.
    change = "retry" if state.status == "error" and same_file else "changed"
    if change == "changed" and state.status == "ok":
        plan.forget.append(state.id)
    plan.items.append(_item(f, roots, state.id, list(scorers), change))


def _match_moves(
    new: list[Found],
    gone: list[PhotoState],
    roots: list[Path],
    scorers: list[ActiveScorer],
    content_hash: Callable[[str], str | None],
    rescore: bool,
    plan: ScanPlan,
) -> set[int]:
    """A new file with the size and content hash of a vanished one takes over its row.

    Only files whose size matches a vanished one are hashed, so a scan of new photos reads none twice.
    Returns the ids of the rows that moved.
    """
    by_size: dict[int | None, list[PhotoState]] = {}
    for state in gone:
        by_size.setdefault(state.size, []).append(state)
    moved: set[int] = set()
    for f in new:
        candidates = by_size.get(f.size, [])
        digest = content_hash(f.path) if candidates else None
        match = next(
            (s for s in candidates if digest and s.content_hash == digest and s.id not in moved),
            None,
        )
        if match is None:
            plan.new += 1
            plan.items.append(_item(f, roots, None, list(scorers), "new"))
            continue
        moved.add(match.id)
        item = _item(f, roots, match.id, _needs(scorers, match.id, rescore), "unscored")
        plan.moves.append(Move(match.id, item.path, item.root, item.mtime_ns))
        if item.needs:
            plan.items.append(item)
    return moved


def _item(
    f: Found, roots: list[Path], photo_id: int | None, needs: list[ActiveScorer], change: str
) -> WorkItem:
    return WorkItem(f.path, root_of(f.path, roots), f.size, f.mtime_ns, photo_id, needs, change)


def _needs(scorers: list[ActiveScorer], photo_id: int, rescore: bool) -> list[ActiveScorer]:
    """The scorers that have not yet scored ``photo_id`` (all of them with ``--rescore``)."""
    return list(scorers) if rescore else [s for s in scorers if photo_id not in s.done]
