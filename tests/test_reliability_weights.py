"""Safe weights (issue 9 item 6): checkpoints that would run code are refused, a sha256 mismatch never
replaces a good file, and archive members cannot write outside the models folder."""

from __future__ import annotations

import io
import pickle
import tarfile
import zipfile
from pathlib import Path

import pytest
import torch

from culler.models.weights import (
    WeightsError,
    install_file,
    load_state_dict,
    manifest,
    models_dir,
    scorer_dir,
)


def _plant_marker(path: str) -> None:
    """What a hostile checkpoint would run on load; it must never be called."""
    Path(path).write_text("code ran")


class Hostile:
    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (_plant_marker, (self.marker,))


@pytest.fixture
def hostile_files(tmp_path):
    """A torch checkpoint and a bare pickle whose loading would create ``marker``."""
    marker = tmp_path / "marker"
    as_torch = tmp_path / "model.pth"
    torch.save({"weight": torch.zeros(2), "payload": Hostile(marker)}, as_torch)
    as_pickle = tmp_path / "model.bin"
    as_pickle.write_bytes(pickle.dumps({"weight": [0.0], "payload": Hostile(marker)}))
    assert not marker.exists()
    return marker, [as_torch, as_pickle]


def test_load_state_dict_refuses_code(hostile_files):
    marker, files = hostile_files
    for path in files:
        with pytest.raises(WeightsError, match="refused"):
            load_state_dict(path)
    assert not marker.exists()


@pytest.mark.parametrize("scorer_id", ["clip-aesthetic", "saan", "charlenet"])
def test_models_import_refuses_code(hostile_files, culler_cli, scorer_id):
    marker, files = hostile_files
    for path in files:
        result = culler_cli("models", "import", scorer_id, path, expect=1)
        assert "Error:" in result.output and "Traceback" not in result.output
    assert not marker.exists()
    assert not any(p.suffix != ".json" for p in scorer_dir(scorer_id).glob("*") if p.is_file())


@pytest.fixture
def published(published_scorer):
    return published_scorer("safe-test", "", b"good weights " * 100)


def test_sha_mismatch_keeps_the_old_file_byte_for_byte(published, tmp_path, culler_cli):
    good, spec = published
    culler_cli("models", "import", "safe-test", good)
    installed = scorer_dir("safe-test") / spec.name
    before, entry = installed.read_bytes(), dict(manifest("safe-test")[spec.name])
    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(b"evil weights " * 100)
    with pytest.raises(WeightsError, match="does not match its published sha256"):
        install_file("safe-test", spec.name, evil, expected_sha256=spec.sha256)
    result = culler_cli("models", "import", "safe-test", evil, expect=1)
    assert "is not a file safe-test uses" in result.output
    assert installed.read_bytes() == before
    assert manifest("safe-test")[spec.name] == entry
    assert sorted(p.name for p in scorer_dir("safe-test").iterdir()) == [
        "manifest.json",
        spec.name,
    ]


def _zip(path: Path, name: str, data: bytes, mode: int | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo(name)
        if mode is not None:
            info.external_attr = mode << 16
        zf.writestr(info, data)
    return path


def _tar(path: Path, member: tarfile.TarInfo, data: bytes = b"") -> Path:
    with tarfile.open(path, "w") as tf:
        member.size = len(data) if member.isfile() else 0
        tf.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return path


def _files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")} if root.exists() else set()


def test_archives_cannot_write_outside_the_models_folder(published, tmp_path, culler_cli):
    good, _ = published
    payload = good.read_bytes()
    # Where a traversal from <models>/safe-test/.import-*/archive/ would land.
    outside = [models_dir() / "evil.safetensors", models_dir().parent / "evil.safetensors"]
    link = tarfile.TarInfo("model.safetensors")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    hard = tarfile.TarInfo("model.safetensors")
    hard.type, hard.linkname = tarfile.LNKTYPE, "../../../evil.safetensors"
    dotdot = tarfile.TarInfo("../../../evil.safetensors")
    absolute = tarfile.TarInfo(str(tmp_path / "abs-evil.safetensors"))
    archives = {
        "zip ..": _zip(tmp_path / "a.zip", "../../../evil.safetensors", payload),
        "zip absolute": _zip(tmp_path / "b.zip", str(tmp_path / "abs-evil.safetensors"), payload),
        "zip symlink": _zip(tmp_path / "c.zip", "model.safetensors", b"/etc/passwd", 0o120777),
        "tar ..": _tar(tmp_path / "d.tar", dotdot, payload),
        "tar absolute": _tar(tmp_path / "e.tar", absolute, payload),
        "tar symlink": _tar(tmp_path / "f.tar", link),
        "tar hardlink": _tar(tmp_path / "g.tar", hard),
    }
    before = _files_under(tmp_path)
    for label, archive in archives.items():
        result = culler_cli("models", "import", "safe-test", archive, expect=1)
        assert "refusing member" in result.output, label
        assert "nothing was imported" in result.output, label
    for path in [*outside, tmp_path / "abs-evil.safetensors"]:
        assert not path.exists(), path
    assert _files_under(tmp_path) == before
    assert [p for p in models_dir().rglob("*") if p.is_file()] == []  # not even a partial file
