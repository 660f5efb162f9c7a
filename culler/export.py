"""Export: copy, move or link the picks (with their sidecars) to a folder; scores to CSV or JSON.

Nothing is ever overwritten: a clashing name gets a ``-1``, ``-2``… suffix (the photo and its sidecars
together, so they stay a set), a file already exported with identical content is skipped, and files are
created exclusively so even a file appearing mid-export is not clobbered. Photos are only changed by
``move``, and a moved photo keeps its catalog row (scores, ratings) under its new path.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from culler.catalog import Catalog
from culler.xmp import existing_sidecars, fullname_sidecar, stem_is_shared

MODES = ("copy", "move", "link")


class ExportError(Exception):
    """An export could not start (bad destination, nothing to do); the message says what to do."""


@dataclass
class ExportItem:
    """One photo to export: where it goes, its sidecars' source and target, and what happened."""

    photo_id: int
    source: Path
    target: Path
    sidecars: list[tuple[Path, Path]] = field(default_factory=list)
    status: str = "planned"  # planned | done | exists | error
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "source": str(self.source),
            "target": str(self.target),
            "sidecars": [{"source": str(s), "target": str(t)} for s, t in self.sidecars],
            "status": self.status,
            "error": self.error,
        }


def select_picks(catalog: Catalog, min_stars: int | None = None) -> list[dict[str, Any]]:
    """Photos marked pick, plus (with ``min_stars``) photos rated at least that and not rejected."""
    return catalog.picks(min_stars)


def _sidecar_target(sidecar: Path, source: Path, target: Path) -> Path:
    """Rename a sidecar along with its photo, in the naming convention it already uses."""
    suffix = sidecar.suffix  # .xmp or .XMP, kept as it was
    if sidecar.name.lower() == fullname_sidecar(source).name.lower():
        return target.with_name(target.name + suffix)
    return target.with_name(target.stem + suffix)


def _same_content(a: Path, b: Path) -> bool:
    try:
        if a.stat().st_size != b.stat().st_size:
            return False
        with open(a, "rb") as fa, open(b, "rb") as fb:
            while True:
                block_a, block_b = fa.read(1 << 20), fb.read(1 << 20)
                if block_a != block_b:
                    return False
                if not block_a:
                    return True
    except OSError:
        return False


def plan_export(
    photos: list[dict[str, Any]], dest: Path, *, keep_folders: bool = False
) -> list[ExportItem]:
    """Decide every target name without touching anything (this is also what ``--dry-run`` shows)."""
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
        sidecars = existing_sidecars(source)
        target = folder / source.name
        item = ExportItem(photo_id=photo["id"], source=source, target=target)
        n = 0
        while True:
            if target.is_file() and _same_content(source, target):
                item.status = "exists"  # exported before (perhaps under a -n name)
                break
            names = [target] + [_sidecar_target(s, source, target) for s in sidecars]
            if not any(p.exists() or p.is_symlink() or str(p).lower() in taken for p in names):
                taken.update(str(p).lower() for p in names)
                break
            n += 1
            target = folder / f"{source.stem}-{n}{source.suffix}"
        item.target = target
        if item.status == "planned":
            item.sidecars = [(s, _sidecar_target(s, source, target)) for s in sidecars]
        items.append(item)
    return items


def _copy_exclusive(source: Path, target: Path) -> None:
    """Copy with O_EXCL: fails instead of overwriting a file that appeared since planning."""
    with open(source, "rb") as fsrc, open(target, "xb") as fdst:
        shutil.copyfileobj(fsrc, fdst, 1 << 20)
    shutil.copystat(source, target)


def _move(source: Path, target: Path) -> None:
    try:
        os.link(source, target)  # atomic and never overwrites (same filesystem)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK):
            raise
        _copy_exclusive(source, target)
    os.unlink(source)


def _transfer(mode: str, source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if mode == "copy":
        _copy_exclusive(source, target)
    elif mode == "move":
        _move(source, target)
    else:
        os.symlink(os.path.abspath(source), target)


def run_export(
    catalog: Catalog, items: list[ExportItem], mode: str, *, dry_run: bool = False
) -> list[ExportItem]:
    """Carry out a plan. Per-photo failures are recorded on the item; the rest go on."""
    if mode not in MODES:
        raise ExportError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if dry_run:
        return items
    for item in items:
        if item.status != "planned":
            continue
        try:
            _transfer(mode, item.source, item.target)
            for side_source, side_target in item.sidecars:
                # A sidecar shared with a photo that stays (IMG_1.xmp of a RAW+JPEG pair) is copied.
                shared = side_source.stem == item.source.stem and stem_is_shared(item.source)
                _transfer("copy" if mode == "move" and shared else mode, side_source, side_target)
        except OSError as exc:
            item.status, item.error = "error", f"{exc.strerror or exc}: {exc.filename or ''}"
            continue
        item.status = "done"
        if mode == "move":
            catalog.move_photo(item.photo_id, item.target)
    return items


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
