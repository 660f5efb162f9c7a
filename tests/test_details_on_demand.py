"""Details a scorer computes when a viewer asks instead of storing them (issue #32): the technical
scorer's per-tile sharpness map, drawn by the loupe's overlay, is no longer in every photo's
stored ``extra``; ``culler.scan.decode.details_on_demand`` computes it from the file, decoded as the
scan decodes it, and gives exactly the grid the scan measured."""

from __future__ import annotations

import shutil
from pathlib import Path

import culler_plugins.technical as technical
import pytest
from PIL import Image

import culler
from culler import testing
from culler.api import SHOOTING_KEY, Scorer, ScoreResult
from culler.imaging.images import ImageError
from culler.scan.decode import DecodeJob, decode_one, details_on_demand, init_worker
from culler.testing import sample_image, write_photos

GRID_KEYS = ("sharpness_grid", "sharpness_grid_tile", "scored_size")
#: Large real photos (Debian's MATE wallpapers): decoded at reduced size (JPEG draft) and fitted.
WALLPAPERS = Path("/usr/share/backgrounds/mate/nature")


def _real_files(folder: Path) -> list[Path]:
    """Real photos as a scan meets them: the samples as JPEG, one large and upright only through
    its EXIF orientation, one PNG, and the large wallpapers when installed."""
    paths = write_photos(folder)
    big = sample_image("astronaut").resize((2600, 2600), Image.Resampling.LANCZOS)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: the scan decodes it upright
    big.crop((0, 300, 2600, 2000)).save(folder / "big.jpg", quality=90, exif=exif)
    sample_image("coffee").save(folder / "coffee.png")
    paths += [folder / "big.jpg", folder / "coffee.png"]
    for name in ("Storm.jpg", "LadyBird.jpg"):
        if (WALLPAPERS / name).is_file():
            paths.append(Path(shutil.copy(WALLPAPERS / name, folder / name)))
    return paths


def _grids_the_scan_measured(paths: list[Path], monkeypatch) -> dict[Path, dict]:
    """Each file through the scan's decode worker, with the grid its technical scorer measured."""
    measured: list[dict] = []
    analyse = technical.analyse

    def recording(y, sigma, shooting=None):
        sharp = analyse(y, sigma, shooting)
        size = [y.shape[1], y.shape[0]]
        measured.append(
            {"sharpness_grid": sharp.grid, "sharpness_grid_tile": sharp.tile, "scored_size": size}
        )
        return sharp

    monkeypatch.setattr(technical, "analyse", recording)
    init_worker([("technical", {})])
    grids = {}
    for path in paths:
        decoded = decode_one(DecodeJob(str(path), 1024, 0, ("technical",)))
        assert decoded.error is None, decoded.error
        grids[path] = measured.pop()
    return grids


def test_the_grid_on_demand_is_the_grid_the_scan_measured_on_real_photos(tmp_path, monkeypatch):
    paths = _real_files(tmp_path / "photos")
    scanned = _grids_the_scan_measured(paths, monkeypatch)
    monkeypatch.undo()
    sizes = set()
    for path in paths:
        shown = details_on_demand(path, ["technical"])
        assert shown == {"technical": scanned[path]}, path.name
        grid = shown["technical"]["sharpness_grid"]
        assert len(grid) >= 3 and len({len(row) for row in grid}) == 1
        assert any(v >= 0 for row in grid for v in row)
        sizes.add(max(shown["technical"]["scored_size"]))
    assert 1024 in sizes and any(s < 1024 for s in sizes)  # fitted large files and small ones


def test_raw_and_heic_files_get_the_grid_the_scan_measured(
    tmp_path, monkeypatch, raw_photo, heic_photo
):
    """Through the formats plugin's loader, as the scan: a DNG's embedded preview (the scan never
    develops one) and a HEIC."""
    paths = [
        raw_photo(sample_image("chelsea"), preview_side=1600),
        raw_photo(sample_image("coffee"), name="IMG_0002.dng"),
        heic_photo(sample_image("rocket")),
    ]
    scanned = _grids_the_scan_measured(paths, monkeypatch)
    monkeypatch.undo()
    for path in paths:
        assert details_on_demand(path, ["technical"]) == {"technical": scanned[path]}, path.name


def test_a_scan_stores_no_grid_and_keeps_every_other_detail(photo_dir, run_scan):
    catalog, summary = run_scan(photo_dir, scorers=["technical"])
    assert summary["errors"] == 0
    for photo in catalog.query("SELECT id FROM photos"):
        (row,) = catalog.scores_for(photo["id"])
        extra = row["extra"]
        assert not set(GRID_KEYS) & set(extra)
        assert {"sharpness", "exposure", "noise", "compression", "defects", "blur"} <= set(extra)
        assert {"subject_sharpness", "noise_sigma", "jpeg_quality"} <= set(extra)


def test_a_file_that_cannot_be_read_raises_and_scorers_without_details_are_left_out(tmp_path):
    with pytest.raises(OSError):
        details_on_demand(tmp_path / "gone.jpg", ["technical"])
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    with pytest.raises(ImageError):
        details_on_demand(tmp_path / "broken.jpg", ["technical"])
    (path,) = write_photos(tmp_path / "one", 1)
    assert details_on_demand(path, ["colourfulness", "no-such-scorer"]) == {}
    assert details_on_demand(path, []) == {}


def test_too_small_to_judge_has_no_grid(tmp_path):
    Image.new("RGB", (5, 300), (90, 90, 90)).save(tmp_path / "strip.png")
    assert details_on_demand(tmp_path / "strip.png", ["technical"]) == {}


class EdgeMap(Scorer):
    """A third party's scorer with a detail computed on demand, at its own input size."""

    id = "edge-map-test"
    input_size = 300
    runs_in_worker = True
    role = "measure"
    details_on_demand_keys = ("edge_map",)

    def score_batch(self, images):
        return [ScoreResult(score=1.0) for _ in images]

    def details_on_demand(self, image):
        return {"edge_map": [list(image.size)], "shooting": sorted(image.info)}


class Failing(EdgeMap):
    id = "failing-details-test"

    def details_on_demand(self, image):
        raise RuntimeError("boom")


def test_a_third_party_scorer_gets_the_image_at_its_input_size(tmp_path, register_test_plugin):
    class Plugin:
        @staticmethod
        @culler.hookimpl
        def register_scorers(register):
            register(EdgeMap)
            register(Failing)

    register_test_plugin(Plugin, "edge-map-plugin")
    (path,) = write_photos(tmp_path, 1)  # 512 × 512: fitted to 300
    # As a plugin's own tests ask (culler.testing), the same as the GUI's.
    found = testing.details_on_demand(path, ["edge-map-test", "failing-details-test", "technical"])
    assert set(found) == {"edge-map-test", "technical"}  # the failing one is left out
    assert found["edge-map-test"]["edge_map"] == [[300, 300]]
    assert SHOOTING_KEY in found["edge-map-test"]["shooting"]  # EXIF's shooting data, as in a scan
