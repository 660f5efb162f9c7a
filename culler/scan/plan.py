"""Planning a scan: compare what is on disk with the catalog and decide what to do. Writes nothing.

Unchanged files (same size and mtime_ns, already scored) are skipped without a decode. A new file with
the size and content hash of a vanished one is that file moved: it keeps its row, scores and ratings.
Vanished rows are looked for anywhere in the catalog, not only under the scanned folders, so a renamed
shoot folder (``mv shoot shoot-2024``, then a scan of the new name) keeps every rating. Rows under the
scanned roots whose files are gone are marked missing, never dropped.

One file has one row: discovery yields real paths, and a row stored under another path of the same
file (an older scan through a symlinked folder, or another hard link's name) is an *alias*: it becomes
the file's row when the file has none, or is folded into the file's row (keeping the newer hand
rating) when it has one.

The writer applies the plan; keeping the decisions pure of catalog writes makes them testable without a
catalog or a pool. The planner only reads the disk: real paths, and folder listings for the few
vanished rows whose size matches a new file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from culler.catalog.scanning import PhotoState
from culler.safe_files import same_file
from culler.scan.captures import pair_captures
from culler.scan.discover import Listings, RealPaths, RootSet
from culler.scan.work import ActiveScorer, Found, WorkItem


@dataclass
class Move:
    """The file of ``photo_id`` is now at ``path`` (same bytes, new place)."""

    photo_id: int
    path: str
    root: str
    mtime_ns: int | None


@dataclass
class Fold:
    """Row ``alias_id`` names the same file as row ``photo_id`` by another path: merge it into it."""

    alias_id: int
    photo_id: int
    #: Why they are one photo, in the rating event that keeps the alias's hand rating.
    why: str = "the same file"


@dataclass
class ScanPlan:
    #: Files to score: by decoding them, or from cached embeddings.
    items: list[WorkItem] = field(default_factory=list)
    #: Files that could not even be stat'ed, with their roots: each gets an error row.
    unreadable: list[tuple[Found, str]] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    #: Alias rows to merge into the row of their real file.
    folds: list[Fold] = field(default_factory=list)
    #: Rows whose files are gone from under the scanned roots.
    missing: list[int] = field(default_factory=list)
    #: Rows whose files changed: their scores, tags and embeddings describe other bytes.
    forget: list[int] = field(default_factory=list)
    #: {photo id: the capture's further files} for photos whose files changed (a RAW paired or gone);
    #: new photos carry theirs on their work items.
    capture_files: dict[int, tuple[Found, ...]] = field(default_factory=dict)
    #: {photo id: files of its capture found in another folder} (a camera's two cards), kept.
    card_companions: dict[int, list[Found]] = field(default_factory=dict)
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
    links: dict[str, str] | None = None,
    capture_owners: dict[str, int] | None = None,
) -> ScanPlan:
    """Decide what a scan of ``roots`` must do, given the catalog's rows (``known``) and the disk.

    ``unlisted`` are folders that could not be listed: the photos under them are not known to be
    gone, so they are left as they are. ``content_hash(path)`` hashes a file (None when unreadable);
    it is called only for new files whose size matches a vanished one. ``links`` maps the further
    names of hard-linked files to the name discovery found each under. ``capture_owners`` maps the
    further files of catalogued captures (a RAW beside its JPEG) to their photos.

    The files of one capture are one photo (:mod:`culler.scan.captures`): scored from its JPEG, its
    RAW recorded beside it. Two rows an older catalog holds for one capture are folded into one; a
    capture whose JPEG is deleted goes on as its RAW, with its ratings and decisions.
    """
    roots = [Path(os.path.realpath(r)) for r in roots]
    plan = ScanPlan()
    owners = capture_owners or {}
    found = pair_captures(found)
    new: dict[str, Found] = {}
    for f in found:
        if f.error:
            plan.unreadable.append((f, _root_of(f.path, roots)))
        elif f.path in known:
            _compare(f, known[f.path], roots, scorers, rescore, plan)
        else:
            new[f.path] = f
    _drop_known_hard_links(new, known)
    seen = {f.path for f in found} | {c.path for f in found for c in f.companions}
    unseen = {path: state for path, state in known.items() if path not in seen}
    scanned, unlisted_set = RootSet(roots), RootSet(list(unlisted))
    settled = _join_captures(found, known, unseen, new, owners, scanned, roots, scorers, plan)
    settled |= _heal_aliases(
        unseen, known, new, scanned, roots, scorers, rescore, plan, links or {}
    )
    gone = [
        state
        for path, state in unseen.items()
        if state.id not in settled
        and scanned.contains(path)
        and not (unlisted and unlisted_set.contains(path))
    ]
    elsewhere = _vanished_elsewhere(unseen, settled, new.values(), scanned)
    candidates = gone + elsewhere
    moved = _match_moves(
        list(new.values()), candidates, roots, scorers, content_hash, rescore, plan
    )
    plan.missing = [s.id for s in gone if s.id not in moved and s.status != "missing"]
    _record_capture_files(found, known, owners, plan)
    return plan


def _join_captures(
    found: list[Found],
    known: dict[str, PhotoState],
    unseen: dict[str, PhotoState],
    new: dict[str, Found],
    owners: dict[str, int],
    scanned: RootSet,
    roots: list[Path],
    scorers: list[ActiveScorer],
    plan: ScanPlan,
) -> set[int]:
    """Rows that the pairing of captures settles; returns their ids.

    - A capture whose files an older scan stored as two photos: the RAW's row is folded into the
      JPEG's (the newer hand rating kept). When only the RAW had a row (its JPEG is new), that row
      becomes the capture's, scored again from the JPEG.
    - A capture's RAW found alone, its JPEG gone: the photo goes on as the RAW, with its ratings and
      decisions, scored again from the RAW. Found alone with its JPEG still there (the camera wrote
      them to two cards, copied into two folders), it stays a file of that photo.
    """
    settled: set[int] = set()
    for f in found:
        if not f.companions:
            continue
        target = known.get(f.path)
        for c in f.companions:
            alias = known.get(c.path)
            if alias is None or (target is not None and alias.id == target.id):
                continue
            if target is None and f.path in new:
                del new[f.path]
                target = alias
                _take_over(f, alias.id, roots, scorers, plan)
            elif target is not None:
                plan.folds.append(Fold(alias.id, target.id, "the same capture"))
            settled.add(alias.id)
    by_id = {state.id: path for path, state in known.items()}
    listings = Listings()
    for path in list(new):
        photo_id = owners.get(path)
        if photo_id is None:
            continue  # not a catalogued capture's file
        primary = by_id.get(photo_id)
        if primary in unseen and (scanned.contains(primary) or not listings.exists(primary)):
            _take_over(new.pop(path), photo_id, roots, scorers, plan)
            settled.add(photo_id)
        else:  # the RAW of a capture whose JPEG the camera wrote to its other card: still its file
            plan.card_companions.setdefault(photo_id, []).append(new.pop(path))
            plan.skipped += 1
    return settled


def _take_over(
    f: Found, photo_id: int, roots: list[Path], scorers: list[ActiveScorer], plan: ScanPlan
) -> None:
    """Row ``photo_id`` becomes the photo of ``f`` (another file of its capture): it keeps its
    ratings and decisions, and is scored again from these bytes."""
    item = _item(f, roots, photo_id, list(scorers), "changed")
    plan.moves.append(Move(photo_id, item.path, item.root, item.mtime_ns))
    plan.forget.append(photo_id)
    plan.items.append(item)


def _record_capture_files(
    found: list[Found], known: dict[str, PhotoState], owners: dict[str, int], plan: ScanPlan
) -> None:
    """Which photos' further files change: each catalogued photo found now has exactly the
    companions found with it (none, when its RAW was deleted). New photos carry theirs on their
    items; unchanged captures write nothing."""
    stored: dict[int, set[str]] = {}
    for path, photo_id in owners.items():
        stored.setdefault(photo_id, set()).add(path)
    photo_of = {path: state.id for path, state in known.items()}
    photo_of.update({m.path: m.photo_id for m in plan.moves})
    folded = {fold.alias_id for fold in plan.folds}
    for f in found:
        photo_id = photo_of.get(f.path)
        if photo_id is None or photo_id in folded:
            continue
        companions = f.companions + tuple(plan.card_companions.get(photo_id, ()))
        now = {c.path for c in companions}
        if now != stored.get(photo_id, set()) or any(
            fold.photo_id == photo_id for fold in plan.folds
        ):
            plan.capture_files[photo_id] = companions


def _drop_known_hard_links(new: dict[str, Found], known: dict[str, PhotoState]) -> None:
    """Leave out of ``new`` the names of hard-linked files that already have a row under another
    name (a backup snapshot scanned on its own after the shoot it links to): one file, one row.
    Costs a stat per catalogued file of the same size, for hard-linked new files only."""
    linked = [f for f in new.values() if f.inode is not None]
    if not linked:
        return
    sizes = {f.size for f in linked}
    by_size: dict[int | None, list[str]] = {}
    for path, state in known.items():
        if state.size in sizes and state.status == "ok":
            by_size.setdefault(state.size, []).append(path)
    for f in linked:
        if same_file(by_size.get(f.size, ()), f.inode):
            del new[f.path]


def _heal_aliases(
    unseen: dict[str, PhotoState],
    known: dict[str, PhotoState],
    new: dict[str, Found],
    scanned: RootSet,
    roots: list[Path],
    scorers: list[ActiveScorer],
    rescore: bool,
    plan: ScanPlan,
    links: dict[str, str],
) -> set[int]:
    """Rows stored under another path of a file found now: the file's row takes them over.

    A row whose real path has a row of its own is folded into it; one whose real path is a new file
    becomes that file's row (a move without hashing: it is the same file). Rows under the scanned
    folders are resolved fully (a file link); the rest by their folder only, one ``realpath`` per
    folder, so a rescan of a large catalog stays cheap. Returns the ids settled here.
    """
    real = RealPaths()
    owner: dict[str, int] = {}  # real path -> the row that now holds it
    settled: set[int] = set()
    aliases = []
    for path, state in unseen.items():
        if path in links:  # another name of a hard-linked file
            canonical = links[path]
        else:
            canonical = real.full(path) if scanned.contains(path) else real.folder(path)
        if canonical != path:
            aliases.append((path, canonical, state))
    for _path, canonical, state in sorted(aliases, key=lambda a: a[0]):
        target = known.get(canonical)
        if target is not None and target.id != state.id:
            plan.folds.append(Fold(state.id, target.id))
        elif canonical in owner:
            plan.folds.append(Fold(state.id, owner[canonical]))
        elif canonical in new:
            f = new.pop(canonical)
            owner[canonical] = state.id
            item = _item(f, roots, state.id, _needs(scorers, state.id, rescore), "unscored")
            plan.moves.append(Move(state.id, item.path, item.root, item.mtime_ns))
            if item.needs:
                plan.items.append(item)
        else:
            continue
        settled.add(state.id)
    return settled


def _vanished_elsewhere(
    unseen: dict[str, PhotoState], settled: set[int], new: Iterable[Found], scanned: RootSet
) -> list[PhotoState]:
    """Rows outside the scanned folders whose files are gone and whose size matches a new file:
    the move sources of a renamed or moved folder. Only those rows' folders are listed."""
    sizes = {f.size for f in new}
    if not sizes:
        return []
    listings = Listings()
    return [
        state
        for path, state in unseen.items()
        if state.size in sizes
        and state.content_hash
        and state.id not in settled
        and not scanned.contains(path)
        and not listings.exists(path)
    ]


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
    # What the row knew of the old bytes (scores, tags, embeddings) goes, so no scorer that does not
    # run now keeps a result for another photo; a vanished file back unchanged (same size and mtime,
    # restored from a backup) keeps them.
    if change == "changed" and (state.status == "ok" or not same_file):
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
    return WorkItem(
        f.path, _root_of(f.path, roots), f.size, f.mtime_ns, photo_id, needs, change, f.companions
    )


def _root_of(path: str, roots: list[Path]) -> str:
    """The scanned root ``path`` lies under (the first, when roots nest; roots are real paths)."""
    for root in roots:
        root_s = str(root)
        if path == root_s or path.startswith(root_s.rstrip(os.sep) + os.sep):
            return root_s
    return str(roots[0]) if roots else ""


def _needs(scorers: list[ActiveScorer], photo_id: int, rescore: bool) -> list[ActiveScorer]:
    """The scorers that have not yet scored ``photo_id`` (all of them with ``--rescore``)."""
    return list(scorers) if rescore else [s for s in scorers if photo_id not in s.done]
