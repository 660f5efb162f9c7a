"""Hostile weight files and archives: expansion bombs (zip and tar), archives with too many members or
special files, and safetensors headers that claim 2⁶³ bytes, a hundred thousand tensors or data past
the end of the file. Each is refused before anything is unpacked or allocated, with one line, and
nothing is installed.
"""

from __future__ import annotations

import io
import os
import signal
import stat
import struct
import tarfile
import zipfile

import pytest

import culler.models.archives
from culler.models.personal_heads import read_head_meta
from culler.models.weights import WeightsError, load_state_dict, scorer_dir
from culler.testing import write_safetensors


@pytest.fixture
def published(published_scorer):
    return published_scorer("bomb-test", "", b"good weights " * 100)


def nothing_installed(scorer_id: str) -> bool:
    folder = scorer_dir(scorer_id)
    return not folder.exists() or not [p for p in folder.rglob("*") if p.name != "manifest.json"]


def one_error(output: str) -> str:
    assert "Traceback" not in output
    (line,) = [line for line in output.splitlines() if line.startswith("Error:")]
    return line


@pytest.fixture
def small_allowance(monkeypatch):
    """An archive may unpack to 1 MB here, so a real bomb can be small enough to build quickly."""
    monkeypatch.setattr(culler.models.archives, "MIN_ALLOWANCE", 1 << 20)


def test_a_zip_bomb_is_refused_before_extracting(published, tmp_path, culler_cli, small_allowance):
    bomb = tmp_path / "weights.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("model.safetensors", b"\0" * (8 << 20))  # 8 MB of zeros: ~8 KB compressed
    assert bomb.stat().st_size < 64 << 10
    line = one_error(culler_cli("models", "import", "bomb-test", bomb, expect=1).output)
    assert "unpacks to more than" in line and "decompression bomb" in line
    assert nothing_installed("bomb-test")


def test_a_tar_bomb_is_refused_at_its_first_header(
    published, tmp_path, culler_cli, small_allowance
):
    bomb = tmp_path / "weights.tar.gz"
    with tarfile.open(bomb, "w:gz") as tf:
        info = tarfile.TarInfo("model.safetensors")
        info.size = 8 << 20
        tf.addfile(info, io.BytesIO(b"\0" * info.size))
    line = one_error(culler_cli("models", "import", "bomb-test", bomb, expect=1).output)
    assert "decompression bomb" in line
    assert nothing_installed("bomb-test")


def test_a_zip_declaring_gigabytes_is_refused_from_its_table_of_contents(
    published, tmp_path, culler_cli
):
    """Without lowering any limit: the central directory says 4 GB for a 1 KB archive."""
    archive = tmp_path / "liar.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("model.safetensors", b"x" * 100)
    data = bytearray(archive.read_bytes())
    entry = data.index(b"PK\x01\x02")
    data[entry + 24 : entry + 28] = struct.pack("<I", 0xFFFFFFF0)  # uncompressed size
    archive.write_bytes(bytes(data))
    line = one_error(culler_cli("models", "import", "bomb-test", archive, expect=1).output)
    assert "unpacks to more than 256 MB" in line
    assert nothing_installed("bomb-test")


def test_an_archive_of_too_many_members_is_refused(published, tmp_path, culler_cli):
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(culler.models.archives.MAX_MEMBERS + 1):
            zf.writestr(f"f{i}.txt", b"")
    line = one_error(culler_cli("models", "import", "bomb-test", archive, expect=1).output)
    assert f"more than {culler.models.archives.MAX_MEMBERS} members" in line
    assert nothing_installed("bomb-test")


def test_device_members_are_refused(published, tmp_path, culler_cli):
    tar = tmp_path / "device.tar"
    with tarfile.open(tar, "w") as tf:
        device = tarfile.TarInfo("model.safetensors")
        device.type, device.devmajor, device.devminor = tarfile.CHRTYPE, 1, 5  # /dev/zero
        tf.addfile(device)
    zipped = tmp_path / "device.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        info = zipfile.ZipInfo("model.safetensors")
        info.external_attr = (stat.S_IFCHR | 0o644) << 16
        zf.writestr(info, b"")
    for archive in (tar, zipped):
        line = one_error(culler_cli("models", "import", "bomb-test", archive, expect=1).output)
        assert "not a regular file" in line
    assert nothing_installed("bomb-test")


def _hostile_headers(tmp_path):
    tensor = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
    many = {f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(100_001)}
    huge = (
        b'{"t": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}' + b" " * (17 << 20) + b"}"
    )
    return {
        "2^63 header": (write_safetensors(tmp_path / "a.safetensors", {"t": tensor}, b"\0" * 4, 2**63),
                        "header claims 9223372036854775808 bytes"),
        "many tensors": (write_safetensors(tmp_path / "b.safetensors", many),
                         "100001 tensors is more than culler loads"),
        "17 MB header": (write_safetensors(tmp_path / "f.safetensors", huge),
                         "header of 17 MB is larger than any weights'"),
        "past the end": (write_safetensors(tmp_path / "c.safetensors", {"t": {
                             "dtype": "F32", "shape": [2**40], "data_offsets": [0, 2**42]}},
                             b"\0" * 4), "lies outside the file's 4 data bytes"),
        "size ≠ shape": (write_safetensors(tmp_path / "d.safetensors", {"t": {
                             "dtype": "F32", "shape": [3], "data_offsets": [0, 4]}}, b"\0" * 4),
                         "has 4 bytes for a shape of 3 elements"),
        "unknown dtype": (write_safetensors(tmp_path / "e.safetensors", {"t": {
                              "dtype": "F1024", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4),
                          "unknown dtype"),
    }  # fmt: skip


def _expire(_signum, _frame):
    raise TimeoutError("a hostile safetensors header was parsed as if it were real")


def test_hostile_safetensors_headers_are_refused_fast(tmp_path):
    """Under an alarm: refusing must not mean reading (or allocating) what the header claims."""
    previous = signal.signal(signal.SIGALRM, _expire)
    signal.alarm(30)
    try:
        for path, reason in _hostile_headers(tmp_path).values():
            with pytest.raises(WeightsError, match=reason.replace("^", r"\^")):
                load_state_dict(path)
            with pytest.raises(WeightsError, match=reason.replace("^", r"\^")):
                read_head_meta(path)  # a personal-model bundle's head file
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_models_import_of_a_hostile_safetensors_file_is_one_line(tmp_path, culler_cli):
    path, reason = _hostile_headers(tmp_path)["2^63 header"]
    line = one_error(culler_cli("models", "import", "clip-aesthetic", path, expect=1).output)
    assert reason in line
    assert nothing_installed("clip-aesthetic")


def test_a_fifo_given_as_weights_is_refused_without_opening_it(published, tmp_path, culler_cli):
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    previous = signal.signal(signal.SIGALRM, _expire)
    signal.alarm(30)
    try:
        line = one_error(culler_cli("models", "import", "bomb-test", fifo, expect=1).output)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert "is not a file" in line
    assert nothing_installed("bomb-test")
