"""People in the GUI (issue 28): the grid's person filter shows a person's photos, and in compare
view the faces strip shows the same person's face across the frames side by side.

A real group (insightface's card table of six): two frames of it (the second moved a little, as in
a burst), a third cropped to the left part of the table (only some of the players), and a photo
without people (scikit-image's coffee), scanned with the faces scorer, which clusters the faces into
people after the scan.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from culler.gui.faces_strip import same_face
from culler.gui.item_models import PhotoIdRole

pytest.importorskip("dlib")


@pytest.fixture
def people_shoot(tmp_path):
    from culler_plugins.faces.testing import people_photo

    from culler.testing import sample_image, scan_into

    table = people_photo("insightface:t1.jpg")
    if table is None:
        pytest.skip(
            "the card-table photo ships with insightface: pip install --no-deps insightface"
        )
    folder = tmp_path / "shoot"
    folder.mkdir()
    w, h = table.size
    table.save(folder / "a-table.jpg", quality=95)
    table.crop((16, 10, w, h)).resize((w, h)).save(folder / "b-table-moved.jpg", quality=95)
    table.crop((0, 0, int(w * 0.45), h)).save(folder / "c-left-side.jpg", quality=95)
    sample_image("coffee").save(folder / "d-coffee.jpg", quality=95)
    catalog, _ = scan_into(folder / "culler.db", folder, ["faces"])
    try:
        ids = {
            r["path"].rsplit("/", 1)[-1]: r["id"]
            for r in catalog.query("SELECT id, path FROM photos")
        }
        faces = catalog.photo_faces(ids["a-table.jpg"])
        # The player furthest right is not in the left-side crop; the one furthest left is.
        right = max(faces, key=lambda f: f["box"][0])["person_id"]
        left = min(faces, key=lambda f: f["box"][0])["person_id"]
        assert right is not None and left is not None and right != left
        with catalog.transaction():
            catalog.name_person(right, "Anna")
            catalog.name_person(left, "Ben")
    finally:
        catalog.close()
    return folder / "culler.db", ids, right, left


def open_window(window, qtbot, db):
    window.open_catalog(db)
    window.show()
    qtbot.waitExposed(window)
    return window


def shown_ids(window) -> set[int]:
    return {window.proxy.index(r, 0).data(PhotoIdRole) for r in range(window.proxy.rowCount())}


def test_the_person_filter_shows_only_that_person_s_photos(window, qtbot, people_shoot):
    db, ids, anna, ben = people_shoot
    open_window(window, qtbot, db)
    table, moved = ids["a-table.jpg"], ids["b-table-moved.jpg"]
    # The two table frames are one stack (a burst), shown at its top frame.
    (top,) = {table, moved} & shown_ids(window)
    assert shown_ids(window) == {top, ids["c-left-side.jpg"], ids["d-coffee.jpg"]}
    combo = window.filter_bar.person
    labels = [combo.itemText(i) for i in range(combo.count())]
    # Anyone first, then the named people by name (with their photo counts), then the unnamed.
    assert labels[:3] == ["Anyone", "Anna (2)", "Ben (3)"]
    assert all(label.startswith("person ") for label in labels[3:])
    combo.setCurrentIndex(combo.findData(anna))
    qtbot.waitUntil(lambda: shown_ids(window) == {top})
    window.proxy.toggle_stack(window.model.record(top).group_id)  # open the stack: both frames
    assert shown_ids(window) == {table, moved}
    window.proxy.toggle_stack(window.model.record(top).group_id)
    combo.setCurrentIndex(combo.findData(ben))
    qtbot.waitUntil(lambda: shown_ids(window) == {top, ids["c-left-side.jpg"]})
    # With another filter too: Ben's photos that also match the search.
    window.filter_bar.search.setText("left-side")
    qtbot.waitUntil(lambda: shown_ids(window) == {ids["c-left-side.jpg"]})
    window.filter_bar.search.setText("")
    combo.setCurrentIndex(0)
    qtbot.waitUntil(lambda: len(shown_ids(window)) == 3)
    # The person filter fits a small window without squeezing the search box (issue #29).
    assert combo.isVisible()
    window.resize(1024, 640)
    qtbot.waitUntil(lambda: window.width() <= 1024)
    assert window.filter_bar.search.width() >= 180


def test_the_person_filter_is_hidden_without_people(window, qtbot, scanned):
    open_window(window, qtbot, scanned)
    assert not window.filter_bar.person.isVisible()
    assert window.filter_bar.person_photos(window.catalog) is None


def test_compare_shows_one_person_across_the_frames(window, qtbot, people_shoot):
    db, ids, anna, ben = people_shoot
    open_window(window, qtbot, db)
    frames = [ids["a-table.jpg"], ids["b-table-moved.jpg"], ids["c-left-side.jpg"]]
    window.proxy.toggle_stack(window.model.record(frames[0]).group_id)  # the burst, opened
    selection = window.grid.selectionModel()
    window.grid.clearSelection()
    for r in range(window.proxy.rowCount()):
        index = window.proxy.index(r, 0)
        if index.data(PhotoIdRole) in frames:
            selection.select(index, selection.SelectionFlag.Select)
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_C)
    assert sorted(r.id for r in window.stage.records) == sorted(frames)
    strip = window.faces_strip
    strip.parentWidget().parentWidget().setCurrentWidget(strip)  # the Faces tab in front
    qtbot.waitUntil(lambda: len(strip.tiles) == 3, timeout=20000)
    order = [r.id for r in window.stage.records]
    focused = window.stage.focused.id
    seen = set()
    for _ in range(6):  # every face of the focused frame, followed across the three frames
        tiles = strip.tiles
        assert [t.frame for t in tiles] == [1, 2, 3]
        person = tiles[order.index(focused)].face["person_id"]
        seen.add(person)
        for frame_id, tile in zip(order, tiles):
            if tile.face:  # found in that frame: the same person, their face cut from it
                assert tile.face["person_id"] == person
                assert tile.caption.text().startswith(f"#{tile.frame}")
            else:
                assert frame_id == ids["c-left-side.jpg"]
                assert tile.picture.text() == "not in this frame"
        # Both table frames always hold the person.
        assert all(t.face for f, t in zip(order, tiles) if f != ids["c-left-side.jpg"])
        assert strip.current == order.index(focused)
        if person == anna:
            assert "Anna across 3 frames" in strip.message.text()
            assert not tiles[order.index(ids["c-left-side.jpg"])].face
        if person == ben:
            assert tiles[order.index(ids["c-left-side.jpg"])].face
        qtbot.keyClick(strip, Qt.Key.Key_Right)
    assert {anna, ben} <= seen


def test_a_face_is_matched_by_person_or_else_by_its_place_in_the_frame():
    anna = {"box": [100, 100, 80, 80], "image_w": 1024, "person_id": 1}
    others = [
        {"box": [110, 104, 80, 80], "image_w": 1024, "person_id": 2},
        {"box": [600, 100, 80, 80], "image_w": 1024, "person_id": 1},
    ]
    assert same_face(anna, others) is others[1]  # by person, wherever she moved
    unknown = {"box": [100, 100, 80, 80], "image_w": 1024, "person_id": None}
    near = {"box": [130, 90, 80, 80], "image_w": 1024, "person_id": None}
    assert same_face(unknown, [near, others[1]]) is near  # nearest, within a face width
    assert same_face(unknown, [{"box": [300, 100, 80, 80], "image_w": 1024}]) is None
    # The same place in a photo decoded at another size.
    half = {"box": [55, 50, 40, 40], "image_w": 512, "person_id": None}
    assert same_face(unknown, [half]) is half
    # A known person is not mistaken for someone else who stands where she stood.
    assert same_face(anna, [others[0]]) is None
