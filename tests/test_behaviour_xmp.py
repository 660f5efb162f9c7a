"""What ``culler xmp`` promises, each pinned through the CLI so that breaking it fails a test."""

from __future__ import annotations

from pathlib import Path

import pytest

from culler.catalog import open_catalog
from culler.interop.xmp import CULLER_NS, SidecarData, read_sidecar, write_sidecar
from culler.testing import sample_image, scan_into

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


def test_a_label_cleared_in_culler_leaves_the_sidecar_and_does_not_come_back(shoot, culler_cli):
    folder, db, ids = shoot
    (folder / "chelsea.xmp").write_text(LIGHTROOM)
    culler_cli("xmp", "read", "--db", db)
    assert _rating(db, ids["chelsea"])["label"] == "Red"
    culler_cli("rate", folder / "chelsea.jpg", "--clear", "--db", db)
    culler_cli("xmp", "write", "--db", db)
    assert read_sidecar(folder / "chelsea.xmp").label is None
    culler_cli("xmp", "read", "--db", db)
    assert _rating(db, ids["chelsea"])["label"] is None


def test_a_label_set_only_in_lightroom_survives_a_rating_in_culler(shoot, culler_cli):
    folder, db, ids = shoot
    culler_cli("rate", folder / "chelsea.jpg", "--stars", "4", "--db", db)
    (folder / "chelsea.xmp").write_text(LIGHTROOM)  # Lightroom labels it afterwards
    culler_cli("xmp", "write", "--db", db)
    assert read_sidecar(folder / "chelsea.xmp").label == "Red"


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


# -- the decisions behind the commands, called as the GUI and culler cull call them -------------------


def test_read_with_the_defaults_imports_every_sidecar_and_names_the_photos_without_one(shoot):
    from culler.interop.xmp_sync import read_sidecars

    folder, db, ids = shoot
    write_sidecar(folder / "astronaut.xmp", SidecarData(rating=2))
    write_sidecar(folder / "coffee.jpg.xmp", SidecarData(rating=-1))  # darktable's naming
    catalog = open_catalog(db)
    try:
        report = read_sidecars(catalog)
        assert report.skipped == [{"path": str(folder / "chelsea.jpg"), "reason": "no sidecar"}]
        assert sorted(row["sidecar"] for row in report.changed) == [
            str(folder / "astronaut.xmp"),
            str(folder / "coffee.jpg.xmp"),
        ]
        assert catalog.current_rating(ids["astronaut"])["stars"] == 2
        assert catalog.current_rating(ids["coffee"])["decision"] == "reject"
    finally:
        catalog.close()


@pytest.mark.parametrize(
    "current,sidecar,expected",
    [
        # Stars from the editor; a reject made here is lifted by a star rating made there.
        ({}, SidecarData(rating=3), {"stars": 3}),
        ({"decision": "reject"}, SidecarData(rating=3), {"stars": 3, "decision": "none"}),
        ({"decision": "pick", "stars": 2}, SidecarData(rating=3), {"stars": 3}),
        # A pick flag comes with any rating but a reject; the reject wins.
        ({}, SidecarData(rating=1, decision="pick"), {"stars": 1, "decision": "pick"}),
        ({}, SidecarData(rating=-1, decision="pick"), {"decision": "reject"}),
        (
            {"decision": "reject"},
            SidecarData(rating=4, decision="pick"),
            {"stars": 4, "decision": "pick"},
        ),
        ({"decision": "pick"}, SidecarData(decision="pick"), {}),
        # 0 is "unrated": it never makes an unrated photo a rated-0 one, but clears stars.
        ({}, SidecarData(rating=0), {}),
        ({"stars": 4}, SidecarData(rating=0), {"stars": 0}),
        ({"label": "Red"}, SidecarData(label="Red"), {}),
        ({"label": "Red"}, SidecarData(label="Blue"), {"label": "Blue"}),
    ],
)
def test_imported_fields_are_exactly_what_the_sidecar_changes(current, sidecar, expected):
    from culler.interop.xmp_sync import imported_fields

    state = {"stars": None, "decision": None, "label": None, **current}
    assert imported_fields(state, sidecar) == expected


def test_a_photo_never_rated_here_sends_no_rating_label_or_decision(shoot):
    from culler.interop.xmp_sync import catalog_update

    folder, db, ids = shoot
    catalog = open_catalog(db)
    try:
        update = catalog_update(catalog, ids["chelsea"])
        assert (update.rating, update.label, update.decision) == (None, None, None)
        assert set(update.scores) == {"technical"}
        catalog.rate(ids["chelsea"], stars=2, label="Blue", source="gui")
        rated = catalog_update(catalog, ids["chelsea"])
        assert (rated.rating, rated.label, rated.decision) == (2, "Blue", "none")
    finally:
        catalog.close()


def test_tags_reach_the_sidecar(tmp_path, register_test_plugin, culler_cli):
    from test_behaviour_scan import TaggerPlugin

    register_test_plugin(TaggerPlugin, "tagger-test")
    folder = tmp_path / "shoot"
    folder.mkdir()
    sample_image("coffee").resize((64, 48)).save(folder / "coffee.png")
    db = tmp_path / "culler.db"
    catalog, _ = scan_into(db, folder, ["tagger"])
    pid = catalog.photo_by_path(str(folder / "coffee.png"))["id"]
    tags = catalog.tags_for(pid)
    catalog.close()
    assert len(tags) == 1 and next(iter(tags.values())) == pytest.approx(0.9)
    culler_cli("xmp", "write", "--db", db)
    assert read_sidecar(folder / "coffee.xmp").tags == pytest.approx(tags)


def test_sidecars_written_during_culling_use_the_naming_asked_for(shoot):
    from culler.interop.xmp_sync import write_sidecars_for

    folder, db, ids = shoot
    catalog = open_catalog(db)
    try:
        catalog.rate(ids["coffee"], decision="pick", source="gui")
        write_sidecars_for(catalog, [ids["coffee"]], naming="fullname")
    finally:
        catalog.close()
    assert [p.name for p in folder.glob("*.xmp")] == ["coffee.jpg.xmp"]


def test_write_with_the_defaults_covers_every_photo_and_names_the_ones_gone(shoot):
    from culler.interop.xmp_sync import write_sidecars

    folder, db, ids = shoot
    (folder / "astronaut.jpg").unlink()  # gone since the scan: first in line, the rest go on
    catalog = open_catalog(db)
    try:
        report = write_sidecars(catalog)
    finally:
        catalog.close()
    # A photo gone from disk is an error (the command exits 1 and says to rescan), not a skip.
    assert report.skipped == []
    assert [row["path"] for row in report.errors] == [str(folder / "astronaut.jpg")]
    assert "photo not found on disk" in report.errors[0]["error"]
    assert sorted(Path(row["sidecar"]).name for row in report.changed) == [
        "chelsea.xmp",
        "coffee.xmp",
    ]


def test_a_raw_jpeg_capture_gets_one_sidecar_beside_its_raw_under_auto_naming(tmp_path, culler_cli):
    folder = tmp_path / "shoot"
    folder.mkdir()
    sample_image("chelsea").resize((128, 96)).save(folder / "IMG_1.jpg")
    (folder / "IMG_1.dng").write_bytes(b"the raw of the pair")
    sample_image("coffee").resize((128, 96)).save(folder / "IMG_2.jpg")
    # Two photos of one stem that are not one capture (a TIFF is no camera RAW).
    sample_image("astronaut").resize((128, 96)).save(folder / "IMG_3.jpg")
    sample_image("rocket").resize((128, 96)).save(folder / "IMG_3.tif")
    db = tmp_path / "culler.db"
    scan_into(db, folder, ["technical"])[0].close()
    culler_cli("xmp", "write", "--db", db)
    # The capture IMG_1 is one photo: one sidecar, Lightroom's IMG_1.xmp beside the RAW. IMG_3.xmp
    # would serve two photos: each gets its full name; IMG_2 is alone.
    assert sorted(p.name for p in folder.glob("*.xmp")) == [
        "IMG_1.xmp",
        "IMG_2.xmp",
        "IMG_3.jpg.xmp",
        "IMG_3.tif.xmp",
    ]


def test_read_reports_a_broken_sidecar_and_goes_on_with_the_next(shoot):
    from culler.interop.xmp_sync import read_sidecars

    folder, db, ids = shoot
    (folder / "astronaut.xmp").write_text("<x:xmpmeta this is not xml")
    write_sidecar(folder / "chelsea.xmp", SidecarData(rating=5))
    catalog = open_catalog(db)
    try:
        report = read_sidecars(catalog)
        reasons = catalog.query(
            "SELECT reason FROM ratings WHERE photo_id = ? AND source = 'xmp'", [ids["chelsea"]]
        )
    finally:
        catalog.close()
    assert [e["path"] for e in report.errors] == [str(folder / "astronaut.jpg")]
    assert str(folder / "astronaut.xmp") in report.errors[0]["error"]
    assert [row["path"] for row in report.changed] == [str(folder / "chelsea.jpg")]
    assert reasons == [{"reason": "sidecar chelsea.xmp"}]  # the event says where it came from


@pytest.mark.parametrize(
    "state,rating",
    [
        ({"stars": None, "decision": None}, None),  # never rated
        ({"stars": None, "decision": "none"}, None),  # unflagged, no stars
        ({"stars": None, "decision": "pick"}, 0),  # picked without stars: rated, 0 stars
        ({"stars": 3, "decision": "pick"}, 3),
        ({"stars": 0, "decision": None}, 0),
        ({"stars": 4, "decision": "reject"}, -1),  # a reject is -1 whatever the stars
    ],
)
def test_xmp_rating_of_each_catalog_state(state, rating):
    from culler.interop.xmp_sync import xmp_rating

    assert xmp_rating(state) == rating


def test_read_of_named_photos_imports_only_those(shoot, culler_cli):
    folder, db, ids = shoot
    write_sidecar(folder / "coffee.xmp", SidecarData(rating=4))
    write_sidecar(folder / "chelsea.xmp", SidecarData(rating=1))
    report = culler_cli.json("xmp", "read", folder / "coffee.jpg", "--db", db, "--json")
    assert [row["path"] for row in report["changed"]] == [str(folder / "coffee.jpg")]
    assert _rating(db, ids["chelsea"])["stars"] is None


def test_read_looks_for_the_sidecar_the_naming_names(shoot, culler_cli):
    folder, db, ids = shoot
    write_sidecar(folder / "coffee.xmp", SidecarData(rating=4))  # Lightroom's name only
    report = culler_cli.json("xmp", "read", "--db", db, "--naming", "fullname", "--json")
    assert report["changed"] == []
    assert {"path": str(folder / "coffee.jpg"), "reason": "no sidecar"} in report["skipped"]
    assert _rating(db, ids["coffee"])["stars"] is None


def test_write_reports_a_sidecar_it_cannot_merge_and_writes_the_rest(shoot):
    from culler.interop.xmp_sync import write_sidecars

    folder, db, ids = shoot
    broken = folder / "astronaut.xmp"
    broken.write_text("<x:xmpmeta this is not xml")
    catalog = open_catalog(db)
    try:
        report = write_sidecars(catalog)
    finally:
        catalog.close()
    assert [e["path"] for e in report.errors] == [str(folder / "astronaut.jpg")]
    assert broken.read_text() == "<x:xmpmeta this is not xml"  # left as it was
    assert sorted(row["path"] for row in report.changed) == [
        str(folder / "chelsea.jpg"),
        str(folder / "coffee.jpg"),
    ]


# -- which sidecar a photo has, and how one is written -------------------------------------------------


def test_a_photo_on_its_own_gets_the_basename_sidecar_and_a_bad_naming_says_which_exist(tmp_path):
    from culler.interop.xmp import sidecar_path

    photo = tmp_path / "IMG_1.jpg"
    photo.touch()
    assert sidecar_path(photo) == tmp_path / "IMG_1.xmp"  # "auto" unless asked otherwise
    with pytest.raises(ValueError) as raised:
        sidecar_path(photo, "sidecar")
    assert str(raised.value) == "naming must be one of auto, basename, fullname, not 'sidecar'"


def test_basename_naming_is_kept_beside_an_existing_fullname_sidecar(tmp_path):
    from culler.interop.xmp import sidecar_path

    photo = tmp_path / "IMG_1.jpg"
    photo.touch()
    (tmp_path / "IMG_1.jpg.xmp").write_text(LIGHTROOM)
    assert sidecar_path(photo, "basename") == tmp_path / "IMG_1.xmp"
    assert sidecar_path(photo, "auto") == tmp_path / "IMG_1.jpg.xmp"  # auto takes the existing one


def test_a_raw_jpeg_pair_gets_a_sidecar_each_when_auto_looks_the_folder_up_itself(tmp_path):
    from culler.interop.xmp import sidecar_path

    for name in ("IMG_1.CR3", "IMG_1.JPG"):
        (tmp_path / name).touch()
    assert sidecar_path(tmp_path / "IMG_1.JPG") == tmp_path / "IMG_1.JPG.xmp"
    assert sidecar_path(tmp_path / "IMG_1.CR3") == tmp_path / "IMG_1.CR3.xmp"


def test_an_upper_case_sidecar_is_the_one_read_and_written(tmp_path):
    from culler.interop.xmp import existing_sidecars, sidecar_path

    photo = tmp_path / "IMG_1.jpg"
    photo.touch()
    (tmp_path / "IMG_1.XMP").write_text(LIGHTROOM)
    assert existing_sidecars(photo) == [tmp_path / "IMG_1.XMP"]
    assert sidecar_path(photo) == tmp_path / "IMG_1.XMP"  # never a second, lower-case one


def test_both_sidecars_of_a_photo_are_found_fullname_first(tmp_path):
    from culler.interop.xmp import existing_sidecars

    photo = tmp_path / "IMG_1.jpg"
    photo.touch()
    for name in ("IMG_1.xmp", "IMG_1.jpg.xmp"):
        (tmp_path / name).write_text(LIGHTROOM)
    assert existing_sidecars(photo) == [tmp_path / "IMG_1.jpg.xmp", tmp_path / "IMG_1.xmp"]


def test_another_photos_fullname_sidecar_is_never_read_as_this_ones(tmp_path):
    from culler.interop.xmp import basename_taken, existing_sidecars, sidecar_path

    tif, jpg = tmp_path / "IMG_1.tif", tmp_path / "IMG_1.tif.jpg"
    tif.touch()
    jpg.touch()
    (tmp_path / "IMG_1.tif.xmp").write_text(LIGHTROOM)  # the TIFF's, by its full name
    assert existing_sidecars(jpg) == []
    for naming in ("auto", "basename", "fullname"):
        assert sidecar_path(jpg, naming, for_writing=False) is None, naming
    tif.unlink()  # with the TIFF gone, the name is the JPEG's basename sidecar again
    (tmp_path / "other.jpg").touch()
    assert not basename_taken(jpg)
    assert existing_sidecars(jpg) == [tmp_path / "IMG_1.tif.xmp"]


def test_a_new_sidecar_names_culler_as_the_tool_that_wrote_it(tmp_path):
    import xml.etree.ElementTree as ET

    path = tmp_path / "IMG_1.xmp"
    assert write_sidecar(path, SidecarData(rating=3))
    assert ET.parse(path).getroot().get("{adobe:ns:meta/}xmptk") == "culler"


def test_the_new_sidecar_is_written_beside_the_old_under_a_name_no_editor_reads(
    tmp_path, monkeypatch
):
    """Written whole to a hidden ``.xmp.tmp`` file in the same folder, then renamed over the sidecar:
    the rename is atomic only within one file system, and an editor watching the folder never takes
    the half-written file for a sidecar."""
    import os

    renames = []
    real = os.replace

    def replace(src, dst):
        renames.append((Path(src), Path(dst)))
        real(src, dst)

    monkeypatch.setattr("culler.interop.xmp.os.replace", replace)
    path = tmp_path / "IMG_1.xmp"
    path.write_text(LIGHTROOM)
    write_sidecar(path, SidecarData(rating=4))
    [(written, target)] = renames
    assert target == path and written.parent == tmp_path
    assert written.name.startswith(".culler-") and written.name.endswith(".xmp.tmp")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["IMG_1.xmp"]


def test_a_sidecar_keeps_its_permissions_and_a_new_one_is_readable_by_everyone(tmp_path):
    private = tmp_path / "private.xmp"
    private.write_text(LIGHTROOM)
    private.chmod(0o600)
    assert write_sidecar(private, SidecarData(rating=4))
    assert private.stat().st_mode & 0o7777 == 0o600
    fresh = tmp_path / "fresh.xmp"
    assert write_sidecar(fresh, SidecarData(rating=4))
    assert fresh.stat().st_mode & 0o7777 == 0o644


def test_a_sidecar_that_cannot_be_written_is_left_as_it_was_with_no_file_left_over(
    tmp_path, monkeypatch
):
    from culler.interop.xmp import XmpError

    path = tmp_path / "IMG_1.xmp"
    path.write_text(LIGHTROOM)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("culler.interop.xmp.os.replace", denied)  # the rename fails
    with pytest.raises(XmpError) as raised:
        write_sidecar(path, SidecarData(rating=4))
    assert str(raised.value) == f"{path}: cannot write (Permission denied)"
    assert path.read_text() == LIGHTROOM
    assert sorted(p.name for p in tmp_path.iterdir()) == ["IMG_1.xmp"]
    monkeypatch.setattr(
        "culler.interop.xmp.tempfile.mkstemp", denied
    )  # a folder nobody may write in
    with pytest.raises(XmpError) as raised:
        write_sidecar(path, SidecarData(rating=4))
    assert str(raised.value) == f"{path}: cannot write (Permission denied)"


def test_a_sidecar_that_is_not_xml_is_named_in_the_error_and_left_untouched(tmp_path):
    from culler.interop.xmp import XmpError

    path = tmp_path / "IMG_1.xmp"
    path.write_bytes(b"not a sidecar")
    with pytest.raises(XmpError) as raised:
        write_sidecar(path, SidecarData(rating=4))
    assert str(raised.value).startswith(f"{path}: ")
    assert path.read_bytes() == b"not a sidecar"


def test_write_reports_each_changed_sidecar_with_what_went_into_it(shoot, culler_cli):
    folder, db, ids = shoot
    culler_cli("rate", "--db", db, "--stars", "4", str(folder / "coffee.jpg"))
    report = culler_cli.json("xmp", "write", "--db", db, "--json", str(folder / "coffee.jpg"))
    [row] = report["changed"]
    assert set(row) == {"path", "sidecar", "rating", "label", "decision", "scores", "tags"}
    assert (row["path"], row["sidecar"]) == (str(folder / "coffee.jpg"), str(folder / "coffee.xmp"))
    # Rated, neither picked nor rejected: the decision written is "none".
    assert (row["rating"], row["label"], row["decision"], row["tags"]) == (4, None, "none", {})
    assert list(row["scores"]) == ["technical"]


# -- reading what other tools wrote ----------------------------------------------------------------

_RDF_NS = 'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
_CULLER_NS = f'xmlns:culler="{CULLER_NS}"'


def _nested(tmp_path: Path, depth: int) -> Path:
    """A sidecar whose elements nest ``depth`` deep, after a sibling that closes at depth 4."""
    inner = depth - 3  # below xmpmeta, rdf:RDF and rdf:Description
    body = "<a>" * inner + "</a>" * inner
    path = tmp_path / f"nested-{depth}.xmp"
    path.write_text(
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF {_RDF_NS}>'
        f'<rdf:Description rdf:about=""><b/>{body}</rdf:Description></rdf:RDF></x:xmpmeta>'
    )
    return path


def test_a_sidecar_nested_up_to_the_limit_is_read_and_one_level_more_is_refused(tmp_path):
    from culler.interop.xmp import MAX_DEPTH, XmpError, read_sidecar

    assert read_sidecar(_nested(tmp_path, MAX_DEPTH)).rating is None
    deeper = _nested(tmp_path, MAX_DEPTH + 1)
    with pytest.raises(XmpError) as raised:
        read_sidecar(deeper)
    assert str(raised.value) == (
        f"{deeper}: elements nested more than {MAX_DEPTH} deep, so not an XMP sidecar; "
        "left untouched"
    )


def test_a_sidecar_without_the_xmpmeta_wrapper_is_read(tmp_path):
    from culler.interop.xmp import read_sidecar

    path = tmp_path / "bare.xmp"
    path.write_text(
        f'<rdf:RDF {_RDF_NS} xmlns:xmp="http://ns.adobe.com/xap/1.0/">'
        '<rdf:Description rdf:about="" xmp:Rating="3"/></rdf:RDF>'
    )
    assert read_sidecar(path).rating == 3


def test_the_first_rating_and_label_of_a_sidecar_win_and_ratings_are_kept_within_minus_1_to_5(
    tmp_path,
):
    from culler.interop.xmp import read_sidecar

    def sidecar(*ratings_and_labels: tuple[str, str]) -> Path:
        descriptions = "".join(
            f'<rdf:Description rdf:about="" xmp:Rating="{rating}" xmp:Label="{label}"/>'
            for rating, label in ratings_and_labels
        )
        path = tmp_path / "many.xmp"
        path.write_text(
            f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF {_RDF_NS} '
            f'xmlns:xmp="http://ns.adobe.com/xap/1.0/">{descriptions}</rdf:RDF></x:xmpmeta>'
        )
        return path

    data = read_sidecar(sidecar(("2", "Red"), ("4", "Blue")))
    assert (data.rating, data.label) == (2, "Red")
    assert read_sidecar(sidecar(("", ""), ("4", "Blue"))).label == "Blue"
    assert read_sidecar(sidecar(("-2", ""))).rating == -1
    assert read_sidecar(sidecar(("6", ""))).rating == 5


def test_scores_and_tags_another_tool_left_half_written_are_read_as_far_as_they_go(tmp_path):
    from culler.interop.xmp import read_sidecar

    def li(**fields: str) -> str:
        inner = "".join(f"<culler:{k}>{v}</culler:{k}>" for k, v in fields.items())
        return f'<rdf:li rdf:parseType="Resource">{inner}</rdf:li>'

    scores = "".join(
        [
            li(Scorer="technical", Score="6.5"),  # no version
            li(Scorer="clip-aesthetic", Version="2", Score="nan"),  # not a number
            li(Version="1", Score="7.0"),  # no scorer
            li(Scorer="saan", Version="1"),  # no score
            li(Scorer="emotion", Version="1", Score="4.25"),
        ]
    )
    tags = "".join(
        [li(Tag="joy", Probability="0.75"), li(Probability="0.5"), li(Tag="awe", Probability="inf")]
    )
    path = tmp_path / "partial.xmp"
    path.write_text(
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF {_RDF_NS} {_CULLER_NS}>'
        '<rdf:Description rdf:about="">'
        f"<culler:Scores><rdf:Bag>{scores}</rdf:Bag></culler:Scores>"
        f"<culler:Tags><rdf:Bag>{tags}</rdf:Bag></culler:Tags>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    data = read_sidecar(path)
    assert data.scores == {"technical": ("", 6.5), "emotion": ("1", 4.25)}
    assert data.tags == {"joy": 0.75}


def test_reading_a_sidecar_that_is_not_there_says_so(tmp_path):
    from culler.interop.xmp import XmpError, read_sidecar

    with pytest.raises(XmpError) as raised:
        read_sidecar(tmp_path / "IMG_1.xmp")
    assert str(raised.value) == f"{tmp_path / 'IMG_1.xmp'}: cannot read (no such file)"


def test_scores_and_tags_are_written_as_rdf_bags_of_resources(tmp_path):
    """The structure exiftool and Lightroom expect: rdf:Bag of rdf:li with rdf:parseType="Resource"."""
    import xml.etree.ElementTree as ET

    from culler.interop.xmp import NS

    path = tmp_path / "IMG_1.xmp"
    write_sidecar(path, SidecarData(scores={"technical": ("1", 6.5)}, tags={"joy": 0.75}))
    rdf, ns = "{" + NS["rdf"] + "}", "{" + CULLER_NS + "}"
    root = ET.parse(path).getroot()
    for field, names in (
        ("Scores", ["Scorer", "Version", "Score"]),
        ("Tags", ["Tag", "Probability"]),
    ):
        [li] = root.iter(f"{ns}{field}")
        [bag] = list(li)
        assert bag.tag == rdf + "Bag"
        [item] = list(bag)
        assert (item.tag, item.attrib) == (rdf + "li", {rdf + "parseType": "Resource"})
        assert [child.tag for child in item] == [ns + n for n in names]


def _fresh_prefix() -> str:
    """A namespace prefix no earlier sidecar in this process used: ElementTree keeps the prefixes
    it was told once for the whole process, which would hide a prefix left unregistered."""
    import uuid

    return "zq" + uuid.uuid4().hex[:10]


def test_a_namespace_prefix_another_tool_chose_is_kept(tmp_path):
    path, prefix = tmp_path / "IMG_1.xmp", _fresh_prefix()
    path.write_text(
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF {_RDF_NS}>'
        f'<rdf:Description rdf:about="" xmlns:{prefix}="http://example.com/{prefix}/1.0/"'
        f' {prefix}:Retouched="True"/></rdf:RDF></x:xmpmeta>'
    )
    write_sidecar(path, SidecarData(rating=4))
    assert f'{prefix}:Retouched="True"' in path.read_text()


def _structure(path: Path) -> list[tuple[str, dict[str, str]]]:
    """Each element of a sidecar as (tag path from the root, attributes), in document order."""
    import xml.etree.ElementTree as ET

    short = {"{adobe:ns:meta/}": "x:", "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}": "rdf:"}
    short["{http://ns.adobe.com/xap/1.0/}"] = "xmp:"
    short["{http://purl.org/dc/elements/1.1/}"] = "dc:"

    def name(tag: str) -> str:
        for uri, prefix in short.items():
            tag = tag.replace(uri, prefix)
        return tag

    found = []

    def walk(element, above: str) -> None:
        here = f"{above}/{name(element.tag)}" if above else name(element.tag)
        found.append((here, {name(k): v for k, v in element.attrib.items()}))
        for child in element:
            walk(child, here)

    walk(ET.parse(path).getroot(), "")
    return found


def test_a_new_sidecar_holds_one_description_inside_rdf_inside_xmpmeta(tmp_path):
    path = tmp_path / "new.xmp"
    write_sidecar(path, SidecarData(rating=4))
    assert _structure(path) == [
        ("x:xmpmeta", {"x:xmptk": "culler"}),
        ("x:xmpmeta/rdf:RDF", {}),
        ("x:xmpmeta/rdf:RDF/rdf:Description", {"rdf:about": "", "xmp:Rating": "4"}),
    ]


@pytest.mark.parametrize(
    "document, where",
    [
        (
            f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF {_RDF_NS}/></x:xmpmeta>',
            "x:xmpmeta/rdf:RDF",
        ),
        (f"<rdf:RDF {_RDF_NS}/>", "rdf:RDF"),
        ('<x:xmpmeta xmlns:x="adobe:ns:meta/"/>', "x:xmpmeta/rdf:RDF"),
    ],
    ids=["empty rdf", "bare empty rdf", "empty xmpmeta"],
)
def test_a_sidecar_without_a_description_gets_one_in_its_own_rdf(tmp_path, document, where):
    path = tmp_path / "empty.xmp"
    path.write_text(document)
    write_sidecar(path, SidecarData(rating=4))
    descriptions = [(p, a) for p, a in _structure(path) if p.endswith("rdf:Description")]
    assert descriptions == [(f"{where}/rdf:Description", {"rdf:about": "", "xmp:Rating": "4"})]
    assert sum(p.endswith("rdf:RDF") for p, _ in _structure(path)) == 1


def test_the_rating_goes_to_the_description_that_already_holds_the_xmp_fields(tmp_path):
    path = tmp_path / "two.xmp"
    path.write_text(
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF {_RDF_NS}>'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" dc:format="image/jpeg"/>'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="2"/>'
        "</rdf:RDF></x:xmpmeta>"
    )
    write_sidecar(path, SidecarData(rating=4))
    assert [a for p, a in _structure(path) if p.endswith("rdf:Description")] == [
        {"rdf:about": "", "dc:format": "image/jpeg"},
        {"rdf:about": "", "xmp:Rating": "4"},
    ]


#: Every field culler writes, in a new sidecar: the document exiftool and Lightroom read.
NEW_SIDECAR = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:culler="http://ns.culler.photo/xmp/1.0/" \
xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:x="adobe:ns:meta/" \
xmlns:xmp="http://ns.adobe.com/xap/1.0/" x:xmptk="culler">
 <rdf:RDF>
  <rdf:Description rdf:about="" xmp:Rating="4" xmp:Label="Red" culler:Decision="pick">
   <culler:Scores>
    <rdf:Bag>
     <rdf:li rdf:parseType="Resource">
      <culler:Scorer>technical</culler:Scorer>
      <culler:Version>1</culler:Version>
      <culler:Score>6.500</culler:Score>
     </rdf:li>
    </rdf:Bag>
   </culler:Scores>
   <culler:Tags>
    <rdf:Bag>
     <rdf:li rdf:parseType="Resource">
      <culler:Tag>joy</culler:Tag>
      <culler:Probability>0.750</culler:Probability>
     </rdf:li>
    </rdf:Bag>
   </culler:Tags>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def test_a_new_sidecar_is_exactly_this_document(tmp_path):
    path = tmp_path / "IMG_1.xmp"
    update = SidecarData(
        rating=4, label="Red", decision="pick", scores={"technical": ("1", 6.5)}, tags={"joy": 0.75}
    )
    assert write_sidecar(path, update)
    assert path.read_bytes() == NEW_SIDECAR.encode("utf-8")


def test_a_sidecar_in_an_xpacket_stays_in_one(tmp_path):
    path = tmp_path / "IMG_1.xmp"
    path.write_text(
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        + LIGHTROOM
        + '<?xpacket end="w"?>'
    )
    write_sidecar(path, SidecarData(rating=4))
    text = path.read_text()
    assert text.startswith('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n<x:xmpmeta')
    assert text.endswith('<?xpacket end="w"?>\n')
    assert read_sidecar(path).rating == 4


def test_tags_are_written_most_likely_first_then_by_name(tmp_path):
    from culler.interop.xmp import CULLER_NS

    path = tmp_path / "IMG_1.xmp"
    write_sidecar(path, SidecarData(tags={"calm": 0.5, "awe": 0.5, "joy": 0.9, "fear": 0.1}))
    import xml.etree.ElementTree as ET

    order = [e.text for e in ET.parse(path).getroot().iter("{" + CULLER_NS + "}Tag")]
    assert order == ["joy", "awe", "calm", "fear"]


def test_namespace_prefixes_after_a_default_namespace_are_kept(tmp_path):
    path, prefix = tmp_path / "IMG_1.xmp", _fresh_prefix()
    path.write_text(
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF {_RDF_NS}>'
        '<rdf:Description rdf:about="" xmlns="http://example.com/default/"'
        f' xmlns:{prefix}="http://example.com/{prefix}/1.0/" {prefix}:Graded="True"/>'
        "</rdf:RDF></x:xmpmeta>"
    )
    write_sidecar(path, SidecarData(rating=4))
    assert f'{prefix}:Graded="True"' in path.read_text()


def test_a_sidecar_that_is_not_a_regular_file_is_named_in_the_error(tmp_path):
    import os

    from culler.interop.xmp import XmpError

    fifo = tmp_path / "IMG_1.xmp"
    os.mkfifo(fifo)
    with pytest.raises(XmpError) as raised:
        read_sidecar(fifo)
    assert str(fifo) in str(raised.value) and str(raised.value).endswith("; left untouched")


def test_a_document_that_is_not_xmp_says_what_its_root_element_is(tmp_path):
    from culler.interop.xmp import XmpError

    path = tmp_path / "IMG_1.xmp"
    path.write_text("<html><body>saved from a browser</body></html>")
    with pytest.raises(XmpError) as raised:
        read_sidecar(path)
    assert str(raised.value) == f"{path}: not an XMP sidecar (root element html); left untouched"
