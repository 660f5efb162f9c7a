"""How much of the grid is grey during a fast flick scroll, with and without read-ahead (issue #29).

Builds a throwaway shoot of real photographs (``benchmarks/gui_grid.py``'s builder: sample photos
cropped and tinted so each file differs, a catalog written as a scan would, and the thumbnails a scan
leaves in ``culler-thumbs/``), opens the real window (offscreen, or under Xvfb with
``QT_QPA_PLATFORM=xcb``), waits for the first screen, then scrolls the grid programmatically at flick
speed: every frame (60 a second) moves the scroll bar by speed / 60 pixels and paints the viewport,
and after each painted frame counts the visible cells whose thumbnail is not in memory yet (drawn
grey). Each case runs in a fresh window with an empty memory cache:

* warm: the scan's thumbnails are on disk (the usual case: reading them is all that is left);
* cold: no thumbnail cache, every cell decodes its JPEG;

each with read-ahead off (``read_ahead_screens = 0``: only painted cells ask for thumbnails, as the
grid did before) and on (two screenfuls ahead in the scroll's direction, the default).

Usage: QT_QPA_PLATFORM=offscreen python benchmarks/gui_flick.py [--photos 1500] [--speeds 3000,6000]
    [--seconds 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

FPS = 60


def flick(app, window, speed: float, seconds: float) -> list[float]:
    """Scroll down at ``speed`` px/s for ``seconds``; the grey share of the visible cells per frame."""
    grid = window.grid
    cache = window.thumbnails
    bar = grid.verticalScrollBar()
    step = max(1, round(speed / FPS))
    greys = []
    frame = 1.0 / FPS
    next_frame = time.perf_counter()
    for _ in range(int(seconds * FPS)):
        if bar.value() >= bar.maximum():
            break
        bar.setValue(bar.value() + step)
        grid.viewport().repaint()  # this frame: its cells ask for thumbnails they lack
        app.processEvents()  # thumbnails that arrived meanwhile are taken in
        model = grid.model()
        rows = grid.visible_rows()
        ids = [model.index(r, 0).data(window_id_role()) for r in rows]
        grey = sum(1 for pid in ids if not cache.has(pid) and not cache.failed(pid))
        greys.append(grey / max(1, len(ids)))
        next_frame += frame
        pause = next_frame - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        else:
            next_frame = time.perf_counter()  # a slow frame: the next one starts now
    return greys


def window_id_role():
    from culler.gui.item_models import PhotoIdRole

    return PhotoIdRole


def run_case(app, db_path: Path, screens: int, speed: float, seconds: float) -> dict:
    from PySide6.QtCore import QSettings

    from culler.gui.main_window import MainWindow

    settings = QSettings(str(db_path.parent / "bench.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    window.open_catalog(db_path)
    window.grid.read_ahead_screens = screens
    window.filter_bar.use_sort("name")
    window._sort_changed()
    app.processEvents()
    deadline = time.perf_counter() + 60
    model = window.grid.model()
    while time.perf_counter() < deadline:  # the first screen, loaded, before the flick starts
        app.processEvents()
        first = [model.index(r, 0).data(window_id_role()) for r in window.grid.visible_rows()]
        if first and all(window.thumbnails.has(pid) for pid in first):
            break
        time.sleep(0.005)
    greys = flick(app, window, speed, seconds)
    requests = window.thumbnails.read_ahead_requests
    window.close()
    app.processEvents()
    return {
        "frames": len(greys),
        "mean": statistics.fmean(greys) if greys else 0.0,
        "p90": sorted(greys)[int(0.9 * (len(greys) - 1))] if greys else 0.0,
        "worst": max(greys, default=0.0),
        "grey_frames": sum(1 for g in greys if g > 0) / max(1, len(greys)),
        "read_ahead": requests,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=1500)
    parser.add_argument("--speeds", default="3000,6000", help="flick speeds, pixels a second")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each flick")
    parser.add_argument("--keep", type=Path, default=None, help="build the shoot here and keep it")
    args = parser.parse_args(argv)

    from gui_grid import set_thumbnails, shoot
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    with shoot(args.keep, args.photos, "culler-flick-bench-") as db_path:
        print("window 1400x900")
        print(
            "| cache | flick px/s | read-ahead | frames | grey cells, mean | p90 | worst "
            "| frames with grey |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for label in ("warm", "cold"):
            for speed in [float(s) for s in args.speeds.split(",")]:
                for screens in (0, 2):
                    set_thumbnails(db_path, warm=label == "warm")
                    r = run_case(app, db_path, screens, speed, args.seconds)
                    print(
                        f"| {label} | {speed:,.0f} | {'off' if not screens else f'{screens} screens'}"
                        f" | {r['frames']} | {r['mean']:.1%} | {r['p90']:.1%} | {r['worst']:.1%}"
                        f" | {r['grey_frames']:.0%} |",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
