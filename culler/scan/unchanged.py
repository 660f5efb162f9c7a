"""A rescan that finds nothing changed, proved folder by folder without the planner (issue #32).

The everyday rescan of a lifetime archive changes nothing. Discovery and the planner handle every file
as Python objects (a ``Found`` each, its capture key, the catalog's row as a ``PhotoState``): about 18 s
at a million photos for a scan that does nothing. :func:`unchanged_files` proves the same answer with
less: one ``os.scandir`` per folder (the ``DirEntry``'s own stat, its own path), compared as a set with
the catalog's rows of that folder, read down the path index (``Catalog.folder_files``), then one count
of the rows under the scanned folders, so a deleted file or folder is seen too. It answers None at the
first folder that differs; the scan then runs as before and plans everything.

Anything the planner would act on makes it answer None: a file that is new, gone, grown or touched; an
error row (a scan retries it); a photo a scorer has not scored; a symbolic link or a hard link (one
file, one row: the planner resolves them); a folder that cannot be listed; a RAW stored as a photo of
its own beside JPEGs (an older catalog's two rows for one capture, which the planner folds); rows
stored under the symbolic link the scan was given (an older culler kept the link's paths: the
planner folds them into the real files' rows). So a rescan that answers a number would have
skipped every file. Alias rows under some other link into the scanned folders wait for the next
scan that plans (nothing of theirs is lost meanwhile).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from culler.scan.captures import RAW_EXTENSIONS, RENDERED_EXTENSIONS
from culler.scan.discover import SKIP_DIRS

if TYPE_CHECKING:
    from culler.catalog import Catalog


class Unchanged(NamedTuple):
    """What a scan with nothing to do reports: the files it saw and the photos it skipped (the
    files of a RAW+JPEG capture are one photo)."""

    files: int
    photos: int


#: How ``Catalog.folder_files`` gives a missing photo.
_GONE = (None, None, None)


def unchanged_files(
    catalog: Catalog,
    roots: Iterable[Path | str],
    scorer_pks: Iterable[int] = (),
    extensions: set[str] | None = None,
) -> Unchanged | None:
    """The files and photos under ``roots`` when a scan of them has nothing to do: every file as
    catalogued (size and mtime), none new, none gone, and every photo scored by each scorer of
    ``scorer_pks`` (the active scorers' rows). None when anything differs, or cannot be proved here."""
    if extensions is None:
        from culler.imaging.images import supported_extensions

        extensions = supported_extensions()
    extensions = {e.lower() for e in extensions}
    pks = list(scorer_pks)
    real = [os.path.realpath(r) for r in roots]
    if not real or len(set(real)) != len(real) or not all(os.path.isdir(r) for r in real):
        return None
    if any(a != b and b.startswith(a.rstrip(os.sep) + os.sep) for a in real for b in real):
        return None  # nested roots: the planner sorts out which root a file belongs to
    given = [os.path.abspath(r) for r in roots]
    if any(g != r and catalog.files_under([g]) for g, r in zip(given, real, strict=True)):
        return None  # rows stored through the link the scan was given (an older culler's): the
        # planner folds them into the real files' rows, keeping their hand ratings
    matched = photos_seen = rows = 0
    stack = list(reversed(real))
    while stack:
        folder = stack.pop()
        found = _folder(folder, extensions, stack)
        if found is None:
            return None
        disk, raws, rendered = found
        photos, further, apart = catalog.folder_files(folder, pks)
        rows += len(photos) + len(further)
        known = set(photos)  # made in C: no row is touched in Python
        known.discard(_GONE)  # photos an earlier scan found gone: not on disk, nothing to do
        if len(known) + len(further) != len(disk):
            return None
        if raws and rendered and raws > len(further):
            return None  # maybe a RAW with its own row beside its JPEG: the planner folds them
        # An error row or a photo a scorer has not scored has no size here: it differs, and the
        # planner retries it or sends it to that scorer.
        if disk != known.union(further):
            return None
        matched += len(disk)
        # A RAW whose JPEG lies in another folder (a camera's two cards) counts as a photo skipped,
        # as the planner counts it.
        photos_seen += len(known) + apart
    if catalog.files_under(real) != rows:
        return None  # a row under the roots whose folder was not listed: a folder deleted or hidden
    return Unchanged(matched, photos_seen)


def _folder(
    folder: str, extensions: set[str], subfolders: list[str]
) -> tuple[set[tuple[str, int, int]], int, int] | None:
    """``(path, size, mtime_ns)`` of the photo files directly in ``folder``, and how many are RAWs
    and rendered files (JPEG, HEIC); its subfolders are pushed onto ``subfolders``. None for what
    the planner must handle: a link, a file that cannot be stat'ed, a folder that cannot be listed."""
    disk: set[tuple[str, int, int]] = set()
    raws = rendered = 0
    try:
        with os.scandir(folder) as it:
            for entry in it:
                name = entry.name
                if name[0] == "." or name in SKIP_DIRS:
                    continue
                # The entry's type comes with the listing: no system call for these two.
                if not entry.is_file(follow_symlinks=False):
                    if entry.is_dir(follow_symlinks=False):
                        subfolders.append(entry.path)
                        continue
                    return None  # a symbolic link (to a folder too) or a device: the planner's
                dot = name.rfind(".")
                ext = name[dot:].lower() if dot > 0 else ""
                if ext not in extensions:
                    continue
                st = entry.stat(follow_symlinks=False)
                if st.st_nlink > 1 or not stat.S_ISREG(st.st_mode):
                    return None
                disk.add((entry.path, st.st_size, st.st_mtime_ns))
                if ext in RAW_EXTENSIONS:
                    raws += 1
                elif ext in RENDERED_EXTENSIONS:
                    rendered += 1
    except OSError:
        return None
    return disk, raws, rendered
