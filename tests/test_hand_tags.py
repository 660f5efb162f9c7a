"""Hand tags are tags: `culler tag` and the GUI's T reach `list --tag`, `list --json`, `show`, the GUI's
search and tag filter, and XMP keywords (dc:subject, both ways) alike with scorer tags, each marked with
its source; a hand tag is probability 1 and a tag removed by hand hides a scorer's."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

import culler
from culler.catalog import open_catalog
from culler.interop.xmp import read_sidecar
from culler.plugin.scorers import Scorer, ScoreResult
from culler.testing import available_samples


class Moody(Scorer):
    """Tags every photo "calm" at 0.8 and "fear" at 0.3 (a stand-in for the emotion scorer)."""

    id = "moody"
    kind = "tags"
    description = "fixed mood tags (test)"

    def score_batch(self, images):
        return [ScoreResult(score=5.0, tags={"calm": 0.8, "fear": 0.3}) for _ in images]


class MoodyPlugin:
    @staticmethod
    @culler.hookimpl
    def register_scorers(register):
        register(Moody)


@pytest.fixture
def shoot(tmp_path, culler_cli, register_test_plugin):
    """Three real photos scanned with the technical scorer and a tagging scorer."""
    register_test_plugin(MoodyPlugin, "moody-test")
    folder = tmp_path / "shoot"
    folder.mkdir()
    paths = []
    for name, image in available_samples()[:3]:
        image.thumbnail((320, 320))
        image.save(folder / f"{name}.jpg", quality=92)
        paths.append(folder / f"{name}.jpg")
    db = tmp_path / "culler.db"
    culler_cli(
        "scan", folder, "--db", db, "--scorer", "technical", "--scorer", "moody", "--workers", "0"
    )
    return folder, db, paths


def test_a_hand_tag_is_listed_shown_and_filtered_with_its_source(shoot, culler_cli):
    folder, db, paths = shoot
    out = culler_cli("tag", paths[0], "--add", "Awe", "--db", db).output
    assert "tagged 1 photo: +Awe" in out
    awe = culler_cli.json("list", "--db", db, "--tag", "awe", "--json")
    assert [row["path"] for row in awe] == [str(paths[0])]
    assert awe[0]["tags"] == {"awe": 1.0, "calm": pytest.approx(0.8), "fear": pytest.approx(0.3)}
    assert awe[0]["tag_sources"] == {"awe": "hand", "calm": "moody", "fear": "moody"}
    # The typed spelling finds it too (tags compare case- and space-insensitively).
    assert len(culler_cli.json("list", "--db", db, "--tag", "Awe", "--json")) == 1
    shown = culler_cli("show", paths[0], "--db", db).output
    assert "tags: awe 1.00 (hand), calm 0.80 (moody), fear 0.30 (moody)" in shown
    # A scorer tag still filters at --min-prob; a hand tag is 1, so any threshold keeps it.
    assert len(culler_cli.json("list", "--db", db, "--tag", "calm", "--json")) == 3
    assert culler_cli.json("list", "--db", db, "--tag", "fear", "--json") == []
    assert (
        len(culler_cli.json("list", "--db", db, "--tag", "awe", "--min-prob", "1", "--json")) == 1
    )


def test_a_hand_tag_overrides_a_scorer_tag_both_ways(shoot, culler_cli):
    folder, db, paths = shoot
    culler_cli("tag", paths[1], "--remove", "calm", "--add", "fear", "--db", db)
    [row] = [r for r in culler_cli.json("list", "--db", db, "--json") if r["path"] == str(paths[1])]
    assert row["tags"] == {"fear": 1.0}
    assert row["tag_sources"] == {"fear": "hand"}
    calm = {r["path"] for r in culler_cli.json("list", "--db", db, "--tag", "calm", "--json")}
    assert calm == {str(paths[0]), str(paths[2])}
    fear = culler_cli.json("list", "--db", db, "--tag", "fear", "--json")
    assert [r["path"] for r in fear] == [str(paths[1])]
    # Added again by hand, the removal no longer stands.
    culler_cli("tag", paths[1], "--add", "calm", "--db", db)
    [row] = [r for r in culler_cli.json("list", "--db", db, "--json") if r["path"] == str(paths[1])]
    assert row["tag_sources"] == {"calm": "hand", "fear": "hand"}


def test_xmp_write_puts_hand_and_confident_scorer_tags_into_keywords(shoot, culler_cli):
    folder, db, paths = shoot
    sidecar = folder / f"{paths[0].stem}.xmp"
    sidecar.write_text(LIGHTROOM_KEYWORDS)
    culler_cli("tag", paths[0], "--add", "awe", "--db", db)
    culler_cli("xmp", "write", "--db", db, paths[0])
    data = read_sidecar(sidecar)
    # The photographer's own keywords stay first, in their spelling; culler's follow.
    assert data.keywords == ["Harbour", "Boats", "awe", "calm"]
    assert data.tags == {"awe": 1.0, "calm": pytest.approx(0.8), "fear": pytest.approx(0.3)}
    assert data.tag_sources == {"awe": "hand", "calm": "moody", "fear": "moody"}
    # Removing the hand tag in culler takes it out of the keywords on the next write; the
    # keywords culler never wrote stay.
    culler_cli("tag", paths[0], "--remove", "awe", "--remove", "calm", "--db", db)
    culler_cli("xmp", "write", "--db", db, paths[0])
    assert read_sidecar(sidecar).keywords == ["Harbour", "Boats"]
    assert "exif:DateTimeOriginal" in sidecar.read_text()


def test_xmp_read_brings_keywords_back_as_hand_tags_but_not_culler_s_own(shoot, culler_cli):
    folder, db, paths = shoot
    sidecar = folder / f"{paths[0].stem}.xmp"
    sidecar.write_text(LIGHTROOM_KEYWORDS)
    culler_cli("xmp", "write", "--db", db, paths[0])  # adds "calm", a scorer's keyword
    report = culler_cli.json("xmp", "read", "--db", db, "--json", paths[0])
    assert report["changed"][0]["tags"] == ["harbour", "boats"]
    [row] = culler_cli.json("list", "--db", db, "--tag", "harbour", "--json")
    assert row["tag_sources"] == {
        "harbour": "xmp",
        "boats": "xmp",
        "calm": "moody",
        "fear": "moody",
    }
    # Read again: nothing new; a keyword removed in culler is not brought back by the sidecar.
    again = culler_cli.json("xmp", "read", "--db", db, "--json", paths[0])
    assert again["changed"] == [] and again["unchanged"] == 1
    culler_cli("tag", paths[0], "--remove", "boats", "--db", db)
    culler_cli.json("xmp", "read", "--db", db, "--json", paths[0])
    assert culler_cli.json("list", "--db", db, "--tag", "boats", "--json") == []


def test_exiftool_sees_the_keywords_and_its_keywords_come_back(shoot, culler_cli):
    exiftool = shutil.which("exiftool")
    if exiftool is None:
        pytest.skip("exiftool is not installed (apt-get install libimage-exiftool-perl)")
    folder, db, paths = shoot
    culler_cli("tag", paths[0], "--add", "first dance", "--db", db)
    culler_cli("xmp", "write", "--db", db, paths[0])
    sidecar = folder / f"{paths[0].stem}.xmp"
    out = subprocess.run(
        [exiftool, "-j", "-struct", "-XMP:all", str(sidecar)],
        capture_output=True,
        text=True,
        check=True,
    )
    [fields] = json.loads(out.stdout)
    assert fields["Subject"] == ["calm", "first dance"]
    tags = {t["Tag"]: t for t in fields["Tags"]}
    assert tags["first dance"]["Source"] == "hand" and tags["calm"]["Source"] == "moody"
    # A keyword added by another program (exiftool here, as Lightroom would) comes back as a hand tag.
    subprocess.run(
        [exiftool, "-overwrite_original", "-XMP-dc:Subject+=Bride", str(sidecar)],
        capture_output=True,
        check=True,
    )
    culler_cli("xmp", "read", "--db", db, paths[0])
    catalog = open_catalog(db)
    pid = catalog.photo_by_path(str(paths[0]))["id"]
    details = catalog.tag_details([pid])[pid]
    catalog.close()
    assert details["bride"] == {"probability": 1.0, "source": "xmp"}
    assert details["first dance"] == {"probability": 1.0, "source": "hand"}
    assert details["calm"]["source"] == "moody"


LIGHTROOM_KEYWORDS = """<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:exif="http://ns.adobe.com/exif/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    exif:DateTimeOriginal="2024-05-04T15:01:02">
   <dc:subject>
    <rdf:Bag>
     <rdf:li>Harbour</rdf:li>
     <rdf:li>Boats</rdf:li>
    </rdf:Bag>
   </dc:subject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""
