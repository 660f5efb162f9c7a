"""XMP sidecars: round trip through the catalog, merging that keeps foreign fields, naming, safety."""

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from culler.catalog import open_catalog
from culler.cli import cli
from culler.interop.xmp import CULLER_NS, SidecarData, XmpError, read_sidecar, write_sidecar
from culler.scan import ScanOptions, scan_folders
from culler.testing import sample_image

LIGHTROOM_SIDECAR = """<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0-c000 1.000000, 0000/00/00-00:00:00        ">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
    xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"
   xmp:ModifyDate="2019-06-01T10:00:00+02:00"
   xmp:Rating="2"
   xmp:Label="Red"
   photoshop:DateCreated="2019-05-31T18:22:04.12"
   crs:Version="11.3"
   crs:WhiteBalance="As Shot"
   crs:Exposure2012="+0.35"
   crs:HasCrop="False">
   <dc:title>
    <rdf:Alt>
     <rdf:li xml:lang="x-default">Harbour at dusk</rdf:li>
    </rdf:Alt>
   </dc:title>
   <dc:subject>
    <rdf:Bag>
     <rdf:li>harbour</rdf:li>
     <rdf:li>boats</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <crs:ToneCurvePV2012>
    <rdf:Seq>
     <rdf:li>0, 0</rdf:li>
     <rdf:li>255, 255</rdf:li>
    </rdf:Seq>
   </crs:ToneCurvePV2012>
   <xmpMM:History>
    <rdf:Seq>
     <rdf:li stEvt:action="saved" stEvt:when="2019-06-01T10:00:00+02:00" stEvt:softwareAgent="Adobe Photoshop Lightroom Classic 8.3"/>
    </rdf:Seq>
   </xmpMM:History>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""

OWNED = {"{http://ns.adobe.com/xap/1.0/}Rating", "{http://ns.adobe.com/xap/1.0/}Label"}


def foreign_content(data: bytes) -> Counter:
    """Every element and attribute culler does not own, with its ancestry: the sidecar's meaning."""
    items: Counter = Counter()

    def walk(element, path):
        if element.tag.startswith("{" + CULLER_NS):
            return
        path = (*path, element.tag)
        attrs = tuple(
            sorted(
                (k, v)
                for k, v in element.attrib.items()
                if k not in OWNED and not k.startswith("{" + CULLER_NS)
            )
        )
        items[(path, (element.text or "").strip(), attrs)] += 1
        for child in element:
            if child.tag not in OWNED:
                walk(child, path)

    walk(ET.fromstring(data), ())
    return items


@pytest.fixture
def shoot(tmp_path):
    """Three photos, scanned by the technical scorer, with ratings made in culler."""
    folder = tmp_path / "shoot"
    folder.mkdir()
    for name in ("astronaut", "chelsea", "coffee"):
        sample_image(name).resize((256, 192)).save(folder / f"{name}.jpg", quality=90)
    db = tmp_path / "culler.db"
    cat = open_catalog(db)
    scan_folders(cat, [folder], ScanOptions(workers=0, scorer_ids=["technical"]), echo=print)
    ids = {Path(r["path"]).stem: r["id"] for r in cat.query("SELECT id, path FROM photos")}
    cat.rate(ids["astronaut"], stars=4, label="Green", source="cli")
    cat.rate(ids["chelsea"], stars=2, decision="reject", source="cli")
    cat.rate(ids["coffee"], stars=5, decision="pick", source="cli")
    cat.close()
    return folder, db


def run(*args: str) -> dict:
    result = CliRunner().invoke(cli, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_write_then_read_round_trips_through_a_fresh_catalog(shoot, tmp_path):
    folder, db = shoot
    report = run("xmp", "write", "--db", str(db))
    assert len(report["changed"]) == 3 and not report["errors"]
    astronaut = read_sidecar(folder / "astronaut.xmp")
    assert (astronaut.rating, astronaut.label, astronaut.decision) == (4, "Green", "none")
    assert set(astronaut.scores) == {"technical"} and 0 <= astronaut.scores["technical"][1] <= 10
    assert read_sidecar(folder / "chelsea.xmp").rating == -1
    coffee = read_sidecar(folder / "coffee.xmp")
    assert (coffee.rating, coffee.decision) == (5, "pick")
    assert run("xmp", "write", "--db", str(db))["unchanged"] == 3  # idempotent, files untouched

    fresh = tmp_path / "fresh.db"
    cat = open_catalog(fresh)
    scan_folders(cat, [folder], ScanOptions(workers=0, scorer_ids=["technical"]), echo=print)
    cat.close()
    imported = run("xmp", "read", "--db", str(fresh))
    assert len(imported["changed"]) == 3
    cat = open_catalog(fresh)
    rows = {
        Path(r["path"]).stem: r
        for r in cat.query(
            "SELECT p.path, r.stars, r.decision, r.label, r.source"
            " FROM current_ratings r JOIN photos p ON p.id = r.photo_id"
        )
    }
    cat.close()
    assert rows["astronaut"]["stars"] == 4 and rows["astronaut"]["label"] == "Green"
    assert rows["chelsea"]["decision"] == "reject"
    assert rows["coffee"]["stars"] == 5 and rows["coffee"]["decision"] == "pick"
    assert {r["source"] for r in rows.values()} == {"xmp"}
    assert run("xmp", "read", "--db", str(fresh))["unchanged"] == 3  # nothing new to import


def test_existing_sidecar_keeps_every_foreign_field(shoot):
    folder, db = shoot
    sidecar = folder / "astronaut.xmp"
    sidecar.write_text(LIGHTROOM_SIDECAR)
    before = foreign_content(sidecar.read_bytes())
    run("xmp", "write", "--db", str(db))
    after_bytes = sidecar.read_bytes()
    assert foreign_content(after_bytes) == before
    text = after_bytes.decode()
    assert "crs:Exposure2012" in text and "xmpMM:History" in text and "ns0:" not in text
    data = read_sidecar(sidecar)
    assert (data.rating, data.label) == (4, "Green")  # ours replaced theirs: culler rated it
    assert text.count("xmp:Rating") == 1


def test_a_photo_not_rated_in_culler_keeps_the_editors_rating(tmp_path):
    sidecar = tmp_path / "IMG_1.xmp"
    sidecar.write_text(LIGHTROOM_SIDECAR)
    write_sidecar(sidecar, SidecarData(scores={"technical": ("1", 6.5)}, tags={"awe": 0.8}))
    data = read_sidecar(sidecar)
    assert (data.rating, data.label) == (2, "Red")
    assert data.scores == {"technical": ("1", 6.5)} and data.tags == {"awe": 0.8}
    # Writing again replaces culler's namespace as a whole instead of appending a second copy.
    write_sidecar(sidecar, SidecarData(scores={"technical": ("2", 7.0)}))
    data = read_sidecar(sidecar)
    assert data.scores == {"technical": ("2", 7.0)} and data.tags == {}
    assert sidecar.read_text().count("<culler:Scores>") == 1


def test_rating_written_as_an_element_is_read_and_replaced(tmp_path):
    sidecar = tmp_path / "IMG_2.xmp"
    sidecar.write_text(
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        'xmlns:darktable="http://darktable.sf.net/"><xmp:Rating>-1</xmp:Rating>'
        "<darktable:history_end>3</darktable:history_end></rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    )
    assert read_sidecar(sidecar).rating == -1
    write_sidecar(sidecar, SidecarData(rating=3))
    text = sidecar.read_text()
    assert read_sidecar(sidecar).rating == 3 and text.count("xmp:Rating") == 1
    assert "<darktable:history_end>3</darktable:history_end>" in text
    assert text.startswith("<?xpacket begin") and text.rstrip().endswith('<?xpacket end="w"?>')


def test_naming_conventions(shoot):
    folder, db = shoot
    run("xmp", "write", "--db", str(db), "--naming", "fullname", str(folder / "coffee.jpg"))
    assert (folder / "coffee.jpg.xmp").exists() and not (folder / "coffee.xmp").exists()
    # auto follows the sidecar that already exists…
    report = run("xmp", "write", "--db", str(db), str(folder / "coffee.jpg"))
    assert report["unchanged"] == 1 and not (folder / "coffee.xmp").exists()
    # …and gives a RAW+JPEG pair one sidecar each instead of one shared IMG.xmp.
    shutil.copy(folder / "chelsea.jpg", folder / "chelsea.png")
    run("xmp", "write", "--db", str(db), str(folder / "chelsea.jpg"))
    assert (folder / "chelsea.jpg.xmp").exists() and not (folder / "chelsea.xmp").exists()
    run("xmp", "write", "--db", str(db), "--naming", "basename", str(folder / "astronaut.jpg"))
    assert (folder / "astronaut.xmp").exists()
    # Reading finds both conventions.
    assert read_sidecar(folder / "coffee.jpg.xmp").rating == 5


def test_dry_run_writes_nothing(shoot):
    folder, db = shoot
    report = run("xmp", "write", "--db", str(db), "--dry-run")
    assert len(report["changed"]) == 3 and report["dry_run"]
    assert not list(folder.glob("*.xmp"))


@pytest.mark.parametrize(
    "content",
    [
        b"this is not xml",
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/">&lol2;</x:xmpmeta>',
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/">&e;</x:xmpmeta>',
        b"<html><body>a web page saved as .xmp</body></html>",
    ],
    ids=["garbage", "entity-expansion", "external-entity", "not-xmp"],
)
def test_broken_or_hostile_sidecars_are_reported_and_left_untouched(shoot, content):
    folder, db = shoot
    sidecar = folder / "astronaut.xmp"
    sidecar.write_bytes(content)
    result = CliRunner().invoke(cli, ["xmp", "write", "--db", str(db), "--json"])
    report = json.loads(result.output)
    assert [e["path"] for e in report["errors"]] == [str(folder / "astronaut.jpg")]
    assert "left untouched" in report["errors"][0]["error"]
    assert sidecar.read_bytes() == content
    with pytest.raises(XmpError):
        read_sidecar(sidecar)


def test_cli_help_mentions_both_conventions():
    result = CliRunner().invoke(cli, ["xmp", "write", "--help"])
    assert "IMG_1.CR3.xmp" in result.output and "darktable" in result.output


def test_exiftool_reads_our_sidecar(shoot):
    exiftool = shutil.which("exiftool")
    if exiftool is None:
        pytest.skip("exiftool is not installed (apt-get install libimage-exiftool-perl)")
    folder, db = shoot
    (folder / "astronaut.xmp").write_text(LIGHTROOM_SIDECAR)
    run("xmp", "write", "--db", str(db))
    out = subprocess.run(
        [
            exiftool,
            "-j",
            "-struct",
            "-XMP:all",
            str(folder / "astronaut.xmp"),
            str(folder / "chelsea.xmp"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    astronaut, chelsea = json.loads(out.stdout)
    assert astronaut["Rating"] == 4 and astronaut["Label"] == "Green"
    assert astronaut["Exposure2012"] == "+0.35" and astronaut["Subject"] == ["harbour", "boats"]
    assert astronaut["Scores"][0]["Scorer"] == "technical"
    assert 0 <= float(astronaut["Scores"][0]["Score"]) <= 10
    assert chelsea["Rating"] == -1 and chelsea["Decision"] == "reject"


def test_rating_zero_means_unrated_and_is_not_imported(shoot):
    folder, db = shoot
    sample_image("rocket").resize((128, 96)).save(folder / "extra.jpg")
    cat = open_catalog(db)
    scan_folders(cat, [folder], ScanOptions(workers=0, scorer_ids=["technical"]), echo=print)
    cat.close()
    write_sidecar(folder / "extra.xmp", SidecarData(rating=0, label="Blue"))
    report = run("xmp", "read", "--db", str(db), str(folder / "extra.jpg"))
    assert report["changed"] == [
        {"path": str(folder / "extra.jpg"), "sidecar": str(folder / "extra.xmp"), "label": "Blue"}
    ]


def test_write_during_culling_touches_only_the_rated_photo(shoot):
    from culler.interop.xmp_sync import write_sidecars_for

    folder, db = shoot
    cat = open_catalog(db)
    photo = cat.photo_by_path(str(folder / "chelsea.jpg"))
    cat.rate(photo["id"], stars=3, decision="none", source="gui")
    report = write_sidecars_for(cat, [photo["id"]])
    cat.close()
    assert [row["sidecar"] for row in report.changed] == [str(folder / "chelsea.xmp")]
    assert sorted(p.name for p in folder.glob("*.xmp")) == ["chelsea.xmp"]
    assert read_sidecar(folder / "chelsea.xmp").rating == 3


def test_no_two_photos_share_a_sidecar(tmp_path):
    """IMG_1.tif's fullname sidecar is IMG_1.tif.xmp, which is also IMG_1.tif.jpg's basename one: each
    photo gets its own sidecar whatever the naming, and a rating never lands on the other photo."""
    from culler.interop.xmp import existing_sidecars, sidecar_path

    tif, jpg = tmp_path / "IMG_1.tif", tmp_path / "IMG_1.tif.jpg"
    sample_image("chelsea").save(tif)
    sample_image("coffee").save(jpg)
    for naming in ("auto", "basename", "fullname"):
        assert sidecar_path(tif, naming) != sidecar_path(jpg, naming)
    assert sidecar_path(jpg, "basename") == tmp_path / "IMG_1.tif.jpg.xmp"
    write_sidecar(sidecar_path(tif, "auto"), SidecarData(rating=5))
    write_sidecar(sidecar_path(jpg, "auto"), SidecarData(rating=-1))
    assert read_sidecar(sidecar_path(tif, "auto", for_writing=False)).rating == 5
    assert read_sidecar(sidecar_path(jpg, "auto", for_writing=False)).rating == -1
    assert tmp_path / "IMG_1.tif.xmp" not in existing_sidecars(jpg)


def test_a_fifo_named_like_a_sidecar_is_refused_not_read(tmp_path):
    """A FIFO would block the read forever; only regular files are opened."""
    fifo = tmp_path / "IMG_1.xmp"
    os.mkfifo(fifo)
    with pytest.raises(XmpError, match="not a regular file"):
        write_sidecar(fifo, SidecarData(rating=3))
    with pytest.raises(XmpError, match="not a regular file"):
        read_sidecar(fifo)
