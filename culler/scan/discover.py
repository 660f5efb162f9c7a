"""Find photo files under folders: recursive, hidden files and sidecars skipped, symlink loops survived."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from culler.images import supported_extensions
from culler.scan.work import THUMB_DIR_NAME, Echo, Found

SKIP_DIRS = {THUMB_DIR_NAME, "__MACOSX", "@eaDir", "$RECYCLE.BIN", "System Volume Information"}


def walk_photos(
    roots: list[Path],
    extensions: set[str] | None = None,
    folder_errors: list[Found] | None = None,
) -> Iterator[Found]:
    """Yield every photo file under ``roots`` (files given directly are yielded too).

    Directory symlinks are followed once per real directory, so a loop ends instead of recursing
    forever. A file whose stat fails (dangling link, link loop, permissions) is yielded with ``error``.
    A folder that cannot be listed is appended to ``folder_errors`` (when given) with the reason, so the
    scan can say so and leave the catalog rows of the photos under it alone.
    """
    extensions = {e.lower() for e in (extensions or supported_extensions())}
    seen_dirs: set[tuple[int, int]] = set()
    stack = [os.path.abspath(r) for r in reversed(roots)]
    while stack:
        directory = stack.pop()
        try:
            st = os.stat(directory)
        except OSError:
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            continue  # reached again through a symlink: a loop or an alias
        seen_dirs.add(key)
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            if folder_errors is not None:
                from culler.images import os_error_reason as _os_reason

                reason = _os_reason(exc).replace("this file", "this folder")
                folder_errors.append(Found(path=directory, error=reason))
            continue  # unreadable folder: nothing under it can be listed
        subdirs = []
        for entry in entries:
            name = entry.name
            if name.startswith(".") or name in SKIP_DIRS:
                continue
            path = os.path.join(directory, name)
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError:
                is_dir = False
            if is_dir:
                subdirs.append(path)
                continue
            if os.path.splitext(name)[1].lower() not in extensions:
                continue
            try:
                st = entry.stat(follow_symlinks=True)
            except OSError as exc:
                from culler.images import os_error_reason as _os_reason

                yield Found(path=path, error=_os_reason(exc))
                continue
            yield Found(path=path, size=st.st_size, mtime_ns=st.st_mtime_ns)
        stack.extend(reversed(subdirs))


def storable(found: list[Found], echo: Echo) -> tuple[list[Found], int]:
    """Drop files whose names SQLite cannot store (bytes that are not UTF-8), saying which.

    Returns the files kept and how many were dropped.
    """
    kept, bad = [], 0
    for f in found:
        try:
            f.path.encode("utf-8")
        except UnicodeEncodeError:
            bad += 1
            shown = f.path.encode("utf-8", "backslashreplace").decode("ascii", "replace")
            echo(f"skipped {shown}: its name is not valid UTF-8; rename it to scan it")
            continue
        kept.append(f)
    return kept, bad


def under_roots(path: str, roots: list[Path]) -> bool:
    for root in roots:
        root_s = os.path.abspath(root)
        if path == root_s or path.startswith(root_s.rstrip(os.sep) + os.sep):
            return True
    return False


def root_of(path: str, roots: list[Path]) -> str:
    """The scanned root ``path`` lies under (the first, when roots nest)."""
    for root in roots:
        if under_roots(path, [root]):
            return str(root)
    return str(roots[0]) if roots else ""
