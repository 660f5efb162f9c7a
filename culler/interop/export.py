"""Export: copy, move or link the picks (with their sidecars) to a folder; scores to CSV or JSON.

A photo is every file of its capture: the RAW beside a JPEG goes with it, under the same new stem,
with the sidecars of both (Lightroom's ``IMG_0001.xmp`` beside the RAW among them).

Nothing is ever overwritten: a clashing name gets a ``-1``, ``-2``… suffix (the photo and its sidecars
together, so they stay a set), a file already exported with identical content is skipped, and files are
created exclusively so even a file appearing mid-export is not clobbered. Photos are only changed by
``move``, and a moved photo keeps its catalog row (scores, ratings) under its new path. A move is
atomic per photo and journalled (:mod:`culler.interop.export_move`): a rerun after a kill finishes or undoes
it. A photo whose catalog path is a symbolic link is not moved (the link would break, or the photo
would leave the folder it really lives in): it is reported, and ``--copy`` exports it.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from culler.catalog import Catalog
from culler.interop.export_move import move_files, recover_moves, same_file_content
from culler.interop.xmp import existing_sidecars, fullname_sidecar, stem_is_shared

MODES = ("copy", "move", "link")


class ExportError(Exception):
    """An export could not start (bad destination, nothing to do); the message says what to do."""


class ExportSkip(Exception):
    """One photo cannot be exported as asked; the message says why and what to do."""


@dataclass
class ExportItem:
    """One photo to export: where it goes, its sidecars' source and target, and what happened."""

    photo_id: int
    source: Path
    target: Path
    sidecars: list[tuple[Path, Path]] = field(default_factory=list)
    #: The capture's other files (the RAW beside the JPEG): (source, target), exported with it.
    companions: list[tuple[Path, Path]] = field(default_factory=list)
    status: str = "planned"  # planned | done | exists | error
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "source": str(self.source),
            "target": str(self.target),
            "sidecars": [{"source": str(s), "target": str(t)} for s, t in self.sidecars],
            "files": [{"source": str(s), "target": str(t)} for s, t in self.companions],
            "status": self.status,
            "error": self.error,
        }


def select_picks(catalog: Catalog, min_stars: int | None = None) -> list[dict[str, Any]]:
    """Photos marked pick, plus (with ``min_stars``) photos rated at least that and not rejected;
    each with ``files``, the further files of its capture (the RAW beside a JPEG)."""
    picks = catalog.picks(min_stars)
    files = catalog.capture_files([p["id"] for p in picks])
    for photo in picks:
        photo["files"] = [f["path"] for f in files.get(photo["id"], [])]
    return picks


def _capture_sidecars(
    source: Path, companions: list[Path], target: Path
) -> list[tuple[Path, Path]]:
    """The sidecars of every file of a capture, each with its target (one shared basename sidecar
    once), in the naming convention each already uses."""
    out: dict[Path, Path] = {}
    for member in [source, *companions]:
        member_target = target.with_name(target.stem + member.suffix)
        for sidecar in existing_sidecars(member):
            out.setdefault(sidecar, _sidecar_target(sidecar, member, member_target))
    return list(out.items())


def _sidecar_target(sidecar: Path, source: Path, target: Path) -> Path:
    """Rename a sidecar along with its photo, in the naming convention it already uses."""
    suffix = sidecar.suffix  # .xmp or .XMP, kept as it was
    if sidecar.name.lower() == fullname_sidecar(source).name.lower():
        return target.with_name(target.name + suffix)
    return target.with_name(target.stem + suffix)


def plan_export(
    photos: list[dict[str, Any]],
    dest: Path,
    *,
    keep_folders: bool = False,
    held_by_another: Callable[[Path, int], bool] | None = None,
) -> list[ExportItem]:
    """Decide every target name without touching anything (this is also what ``--dry-run`` shows).

    ``held_by_another(target, photo_id)`` says a target is another catalog photo with its own history
    (for ``--move``, :meth:`~culler.catalog.Catalog.other_photo_with_history`): identical bytes there
    are then a different photo, not an earlier export, and the photo gets a ``-n`` name instead.
    """
    dest = Path(os.path.abspath(dest))
    taken: set[str] = set()  # planned names, compared case-insensitively (macOS, Windows shares)
    items = []
    for photo in photos:
        source = Path(photo["path"])
        folder = dest
        if keep_folders and photo.get("root"):
            try:
                folder = dest / source.parent.relative_to(photo["root"])
            except ValueError:
                pass  # not under its recorded root (moved by hand): export it flat
        companions = [Path(p) for p in photo.get("files") or ()]
        target = folder / source.name
        item = ExportItem(photo_id=photo["id"], source=source, target=target)
        n = 0
        while True:
            if (
                target.is_file()
                and same_file_content(source, target)
                and not (held_by_another and held_by_another(target, photo["id"]))
            ):
                item.status = "exists"  # exported before (perhaps under a -n name)
                break
            names = [target] + [t for _, t in _capture_sidecars(source, companions, target)]
            names += [target.with_name(target.stem + c.suffix) for c in companions]
            if not any(p.exists() or p.is_symlink() or str(p).lower() in taken for p in names):
                taken.update(str(p).lower() for p in names)
                break
            n += 1
            target = folder / f"{source.stem}-{n}{source.suffix}"
        item.target = target
        item.companions = [(c, target.with_name(target.stem + c.suffix)) for c in companions]
        if item.status == "planned":
            item.sidecars = _capture_sidecars(source, companions, target)
        items.append(item)
    return items


def _copy_exclusive(source: Path, target: Path) -> None:
    """Copy with O_EXCL: fails instead of overwriting a file that appeared since planning."""
    with open(source, "rb") as fsrc, open(target, "xb") as fdst:
        shutil.copyfileobj(fsrc, fdst, 1 << 20)
    shutil.copystat(source, target)


def _transfer(mode: str, source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if mode == "copy":
        _copy_exclusive(source, target)
    else:
        os.symlink(os.path.abspath(source), target)


def _move_item(catalog: Catalog, item: ExportItem) -> None:
    """Move the photo and its sidecars (a sidecar shared with a photo that stays is copied)."""
    if item.source.is_symlink():
        raise ExportSkip(
            f"{item.source} is a symbolic link to {os.path.realpath(item.source)}; culler moves only "
            "real files (the link would break): export it with --copy, or rescan its folder so the "
            "catalog names the real file"
        )
    sidecars = item.sidecars
    linked = next((s for s, _ in item.companions if s.is_symlink()), None)
    if linked is not None:
        raise ExportSkip(
            f"{linked} (a file of this photo's capture) is a symbolic link; culler moves only real "
            "files: export the photo with --copy, or rescan its folder so the catalog names the real file"
        )
    if item.status == "exists" and item.target.is_symlink():
        raise ExportSkip(
            f"{item.target} is a link to this photo (an earlier --link export); delete the link, "
            "then run the move again"
        )
    companions = [s for s, _ in item.companions]
    if item.status == "exists":  # already copied there before: the move only has to finish
        sidecars = _capture_sidecars(item.source, companions, item.target)
        clash = next((t for s, t in sidecars if t.exists() and not same_file_content(s, t)), None)
        if clash is not None:
            raise ExportSkip(f"{clash} exists with other content; move or rename it, then rerun")
        item.sidecars = sidecars
    # The capture's own files go with it, so they do not make its basename sidecar shared.
    try:
        names = [n for n in os.listdir(item.source.parent) if n not in {c.name for c in companions}]
    except OSError:
        names = None
    shared = stem_is_shared(item.source, names)
    files = [(str(item.source), str(item.target), "move")]
    files += [(str(s), str(t), "move") for s, t in item.companions if os.path.lexists(s)]
    files += [
        (str(s), str(t), "copy" if s.stem == item.source.stem and shared else "move")
        for s, t in sidecars
    ]
    move_files(catalog, item.photo_id, files)


def finish_interrupted_moves(catalog: Catalog) -> list[str]:
    """Finish or undo the moves a killed ``export --move`` left half-done (one line each)."""
    return recover_moves(catalog)


def run_export(
    catalog: Catalog, items: list[ExportItem], mode: str, *, dry_run: bool = False
) -> list[ExportItem]:
    """Carry out a plan. Per-photo failures are recorded on the item; the rest go on."""
    if mode not in MODES:
        raise ExportError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if dry_run:
        return items
    for item in items:
        if item.status != "planned" and not (mode == "move" and item.status == "exists"):
            continue
        if os.path.abspath(item.source) == os.path.abspath(item.target):
            continue  # moved here by an earlier run: nothing left to do
        try:
            if not os.path.lexists(item.source):
                raise ExportSkip(
                    f"{item.source} is gone; run `culler scan` on the folder that holds it now"
                )
            if mode == "move":
                _move_item(catalog, item)
            else:
                _transfer(mode, item.source, item.target)
                for side_source, side_target in item.companions + item.sidecars:
                    if os.path.lexists(side_source):  # a RAW deleted since the last scan
                        _transfer(mode, side_source, side_target)
        except ExportSkip as exc:
            item.status, item.error = "error", str(exc)
            continue
        except OSError as exc:
            item.status, item.error = "error", _os_reason(exc, item.target)
            continue
        item.status = "done"
    return items


def _os_reason(exc: OSError, target: Path) -> str:
    """Why one photo failed, naming the file and what to do (a full disk names no file itself)."""
    where = exc.filename or target
    if exc.errno == errno.ENOSPC:
        return f"No space left on device: {where}; free some space on it and run the export again"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{exc.strerror}: {where}; make the destination writable, or choose another"
    return f"{exc.strerror or exc}: {where}"


# -- scores -----------------------------------------------------------------------------------------
def score_rows(catalog: Catalog, sort_by: str | None = None, status: str = "all") -> list[dict]:
    from culler.catalog.queries import list_photos

    return list_photos(catalog, sort_by=sort_by, status=status)


def scores_csv(rows: list[dict[str, Any]]) -> str:
    """One row per photo: file facts, rating, one column per scorer, tags as JSON."""
    scorer_ids = sorted({sid for row in rows for sid in row["scores"]})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    base = ["path", "status", "error", "width", "height", "taken_at", "camera"]
    writer.writerow([*base, "stars", "decision", "label", *scorer_ids, "tags"])
    for row in rows:
        rating = row.get("rating") or {}
        writer.writerow(
            [row.get(k) if row.get(k) is not None else "" for k in base]
            + [
                rating.get(k) if rating.get(k) is not None else ""
                for k in ("stars", "decision", "label")
            ]
            + [
                "" if row["scores"].get(s) is None else f"{row['scores'][s]:.4f}"
                for s in scorer_ids
            ]
            + [json.dumps(row["tags"], sort_keys=True) if row["tags"] else ""]
        )
    return out.getvalue()


def scores_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, indent=2) + "\n"
