"""A 100,000-photo catalog: first scan, no-change rescan, ``culler list --sort`` and GUI model load times.

Writes N small JPEGs (64×48, a few hundred distinct images cycled with a per-file EXIF-free comment so
every file has its own content hash) into 100 folders of a temp directory, then times, each as a user
runs it (a fresh ``culler`` process):

* first scan (technical scorer only, thumbnails written: the whole pipeline);
* rescan with nothing changed (goal: under 5 s for 100,000 files);
* ``culler list --sort technical --json`` (all rows, written to /dev/null);
* the GUI grid's model load (``culler.gui.records.load_records`` + ``PhotoListModel.set_records``), or
  ``culler.catalog.queries.list_photos`` when the GUI is not installed.

Usage: python benchmarks/catalog_scale.py [--photos 100000] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PER_FOLDER = 1000


def generate(root: Path, count: int) -> None:
    """Write ``count`` distinct 64×48 JPEGs (skipped when a kept folder already has them)."""
    import numpy as np
    from PIL import Image

    from culler.testing import available_samples

    marker = root / f".generated-{count}"
    if marker.exists():
        return
    rng = np.random.default_rng(0)
    variants = []
    for _, image in available_samples():
        small = image.resize((64, 48))
        for _ in range(50):
            shifted = np.asarray(small, dtype=np.int16) + rng.integers(-20, 20, 3)
            buf = io.BytesIO()
            Image.fromarray(shifted.clip(0, 255).astype(np.uint8)).save(buf, "JPEG", quality=90)
            variants.append(buf.getvalue())
    for i in range(count):
        folder = root / f"day{i // PER_FOLDER:03d}"
        if i % PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        data = variants[i % len(variants)]
        # A JPEG comment segment after SOI makes each file's bytes (and content hash) unique.
        comment = f"culler benchmark {i}".encode()
        segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
        (folder / f"IMG_{i:06d}.jpg").write_bytes(data[:2] + segment + data[2:])
    marker.touch()


def run_cli(args: list[str], stdout=subprocess.PIPE) -> tuple[float, str]:
    env = {**os.environ, "CULLER_LOAD_PLUGINS": "technical"}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "culler", *args], env=env, check=True, stdout=stdout, text=True
    )
    return time.perf_counter() - start, done.stdout or ""


def gui_model_load(db: Path) -> tuple[str, float]:
    """Seconds to load the GUI grid's model (or the CLI list query when the GUI is absent)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from culler.catalog import open_catalog

    catalog = open_catalog(db)
    try:
        try:
            from PySide6.QtCore import QCoreApplication

            from culler.gui.item_models import PhotoListModel
            from culler.gui.records import load_records
        except ImportError:
            from culler.catalog.queries import list_photos

            start = time.perf_counter()
            list_photos(catalog, sort_by="technical")
            return "culler.catalog.queries.list_photos", time.perf_counter() - start
        _app = QCoreApplication.instance() or QCoreApplication([])
        start = time.perf_counter()
        model = PhotoListModel()
        model.set_records(load_records(catalog))
        assert model.rowCount() > 0
        return "GUI PhotoListModel", time.perf_counter() - start
    finally:
        catalog.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="Generate into (and reuse) DIR.")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="culler-scale-"))
    root = args.keep or tmp / "photos"
    db = tmp / "culler.db"
    try:
        start = time.perf_counter()
        generate(root, args.photos)
        print(f"{args.photos} files of 64×48 ready in {time.perf_counter() - start:.1f} s")

        seconds, out = run_cli(["scan", str(root), "--db", str(db), "--json"])
        summary = json.loads(out)
        assert summary["decoded"] == args.photos, summary
        print(
            f"first scan: {seconds:.1f} s ({args.photos / seconds:.0f} files/s), "
            f"{summary['errors']} errors"
        )
        rescans, inside = [], []
        for _ in range(args.repeat):
            seconds, out = run_cli(["scan", str(root), "--db", str(db), "--json"])
            summary = json.loads(out)
            assert summary["skipped"] == args.photos and summary["decoded"] == 0, summary
            rescans.append(seconds)
            inside.append(summary["seconds"])
        print(
            f"no-change rescan: best {min(rescans):.2f} s, median {statistics.median(rescans):.2f} s "
            f"(inside the scan: best {min(inside):.2f} s, median {statistics.median(inside):.2f} s)"
        )
        lists = []
        for _ in range(args.repeat):
            with open(os.devnull, "w") as sink:
                seconds, _ = run_cli(
                    ["list", "--db", str(db), "--sort", "technical", "--json"], stdout=sink
                )
            lists.append(seconds)
        print(
            f"culler list --sort technical --json: best {min(lists):.2f} s, "
            f"median {statistics.median(lists):.2f} s"
        )
        loads = [gui_model_load(db) for _ in range(args.repeat)]
        times = [t for _, t in loads]
        print(
            f"{loads[0][0]} load: best {min(times):.2f} s, median {statistics.median(times):.2f} s"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
