"""The file steps of ``culler export picks --move`` (culler/interop/export_move.py), each pinned so that breaking
it fails a test: a source is only ever removed when its target holds the same bytes, a move is a hard
link where it can be and a copy of a shared sidecar never is, a failed move undoes only what it
placed, and an interrupted move is finished or undone with one line saying which."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from culler.interop import export_move
from culler.interop.export_move import move_files, place, recover_moves, same_file_content

MIB = 1 << 20


def _file(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_files_are_the_same_only_when_every_byte_is(tmp_path):
    big = os.urandom(3 * MIB + 10)  # compared in blocks: more than three of them
    a, b = _file(tmp_path / "a", big), _file(tmp_path / "b", big)
    assert same_file_content(a, b)
    changed = _file(tmp_path / "c", big[:-1] + bytes([big[-1] ^ 1]))  # differs in its last byte
    assert not same_file_content(a, changed)
    assert not same_file_content(a, tmp_path / "missing")  # unreadable is never "the same"


def test_a_move_is_a_hard_link_and_a_copy_is_a_file_of_its_own(tmp_path):
    source = _file(tmp_path / "src" / "IMG_1.jpg", b"photo")
    moved = tmp_path / "out" / "a" / "b" / "IMG_1.jpg"  # folders made as needed
    place(source, moved, "move")
    assert os.path.samefile(source, moved)  # same file system: linked, complete at once
    copied = tmp_path / "out" / "c" / "d" / "IMG_1.xmp"
    place(source, copied, "copy")  # a sidecar a RAW that stays also uses
    assert copied.read_bytes() == b"photo" and not os.path.samefile(source, copied)
    with pytest.raises(FileExistsError):
        place(source, moved, "copy")  # never overwrites


def test_without_hard_links_a_taken_name_is_refused_with_the_file_named(tmp_path, monkeypatch):
    source = _file(tmp_path / "IMG_1.jpg", b"photo")
    taken = _file(tmp_path / "out" / "IMG_1.jpg", b"someone else's")

    def no_links(src, dst):  # FAT, some network shares
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(export_move.os, "link", no_links)
    with pytest.raises(FileExistsError) as raised:
        place(source, taken, "move")
    assert (raised.value.errno, raised.value.strerror, raised.value.filename) == (
        errno.EEXIST,
        os.strerror(errno.EEXIST),
        str(taken),
    )
    assert taken.read_bytes() == b"someone else's"
    assert sorted(p.name for p in taken.parent.iterdir()) == ["IMG_1.jpg"]  # no part file left


def test_a_move_keeps_the_photos_file_and_crosses_its_journal_entry_out(tmp_path, catalog):
    source = _file(tmp_path / "src" / "IMG_1.jpg", b"photo")
    inode = source.stat().st_ino
    with catalog.transaction():
        pid = catalog.upsert_photo(str(source), str(source.parent), 5, 1)
    target = tmp_path / "out" / "IMG_1.jpg"
    move_files(catalog, pid, [(str(source), str(target), "move")])
    assert target.stat().st_ino == inode and not source.exists()
    assert catalog.photo(pid)["path"] == str(target)
    assert catalog.pending_moves() == []


def test_a_failed_move_undoes_only_what_it_placed(tmp_path, catalog, monkeypatch):
    photo = _file(tmp_path / "src" / "IMG_1.jpg", b"photo")
    sidecar = _file(tmp_path / "src" / "IMG_1.xmp", b"<x/>")
    earlier = _file(tmp_path / "out" / "IMG_1.jpg", b"photo")  # copied there by an earlier export
    with catalog.transaction():
        pid = catalog.upsert_photo(str(photo), str(photo.parent), 5, 1)
    real = export_move.place

    def full_disk(source, target, how):
        if target.suffix == ".xmp":
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        real(source, target, how)

    monkeypatch.setattr(export_move, "place", full_disk)
    files = [
        (str(photo), str(earlier), "move"),
        (str(sidecar), str(tmp_path / "out" / "IMG_1.xmp"), "move"),
    ]
    with pytest.raises(OSError):
        move_files(catalog, pid, files)
    assert earlier.read_bytes() == b"photo"  # not placed by this move: left alone
    assert photo.exists() and sidecar.exists()
    assert catalog.photo(pid)["path"] == str(photo)
    assert catalog.pending_moves() == []


def _interrupted(catalog, tmp_path, *, placed: bool) -> tuple[int, Path, Path]:
    source = _file(tmp_path / "src" / "IMG_1.jpg", b"photo")
    target = tmp_path / "out" / "IMG_1.jpg"
    with catalog.transaction():
        pid = catalog.upsert_photo(str(source), str(source.parent), 5, 1)
    catalog.begin_move(pid, [(str(source), str(target), "move")])
    if placed:
        place(source, target, "move")
    return pid, source, target


def test_an_interrupted_move_whose_photo_was_placed_is_finished(tmp_path, catalog):
    pid, source, target = _interrupted(catalog, tmp_path, placed=True)
    assert recover_moves(catalog) == [f"finished the interrupted move of {source} to {target}"]
    assert (not source.exists(), target.read_bytes()) == (True, b"photo")
    assert catalog.photo(pid)["path"] == str(target)


def test_an_interrupted_move_whose_photo_was_not_placed_is_undone(tmp_path, catalog):
    pid, source, target = _interrupted(catalog, tmp_path, placed=False)
    export_move.part_name(target).parent.mkdir(parents=True)
    export_move.part_name(target).write_bytes(b"ph")  # half a copy
    assert recover_moves(catalog) == [
        f"undid the interrupted move of {source} (it stays where it was)"
    ]
    assert source.read_bytes() == b"photo" and list(target.parent.iterdir()) == []
    assert catalog.photo(pid)["path"] == str(source)
    assert catalog.pending_moves() == []


def test_undoing_removes_a_target_only_while_its_identical_source_is_still_there(tmp_path):
    same = (_file(tmp_path / "s1", b"a"), _file(tmp_path / "t1", b"a"))
    other = (_file(tmp_path / "s2", b"a"), _file(tmp_path / "t2", b"b"))
    only = (tmp_path / "s3", _file(tmp_path / "t3", b"c"))  # its source is gone: the only copy
    export_move._undo([(str(s), str(t), "move") for s, t in (same, other, only)])
    assert [t.exists() for _, t in (same, other, only)] == [False, True, True]
    export_move._undo([(str(tmp_path / "s4"), str(tmp_path / "t4"), "move")])  # nothing there


def test_a_photo_counts_as_placed_when_complete_or_the_only_copy_left(tmp_path):
    placed = export_move._placed
    source = _file(tmp_path / "s", b"photo")
    assert not placed(str(source), str(tmp_path / "missing"))
    assert placed(str(source), str(_file(tmp_path / "same", b"photo")))
    assert not placed(str(source), str(_file(tmp_path / "half", b"ph")))
    source.unlink()
    assert placed(str(source), str(tmp_path / "half"))  # the source is gone: this is the photo
