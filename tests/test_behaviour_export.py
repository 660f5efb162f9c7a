"""``culler export picks --move`` with a RAW+JPEG pair: the sidecar the pair shares is copied, not
moved, so the RAW that stays keeps its ratings and edits."""

from __future__ import annotations

import hashlib

from culler.testing import sample_image, scan_into
from culler.xmp import SidecarData, read_sidecar, write_sidecar


def test_move_copies_a_sidecar_shared_by_a_raw_jpeg_pair(tmp_path, culler_cli):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    sample_image("chelsea").resize((256, 192)).save(shoot / "IMG_1.jpg", quality=90)
    (shoot / "IMG_1.dng").write_bytes(b"the raw file of the pair, not decoded by this test")
    sample_image("coffee").resize((256, 192)).save(shoot / "IMG_2.jpg", quality=90)
    write_sidecar(shoot / "IMG_2.xmp", SidecarData(rating=4))  # IMG_2's own: moves with it
    db = tmp_path / "culler.db"
    catalog, _ = scan_into(db, shoot, ["technical"])
    for name in ("IMG_1.jpg", "IMG_2.jpg"):
        catalog.rate(catalog.photo_by_path(str(shoot / name))["id"], decision="pick", source="cli")
    catalog.close()
    write_sidecar(shoot / "IMG_1.xmp", SidecarData(rating=5, label="Red"))
    shared = hashlib.sha256((shoot / "IMG_1.xmp").read_bytes()).hexdigest()

    dest = tmp_path / "out"
    culler_cli("export", "picks", dest, "--db", db, "--move")
    assert not (shoot / "IMG_1.jpg").exists() and (dest / "IMG_1.jpg").exists()
    # The pair's sidecar stays with the RAW and a copy goes with the JPEG.
    assert (shoot / "IMG_1.dng").exists()
    assert hashlib.sha256((shoot / "IMG_1.xmp").read_bytes()).hexdigest() == shared
    assert hashlib.sha256((dest / "IMG_1.xmp").read_bytes()).hexdigest() == shared
    assert read_sidecar(dest / "IMG_1.xmp").rating == 5
    # A sidecar no other photo shares moves with its photo.
    assert not (shoot / "IMG_2.xmp").exists()
    assert read_sidecar(dest / "IMG_2.xmp").rating == 4
