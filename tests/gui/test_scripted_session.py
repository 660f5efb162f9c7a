"""One scripted session, start to delivery, as a photographer works a shoot in the window.

Open a folder of real photographs (the scan runs in the window), run the cull, review its proposals,
override two of them, accept the rest, export the picks, write XMP sidecars; then check the files on
disk, the sidecars and the catalog. Offscreen in CI; nothing here is mocked.
"""

from __future__ import annotations

import sqlite3

from PySide6.QtCore import Qt

from culler.interop.xmp import read_sidecar, sidecar_path
from culler.testing.shoot import write_shoot


def test_a_shoot_from_scan_to_cull_to_export_and_xmp(window, qtbot, tmp_path):
    folder = tmp_path / "wedding"
    files = write_shoot(folder)
    delivery = tmp_path / "delivery"

    # 1. Open the folder: the catalog is created and the scan runs in the background.
    window.open_folder(folder)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.scan_worker is None, timeout=180_000)
    ids = {rec.name.rsplit(".", 1)[0]: rec.id for rec in window.model.records}
    assert set(ids) == set(files)
    window.auto_advance = False
    window.grid.setFocus()

    # 2. Cull (Ctrl+K runs it; here its slot) and review the proposals.
    assert window.run_cull()
    qtbot.waitUntil(lambda: window.cull_worker is None, timeout=120_000)
    rec = window.model.record
    proposals = {name: rec(pid).decision for name, pid in ids.items() if rec(pid).proposed}
    assert proposals == {
        "IMG_4051": "pick",
        "IMG_4052": "reject",
        "IMG_4053": "reject",
        "coffee": "pick",
        "coffee-web": "reject",
        "astronaut": "pick",
        "rocket": "pick",
        "hubble_deep_field": "pick",
    }

    # 3. Override two proposals: the rocket is not wanted, the second burst frame is (a different
    #    expression the couple will like, even if softer).
    window.select_photo(ids["rocket"])
    qtbot.keyClick(window.grid, Qt.Key.Key_X)
    window.filter_bar.search.setText("4052")  # found inside its collapsed burst
    window.filter_bar.apply_now()
    assert window.select_photo(ids["IMG_4052"])
    qtbot.keyClick(window.grid, Qt.Key.Key_P)
    assert "IMG_4052: pick" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: window.why.photo_id == ids["IMG_4052"])
    # the photographer's pick, with what the cull had said about the frame
    assert window.why.decision_text.startswith("pick: burst of 3 (#2): missed focus")
    window.filter_bar.search.clear()
    window.filter_bar.apply_now()

    # 4. Accept every remaining proposal, bursts expanded so none is hidden.
    for group in {rec(pid).group_id for pid in ids.values()} - {None}:
        window.proxy.toggle_stack(group)
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)
    assert not any(rec(pid).proposed for pid in ids.values())

    # 5. Export the picks (copy), with progress and a summary.
    assert window.export_picks(delivery, mode="copy")
    qtbot.waitUntil(lambda: window.deliver_worker is None, timeout=120_000)
    picks = {"IMG_4051", "IMG_4052", "coffee", "astronaut", "hubble_deep_field"}
    assert sorted(p.name for p in delivery.iterdir()) == sorted(f"{n}.jpg" for n in picks)
    for name in picks:  # copies, byte for byte; the originals stay
        assert (delivery / f"{name}.jpg").read_bytes() == files[name].read_bytes()
        assert files[name].exists()
    assert window.last_summary.startswith(f"5 of 5 picks copied to {delivery}")
    window.summary_box.close()

    # 6. Write XMP sidecars for the whole shoot.
    assert window.write_xmp()
    qtbot.waitUntil(lambda: window.deliver_worker is None, timeout=120_000)
    assert window.last_summary.startswith("XMP sidecars: 8 written or updated")
    expected = {
        "IMG_4051": "pick",
        "IMG_4052": "pick",
        "IMG_4053": "reject",
        "coffee": "pick",
        "coffee-web": "reject",
        "astronaut": "pick",
        "rocket": "reject",
        "hubble_deep_field": "pick",
    }
    for name, decision in expected.items():
        sidecar = sidecar_path(files[name], for_writing=False)
        assert sidecar is not None and sidecar.exists(), name
        data = read_sidecar(sidecar)
        assert (data.rating == -1) == (decision == "reject"), (name, data)
        assert "technical" in data.scores

    # 7. The catalog: every decision is the photographer's now, and the overrides say so.
    with sqlite3.connect(window.db_path) as conn:
        rows = conn.execute(
            "SELECT p.path, r.decision, r.source FROM photos p JOIN ratings r ON r.photo_id = p.id"
            " WHERE r.id = (SELECT MAX(id) FROM ratings WHERE photo_id = p.id)"
        ).fetchall()
    final = {path.rsplit("/", 1)[-1].rsplit(".", 1)[0]: (d, s) for path, d, s in rows}
    assert final == {name: (decision, "gui") for name, decision in expected.items()}
    assert window.catalog.hand_decided() == set(ids.values())
