"""Make the docs/gui-*.png screenshots: the real window under a real X server, driven by real keys.

A shoot of real photographs (culler.testing.shoot's burst, web copy and singles, plus the photos
Ubuntu's wallpaper package installs, when present) is scanned with the real scan; the window is then
driven with xdotool key presses (Ctrl+K culls, S opens a burst, Return the loupe, C compares) and
each panel is captured from the X server with ImageMagick's ``import``:

    xvfb-run -a -s "-screen 0 1440x900x24" env QT_QPA_PLATFORM=xcb \\
        .venv/bin/python tests/gui/screenshot_panels.py docs

(``apt-get install xvfb xdotool imagemagick``.)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

WALLPAPERS = Path("/usr/share/backgrounds")
PHOTOS = (
    "Bridge_by_Sander_Klootwijk.jpg",
    "Dragonfly_by_Bolly.jpg",
    "Fossa_by_Jasper_Roks.jpg",
    "Kleiber_by_Lukas_Baubkus.jpg",
    "Wine_by_Jakkub_Mede.jpg",
    "friends_by_Aitzol_Berasategi.jpg",
    "life_by_Aitzol_Berasategi.jpg",
    "seeding_by_Clements_Engelhardt.jpg",
)


def write_folder(folder: Path) -> None:
    from culler.testing.shoot import write_shoot

    write_shoot(folder)
    for name in PHOTOS:
        source = WALLPAPERS / name
        if source.exists():
            with Image.open(source) as im:
                im = im.convert("RGB")
                im.thumbnail((1600, 1600))
                im.save(folder / name, quality=90)


def main(out_dir: Path) -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from culler.catalog import open_catalog
    from culler.gui.app import apply_style
    from culler.gui.main_window import MainWindow
    from culler.gui.review import ExportDialog
    from culler.scan import ScanOptions, scan_folders

    app = QApplication.instance() or QApplication(sys.argv)
    apply_style(app)

    def settle(seconds: float = 0.6) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)

    def key(*keys: str) -> None:
        for k in keys:
            subprocess.run(["xdotool", "key", "--delay", "120", k], check=True)
            settle(0.4)

    def shot(name: str) -> None:
        settle(0.8)
        raw = out_dir / f"{name}.full.png"
        subprocess.run(["import", "-window", "root", str(raw)], check=True)
        image = Image.open(raw).convert("RGB").crop((0, 0, 1440, 870))  # the window
        image.quantize(192, method=Image.Quantize.MEDIANCUT).save(
            out_dir / f"{name}.png", optimize=True
        )
        raw.unlink()
        print(out_dir / f"{name}.png", (out_dir / f"{name}.png").stat().st_size // 1024, "KB")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "wedding"
        write_folder(folder)
        db = folder / "culler.db"
        with open_catalog(db) as catalog:
            scan_folders(catalog, [folder], ScanOptions(workers=0), echo=lambda _m: None)
        settings = QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, scan_workers=0)
        window.setGeometry(0, 0, 1440, 870)
        window.open_catalog(db)
        window.show()
        window.activateWindow()
        window.raise_()
        settle(2.0)
        window.auto_advance = False
        ids = {rec.name.rsplit(".", 1)[0]: rec.id for rec in window.model.records}

        # 1. The grid after Ctrl+K: proposals drawn hollow with an "A", the summary below.
        window.grid.setFocus()
        key("ctrl+k")
        while window.cull_worker is not None:
            settle(0.2)
        window.select_photo(ids["astronaut"])
        key("x")  # one decision by hand, to show beside the proposals
        window.select_photo(ids["IMG_4051"])
        key("s")  # open the burst
        shot("gui-proposals")

        # 2. The loupe on a rejected burst frame: the decision and the cull's reason in Why.
        window.select_photo(ids["IMG_4052"])
        key("Return")
        settle(1.5)
        shot("gui-why")

        # 3. Compare the burst, the Why panel following the focused pane.
        key("Escape")
        window.select_photo(ids["IMG_4051"])
        key("c")
        settle(1.5)
        key("Right")
        shot("gui-compare")

        # 4. Search finds a frame inside a collapsed burst; the Photo panel's shooting data.
        key("Escape")
        window.select_photo(ids["IMG_4051"])
        key("s")  # collapse it again
        window._focus_search()
        key("4", "0", "5", "3", "Return")
        settle(1.0)
        shot("gui-search")
        window.filter_bar.search.clear()
        window.filter_bar.apply_now()

        # 5. Export: the dialog, then the summary of what was written.
        dialog = ExportDialog(window, str(Path(tmp) / "delivery"))
        dialog.move(420, 250)
        dialog.show()
        shot("gui-export")
        dialog.close()
        key("shift+a")  # accept every proposal shown
        window.export_picks(Path(tmp) / "delivery")
        while window.deliver_worker is not None:
            settle(0.2)
        shot("gui-export-summary")
        window.summary_box.close()

        # 6. The Models tab.
        window.details.setCurrentIndex(1)
        shot("gui-models")
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")))
