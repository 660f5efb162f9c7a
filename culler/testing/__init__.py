"""pytest fixtures for culler and for plugin authors (registered as the ``culler`` pytest11 plugin).

Fixtures:

* ``photo_dir`` — a temp folder of real photos (scikit-image's sample data) as JPEG and PNG.
* ``catalog`` — a fresh, migrated catalog in a temp folder.
* ``run_scorer`` — ``run_scorer(ScorerClass, images)`` loads a scorer and scores PIL images through the
  same validation the scan uses.
* ``register_test_plugin`` — ``register_test_plugin(obj, name)`` registers a plugin for one test only.
* ``sample_images`` — the sample photos as ``(name, PIL.Image)`` pairs, for ``run_scorer``.
* ``run_scan`` — ``run_scan(folder, scorers=None)`` scans a folder into a temp catalog the way
  ``culler scan`` does and returns ``(catalog, summary)``.
* ``culler_cli`` — ``culler_cli("scan", folder)`` runs a culler command in-process and returns click's
  ``Result``; it fails the test with the command's output when the exit code is not ``expect``.
  ``culler_cli.json("plugins")`` parses a command's JSON output.
* ``raw_photo`` / ``heic_photo`` — ``raw_photo(image, preview_side=256)`` writes a small real DNG (or
  HEIC) file, for format plugins and for scorers that must cope with RAW input.

Helpers: :func:`write_safetensors` writes a safetensors file with the header given (damaged ones
too), for tests of what a scorer's weights loader refuses; :func:`write_zip_bomb` writes a small zip
(a bundle, an ``.npz``, a zip checkpoint) whose members inflate to the sizes given.

Photos come from scikit-image when it is installed (``pip install scikit-image``) and from synthetic
patterns otherwise, so a plugin's tests run anywhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageFilter

SAMPLE_NAMES = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "stereo_motorcycle",
    "hubble_deep_field",
)


def sample_image(name: str) -> Image.Image:
    """A real photo from ``skimage.data`` as an RGB PIL image."""
    from skimage import data

    array = getattr(data, name)()
    if isinstance(array, tuple):  # stereo pairs return (left, right, disparity)
        array = array[0]
    image = Image.fromarray(np.asarray(array))
    return image.convert("RGB")


def synthetic_image(seed: int = 0, size: tuple[int, int] = (512, 384)) -> Image.Image:
    """A detailed, well-exposed synthetic photo (for environments without scikit-image)."""
    rng = np.random.default_rng(seed)
    w, h = size
    x, y = np.meshgrid(np.linspace(0, 8 * np.pi, w), np.linspace(0, 6 * np.pi, h))
    base = 127 + 60 * np.sin(x + seed) * np.cos(y * 1.3) + rng.normal(0, 2, (h, w))
    rgb = np.stack([base, np.roll(base, 7, axis=1), np.roll(base, 13, axis=0)], axis=-1)
    return Image.fromarray(rgb.clip(0, 255).astype(np.uint8))


def available_samples() -> list[tuple[str, Image.Image]]:
    try:
        return [(name, sample_image(name)) for name in SAMPLE_NAMES]
    except ImportError:
        return [(f"synthetic{i}", synthetic_image(i)) for i in range(4)]


def blurred(image: Image.Image, radius: float = 4.0) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(radius))


def noisy(image: Image.Image, sigma: float = 25.0, seed: int = 0) -> Image.Image:
    a = np.asarray(image, dtype=np.float32)
    a = a + np.random.default_rng(seed).normal(0, sigma, a.shape)
    return Image.fromarray(a.clip(0, 255).astype(np.uint8))


def overexposed(image: Image.Image, gain: float = 2.0, lift: float = 60.0) -> Image.Image:
    """Blown-out copy: shadows lifted, highlights clipped (about +1 to +2 EV on a typical frame)."""
    a = np.asarray(image, dtype=np.float32) * gain + lift
    return Image.fromarray(a.clip(0, 255).astype(np.uint8))


def write_photos(folder: Path, count: int | None = None) -> list[Path]:
    """Write the sample photos into ``folder`` (JPEG quality 92); return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, image in available_samples()[:count]:
        path = folder / f"{name}.jpg"
        image.save(path, quality=92)
        paths.append(path)
    return paths


def details_on_demand(path: str | Path, scorer_ids: list[str]) -> dict[str, dict[str, Any]]:
    """What each named scorer's ``details_on_demand`` gives for the file at ``path``, from the file
    decoded as a scan decodes it for that scorer: what the GUI's overlay gets (``{scorer id:
    details}``; a scorer that offers none or fails is left out)."""
    from culler.scan.decode import details_on_demand as compute

    return compute(path, scorer_ids)


@pytest.fixture
def photo_dir(tmp_path: Path) -> Path:
    """A folder of real sample photos (JPEG)."""
    folder = tmp_path / "photos"
    write_photos(folder)
    return folder


@pytest.fixture
def catalog(tmp_path: Path):
    from culler.catalog import open_catalog

    cat = open_catalog(tmp_path / "culler.db")
    yield cat
    cat.close()


@pytest.fixture
def run_scorer() -> Callable:
    """Score images with a scorer class the way a scan would; returns the list of ScoreResult."""

    def run(scorer_cls, images, config=None, device="cpu"):
        from culler.plugin.scorers import ScoreResult

        scorer = scorer_cls(config)
        scorer.load(device)
        results = scorer.score_batch(list(images))
        assert len(results) == len(images), "a scorer must return one result per image"
        for result in results:
            assert isinstance(result, ScoreResult)
            assert not result.problems(), result.problems()
        return results

    return run


@pytest.fixture
def register_test_plugin():
    """Register plugin objects for one test; they are unregistered (and the registry reset) afterwards."""
    from culler.plugin import manager as plugin_manager
    from culler.plugin import scorers

    names = []

    def register(obj, name: str):
        plugin_manager.register_plugin(obj, name)
        scorers.reset_registry()
        names.append(name)
        return obj

    yield register
    for name in names:
        plugin_manager.unregister_plugin(name)
        plugin_manager.FAILED.pop(name, None)
    scorers.reset_registry()


@pytest.fixture
def sample_images() -> list[tuple[str, Image.Image]]:
    """The sample photos as (name, RGB image) pairs."""
    return available_samples()


def scan_into(
    db: Path,
    folder: Path,
    scorers: list[str],
    config: dict[str, Any] | None = None,
    **options: Any,
):
    """Scan ``folder`` into the catalog at ``db`` with ``config`` set on every scorer in ``scorers``
    (as ``culler scan --config SCORER.KEY=VALUE`` does); return ``(open catalog, summary)``."""
    from culler.catalog import open_catalog
    from culler.scan import ScanOptions, scan_folders

    catalog = open_catalog(db)
    options.setdefault("workers", 0)
    scorer_config = {sid: dict(config) for sid in scorers} if config is not None else {}
    summary = scan_folders(
        catalog,
        [Path(folder)],
        ScanOptions(scorer_ids=list(scorers), scorer_config=scorer_config, **options),
        echo=lambda message: None,
    )
    return catalog, summary


def write_sharp_and_soft(folder: Path, radius: float = 4.0) -> Path:
    """Each sample photo and a Gaussian-blurred ``-soft`` copy of it: a shoot whose good and bad
    photos a personal model can learn to tell apart."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, image in available_samples():
        image.save(folder / f"{name}.jpg", quality=92)
        blurred(image, radius).save(folder / f"{name}-soft.jpg", quality=92)
    return folder


def rate_sharp_over_soft(catalog) -> None:
    """Rate the sharp photos of :func:`write_sharp_and_soft` 5 stars and picked, the ``-soft``
    copies 1 star and rejected."""
    for row in catalog.readable_photos():
        sharp = "-soft" not in row["path"]
        catalog.rate(row["id"], stars=5 if sharp else 1, decision="pick" if sharp else "reject")


def carry_personal_model(
    culler_cli: Callable, scorer_id: str, db: Path, folder: Path, other: Path, config=None
):
    """Export ``scorer_id``'s personal model from ``db``, import it into a second catalog at
    ``other`` that has scanned ``folder`` (with ``config``), and scan again there; return that
    catalog, open. What moving a personal model to another machine does."""
    bundle = Path(other).with_suffix(".cullermodel")
    culler_cli("models", "export", scorer_id, "-o", bundle, "--db", db)
    second, _ = scan_into(other, folder, [scorer_id], config)
    second.close()
    culler_cli("models", "import-personal", bundle, "--db", other)
    second, _ = scan_into(other, folder, [scorer_id])
    return second


@pytest.fixture
def run_scan(tmp_path: Path):
    """Scan folders into a temp catalog in this process, as ``culler scan`` would.

    ``run_scan(folder, scorers=("my-scorer",))`` returns ``(catalog, summary)``; the catalog stays open
    for the test's assertions and is closed afterwards.
    """
    from culler.catalog import open_catalog
    from culler.scan import ScanOptions, scan_folders

    opened = []

    def run(folder: Path, scorers: tuple[str, ...] | list[str] | None = None, **options: Any):
        catalog = open_catalog(tmp_path / f"scan-{len(opened)}.db")
        opened.append(catalog)
        options.setdefault("workers", 0)
        summary = scan_folders(
            catalog,
            [Path(folder)],
            ScanOptions(scorer_ids=list(scorers) if scorers else None, **options),
            echo=lambda message: None,
        )
        return catalog, summary

    yield run
    for catalog in opened:
        catalog.close()


@pytest.fixture
def culler_cli():
    """Run a ``culler`` command in-process: ``culler_cli("list", "--json", expect=0)``."""
    from click.testing import CliRunner

    from culler.cli import cli

    def run(*args: str, expect: int | None = 0):
        result = CliRunner().invoke(cli, [str(a) for a in args])
        if expect is not None and result.exit_code != expect:
            detail = result.output
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                import traceback

                detail += "".join(traceback.format_exception(result.exception))
            pytest.fail(f"culler {' '.join(map(str, args))} exited {result.exit_code}:\n{detail}")
        return result

    def run_json(*args: str) -> Any:
        """Run a command that prints JSON (e.g. ``plugins``, ``list --json``) and parse its stdout."""
        result = run(*args)
        return json.loads(getattr(result, "stdout", None) or result.output)

    run.json = run_json
    return run


@pytest.fixture
def raw_photo(tmp_path: Path):
    """``raw_photo(image, name="IMG_0001.dng", preview_side=256)`` writes a small real DNG file."""
    from culler.testing.formats import write_dng

    def make(image: Image.Image | None = None, name: str = "IMG_0001.dng", **options: Any) -> Path:
        image = image if image is not None else available_samples()[0][1]
        return write_dng(tmp_path / name, image, **options)

    return make


@pytest.fixture
def heic_photo(tmp_path: Path):
    """``heic_photo(image, name="IMG_0001.heic")`` writes a HEIC file (skips without pillow-heif)."""
    pytest.importorskip("pillow_heif", reason="HEIC needs `pip install 'culler[raw]'`")
    from culler.testing.formats import write_heic

    def make(image: Image.Image | None = None, name: str = "IMG_0001.heic") -> Path:
        image = image if image is not None else available_samples()[0][1]
        return write_heic(tmp_path / name, image)

    return make


def run_culler(*args: Any, home: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    """``python -m culler ARGS`` in a child process with its own CULLER_HOME (a hang fails the
    test after ``timeout`` seconds instead of blocking the run)."""
    env = {**os.environ, "CULLER_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "culler", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def write_safetensors(
    path: Path, header: dict | str | bytes, data: bytes = b"", claimed: int | None = None
) -> Path:
    """A safetensors file at ``path``: the 8-byte header length, ``header`` (a dict written as JSON,
    or the header's text or bytes as they are) and ``data``. ``claimed`` is the header length
    written instead of the true one, for a damaged or hostile file."""
    import struct

    raw = (
        header
        if isinstance(header, bytes)
        else (header if isinstance(header, str) else json.dumps(header)).encode()
    )
    size = len(raw) if claimed is None else claimed
    path.write_bytes(struct.pack("<Q", size) + raw + data)
    return path


def write_zip_bomb(path: Path, members: dict[str, int | bytes]) -> Path:
    """A zip at ``path`` whose members are the bytes given or, for a number, that many zero bytes
    deflated (a few KB on disk per GB inflated): what a loader must refuse before inflating it."""
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, content in members.items():
            if isinstance(content, bytes):
                zf.writestr(name, content)
                continue
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as out:
                block = bytes(1 << 20)
                for _ in range(content >> 20):
                    out.write(block)
    return path
