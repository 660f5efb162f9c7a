"""Find photo files under folders: recursive, hidden files and sidecars skipped, symlink loops survived.

Every path found is the file's real path (symlinks resolved): a folder scanned once directly and once
through a link to it, or a photo reached through a file link, is one file with one catalog row, so no
two rows can hold two decisions for it or write its one sidecar twice. Hard links (one file under
several names, as backup snapshots make them) are one file too: it is found under the first name the
walk meets, and its other names are reported as links to it.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from culler.imaging.images import supported_extensions
from culler.scan.work import THUMB_DIR_NAME, Echo, Found

SKIP_DIRS = {THUMB_DIR_NAME, "__MACOSX", "@eaDir", "$RECYCLE.BIN", "System Volume Information"}


def _folder_error(folder_errors: list[Found] | None, directory: str, exc: OSError) -> None:
    if folder_errors is None:
        return
    from culler.imaging.images import os_error_reason as _os_reason

    if exc.errno == errno.ENAMETOOLONG:
        reason = (
            f"its path is longer than this system allows ({len(os.fsencode(directory))} bytes): "
            "culler cannot reach the photos in it; move the folder up or shorten its names"
        )
    else:
        reason = _os_reason(exc).replace("this file", "this folder")
    folder_errors.append(Found(path=directory, error=reason))


def walk_photos(
    roots: list[Path],
    extensions: set[str] | None = None,
    folder_errors: list[Found] | None = None,
    links: dict[str, str] | None = None,
) -> Iterator[Found]:
    """Yield every photo file under ``roots`` (files given directly are yielded too).

    Paths are real paths. Directory symlinks are followed once per real directory, so a loop ends
    instead of recursing forever, and a file reached by two paths is yielded once. A file whose stat
    fails (dangling link, link loop, permissions) is yielded with ``error`` under the name found.
    A folder that cannot be listed is appended to ``folder_errors`` (when given) with the reason, so the
    scan can say so and leave the catalog rows of the photos under it alone. A further name of a
    file already yielded (a hard link) is not yielded: ``links`` (when given) maps it to that name.
    """
    extensions = {e.lower() for e in (extensions or supported_extensions())}
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[str] = set()
    seen_inodes: dict[tuple[int, int], str] = {}
    stack = [os.path.realpath(r) for r in reversed(roots)]
    while stack:
        directory = stack.pop()
        try:
            st = os.stat(directory)
        except FileNotFoundError:
            continue  # gone since it was listed
        except OSError as exc:
            # A path longer than PATH_MAX (ENAMETOOLONG), a link loop: said, not silently skipped.
            _folder_error(folder_errors, directory, exc)
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            continue  # reached again through a symlink: a loop or an alias
        seen_dirs.add(key)
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            _folder_error(folder_errors, directory, exc)
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
                subdirs.append(os.path.realpath(path) if entry.is_symlink() else path)
                continue
            if os.path.splitext(name)[1].lower() not in extensions:
                continue
            try:
                st = entry.stat(follow_symlinks=True)
            except OSError as exc:
                from culler.imaging.images import os_error_reason as _os_reason

                yield Found(path=path, error=_os_reason(exc))
                continue
            if entry.is_symlink() and stat.S_ISREG(st.st_mode):
                # One identity per photo; a link to a device or a pipe keeps the name the user
                # sees, so its error row sits in the folder that holds it.
                path = os.path.realpath(path)
            if path in seen_files:
                continue  # the same file through another link
            seen_files.add(path)
            inode = None
            if st.st_nlink > 1 and stat.S_ISREG(st.st_mode):
                inode = (st.st_dev, st.st_ino)
                first = seen_inodes.setdefault(inode, path)
                if first != path:
                    if links is not None:
                        links[path] = first
                    continue  # another name of a file already found
            yield Found(path=path, size=st.st_size, mtime_ns=st.st_mtime_ns, inode=inode)
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
    """True when ``path`` lies under one of ``roots``, named as given or by their real paths (rows
    stored by older scans may use either)."""
    return RootSet(roots).contains(path)


class RootSet:
    """Scanned folders, by the names given and their real paths, resolved once for many lookups."""

    def __init__(self, roots: list[Path]) -> None:
        forms = {form for r in roots for form in (os.path.abspath(r), os.path.realpath(r))}
        self._exact = forms
        self._prefixes = tuple(form.rstrip(os.sep) + os.sep for form in forms)

    def contains(self, path: str) -> bool:
        return path in self._exact or path.startswith(self._prefixes)


def root_of(path: str, roots: list[Path]) -> str:
    """The scanned root ``path`` lies under (the first, when roots nest), as its real path."""
    for root in roots:
        if under_roots(path, [root]):
            return os.path.realpath(root)
    return os.path.realpath(roots[0]) if roots else ""


class RealPaths:
    """Real paths of catalogued files, cheaply: one ``realpath`` per folder, not per file.

    ``full`` also resolves the file name itself (a row stored through a file link); it costs a
    syscall per call, so the planner asks it only for the few rows under the scanned folders.
    """

    def __init__(self) -> None:
        self._dirs: dict[str, str] = {}

    def folder(self, path: str) -> str:
        parent, _, name = path.rpartition(os.sep)  # catalog paths are absolute
        real = self._dirs.get(parent)
        if real is None:
            real = self._dirs[parent] = os.path.realpath(parent or os.sep)
        return path if real == parent else os.path.join(real, name)

    def full(self, path: str) -> str:
        return os.path.realpath(self.folder(path))


class Listings:
    """Which files exist, by one listing per folder (for rows whose files may have vanished)."""

    def __init__(self) -> None:
        self._names: dict[str, set[str] | None] = {}

    def exists(self, path: str) -> bool:
        """False only when the file is known to be gone (its folder is gone, or lists without it);
        a folder that cannot be listed proves nothing."""
        parent, name = os.path.split(path)
        if parent not in self._names:
            try:
                self._names[parent] = set(os.listdir(parent))
            except (FileNotFoundError, NotADirectoryError):
                self._names[parent] = set()
            except OSError:
                self._names[parent] = None
        names = self._names[parent]
        return names is None or name in names
