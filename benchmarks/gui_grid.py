"""Time to first painted thumbnails when the GUI opens a 5,000-photo catalog, cold and warm cache.

Builds a throwaway shoot in a temp folder: N small JPEGs (real sample photos, cropped and tinted so
each file differs) and a catalog with their rows and technical scores, written in bulk as a scan would.
Then, in a fresh window each time:

* cold: no thumbnail cache, every visible cell is decoded from its JPEG (in worker threads) and cached;
* warm: ``culler-thumbs/`` holds every thumbnail, as a scan leaves it;
* in both, then jump to the middle of the grid and wait until that screenful is painted.

Usage: QT_QPA_PLATFORM=offscreen python benchmarks/gui_grid.py [--photos 5000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPoint  # noqa: E402

WARM_THUMBS = "thumbs-as-after-scan"


def build_shoot(folder: Path, count: int) -> Path:
    """Write ``count`` JPEGs and a catalog describing them; return the catalog path."""
    import numpy as np
    from PIL import Image

    from culler.catalog import now, open_catalog
    from culler.scan.decode import THUMB_SIDE, hash_bytes, thumb_path
    from culler.testing import available_samples

    folder.mkdir(parents=True, exist_ok=True)
    bases = [im.resize((640, int(640 * im.height / im.width))) for _, im in available_samples()]
    rng = np.random.default_rng(0)
    rows = []
    for i in range(count):
        base = bases[i % len(bases)]
        dx, dy = int(rng.integers(0, 40)), int(rng.integers(0, 30))
        crop = base.crop((dx, dy, dx + 600, dy + min(400, base.height - dy)))
        tint = Image.new("RGB", crop.size, tuple(int(c) for c in rng.integers(0, 255, 3)))
        frame = Image.blend(crop, tint, 0.08)
        path = folder / f"IMG_{i:05d}.jpg"
        frame.save(path, quality=85)
        data = path.read_bytes()
        thumb = thumb_path(folder / WARM_THUMBS, hash_bytes(data))  # what a scan leaves behind
        thumb.parent.mkdir(parents=True, exist_ok=True)
        frame.copy().resize((THUMB_SIDE, THUMB_SIDE * frame.height // frame.width)).save(thumb)
        stat = path.stat()
        taken = f"2024-06-01T{10 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}"
        rows.append(
            (
                str(path),
                str(folder),
                stat.st_size,
                stat.st_mtime_ns,
                hash_bytes(data),
                frame.width,
                frame.height,
                taken,
                float(rng.uniform(2, 10)),
            )
        )
    db_path = folder / "culler.db"
    with open_catalog(db_path) as catalog:
        pk = catalog.scorer_pk("technical", "1")
        stamp = now()
        with catalog.transaction() as conn:
            for path, root, size, mtime, digest, w, h, taken, score in rows:
                pid = conn.execute(
                    "INSERT INTO photos (path, root, size, mtime_ns, content_hash, width, height,"
                    " taken_at, status, first_seen, last_seen) VALUES (?,?,?,?,?,?,?,?, 'ok', ?, ?)",
                    [path, root, size, mtime, digest, w, h, taken, stamp, stamp],
                ).lastrowid
                conn.execute(
                    "INSERT INTO scores (photo_id, scorer_pk, score, created) VALUES (?, ?, ?, ?)",
                    [pid, pk, score, stamp],
                )
    return db_path


@contextlib.contextmanager
def shoot(keep: Path | None, photos: int, prefix: str):
    """The benchmark shoot's catalog path: built in ``keep`` (reused when it is there already) or in a
    temporary folder removed afterwards."""
    tmp = None
    folder = keep
    if folder is None:
        tmp = tempfile.mkdtemp(prefix=prefix)
        folder = Path(tmp) / "shoot"
    try:
        db_path = folder / "culler.db"
        t = time.perf_counter()
        if not db_path.exists():
            build_shoot(folder, photos)
        print(f"{photos} photos + catalog ready in {time.perf_counter() - t:.1f} s")
        yield db_path
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def set_thumbnails(db_path: Path, warm: bool) -> None:
    """Empty the shoot's thumbnail cache (cold), or fill it with every thumbnail as a scan leaves
    them (warm)."""
    from culler.gui.thumbnails import thumb_dir_for

    thumbs = thumb_dir_for(db_path)
    shutil.rmtree(thumbs, ignore_errors=True)
    if warm:
        shutil.copytree(db_path.parent / WARM_THUMBS, thumbs)


def visible_rows(window) -> list[int]:
    """Proxy rows whose cells intersect the grid's viewport."""
    grid = window.grid
    viewport = grid.viewport().rect()
    first = grid.indexAt(viewport.topLeft() + QPoint(2, 2)).row()
    rows = []
    for row in range(max(0, first), window.proxy.rowCount()):
        rect = grid.visualRect(window.proxy.index(row, 0))
        if rect.top() > viewport.bottom():
            break
        if rect.intersects(viewport):
            rows.append(row)
    return rows


def visible_ids(window) -> list[int]:
    from culler.gui.item_models import PhotoIdRole

    return [window.proxy.index(r, 0).data(PhotoIdRole) for r in visible_rows(window)]


def wait_painted(app, window, timeout: float = 120.0) -> tuple[float, int]:
    """Seconds until every visible cell has its thumbnail and the grid has repainted; cells visible."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        app.processEvents()
        ids = visible_ids(window)
        if ids and all(i in window.thumbnails._pixmaps for i in ids):
            window.grid.viewport().repaint()  # the paint that shows them
            return time.perf_counter() - start, len(ids)
        time.sleep(0.001)
    raise TimeoutError("thumbnails did not arrive")


def open_and_time(app, db_path: Path, label: str) -> dict:
    from PySide6.QtCore import QSettings

    from culler.gui.main_window import MainWindow

    settings = QSettings(str(db_path.parent / "bench.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    t0 = time.perf_counter()
    window.open_catalog(db_path)
    loaded = time.perf_counter() - t0
    app.processEvents()
    waited, cells = wait_painted(app, window)
    result = {
        "case": label,
        "catalog_load_s": loaded,
        "first_thumbnails_s": loaded + waited,
        "cells": cells,
    }
    middle = window.proxy.index(window.proxy.rowCount() // 2, 0)
    t1 = time.perf_counter()
    window.grid.scrollTo(middle)
    deadline = time.perf_counter() + 30
    while middle.row() not in visible_rows(window):
        app.processEvents()  # until the view has actually moved
        if time.perf_counter() > deadline:
            raise TimeoutError("the grid did not scroll")
    waited, cells = wait_painted(app, window)
    result["scroll_middle_s"] = time.perf_counter() - t1
    window.close()
    app.processEvents()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=5000)
    parser.add_argument("--keep", type=Path, default=None, help="build the shoot here and keep it")
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    with shoot(args.keep, args.photos, "culler-gui-bench-") as db_path:
        for label in ("cold", "warm"):
            set_thumbnails(db_path, warm=label == "warm")
            r = open_and_time(app, db_path, label)
            line = (
                f"{label}: catalog load {r['catalog_load_s'] * 1000:.0f} ms, first {r['cells']} "
                f"thumbnails painted after {r['first_thumbnails_s'] * 1000:.0f} ms"
            )
            if "scroll_middle_s" in r:
                line += (
                    f"; jump to the middle, screen filled in {r['scroll_middle_s'] * 1000:.0f} ms"
                )
            print(line)


if __name__ == "__main__":
    main()
