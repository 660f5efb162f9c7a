"""Files of one capture: a camera set to RAW+JPEG writes ``IMG_0001.CR3`` and ``IMG_0001.JPG`` side by
side, and every culler a photographer knows treats them as one photo (issue #30).

:func:`pair_captures` is pure: given the files discovery found, it keeps one file per capture, the one
the scan decodes (a JPEG before a HEIC, either before the RAW: the cheapest decode that serves the
scorers) and hangs the capture's other files on it as ``companions``. Pairing is by folder and stem
(case-insensitive, as cameras and card readers spell extensions either way), and only a RAW with a
JPEG or HEIC is a capture: two JPEGs of one stem (``IMG_1.jpg`` and an edited ``IMG_1.jpeg``) stay two
photos, and so do two RAWs (a RAW and its DNG conversion).
"""

from __future__ import annotations

import os
from dataclasses import replace

from culler.scan.work import Found

#: Camera RAW formats (and DNG) by extension.
RAW_EXTENSIONS = frozenset(
    [
        ".3fr",
        ".ari",
        ".arw",
        ".bay",
        ".cr2",
        ".cr3",
        ".crw",
        ".dcr",
        ".dng",
        ".erf",
        ".fff",
        ".iiq",
        ".k25",
        ".kdc",
        ".mef",
        ".mos",
        ".mrw",
        ".nef",
        ".nrw",
        ".orf",
        ".pef",
        ".raf",
        ".raw",
        ".rw2",
        ".rwl",
        ".sr2",
        ".srf",
        ".srw",
        ".x3f",
    ]
)
#: The files a camera writes beside its RAW, cheapest decode first.
RENDERED_EXTENSIONS = (".jpg", ".jpeg", ".heic", ".heif", ".hif")


def file_kind(path: str) -> str:
    """``raw``, ``jpeg``, ``heic`` or ``other``, by extension."""
    ext = os.path.splitext(path)[1].lower()
    if ext in RAW_EXTENSIONS:
        return "raw"
    if ext in (".jpg", ".jpeg"):
        return "jpeg"
    if ext in (".heic", ".heif", ".hif"):
        return "heic"
    return "other"


def _capture_key(path: str) -> tuple[str, str]:
    folder, name = os.path.split(path)
    return folder, os.path.splitext(name)[0].lower()


def pair_captures(found: list[Found]) -> list[Found]:
    """``found`` with each capture's files made one: the file to decode, carrying the others as
    ``companions``. Files that could not be stat'ed, and files of no capture, pass unchanged; the
    order of the rest is kept (the primary takes the place of the capture's first file)."""
    groups: dict[tuple[str, str], list[Found]] = {}
    for f in found:
        if f.error is None and file_kind(f.path) != "other":
            groups.setdefault(_capture_key(f.path), []).append(f)
    primary_of: dict[str, Found] = {}
    absorbed: set[str] = set()
    for members in groups.values():
        raws = [f for f in members if file_kind(f.path) == "raw"]
        rendered = [f for f in members if file_kind(f.path) != "raw"]
        if len(raws) != 1 or not rendered:
            continue
        exts = [os.path.splitext(f.path)[1].lower() for f in rendered]
        if len(set(exts)) != len(exts) or len(rendered) > 2:
            continue  # IMG_1.jpg beside IMG_1.JPG (two files on a case-sensitive disk): not one capture
        rendered.sort(key=lambda f: RENDERED_EXTENSIONS.index(os.path.splitext(f.path)[1].lower()))
        if len({file_kind(f.path) for f in rendered}) != len(rendered):
            continue  # a .jpg and a .jpeg of one stem: an edit, not a capture
        primary = rendered[0]
        others = tuple(f for f in members if f is not primary)
        primary_of[members[0].path] = replace(primary, companions=others)
        absorbed.update(f.path for f in members)
    out: list[Found] = []
    for f in found:
        if f.path in primary_of:
            out.append(primary_of[f.path])
        elif f.path not in absorbed:
            out.append(f)
    return out


def pair_card_folders(rows: list[dict]) -> list[tuple[int, int]]:
    """Captures a camera wrote to its two cards (RAW to one, JPEG to the other), copied into two
    folders: ``(raw photo id, jpeg photo id)`` for each.

    ``rows`` are catalogued photos (``id``, ``path``, ``camera``, ``taken_at``, ``subsec``). Two
    photos are one capture when the camera, the capture time (to the fraction of a second where both
    record one) and the file stem agree, one is a RAW and the other a JPEG or HEIC, and they lie in
    different folders (one folder's pairs are made by :func:`pair_captures`). A time and stem that
    match more than one RAW or more than one rendered file are ambiguous and left apart.
    """
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for row in rows:
        if not row.get("camera") or not row.get("taken_at") or file_kind(row["path"]) == "other":
            continue
        stem = os.path.splitext(os.path.basename(row["path"]))[0].lower()
        groups.setdefault((row["camera"], row["taken_at"], stem), []).append(row)
    pairs = []
    for members in groups.values():
        raws = [r for r in members if file_kind(r["path"]) == "raw"]
        rendered = [r for r in members if file_kind(r["path"]) != "raw"]
        if len(raws) != 1 or len(rendered) != 1:
            continue
        raw, jpeg = raws[0], rendered[0]
        if os.path.dirname(raw["path"]) == os.path.dirname(jpeg["path"]):
            continue
        if raw.get("subsec") and jpeg.get("subsec") and raw["subsec"] != jpeg["subsec"]:
            continue
        pairs.append((raw["id"], jpeg["id"]))
    return pairs
