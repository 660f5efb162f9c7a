"""What a rescan promises, each pinned so that breaking it fails a test: a same-size edit is rescored,
a different photo of the same size never takes over a vanished one's row and rating, a changed photo
keeps no scores or tags of a scorer that did not run again, and a file that failed is read again.

Photos are same-size TIFF crops of a real photograph (tests/test_plan_properties.py); the ``marker``
scorer reports the number each one carries, so every expected score is known beforehand.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_plan_properties import BROKEN, MarkerPlugin, photo_bytes

import culler
from culler.catalog import open_catalog
from culler.catalog.roots import root_sql
from culler.plugin.scorers import EmbeddingScorer, Scorer, ScoreResult
from culler.scan import ScanOptions, scan_folders


class Tagger(Scorer):
    """Tags every photo with the number it carries; a second scorer whose results must not outlive
    the bytes they describe."""

    id = "tagger"
    kind = "tags"
    description = "content number as a tag (test)"

    def score_batch(self, images):
        return [ScoreResult(score=1.0, tags={f"n{im.getpixel((0, 0))[0]}": 0.9}) for im in images]


class _Channels(EmbeddingScorer):
    """Embeds a photo as its mean red, green and blue (a stand-in for a CLIP backbone)."""

    description = "mean colour embedding (test)"

    @property
    def embedding_key(self) -> str:
        return "test/mean-rgb"

    def embed_batch(self, images):
        return np.stack([np.asarray(im.convert("RGB"), np.float32).mean((0, 1)) for im in images])


class Redness(_Channels):
    id = "redness"

    def score_embeddings(self, vectors):
        return [ScoreResult(score=float(v[0]) / 25.5) for v in vectors]


class Greenness(_Channels):
    id = "greenness"

    def score_embeddings(self, vectors):
        return [ScoreResult(score=float(v[1]) / 25.5) for v in vectors]


class TaggerPlugin:
    @staticmethod
    @culler.hookimpl
    def register_scorers(register):
        register(Tagger)
        register(Redness)
        register(Greenness)


class Reader:
    """A loader plugin installed after the first scan: it can read the 'unreadable' bytes."""

    @staticmethod
    @culler.hookimpl
    def load_image(path, max_side):
        with open(path, "rb") as fh:
            if fh.read(12) != b"not an image":
                return None
        return Image.new("RGB", (48, 32), (51, 0, 0))  # marker 51 -> score 2.0


@pytest.fixture
def scanner(tmp_path, register_test_plugin):
    """``scan(scorers...)`` scans ``tmp_path/shoot`` into one catalog; ``write(name, content, t)``
    writes a photo there with mtime ``t`` seconds."""
    register_test_plugin(MarkerPlugin, "marker-test")
    register_test_plugin(TaggerPlugin, "tagger-test")
    root = tmp_path / "shoot"
    root.mkdir()
    catalog = open_catalog(tmp_path / "culler.db")

    def scan(*scorers: str) -> dict:
        options = ScanOptions(scorer_ids=list(scorers or ["marker"]), workers=0, thumbnails=False)
        return scan_folders(catalog, [root], options, echo=lambda m: None)

    def write(name: str, content: int, t: int) -> Path:
        path = root / name
        data = photo_bytes(content)
        if content == BROKEN:
            data = (data * 10)[: len(photo_bytes(1))]
        path.write_bytes(data)
        os.utime(path, ns=(t * 10**9, t * 10**9))
        return path

    scan.catalog, scan.write, scan.root = catalog, write, root
    yield scan
    catalog.close()


def _row(catalog, path: Path) -> dict:
    row = catalog.photo_by_path(str(path))
    scores = catalog.current_scores([row["id"]]).get(row["id"], {})
    rating = catalog.current_rating(row["id"])
    return {
        "id": row["id"],
        "status": row["status"],
        "scores": scores,
        "tags": catalog.tags_for(row["id"]),
        "stars": rating["stars"],
    }


def test_a_same_size_edit_is_rescored_not_skipped(scanner):
    photo = scanner.write("IMG_1.tif", 10, t=1000)
    scanner()
    before = _row(scanner.catalog, photo)
    assert before["scores"]["marker"] == pytest.approx(10 / 25.5)
    size = photo.stat().st_size
    scanner.write("IMG_1.tif", 20, t=1060)  # edited a minute later: same size, other bytes
    assert photo.stat().st_size == size
    summary = scanner()
    assert (summary["changed"], summary["skipped"], summary["decoded"]) == (1, 0, 1)
    after = _row(scanner.catalog, photo)
    assert after["id"] == before["id"]
    assert after["scores"]["marker"] == pytest.approx(20 / 25.5)


def test_a_different_photo_of_the_same_size_does_not_take_over_a_vanished_row(scanner):
    gone = scanner.write("IMG_1.tif", 10, t=1000)
    scanner()
    old = _row(scanner.catalog, gone)
    scanner.catalog.rate(old["id"], stars=5, source="cli")
    size = gone.stat().st_size
    gone.unlink()
    other = scanner.write("IMG_2.tif", 30, t=1000)  # same size and even the same mtime
    assert other.stat().st_size == size
    summary = scanner()
    assert (summary["new"], summary["moved"], summary["missing"]) == (1, 0, 1)
    new = _row(scanner.catalog, other)
    assert new["id"] != old["id"]
    assert (new["stars"], new["scores"]["marker"]) == (None, pytest.approx(30 / 25.5))
    kept = scanner.catalog.query("SELECT status FROM photos WHERE id = ?", [old["id"]])
    assert kept == [{"status": "missing"}]
    assert scanner.catalog.current_rating(old["id"])["stars"] == 5


def test_the_same_photo_moved_keeps_its_row_and_rating(scanner):
    first = scanner.write("IMG_1.tif", 10, t=1000)
    scanner.write("IMG_2.tif", 11, t=1000)  # a same-size decoy that stays where it is
    scanner()
    old = _row(scanner.catalog, first)
    scanner.catalog.rate(old["id"], stars=4, source="cli")
    (scanner.root / "sub").mkdir()
    first.rename(scanner.root / "sub" / "IMG_1.tif")
    summary = scanner()
    assert (summary["new"], summary["moved"], summary["missing"]) == (0, 1, 0)
    moved = _row(scanner.catalog, scanner.root / "sub" / "IMG_1.tif")
    assert (moved["id"], moved["stars"]) == (old["id"], 4)


def test_a_changed_photo_keeps_no_scores_or_tags_of_a_scorer_that_did_not_run_again(scanner):
    photo = scanner.write("IMG_1.tif", 10, t=1000)
    scanner("marker", "tagger")
    before = _row(scanner.catalog, photo)
    assert before["tags"] == {"n10": pytest.approx(0.9)}
    assert set(before["scores"]) == {"marker", "tagger"}
    scanner.write("IMG_1.tif", 20, t=1060)
    scanner("marker")  # only one of the two scorers this time
    after = _row(scanner.catalog, photo)
    assert after["scores"] == {"marker": pytest.approx(20 / 25.5)}
    assert after["tags"] == {}


def test_a_different_photo_where_a_vanished_one_was_keeps_nothing_of_it(scanner):
    """Deleted (the row goes missing), then other bytes at the same path: the row is reused, but
    no scorer that does not run again keeps the old photo's score or tags."""
    photo = scanner.write("IMG_1.tif", 10, t=1000)
    scanner("marker", "tagger")
    photo.unlink()
    scanner("marker")
    assert _row(scanner.catalog, photo)["status"] == "missing"
    scanner.write("IMG_1.tif", 20, t=1060)
    scanner("marker")
    after = _row(scanner.catalog, photo)
    assert after["status"] == "ok"
    assert after["scores"] == {"marker": pytest.approx(20 / 25.5)}
    assert after["tags"] == {}


def test_a_vanished_photo_restored_unchanged_keeps_its_scores(scanner):
    photo = scanner.write("IMG_1.tif", 10, t=1000)
    scanner("marker", "tagger")
    kept = photo.read_bytes()
    photo.unlink()
    scanner("marker")
    photo.write_bytes(kept)
    os.utime(photo, ns=(1000 * 10**9, 1000 * 10**9))
    scanner("marker")
    after = _row(scanner.catalog, photo)
    assert after["status"] == "ok"
    assert set(after["scores"]) == {"marker", "tagger"}
    assert after["tags"] == {"n10": pytest.approx(0.9)}


def test_a_file_that_failed_is_read_again_on_the_next_scan(scanner, register_test_plugin):
    broken = scanner.write("IMG_1.tif", BROKEN, t=1000)
    scanner.write("IMG_2.tif", 10, t=1000)
    first = scanner()
    assert (first["errors"], first["decoded"]) == (1, 1)
    row = _row(scanner.catalog, broken)
    assert (row["status"], row["scores"]) == ("error", {})
    # Unchanged bytes, nothing new installed: tried again, still one error row; the good photo
    # is not decoded again.
    again = scanner()
    assert (again["errors"], again["decoded"], again["skipped"]) == (1, 0, 1)
    assert scanner.catalog.query("SELECT COUNT(*) AS n FROM photos") == [{"n": 2}]
    # A plugin that can read it is installed: the next scan reads it, same bytes, same row.
    register_test_plugin(Reader, "reader-test")
    fixed = scanner()
    assert (fixed["errors"], fixed["decoded"]) == (0, 1)
    now = _row(scanner.catalog, broken)
    assert (now["id"], now["status"]) == (row["id"], "ok")
    assert now["scores"]["marker"] == pytest.approx(2.0)


def test_an_unchanged_photo_gets_only_the_scores_it_lacks(scanner):
    photo = scanner.write("IMG_1.tif", 10, t=1000)
    scanner("marker")
    first = _row(scanner.catalog, photo)
    added = scanner("marker", "tagger")  # a scorer installed since: only it runs on the photo
    assert (added["skipped"], added["changed"], added["decoded"]) == (0, 0, 1)
    after = _row(scanner.catalog, photo)
    assert after["id"] == first["id"]
    assert after["tags"] == {"n10": pytest.approx(0.9)}
    assert after["scores"]["marker"] == first["scores"]["marker"]
    again = scanner("marker", "tagger")  # now it has both: nothing to do
    assert (again["skipped"], again["decoded"]) == (1, 0)


def test_rescore_scores_unchanged_and_moved_photos_again(scanner):
    photo = scanner.write("IMG_1.tif", 10, t=1000)
    scanner.write("IMG_2.tif", 11, t=1000)
    scanner("marker", "tagger")
    photo.rename(scanner.root / "IMG_1-moved.tif")
    options = ScanOptions(
        scorer_ids=["marker", "tagger"], workers=0, thumbnails=False, rescore=True
    )
    summary = scan_folders(scanner.catalog, [scanner.root], options, echo=lambda m: None)
    assert (summary["skipped"], summary["changed"], summary["moved"]) == (0, 0, 1)
    assert (summary["decoded"], summary["scored"]) == (2, 2)  # the moved one too
    moved = _row(scanner.catalog, scanner.root / "IMG_1-moved.tif")
    assert moved["tags"] == {"n10": pytest.approx(0.9)}


def test_the_planner_skips_what_is_scored_unless_asked_to_rescore():
    """plan_scan on its own: its default is to skip an unchanged, scored file."""
    from culler.catalog.scanning import PhotoState
    from culler.scan.plan import plan_scan
    from culler.scan.work import ActiveScorer, Found

    root = Path("/shoot")
    known = {"/shoot/a.jpg": PhotoState(1, 100, 5, "ok", "h1")}
    found = [Found("/shoot/a.jpg", 100, 5)]
    scorers = [ActiveScorer(Tagger(), 1, {1})]
    plan = plan_scan(known, found, [root], scorers, content_hash=lambda p: None)
    assert (plan.skipped, plan.items) == (1, [])
    again = plan_scan(known, found, [root], scorers, rescore=True, content_hash=lambda p: None)
    assert again.skipped == 0 and [i.path for i in again.items] == ["/shoot/a.jpg"]


def test_a_repaired_file_counts_as_changed_and_is_scored(scanner):
    photo = scanner.write("IMG_1.tif", BROKEN, t=1000)
    assert scanner()["errors"] == 1
    scanner.write("IMG_1.tif", 40, t=1060)  # the card reader's copy replaced by a good one
    summary = scanner()
    assert (summary["changed"], summary["errors"], summary["decoded"]) == (1, 0, 1)
    row = _row(scanner.catalog, photo)
    assert (row["status"], row["scores"]["marker"]) == ("ok", pytest.approx(40 / 25.5))


def test_a_scorer_added_later_scores_from_the_cached_embedding_without_a_decode(scanner):
    photo = scanner.write("IMG_1.tif", 10, t=1000)
    first = scanner("redness")
    assert first["decoded"] == 1
    added = scanner("redness", "greenness")  # same backbone: its embedding is in the catalog
    assert (added["decoded"], added.get("from_cache"), added["skipped"]) == (0, 1, 0)
    row = _row(scanner.catalog, photo)
    assert set(row["scores"]) == {"redness", "greenness"}


def test_each_photo_belongs_to_the_scanned_folder_it_was_found_under(
    tmp_path, register_test_plugin
):
    """Several folders in one scan: a photo's root is the folder that holds it, not the first one
    given (``culler list`` and the GUI group photos by it); a folder given again inside another
    keeps its photos under the outer one, the first that holds them."""
    register_test_plugin(MarkerPlugin, "marker-test")
    first, second = tmp_path / "2023", tmp_path / "2024"
    inner = first / "day-2"
    for folder, content in ((first, 1), (second, 2), (inner, 3)):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "p.tif").write_bytes(photo_bytes(content))
    with open_catalog(tmp_path / "culler.db") as catalog:
        options = ScanOptions(scorer_ids=["marker"], workers=0, thumbnails=False)
        scan_folders(catalog, [first, second, inner], options, echo=lambda m: None)
        roots = {
            r["path"]: r["root"]
            for r in catalog.query(f"SELECT path, {root_sql()} AS root FROM photos")
        }
    assert roots == {
        str(first / "p.tif"): str(first),
        str(second / "p.tif"): str(second),
        str(inner / "p.tif"): str(first),
    }
