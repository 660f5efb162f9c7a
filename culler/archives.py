"""Unpacking weight archives for ``culler models import`` without letting them write anywhere else.

Every member is checked before anything is written: absolute paths, drive letters, ``..``, links and
special files refuse the whole archive (path traversal is the classic way an archive escapes its folder).
"""

from __future__ import annotations

import contextlib
import shutil
import stat
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from culler.weights import WeightsError

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


def _members(archive: Path, handle: Any, root: Path) -> list[tuple[Path, Callable[[], Any]]]:
    """Every regular file of the archive as (target, opener), after checking every member: links,
    devices and paths leaving ``root`` refuse the whole archive before anything is written."""
    out: list[tuple[Path, Callable[[], Any]]] = []
    if isinstance(handle, zipfile.ZipFile):
        zf = handle
        for info in zf.infolist():
            mode = info.external_attr >> 16
            target = _member_target(archive, root, info.filename)
            if stat.S_ISLNK(mode):
                raise WeightsError(
                    f"{archive.name}: refusing member {info.filename!r}: it is a symbolic link; "
                    "nothing was imported"
                )
            if not info.is_dir():
                out.append((target, lambda info=info: zf.open(info)))
        return out
    tf = handle
    for member in tf.getmembers():
        target = _member_target(archive, root, member.name)
        if member.issym() or member.islnk():
            raise WeightsError(
                f"{archive.name}: refusing member {member.name!r}: it is a link "
                f"(to {member.linkname!r}); nothing was imported"
            )
        if member.isfile():
            out.append((target, lambda m=member: tf.extractfile(m)))
        elif not member.isdir():
            raise WeightsError(
                f"{archive.name}: refusing member {member.name!r}: not a regular file; "
                "nothing was imported"
            )
    return out


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
            for target, opener in members:
                target.parent.mkdir(parents=True, exist_ok=True)
                with opener() as fin, open(target, "xb") as fout:
                    shutil.copyfileobj(fin, fout, 1 << 20)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
        raise WeightsError(f"{archive.name} is not a readable archive: {exc}") from None
    except FileExistsError as exc:
        raise WeightsError(f"{archive.name}: a member appears twice ({exc.filename})") from None
    weights = sorted(
        t
        for t, _ in members
        if t.suffix.lower() in WEIGHT_SUFFIXES
        and not t.name.startswith(".")
        and "__MACOSX" not in t.parts
    )
    if not weights:
        names = ", ".join(sorted(t.name for t, _ in members)[:8]) or "nothing"
        raise WeightsError(
            f"{archive.name} holds no weight file ({', '.join(sorted(WEIGHT_SUFFIXES))}); it "
            f"contains: {names}"
        )
    return weights
