"""Catalog ↔ sidecar: write culler's ratings and scores to XMP, import ratings from XMP (source ``xmp``).

The sidecar format itself lives in :mod:`culler.interop.xmp`; this module decides what goes in and what comes
back. Importing appends a rating event only when the sidecar says something the catalog does not, so
reading the same sidecars twice changes nothing, and the trainer can learn from years of ratings made
in Lightroom or darktable.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from culler.catalog import Catalog
from culler.interop.xmp import (
    SidecarData,
    XmpError,
    culler_keywords,
    keyword_key,
    read_sidecar,
    sidecar_path,
    write_sidecar,
)
from culler.scan.discover import under_roots


@dataclass
class SyncReport:
    """What a write or read did, per file; printed by ``culler xmp`` (``--json``)."""

    changed: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "errors": self.errors,
        }


def select_photos(catalog: Catalog, paths: Iterable[str | Path] = ()) -> list[dict[str, Any]]:
    """Readable photos in the catalog, restricted to files/folders in ``paths`` when given."""
    roots = [Path(os.path.abspath(p)) for p in paths]
    rows = catalog.readable_photos()
    return [r for r in rows if not roots or under_roots(r["path"], roots)]


def xmp_rating(state: dict[str, Any]) -> int | None:
    """The ``xmp:Rating`` a catalog rating state maps to (−1 reject), or None when never rated."""
    if state.get("decision") == "reject":
        return -1
    if state.get("stars") is None and state.get("decision") in (None, "none"):
        return None
    return int(state.get("stars") or 0)


def catalog_update(catalog: Catalog, photo_id: int) -> SidecarData:
    """What culler knows about a photo, as sidecar fields (rating and label only when rated here)."""
    state = catalog.current_rating(photo_id)
    rated = state.get("source") is not None
    scores = catalog.scored_versions(photo_id)
    decision = state.get("decision")
    rating = xmp_rating(state) if rated else None
    if rated and rating is None:
        # Rated here, then cleared or undone back to "unrated": XMP's 0 says so, and stops a stale
        # reject in the sidecar from coming back on the next `culler xmp read`.
        rating = 0
    details = catalog.tag_details([photo_id]).get(photo_id, {})
    data = SidecarData(
        rating=rating,
        label=_label(catalog, photo_id, state) if rated else None,
        decision=(decision if decision in ("pick", "reject") else "none") if rated else None,
        scores=scores,
        tags={tag: info["probability"] for tag, info in details.items()},
        tag_sources={tag: info["source"] for tag, info in details.items()},
    )
    data.keywords = sorted(culler_keywords(data))
    hand = catalog.hand_tag_states([photo_id]).get(photo_id, {})
    data.removed_keywords = {tag for tag, (present, _) in hand.items() if not present}
    return data


def _label(catalog: Catalog, photo_id: int, state: dict) -> str | None:
    """The label to write for a photo rated here: its label; ``""`` (remove the sidecar's) when it
    had one in culler and it was cleared, so the next `xmp read` does not bring it back; None
    (leave the sidecar's, e.g. one set in Lightroom) when culler never labelled it."""
    if state.get("label"):
        return state["label"]
    return "" if catalog.label_cleared(photo_id) else None


class _Folders:
    """Folder listings, read once each, to tell which photos share a stem."""

    def __init__(self) -> None:
        self._names: dict[Path, list[str]] = {}

    def shared(self, photo: Path, capture: Iterable[Path] = ()) -> bool:
        """Whether another photo has ``photo``'s stem; the files of its own ``capture`` do not count."""
        from culler.interop.xmp import stem_is_shared

        names = self._names.get(photo.parent)
        if names is None:
            try:
                names = os.listdir(photo.parent)
            except OSError:
                names = []
            self._names[photo.parent] = names
        own = {p.name for p in capture if p.parent == photo.parent}
        return stem_is_shared(photo, [n for n in names if n not in own] if own else names)


def sidecar_anchors(catalog: Catalog, photos: list[dict[str, Any]]) -> dict[int, list[Path]]:
    """{photo id: the files of its capture, the file its sidecar belongs beside first}. A RAW+JPEG
    capture's sidecar sits beside the RAW, where Lightroom and darktable look for it; a photo of one
    file is its own anchor. A RAW deleted since the last scan is passed over."""
    files = catalog.capture_files([p["id"] for p in photos])
    anchors: dict[int, list[Path]] = {}
    for photo in photos:
        path = Path(photo["path"])
        raws = [
            Path(f["path"])
            for f in files.get(photo["id"], [])
            if f["kind"] == "raw" and Path(f["path"]).exists()
        ]
        others = [
            Path(f["path"]) for f in files.get(photo["id"], []) if Path(f["path"]) not in raws
        ]
        anchors[photo["id"]] = [*raws, path, *others]
    return anchors


def write_sidecars(
    catalog: Catalog,
    photos: list[dict[str, Any]] | None = None,
    *,
    naming: str = "auto",
    rated_only: bool = False,
    dry_run: bool = False,
) -> SyncReport:
    """Write (merge) a sidecar for each photo; ``photos`` are rows with ``id`` and ``path``.

    This is also the function culling front ends call after a rating change to keep sidecars in step.
    """
    report = SyncReport()
    folders = _Folders()
    photos = select_photos(catalog) if photos is None else photos
    anchors = sidecar_anchors(catalog, photos)
    for photo in photos:
        path = Path(photo["path"])
        if not path.exists():
            report.errors.append(
                {
                    "path": str(path),
                    "error": f"{path}: photo not found on disk, no sidecar written "
                    "(run `culler scan` on its folder to mark it missing)",
                }
            )
            continue
        update = catalog_update(catalog, photo["id"])
        if rated_only and update.rating is None:
            report.skipped.append({"path": str(path), "reason": "not rated in culler"})
            continue
        try:
            capture = anchors.get(photo["id"]) or [path]
            anchor = capture[0]
            target = sidecar_path(anchor, naming, shared=folders.shared(anchor, capture))
            changed = write_sidecar(target, update, dry_run=dry_run)
        except (XmpError, OSError) as exc:
            report.errors.append({"path": str(path), "error": str(exc)})
            continue
        if changed:
            report.changed.append({"path": str(path), "sidecar": str(target), **update.to_json()})
        else:
            report.unchanged += 1
    return report


def write_sidecars_for(
    catalog: Catalog, photo_ids: Iterable[int], naming: str = "auto"
) -> SyncReport:
    """Write the sidecars of just these photos: what ``culler cull --xmp`` and the GUI call after a
    rating change, so the editor opened next already sees the decision."""
    rows = catalog.readable_photos(photo_ids)
    return write_sidecars(catalog, rows, naming=naming)


def imported_fields(current: dict[str, Any], data: SidecarData) -> dict[str, Any]:
    """The rating fields a sidecar changes, compared with the catalog's current state."""
    changes: dict[str, Any] = {}
    current_rating = xmp_rating(current)
    # xmp:Rating 0 means "unrated": it must not turn an unrated photo into a rated-0 training example.
    unrated = data.rating == 0 and current_rating is None
    if data.rating is not None and data.rating != current_rating and not unrated:
        if data.rating == -1:
            changes["decision"] = "reject"
        else:
            changes["stars"] = data.rating
            if current.get("decision") == "reject":
                changes["decision"] = "none"
    if (
        data.decision == "pick"
        and data.rating != -1
        and current.get("decision") != "pick"
        and changes.get("decision") in (None, "none")
    ):
        changes["decision"] = "pick"
    if data.label is not None and data.label != current.get("label"):
        changes["label"] = data.label
    return changes


def imported_keywords(data: SidecarData, hand: dict[str, tuple[bool, str]]) -> list[str]:
    """The sidecar's ``dc:subject`` keywords that become hand tags (source ``xmp``): not ones culler
    wrote for a scorer's tag, and not ones the catalog already holds as hand tags or a person
    removed in culler (that decision stands; ``culler xmp write`` takes a removed one out)."""
    from culler.catalog.tags import normalise_tag

    machine = {
        keyword_key(tag)
        for tag, source in data.tag_sources.items()
        if source not in ("hand", "xmp", "")
    }
    found: list[str] = []
    for word in data.keywords or []:
        try:
            tag = normalise_tag(word)
        except ValueError:
            continue
        if tag in machine or tag in hand or tag in found:
            continue
        found.append(tag)
    return found


def read_sidecars(
    catalog: Catalog,
    photos: list[dict[str, Any]] | None = None,
    *,
    naming: str = "auto",
    dry_run: bool = False,
) -> SyncReport:
    """Import ratings and labels from each photo's sidecar as rating events with source ``xmp``, and
    its keywords (``dc:subject``, e.g. Lightroom's) as hand tags with source ``xmp``."""
    report = SyncReport()
    photos = select_photos(catalog) if photos is None else photos
    anchors = sidecar_anchors(catalog, photos)
    for photo in photos:
        path = Path(photo["path"])
        try:
            # Beside the RAW first (Lightroom's, darktable's), then any other file of the capture.
            sidecar = next(
                (
                    found
                    for member in anchors.get(photo["id"]) or [path]
                    if (found := sidecar_path(member, naming, for_writing=False)) is not None
                ),
                None,
            )
            if sidecar is None:
                report.skipped.append({"path": str(path), "reason": "no sidecar"})
                continue
            data = read_sidecar(sidecar)
        except (XmpError, OSError) as exc:
            report.errors.append({"path": str(path), "error": str(exc)})
            continue
        changes = imported_fields(catalog.current_rating(photo["id"]), data)
        hand = catalog.hand_tag_states([photo["id"]]).get(photo["id"], {})
        keywords = imported_keywords(data, hand)
        if not changes and not keywords:
            report.unchanged += 1
            continue
        if not dry_run:
            if changes:
                catalog.rate(photo["id"], source="xmp", reason=f"sidecar {sidecar.name}", **changes)
            if keywords:
                catalog.tag_photos([photo["id"]], add=keywords, source="xmp")
        entry = {"path": str(path), "sidecar": str(sidecar), **changes}
        if keywords:
            entry["tags"] = keywords
        report.changed.append(entry)
    return report
