"""What ``culler xmp`` promises, each pinned through the CLI so that breaking it fails a test."""

from __future__ import annotations

from pathlib import Path

import pytest

from culler.catalog import open_catalog
from culler.testing import sample_image, scan_into
from culler.xmp import SidecarData, read_sidecar, write_sidecar

#: A sidecar Lightroom wrote: 2 stars, a Red label, develop settings culler must keep.
LIGHTROOM = """<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
   xmp:Rating="2"
   xmp:Label="Red"
   crs:Exposure2012="+0.35"/>
 </rdf:RDF>
</x:xmpmeta>
"""


@pytest.fixture
def shoot(tmp_path):
    """Three real photos scanned into a catalog nobody has rated in yet: (folder, db, ids by stem)."""
    folder = tmp_path / "shoot"
    folder.mkdir()
    for name in ("astronaut", "chelsea", "coffee"):
        sample_image(name).resize((256, 192)).save(folder / f"{name}.jpg", quality=90)
    db = tmp_path / "culler.db"
    catalog, _ = scan_into(db, folder, ["technical"])
    ids = {Path(r["path"]).stem: r["id"] for r in catalog.query("SELECT id, path FROM photos")}
    catalog.close()
    return folder, db, ids


def _rating(db: Path, photo_id: int) -> dict:
    catalog = open_catalog(db)
    try:
        return catalog.current_rating(photo_id)
    finally:
        catalog.close()


def test_write_keeps_the_rating_of_a_photo_only_ever_rated_in_lightroom(shoot, culler_cli):
    folder, db, ids = shoot
    (folder / "chelsea.xmp").write_text(LIGHTROOM)
    report = culler_cli.json("xmp", "write", "--db", db, "--json")
    assert str(folder / "chelsea.xmp") in [row["sidecar"] for row in report["changed"]]
    data = read_sidecar(folder / "chelsea.xmp")
    assert (data.rating, data.label) == (2, "Red")
    assert "technical" in data.scores  # culler's own fields did go in
    assert 'crs:Exposure2012="+0.35"' in (folder / "chelsea.xmp").read_text()


def test_write_of_a_rating_cleared_in_culler_says_unrated_not_the_old_stars(shoot, culler_cli):
    folder, db, ids = shoot
    (folder / "chelsea.xmp").write_text(LIGHTROOM)
    catalog = open_catalog(db)
    catalog.rate(ids["chelsea"], stars=None, decision="none", label=None, source="cli")
    catalog.close()
    culler_cli.json("xmp", "write", "--db", db, "--json")
    assert read_sidecar(folder / "chelsea.xmp").rating == 0


def test_read_dry_run_reports_the_import_and_imports_nothing(shoot, culler_cli):
    folder, db, ids = shoot
    write_sidecar(folder / "coffee.xmp", SidecarData(rating=4, label="Green", decision="pick"))
    report = culler_cli.json("xmp", "read", "--db", db, "--dry-run", "--json")
    assert report["dry_run"] is True
    assert report["changed"] == [
        {
            "path": str(folder / "coffee.jpg"),
            "sidecar": str(folder / "coffee.xmp"),
            "stars": 4,
            "decision": "pick",
            "label": "Green",
        }
    ]
    state = _rating(db, ids["coffee"])
    assert (state["stars"], state["decision"], state["label"], state.get("source")) == (
        None,
        None,
        None,
        None,
    )
    # The same read without --dry-run does import it.
    culler_cli.json("xmp", "read", "--db", db, "--json")
    state = _rating(db, ids["coffee"])
    assert (state["stars"], state["decision"], state["label"], state.get("source")) == (
        4,
        "pick",
        "Green",
        "xmp",
    )


def test_rated_only_writes_just_the_photos_rated_in_culler(shoot, culler_cli):
    folder, db, ids = shoot
    catalog = open_catalog(db)
    catalog.rate(ids["astronaut"], stars=3, source="cli")
    catalog.rate(ids["astronaut"], stars=None, source="cli")  # rated, then cleared: XMP 0
    catalog.rate(ids["coffee"], decision="reject", source="gui")
    catalog.close()
    report = culler_cli.json("xmp", "write", "--db", db, "--rated-only", "--json")
    assert sorted(Path(row["sidecar"]).name for row in report["changed"]) == [
        "astronaut.xmp",
        "coffee.xmp",
    ]
    assert report["skipped"] == [
        {"path": str(folder / "chelsea.jpg"), "reason": "not rated in culler"}
    ]
    assert sorted(p.name for p in folder.glob("*.xmp")) == ["astronaut.xmp", "coffee.xmp"]
    assert read_sidecar(folder / "coffee.xmp").rating == -1
    assert read_sidecar(folder / "astronaut.xmp").rating == 0
    # Without the flag every photo gets one, so its scores reach the editor too.
    everything = culler_cli.json("xmp", "write", "--db", db, "--json")
    assert [Path(row["sidecar"]).name for row in everything["changed"]] == ["chelsea.xmp"]
    assert read_sidecar(folder / "chelsea.xmp").rating is None
