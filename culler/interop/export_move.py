"""Moving one photo with its sidecars so that a kill at any moment leaves a state a rerun repairs.

The order, per photo: write the move down in the catalog's journal; put each file at its target
complete (a hard link on the same filesystem, else a copy to a hidden ``.NAME.culler-part`` file in
the destination, fsynced, then linked to its real name, which never overwrites); make the target the
photo's catalog path (one transaction); unlink the sources; cross the move out of the journal. So a
target name never holds a partial file, the catalog never names a path without the photo, and
:func:`recover_moves` finishes a move whose photo reached its target and undoes any other.

The further files of a capture (the RAW beside the JPEG) are moved with it as the sidecars are, and
the catalog records them at their targets. A sidecar shared with a photo that stays (a RAW and a JPEG
of one stem that are not one capture) is copied, not moved (``how == "copy"``): that photo keeps it.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from culler.catalog import Catalog

PART_SUFFIX = ".culler-part"
#: link() failures that mean "this filesystem cannot hard-link here": copy instead.
_NO_LINK = {errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS}

#: (source, target, "move" | "copy"), the photo first, then its capture's other files and sidecars.
File = tuple[str, str, str]


def part_name(target: Path) -> Path:
    """The hidden name a copy is written under until it is complete (scans skip dot files)."""
    return target.with_name(f".{target.name}{PART_SUFFIX}")


def move_files(catalog: Catalog, photo_id: int, files: list[File]) -> None:
    """Move one photo and its sidecars, journalled; on an error undo what this call placed."""
    targets_before = {t for _, t, _ in files if os.path.lexists(t)}
    move_id = catalog.begin_move(photo_id, files)
    try:
        for source, target, how in files:
            if target not in targets_before:
                place(Path(source), Path(target), how)
    except OSError:
        _undo([f for f in files if f[1] not in targets_before])
        catalog.end_move(move_id)
        raise
    catalog.settle_move(photo_id, files[0][1], files[1:])
    drop_sources(files)
    catalog.end_move(move_id)


def place(source: Path, target: Path, how: str) -> None:
    """A complete copy of ``source`` at ``target``; never overwrites, never a partial ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if how == "move":
        try:
            os.link(source, target)  # same filesystem: complete at once, and never overwrites
            _fsync_dir(target.parent)
            return
        except OSError as exc:
            if exc.errno not in _NO_LINK:
                raise
    part = part_name(target)
    _remove(part)  # left by a killed run
    with open(source, "rb") as src, open(part, "xb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
        dst.flush()
        os.fsync(dst.fileno())
    shutil.copystat(source, part)
    _publish(part, target)


def _publish(part: Path, target: Path) -> None:
    """Give the complete ``part`` its real name without overwriting anything there."""
    try:
        os.link(part, target)
    except OSError as exc:
        if exc.errno not in _NO_LINK:
            raise
        # No hard links here (FAT, some network shares): rename, after checking the name is free.
        if os.path.lexists(target):
            _remove(part)  # the name was taken meanwhile: no hidden copy is left beside it
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target)) from exc
        os.rename(part, target)
    else:
        os.unlink(part)
    _fsync_dir(target.parent)


def drop_sources(files: list[File]) -> None:
    """Unlink each moved source whose target holds the same bytes (never one without its copy)."""
    for source, target, how in files:
        if (
            how == "move"
            and os.path.abspath(source) != os.path.abspath(target)
            and not os.path.islink(target)  # a link to the source is no copy of it
            and os.path.lexists(source)
            and same_file_content(source, target)
        ):
            os.unlink(source)
            _fsync_dir(Path(source).parent)


def recover_moves(catalog: Catalog) -> list[str]:
    """Finish or undo every move a killed export left half-done; return one line about each.

    A move whose photo is complete at its target (or already recorded there) is finished: missing
    sidecars are placed, the catalog follows, the sources go. Any other is undone: what it placed
    is removed (only files identical to their still-present sources) and the photo stays put.
    """
    notes = []
    for move in catalog.pending_moves():
        files: list[File] = move["files"]
        for _, target, _ in files:
            _remove(part_name(Path(target)))
        photo = catalog.photo(move["photo_id"])
        source, target, _ = files[0]
        if photo is not None and (photo["path"] == target or _placed(source, target)):
            for side_source, side_target, how in files[1:]:
                if not os.path.lexists(side_target) and os.path.exists(side_source):
                    place(Path(side_source), Path(side_target), how)
            if photo["path"] != target:
                catalog.settle_move(move["photo_id"], target, files[1:])
            drop_sources(files)
            notes.append(f"finished the interrupted move of {source} to {target}")
        else:
            _undo(files)
            notes.append(f"undid the interrupted move of {source} (it stays where it was)")
        catalog.end_move(move["id"])
    return notes


def _placed(source: str, target: str) -> bool:
    """The photo is complete at ``target``: same bytes as the source, or the only copy left."""
    if not os.path.isfile(target):
        return False
    return not os.path.lexists(source) or same_file_content(source, target)


def _undo(files: list[File]) -> None:
    for source, target, _ in files:
        _remove(part_name(Path(target)))
        if os.path.lexists(target) and os.path.exists(source) and same_file_content(source, target):
            os.unlink(target)


def same_file_content(a: str | Path, b: str | Path) -> bool:
    """Whether ``a`` and ``b`` hold the same bytes (the same inode, or equal content)."""
    try:
        if os.path.samefile(a, b):
            return True
        if os.path.getsize(a) != os.path.getsize(b):
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


def _remove(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _fsync_dir(folder: Path) -> None:
    """Make a new or removed name durable (a crash right after must not lose it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # e.g. a platform without directory fds: the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
