"""RAW (rawpy) and HEIC (pillow-heif) through the formats plugin, on DNG/HEIC files the tests make."""

import json
import subprocess
import sys

import numpy as np
import pytest
from culler_plugins import formats
from PIL import Image

from culler.catalog import open_catalog
from culler.imaging.images import open_photo, supported_extensions
from culler.scan import ScanOptions, scan_folders
from culler.testing import sample_image
from culler.testing.formats import write_dng, write_heic


def _similar(a: Image.Image, b: Image.Image) -> float:
    """Pearson correlation of two images' pixels after resizing ``b`` to ``a``."""
    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b.convert("RGB").resize(a.size), dtype=np.float64).ravel()
    return float(np.corrcoef(x, y)[0, 1])


@pytest.fixture
def chelsea():
    return sample_image("chelsea")  # 451×300, landscape


def test_raw_and_heic_extensions_are_discovered():
    assert {".cr3", ".nef", ".arw", ".dng", ".heic", ".heif"} <= supported_extensions()


def test_module_does_not_import_decoders_at_import_time():
    code = (
        "import sys, culler_plugins.formats; "
        "print(json.dumps(['rawpy' in sys.modules, 'pillow_heif' in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == [False, False]


def test_raw_uses_the_embedded_preview_first(tmp_path, chelsea):
    pytest.importorskip("rawpy")
    path = write_dng(tmp_path / "IMG_1.dng", chelsea, preview_side=400)
    image, info = open_photo(path, 512)
    assert info.extra["raw_source"] == "preview"
    assert image.mode == "RGB" and max(image.size) == 400
    assert (info.width, info.height) == (450, 300)  # the raw sensor size (even, for the mosaic)
    assert _similar(image, chelsea) > 0.97


def test_raw_without_preview_is_demosaiced(tmp_path, chelsea):
    pytest.importorskip("rawpy")
    path = write_dng(tmp_path / "IMG_2.dng", chelsea, preview_side=None)
    image, info = open_photo(path, 200)
    assert info.extra["raw_source"] == "demosaic"
    assert max(image.size) == 200
    assert image.width > image.height
    assert _similar(image, chelsea) > 0.95


def test_a_thumbnail_too_small_to_score_falls_back_to_demosaic(tmp_path, chelsea):
    pytest.importorskip("rawpy")
    path = write_dng(tmp_path / "IMG_3.dng", chelsea, preview_side=64)
    image, info = open_photo(path, 448)
    assert info.extra["raw_source"] == "demosaic"
    assert max(image.size) == 448  # half size (225 px) is too small: full-size demosaic, shrunk


def test_raw_orientation_is_applied(tmp_path, chelsea):
    pytest.importorskip("rawpy")
    for preview in (400, None):
        path = write_dng(
            tmp_path / f"rot{preview}.dng", chelsea, preview_side=preview, orientation=6
        )
        image, info = open_photo(path, 512)
        assert image.height > image.width, (preview, image.size)
        assert (info.width, info.height) == (300, 450)
        assert _similar(image, chelsea.transpose(Image.Transpose.ROTATE_270)) > 0.9


def test_heic_is_decoded(tmp_path, chelsea):
    pytest.importorskip("pillow_heif")
    path = write_heic(tmp_path / "phone.HEIC", chelsea)
    image, info = open_photo(path, 256)
    assert info.extra["format"] == "HEIF"
    assert max(image.size) == 256 and (info.width, info.height) == chelsea.size
    assert _similar(image, chelsea) > 0.97


def test_scan_scores_raw_heic_and_jpeg_side_by_side(tmp_path, chelsea):
    pytest.importorskip("rawpy")
    pytest.importorskip("pillow_heif")
    folder = tmp_path / "shoot"
    folder.mkdir()
    write_dng(folder / "IMG_0001.dng", chelsea, preview_side=300)
    write_heic(folder / "IMG_0002.heic", sample_image("coffee"))
    sample_image("rocket").save(folder / "IMG_0003.jpg", quality=90)
    (folder / "IMG_0004.cr2").write_bytes(b"not a raw file at all" * 50)
    cat = open_catalog(tmp_path / "c.db")
    summary = scan_folders(
        cat, [folder], ScanOptions(workers=0, scorer_ids=["technical"]), echo=lambda m: None
    )
    rows = {
        r["path"].rsplit("/", 1)[1]: r
        for r in cat.query("SELECT path, status, error, width FROM photos")
    }
    scored = {r[0] for r in cat.execute("SELECT photo_id FROM scores")}
    cat.close()
    assert summary["files_seen"] == 4 and summary["errors"] == 1
    assert rows["IMG_0001.dng"]["status"] == "ok" and rows["IMG_0001.dng"]["width"] == 450
    assert rows["IMG_0002.heic"]["status"] == "ok"
    assert rows["IMG_0004.cr2"]["status"] == "error"
    assert "LibRaw" in rows["IMG_0004.cr2"]["error"]
    assert len(scored) == 3


def test_missing_extra_gives_a_clear_error_row(tmp_path, monkeypatch, chelsea):
    monkeypatch.setattr(formats, "have_rawpy", lambda: False)
    monkeypatch.setattr(formats, "have_pillow_heif", lambda: False)
    folder = tmp_path / "shoot"
    folder.mkdir()
    write_dng(folder / "IMG_1.CR3", chelsea)  # the extension decides; the content does not matter
    (folder / "IMG_2.heic").write_bytes(b"\x00" * 100)
    chelsea.save(folder / "IMG_3.jpg")
    cat = open_catalog(tmp_path / "c.db")
    scan_folders(cat, [folder], ScanOptions(workers=0, scorer_ids=["technical"]), echo=print)
    errors = dict(cat.execute("SELECT path, error FROM photos WHERE status = 'error'").fetchall())
    cat.close()
    assert sorted(p.rsplit("/", 1)[1] for p in errors) == ["IMG_1.CR3", "IMG_2.heic"]
    for message in errors.values():
        assert "pip install 'culler[raw]'" in message
    assert "RAW support needs" in errors[str(folder / "IMG_1.CR3")]


def test_raw_develop_demosaics_even_with_a_preview(tmp_path, chelsea):
    """The loupe's "Develop RAW at 100 %" asks for the full development, not the embedded preview."""
    pytest.importorskip("rawpy")
    path = write_dng(tmp_path / "IMG_4.dng", chelsea.resize((1200, 800)), preview_side=600)
    preview, info = open_photo(path, 4096)
    developed, developed_info = open_photo(path, 4096, develop=True)
    assert info.extra["raw_source"] == "preview" and max(preview.size) == 600
    assert developed_info.extra["raw_source"] == "demosaic"
    assert developed.size == (1200, 800)  # the sensor's own pixels
    assert _similar(developed.resize(preview.size), preview) > 0.9


def test_a_raw_without_a_capture_time_gets_none_not_1970(tmp_path, chelsea):
    pytest.importorskip("rawpy")
    # LibRaw puts time 0 into the EXIF of the preview it hands out when the RAW records no time.
    _image, info = open_photo(write_dng(tmp_path / "IMG_1.dng", chelsea), 256)
    assert info.taken_at is None and info.camera == "Culler Test Camera"
    taken = write_dng(tmp_path / "IMG_2.dng", chelsea, taken="2026:06:13 15:04:05")
    assert open_photo(taken, 256)[1].taken_at == "2026-06-13T15:04:05"
