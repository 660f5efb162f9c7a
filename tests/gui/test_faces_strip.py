"""The faces strip: every face of a real group photo at 100 % with its verdicts; keys move along."""

from __future__ import annotations

import pytest
from PIL import Image
from PySide6.QtCore import Qt

from culler.gui.faces_strip import BAD, GOOD, UNSURE, FacesStrip, face_crop, verdict_text

pytest.importorskip("dlib")


@pytest.fixture
def group_photo(tmp_path):
    from culler_plugins.faces.testing import people_photo

    image = people_photo("insightface:t1.jpg")
    if image is None:
        pytest.skip(
            "the card-table photo ships with insightface: pip install --no-deps insightface"
        )
    folder = tmp_path / "shoot"
    folder.mkdir()
    image.save(folder / "table.jpg", quality=95)
    return folder


def test_the_strip_shows_every_face_of_the_selected_photo_and_keys_move(qtbot, group_photo):
    from culler.testing import scan_into

    catalog, _ = scan_into(group_photo / "culler.db", group_photo, ["faces"])
    try:
        (pid,) = [r["id"] for r in catalog.query("SELECT id FROM photos")]
        strip = FacesStrip()
        qtbot.addWidget(strip)
        strip.set_photo(catalog, pid)
        assert strip.tiles == []  # hidden: nothing decoded yet
        strip.show()
        qtbot.waitExposed(strip)
        assert len(strip.tiles) == 6
        # 100 %: the 1280 px photo's 110 px faces with a 25 % margin, not the 1024 px decode's.
        full = Image.new("RGB", (1280, 886))
        for tile in strip.tiles:
            size = tile.picture.pixmap().size()
            assert (size.width(), size.height()) == face_crop(full, tile.face).size
            assert size.width() > 1.2 * tile.face["box"][2]  # 1280/1024 × the margin
        assert all(
            "focus" not in t.caption.text() or "sharp" in t.caption.text() for t in strip.tiles
        )
        assert strip.current == 0
        qtbot.keyClick(strip, Qt.Key.Key_Right)
        qtbot.keyClick(strip, Qt.Key.Key_Right)
        assert strip.current == 2
        qtbot.keyClick(strip, Qt.Key.Key_Left)
        assert strip.current == 1
        for _ in range(10):
            qtbot.keyClick(strip, Qt.Key.Key_Right)
        assert strip.current == 5  # stays on the last face
        strip.set_photo(catalog, None)
        assert strip.tiles == []
    finally:
        catalog.close()


def test_captions_say_each_verdict_in_its_colour():
    assert verdict_text({"eyes": "open", "eyes_confidence": 0.8, "focus": "sharp"})[1] == GOOD
    text, colour = verdict_text({"eyes": "closed", "eyes_confidence": 0.7, "focus": "sharp"})
    assert text.startswith("eyes closed 0.70") and colour == BAD
    assert verdict_text({"eyes": "open", "focus": "motion"}) == ("eyes open · motion-blurred", BAD)
    assert verdict_text({"eyes": "unknown", "focus": "unknown"}) == (
        "eyes can't tell · focus can't tell",
        UNSURE,
    )
    named = verdict_text({"eyes": "open", "focus": "sharp", "person": "Anna"})[0]
    assert named.splitlines()[0] == "Anna"


def test_a_face_crop_is_cut_at_the_photo_s_full_size():
    photo = Image.new("RGB", (2048, 1366))
    face = {"box": [100, 100, 50, 50], "image_w": 1024}
    assert face_crop(photo, face).size == (150, 150)  # 50 px at 1024 → 100 px, plus 25 % each side
