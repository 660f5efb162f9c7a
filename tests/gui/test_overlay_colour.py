"""The "why" overlay (sharpness tiles, motion blur, faces with eye state) and colour management in
every path where the GUI decodes pixels itself (thumbnails it makes, previews, full-resolution frames)."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest
from PIL import Image, ImageCms
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from culler.gui.culling import LOUPE
from culler.gui.item_models import PhotoIdRole
from culler.gui.overlay import FACES_SIDE, Overlay, overlay_from_scores
from culler.imaging import colour

GREEN = (100, 200, 50)  # a saturated Adobe RGB green
#: Debian's icc-profiles-free ships an Adobe RGB (1998) compatible profile; else culler builds one.
DEBIAN_ADOBE = Path("/usr/share/color/icc/compatibleWithAdobeRGB1998.icc")


def adobe_profile() -> bytes:
    return DEBIAN_ADOBE.read_bytes() if DEBIAN_ADOBE.exists() else colour.adobe_rgb_profile()


def littlecms_srgb(icc: bytes, rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """What littlecms itself makes of ``rgb`` in that profile, in sRGB (relative colorimetric)."""
    im = Image.new("RGB", (1, 1), rgb)
    src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    out = ImageCms.profileToProfile(
        im,
        src,
        ImageCms.createProfile("sRGB"),
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
    )
    return out.getpixel((0, 0))


@pytest.fixture
def adobe_png(tmp_path: Path) -> Path:
    folder = tmp_path / "adobe"
    folder.mkdir()
    path = folder / "green_adobe.png"
    Image.new("RGB", (640, 480), GREEN).save(path, icc_profile=adobe_profile())
    return path


# -- overlay data, no window -----------------------------------------------------------------------
def test_overlay_reads_grid_blur_and_faces_scaled_to_the_photo():
    scores = [
        {
            "scorer_id": "faces",
            "extra": {"faces": [{"box": [256, 128, 128, 96], "eyes": "closed"}]},
        },
        {
            "scorer_id": "technical",
            "extra": {
                "sharpness_grid": [[1.0, 4.0, 2.0], [0.5, 8.0, 1.0]],
                "blur": {"direction_deg": 30.0, "direction": "diagonal"},
            },
        },
    ]
    overlay = overlay_from_scores(scores, 4000, 3000)
    assert overlay.grid == [[1.0, 4.0, 2.0], [0.5, 8.0, 1.0]]
    assert overlay.blur_deg == 30.0 and overlay.blur_text == "diagonal"
    face = overlay.faces[0]
    analysed = (FACES_SIDE, FACES_SIDE * 3000 / 4000)  # the faces scorer's 1024 px copy
    assert face["box"] == pytest.approx(
        (256 / analysed[0], 128 / analysed[1], 128 / analysed[0], 96 / analysed[1])
    )
    assert face["eyes"] == "closed"


def test_overlay_tolerates_missing_and_malformed_data():
    scores = [
        {"scorer_id": "a", "extra": None},
        {"scorer_id": "b", "extra": {"sharpness_grid": [[1.0, 2.0], [3.0]], "blur": "yes"}},
        {"scorer_id": "c", "extra": {"faces": [{"eyes": "open"}, "x", {"box": [1, 2]}]}},
    ]
    overlay = overlay_from_scores(scores, None, None)
    assert overlay.empty
    assert overlay_from_scores(scores, 100, 100).faces == []


# -- overlay in the window -------------------------------------------------------------------------
def test_o_toggles_the_overlay_and_the_why_panel_links_to_it(window, qtbot, scanned):
    window.open_catalog(scanned)
    window.show()
    qtbot.waitExposed(window)
    pid = window.current_id()
    with sqlite3.connect(scanned) as conn:
        extra = {"sharpness_grid": [[0.1, 0.2], [0.3, 9.0]], "blur": {"direction_deg": 0}}
        conn.execute("UPDATE scores SET extra = ? WHERE photo_id = ?", [json.dumps(extra), pid])
    other = window.proxy.index(1, 0).data(PhotoIdRole)
    with sqlite3.connect(scanned) as conn:  # a photo no scorer has measured
        conn.execute("DELETE FROM scores WHERE photo_id = ?", [other])
    window._refresh_details()
    assert window.why.overlay_link is not None  # the why panel links to the overlay
    window.why.show_details(window.catalog, other)
    assert window.why.overlay_link is None  # nothing to show for a photo without that data
    window._refresh_details()
    window.set_mode(LOUPE)
    qtbot.waitUntil(lambda: pid in window.stage._previews, timeout=20_000)
    plain = window.stage.grab().toImage()
    qtbot.keyClick(window.stage, Qt.Key.Key_O)
    assert window.stage.overlay_visible
    # A grid a scan of an earlier version stored is drawn as it is: nothing is computed.
    assert window.stage.overlay_for(window.stage.focused).grid == extra["sharpness_grid"]
    assert not window.overlay_details.pending(pid)
    shown = window.stage.grab().toImage()
    frame = window.stage.frame_rect(0)
    # The top-left tile is the softest: tinted red; the bottom-right the sharpest: tinted green.
    soft = frame.topLeft().toPoint() + (frame.bottomRight() - frame.topLeft()).toPoint() / 4
    sharp = frame.topLeft().toPoint() + (frame.bottomRight() - frame.topLeft()).toPoint() * 3 / 4
    assert _redder(shown.pixelColor(soft), plain.pixelColor(soft))
    assert _greener(shown.pixelColor(sharp), plain.pixelColor(sharp))
    qtbot.keyClick(window.stage, Qt.Key.Key_O)
    assert not window.stage.overlay_visible
    window.set_mode(0)
    window.why.overlayRequested.emit()  # the why panel's link
    assert window.views.currentIndex() == LOUPE and window.stage.overlay_visible


def _redder(after: QColor, before: QColor) -> bool:
    return after.red() - after.green() > before.red() - before.green()


def _greener(after: QColor, before: QColor) -> bool:
    return after.green() - after.red() > before.green() - before.red()


def test_overlay_paints_faces_with_their_eye_state(qtbot, tmp_path, adobe_png):
    from culler.gui.records import PhotoRecord
    from culler.gui.stage import PhotoStage
    from culler.gui.thumbnails import ThumbnailCache

    stage = PhotoStage(ThumbnailCache(tmp_path / "thumbs"))
    qtbot.addWidget(stage)
    stage.resize(700, 560)
    rec = PhotoRecord(id=1, path=str(adobe_png), width=640, height=480)
    face = {"box": (0.25, 0.25, 0.5, 0.5), "eyes": "closed", "eye_boxes": []}
    stage.overlay_source = lambda _rec: Overlay(faces=[face])
    stage.set_records([rec])
    qtbot.waitUntil(lambda: 1 in stage._previews, timeout=20_000)
    stage.toggle_overlay()
    image = stage.grab().toImage()
    frame = stage.frame_rect(0)
    edge = (frame.x() + frame.width() * 0.5, frame.y() + frame.height() * 0.75)
    pixel = image.pixelColor(int(edge[0]), int(edge[1]))
    assert pixel.red() > 200 and pixel.green() < 120  # the closed-eyes face is outlined in red
    stage.thumbnails.wait()


# -- colour management in the GUI's decodes --------------------------------------------------------
@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_previews_full_frames_and_gui_thumbnails_are_converted_to_srgb(tmp_path, adobe_png, kind):
    from culler.gui.pixels import FULL_SIDE, decode_for_display
    from culler.gui.thumbnails import load_preview, load_thumbnail

    path = adobe_png
    if kind == "jpeg":  # as cameras write them: a JPEG carrying the profile
        path = tmp_path / "green_adobe.jpg"
        Image.open(adobe_png).save(path, quality=100, icc_profile=adobe_profile())
    expected = littlecms_srgb(adobe_profile(), GREEN)
    assert expected != GREEN and expected[0] < 20  # the example: ≈ (0, 201, 12)
    for image in (
        load_preview(str(path), 512),
        decode_for_display(str(path), FULL_SIDE),
        load_thumbnail(str(path), None, tmp_path / "thumbs", 256),
    ):
        got = image.pixelColor(10, 10)
        assert (got.red(), got.green(), got.blue()) == pytest.approx(expected, abs=2)


def test_srgb_photos_pass_through_untouched(tmp_path):
    from culler.gui.thumbnails import load_preview

    path = tmp_path / "plain.png"
    Image.new("RGB", (64, 64), GREEN).save(path)
    got = load_preview(str(path), 64).pixelColor(5, 5)
    assert (got.red(), got.green(), got.blue()) == GREEN


def test_the_loupe_shows_an_adobe_rgb_photo_in_srgb(window, qtbot, adobe_png):
    from culler.catalog import open_catalog
    from culler.scan import ScanOptions, scan_folders

    db_path = adobe_png.parent / "culler.db"
    with open_catalog(db_path) as catalog:
        scan_folders(catalog, [adobe_png.parent], ScanOptions(workers=0), echo=lambda _m: None)
    window.open_catalog(db_path)
    window.show()
    qtbot.waitExposed(window)
    window.set_mode(LOUPE)
    pid = window.current_id()
    qtbot.waitUntil(lambda: pid in window.stage._previews, timeout=20_000)
    centre = window.stage.frame_rect(0).center().toPoint()
    got = window.stage.grab().toImage().pixelColor(centre)
    expected = littlecms_srgb(adobe_profile(), GREEN)
    assert (got.red(), got.green(), got.blue()) == pytest.approx(expected, abs=1)


def test_overlay_follows_the_technical_scorers_grid_and_blur_facts():
    """Tiles too flat to judge (-1) stay clear, the grid covers only its whole tiles, and the blur
    arrow appears only where motion blur was found."""
    extra = {
        "sharpness_grid": [[-1, 0.5], [0.9, 1.0]],
        "sharpness_grid_tile": 400,
        "scored_size": [1000, 900],
        "blur": {"direction_deg": 0, "direction": "horizontal", "motion_confidence": 0.1},
    }
    overlay = overlay_from_scores([{"scorer_id": "technical", "extra": extra}], 1000, 900)
    assert overlay.grid_cover == (0.8, pytest.approx(800 / 900))
    assert overlay.blur_deg is None  # no motion blur found: no arrow
    extra["blur"]["motion_confidence"] = 0.9
    overlay = overlay_from_scores([{"scorer_id": "technical", "extra": extra}], 1000, 900)
    assert overlay.blur_deg == 0.0 and overlay.blur_text == "horizontal"


# -- the sharpness grid computed for the photo shown ----------------------------------------------
def _loupe_with_overlay(window, qtbot, scanned):
    window.open_catalog(scanned)
    window.show()
    qtbot.waitExposed(window)
    window.set_mode(LOUPE)
    pid = window.current_id()
    qtbot.waitUntil(lambda: pid in window.stage._previews, timeout=20_000)
    return pid


def test_the_overlay_computes_the_grid_off_the_ui_thread_when_shown(window, qtbot, scanned):
    """A scan stores no grid; with the overlay on, the photo shown gets the grid the scan measured,
    computed by a worker and drawn when it arrives; it is kept for the photo, not computed again."""
    from culler.scan.decode import details_on_demand

    pid = _loupe_with_overlay(window, qtbot, scanned)
    rec = window.stage.focused
    assert all("sharpness_grid" not in (r["extra"] or {}) for r in window.catalog.scores_for(pid))
    assert not window.overlay_details.pending(pid)  # nothing computed while the overlay is off
    plain = window.stage.grab().toImage()
    with qtbot.waitSignal(window.overlay_details.ready, timeout=30_000):
        qtbot.keyClick(window.stage, Qt.Key.Key_O)
        window.stage.overlay_for(rec)  # what the next paint asks
    overlay = window.stage.overlay_for(rec)
    expected = details_on_demand(rec.path, ["technical"])["technical"]
    assert overlay.grid == [[float(v) for v in r] for r in expected["sharpness_grid"]]
    tile, (w, h) = expected["sharpness_grid_tile"], expected["scored_size"]
    assert overlay.grid_cover == (
        min(1.0, len(expected["sharpness_grid"][0]) * tile / w),
        min(1.0, len(expected["sharpness_grid"]) * tile / h),
    )
    shown = window.stage.grab().toImage()
    frame = window.stage.frame_rect(0)
    changed = sum(
        shown.pixelColor(x, y) != plain.pixelColor(x, y)
        for x in range(int(frame.left()) + 5, int(frame.right()) - 5, 23)
        for y in range(int(frame.top()) + 5, int(frame.bottom()) - 5, 23)
    )
    assert changed > 20  # the tiles are tinted over the photo
    window.stage.overlay_changed(pid)  # read again (as after a rating): kept, not computed again
    assert window.stage.overlay_for(rec).grid == overlay.grid
    assert not window.overlay_details.pending(pid)


def test_a_file_gone_since_the_scan_draws_no_grid(window, qtbot, scanned):
    pid = _loupe_with_overlay(window, qtbot, scanned)
    rec = window.stage.focused
    Path(rec.path).unlink()
    with qtbot.waitSignal(window.overlay_details.ready, timeout=30_000):
        qtbot.keyClick(window.stage, Qt.Key.Key_O)
        window.stage.overlay_for(rec)
    assert window.stage.overlay_for(rec).grid is None
    assert not window.overlay_details.pending(pid)
    window.stage.grab()  # paints without the grid, without an error
