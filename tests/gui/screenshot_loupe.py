"""Make docs/loupe.png: the real window comparing two frames of a burst at 100 % with the overlay.

The photo is a real one that installs with Ubuntu's wallpapers (a nuthatch on bark); the second frame
is the same scene shifted by a hand-held drift and given motion blur. Both are scanned with the real
scan (technical and faces scorers); the overlay draws the technical scorer's per-tile sharpness
grid (computed for the frames shown, as the window does) and, on the second frame, the motion blur
and direction it found.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/gui/screenshot_loupe.py docs/loupe.png
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

PHOTO = Path("/usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg")
DRIFT = (36, 24)
BLUR_DEG, BLUR_LENGTH = 20.0, 31
EYE = (0.52, 0.60)  # the bird's eye, in the first frame


def motion_blur(rgb: np.ndarray, degrees: float, length: int) -> np.ndarray:
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0
    rotation = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), degrees, 1.0)
    kernel = cv2.warpAffine(kernel, rotation, (length, length))
    return cv2.filter2D(rgb, -1, kernel / kernel.sum())


def make_burst(folder: Path) -> None:
    photo = np.asarray(Image.open(PHOTO).convert("RGB"))
    h, w = photo.shape[0] - 200, photo.shape[1] - 200
    first = photo[100 : 100 + h, 100 : 100 + w]
    dx, dy = DRIFT
    second = motion_blur(
        photo[100 + dy : 100 + dy + h, 100 + dx : 100 + dx + w], BLUR_DEG, BLUR_LENGTH
    )
    for name, pixels in (("burst_01.jpg", first), ("burst_02.jpg", second)):
        Image.fromarray(pixels).save(folder / name, quality=92)


def main(out: Path) -> int:
    from PySide6.QtCore import QPointF, QSettings
    from PySide6.QtWidgets import QApplication

    from culler.catalog import open_catalog
    from culler.gui.app import apply_style
    from culler.gui.main_window import MainWindow
    from culler.scan import ScanOptions, scan_folders

    app = QApplication.instance() or QApplication(sys.argv)
    apply_style(app)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "burst"
        folder.mkdir()
        make_burst(folder)
        db = folder / "culler.db"
        with open_catalog(db) as catalog:
            scanned = ScanOptions(workers=0, scorer_ids=["technical", "faces"])
            scan_folders(catalog, [folder], scanned, echo=print)
        window = MainWindow(
            settings=QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat), scan_workers=0
        )
        window.resize(1400, 860)
        window.open_catalog(db)
        window.show()
        window.grid.selectAll()
        window.compare()
        stage = window.stage
        for _ in range(200):
            app.processEvents()
            if len(stage.offsets) == 2 and all(r.id in stage._previews for r in stage.records):
                break
            window.thumbnails.wait(50)
        frame = stage.frame_rect(0)
        stage.toggle_zoom(
            QPointF(frame.x() + EYE[0] * frame.width(), frame.y() + EYE[1] * frame.height())
        )
        stage.full.wait(60_000)
        window.toggle_overlay()
        window._refresh_details()
        for _ in range(20):
            app.processEvents()
        window.overlay_details.wait(60_000)  # the grids, computed off the UI thread
        for _ in range(20):
            app.processEvents()
        print("offsets", stage.offsets, "zoom", stage.zoom)
        image = window.grab().toImage()
        image.save(str(out.with_suffix(".full.png")))
        window.close()
    shot = Image.open(out.with_suffix(".full.png")).convert("RGB")
    shot.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(
        out, optimize=True
    )
    out.with_suffix(".full.png").unlink()
    print(out, out.stat().st_size // 1024, "KB")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/loupe.png")))
