"""Unpacking weight archives for ``culler models import`` without letting them write anywhere else.

Every member is checked before anything is written: absolute paths, drive letters, ``..``, links and
special files refuse the whole archive (path traversal is the classic way an archive escapes its folder),
and so do more members or more unpacked bytes than weights need (an expansion bomb).
"""

from __future__ import annotations

import contextlib
import gzip
import lzma
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from culler.models.weights import (
    ZIP_MAX_MEMBERS,
    ZIP_MAX_RATIO,
    ZIP_MAX_TOTAL_BYTES,
    ZIP_MIN_ALLOWANCE,
    WeightsError,
)
from culler.safe_files import open_regular

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
#: Files inside an archive that are imported (READMEs, licences and configs are skipped).
WEIGHT_SUFFIXES = {".safetensors", ".pth", ".pt", ".bin", ".ckpt", ".npz", ".caffemodel"}


def is_archive(path: Path) -> bool:
    """By name: a torch ``.pth`` is itself a zip file, so content sniffing would mistake it for one."""
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def _member_target(archive: Path, root: Path, name: str) -> Path:
    """Where member ``name`` goes under ``root``; absolute names, drive letters and ``..`` refused."""
    clean = name.replace("\\", "/")
    pure = PurePosixPath(clean)
    if pure.is_absolute() or (len(clean) > 1 and clean[1] == ":") or ".." in pure.parts:
        raise WeightsError(
            f"{archive.name}: refusing member {name!r}: its path points outside the archive's "
            "folder (absolute or `..`); nothing was imported"
        )
    target = (root / pure).resolve()
    if not target.is_relative_to(root.resolve()):
        raise WeightsError(
            f"{archive.name}: refusing member {name!r}: it leaves the archive's folder"
        )
    return target


#: Limits on what an archive may unpack to, checked from its table of contents before anything is
#: written (a few kilobytes of zeros compress into gigabytes). Weights barely compress (floats), so
#: an archive may unpack to at most MAX_RATIO times its own size, MIN_ALLOWANCE for small ones.
MAX_MEMBERS = ZIP_MAX_MEMBERS
MAX_TOTAL_BYTES = ZIP_MAX_TOTAL_BYTES
MAX_RATIO = ZIP_MAX_RATIO
MIN_ALLOWANCE = ZIP_MIN_ALLOWANCE


class _Budget:
    """Counts members and declared bytes against the archive's limits, refusing the whole archive
    as soon as one is passed (before reading any further, let alone writing)."""

    def __init__(self, archive: Path, root: Path) -> None:
        self.archive = archive
        size = archive.stat().st_size
        self.limit = min(MAX_TOTAL_BYTES, max(MIN_ALLOWANCE, MAX_RATIO * size))
        try:
            free = shutil.disk_usage(root).free
        except OSError:
            free = None
        self.free = free
        self.members = 0
        self.total = 0

    def add(self, name: str, size: int) -> None:
        self.members += 1
        self.total += max(0, size)
        if self.members > MAX_MEMBERS:
            raise WeightsError(
                f"{self.archive.name}: more than {MAX_MEMBERS} members, more than any weights "
                "archive holds; nothing was imported — unpack it yourself and import the weight file"
            )
        if self.total > self.limit:
            raise WeightsError(
                f"{self.archive.name}: unpacks to more than {_mb(self.limit)} (member "
                f"{name!r} brings it to {_mb(self.total)}; the archive is "
                f"{_mb(self.archive.stat().st_size)}) — a decompression bomb or not weights; "
                "nothing was imported"
            )
        if self.free is not None and self.total > self.free:
            raise WeightsError(
                f"{self.archive.name}: unpacks to {_mb(self.total)}, more than the "
                f"{_mb(self.free)} free; free some space; nothing was imported"
            )


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.0f} MB" if n >= 1 << 20 else f"{n / 1024:.0f} KB"


def _refuse(archive: Path, name: str, why: str) -> WeightsError:
    return WeightsError(f"{archive.name}: refusing member {name!r}: {why}; nothing was imported")


def _zip_members(archive: Path, zf: zipfile.ZipFile, root: Path, budget: _Budget) -> list:
    out = []
    for info in zf.infolist():
        mode = info.external_attr >> 16
        target = _member_target(archive, root, info.filename)
        if stat.S_ISLNK(mode):
            raise _refuse(archive, info.filename, "it is a symbolic link")
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):  # 0: no Unix mode recorded
            raise _refuse(archive, info.filename, "not a regular file")
        if not info.is_dir():
            budget.add(info.filename, info.file_size)
            out.append((target, info.file_size, lambda info=info: zf.open(info)))
    return out


def _tar_members(archive: Path, tf: tarfile.TarFile, root: Path, budget: _Budget) -> list:
    out = []
    # One header at a time (not getmembers()): a compressed tar is read to its end to list it all,
    # and a bomb must be refused at the first header that passes the budget.
    while (member := tf.next()) is not None:
        target = _member_target(archive, root, member.name)
        if member.issym() or member.islnk():
            raise _refuse(archive, member.name, f"it is a link (to {member.linkname!r})")
        if member.isfile():
            budget.add(member.name, member.size)
            out.append((target, member.size, lambda m=member: tf.extractfile(m)))
        elif not member.isdir():
            raise _refuse(archive, member.name, "not a regular file")
    return out


def _members(archive: Path, handle: Any, root: Path) -> list[tuple[Path, int, Callable[[], Any]]]:
    """Every regular file of the archive as (target, declared size, opener), after checking every
    member: links, devices, paths leaving ``root`` and archives that unpack to too much refuse the
    whole archive before anything is written."""
    budget = _Budget(archive, root)
    if isinstance(handle, zipfile.ZipFile):
        return _zip_members(archive, handle, root, budget)
    return _tar_members(archive, handle, root, budget)


def _copy_capped(archive: Path, fin: Any, fout: Any, declared: int) -> None:
    """Copy one member, never more than it declared (a lying header cannot unpack past its budget)."""
    left = declared
    while block := fin.read(min(1 << 20, left + 1)):
        left -= len(block)
        if left < 0:
            raise WeightsError(
                f"{archive.name}: a member unpacks to more than the {declared} bytes it declares; "
                "the archive is damaged or hostile; nothing was imported"
            )
        fout.write(block)


def extract_weights(archive: Path, root: Path) -> list[Path]:
    """Extract ``archive``'s regular files under ``root`` (checked first, see :func:`_members`) and
    return the weight files among them (by suffix), sorted."""
    root.mkdir(parents=True, exist_ok=True)
    try:
        with contextlib.ExitStack() as stack:
            if archive.name.lower().endswith(".zip"):
                handle: Any = stack.enter_context(zipfile.ZipFile(archive))
            else:
                handle = stack.enter_context(tarfile.open(archive, "r:*"))
            members = _members(archive, handle, root)
            for target, declared, opener in members:
                target.parent.mkdir(parents=True, exist_ok=True)
                with opener() as fin, open(target, "xb") as fout:
                    _copy_capped(archive, fin, fout, declared)
    except (
        zipfile.BadZipFile,
        tarfile.TarError,
        EOFError,
        zlib.error,
        lzma.LZMAError,
        gzip.BadGzipFile,
    ) as exc:
        raise WeightsError(f"{archive.name} is not a readable archive: {exc}") from None
    except FileExistsError as exc:
        raise WeightsError(f"{archive.name}: a member appears twice ({exc.filename})") from None
    weights = sorted(
        t
        for t, _, _ in members
        if t.suffix.lower() in WEIGHT_SUFFIXES
        and not t.name.startswith(".")
        and "__MACOSX" not in t.parts
    )
    if not weights:
        names = ", ".join(sorted(t.name for t, _, _ in members)[:8]) or "nothing"
        raise WeightsError(
            f"{archive.name} holds no weight file ({', '.join(sorted(WEIGHT_SUFFIXES))}); it "
            f"contains: {names}"
        )
    return weights


# -- zip containers that are not archives: bundles, .npz, torch's zip checkpoints ---------------------
def unpack_members(archive: Path, names: tuple[str, ...], root: Path, what: str) -> dict[str, Path]:
    """Unpack only ``names`` of the zip ``archive`` into ``root`` (which must exist), each checked
    against the archive's budget before a byte is decompressed and never written past the size it
    declares. Every name must be there; WeightsError (one line, naming ``what``) otherwise."""
    archive = Path(archive)
    out: dict[str, Path] = {}
    try:
        with open_regular(archive) as fh, zipfile.ZipFile(fh) as zf:
            budget = _Budget(archive, root)
            members = {}
            for info in zf.infolist():
                if not info.is_dir():
                    budget.add(info.filename, info.file_size)  # the whole bundle, before unpacking
                    members.setdefault(info.filename, info)
            for name in names:
                info = members.get(name)
                if info is None:
                    raise WeightsError(
                        f"{archive.name} is not a {what}: it has no {name}; export it again"
                    )
                target = root / PurePosixPath(name).name
                with zf.open(info) as fin, open(target, "xb") as fout:
                    _copy_capped(archive, fin, fout, info.file_size)
                out[name] = target
    except (zipfile.BadZipFile, EOFError, zlib.error, ValueError) as exc:
        raise WeightsError(f"{archive.name} is not a {what} (not a readable zip: {exc})") from None
    return out
