"""Opening files that come from outside (photos, sidecars, weights) without hanging or flooding memory.

A FIFO named ``IMG_1.jpg`` blocks ``open()`` until some writer appears, and a symlink to
``/dev/zero`` named like a photo never ends. So every such file is checked with ``stat`` before it
is opened, opened non-blocking, checked again with ``fstat`` on the open descriptor (the name may
have been swapped in between), and read with a size cap.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

#: Largest photo culler reads: a 300 MP, 16-bit uncompressed TIFF is about 1.8 GB.
MAX_PHOTO_BYTES = 2 << 30


class RefusedFile(OSError):
    """A file that is not a regular file, or larger than the reader's cap; the message says which.
    ``filename`` is the path refused."""

    def __str__(self) -> str:  # OSError's would print "[Errno None] None" once a filename is set
        return str(self.args[0]) if self.args else "not read"


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _check(st: os.stat_result, max_bytes: int | None) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise RefusedFile(f"{_kind(st.st_mode)}, not a regular file: not read")
    if max_bytes is not None and st.st_size > max_bytes:
        raise RefusedFile(
            f"{st.st_size / 1e6:.0f} MB is larger than culler reads here "
            f"(limit {max_bytes / 1e6:.0f} MB): not read"
        )


def check_regular(path: str | os.PathLike, max_bytes: int | None = None) -> os.stat_result:
    """``stat`` of ``path`` (following links) when it is a regular file of at most ``max_bytes``,
    else :class:`RefusedFile`; ``OSError`` when it cannot be reached."""
    st = os.stat(path)
    try:
        _check(st, max_bytes)
    except RefusedFile as exc:
        exc.filename = os.fspath(path)
        raise
    return st


def open_regular(path: str | os.PathLike, max_bytes: int | None = None) -> BinaryIO:
    """Open ``path`` for reading in binary mode, only if it is a regular file of at most ``max_bytes``.

    The size checked is the size at opening; :func:`read_regular` also caps what it reads, for a file
    that grows while read.
    """
    check_regular(path, max_bytes)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        try:
            _check(os.fstat(fd), max_bytes)
        except RefusedFile as exc:
            exc.filename = os.fspath(path)
            raise
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # a regular file: reads behave as usual from here
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike, max_bytes: int) -> bytes:
    """The whole content of a regular file of at most ``max_bytes`` (see :func:`open_regular`)."""
    with open_regular(path, max_bytes) as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise RefusedFile(
            f"grew past {max_bytes / 1e6:.0f} MB while read (limit for this file): not read"
        )
    return data


def describe(path: str | Path, exc: OSError) -> str:
    """``path: reason`` for a refused or unreadable file, one line."""
    if isinstance(exc, RefusedFile):
        return f"{path}: {exc}"
    return f"{path}: cannot read ({exc.strerror or exc})"


def same_file(paths: Iterable[str], identity: tuple[int, int]) -> str | None:
    """The first of ``paths`` that names the file ``identity`` (device, inode): another hard link
    to it. Names that cannot be stat'ed (the file has gone since) are passed over."""
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == identity:
            return path
    return None
