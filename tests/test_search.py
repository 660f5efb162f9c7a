"""Full-text search (issue 27): what a photographer types finds the photo, however it was written.

The index is kept current by triggers, so these tests write through the real writers — a scan, a
scorer's tags, `culler tag`, `culler rate --label`, a rescan after a rename — and search afterwards.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from culler.api import Scorer, ScoreResult, hookimpl
from culler.catalog import open_catalog
from culler.catalog.search import fts_query
from culler.testing import sample_image, scan_into


class Tagger(Scorer):
    """Tags every photo: 'awe' sure, 'calm' unsure (below the search threshold)."""

    id = "test-tagger"
    version = "1"
    kind = "tags"
    input_size = 64

    def load(self, device):
        pass

    def score_batch(self, images):
        return [ScoreResult(tags={"awe": 0.9, "calm": 0.2}) for _ in images]


class TaggerPlugin:
    @hookimpl
    def register_scorers(self, register):
        register(Tagger)


def shoot(root: Path) -> dict[str, Path]:
    """A small shoot of real photos in two folders, one with EXIF camera and lens."""
    wedding = root / "2024-06-01 Smith wedding"
    portraits = root / "portraits"
    wedding.mkdir(parents=True)
    portraits.mkdir()
    paths = {}
    for folder, name, sample in (
        (wedding, "IMG_4014.jpg", "astronaut"),
        (wedding, "IMG_4015.jpg", "coffee"),
        (portraits, "DSC_0007.jpg", "chelsea"),
    ):
        image = sample_image(sample)
        exif = image.getexif()
        if name == "IMG_4014.jpg":
            exif[0x0110] = "Canon EOS R5"  # Model
            exif[0xA434] = "RF24-70mm F2.8 L IS USM"  # LensModel (in the Exif IFD on disk)
        image.save(folder / name, quality=90, exif=exif)
        paths[name] = folder / name
    return paths


@pytest.fixture
def searched(tmp_path, register_test_plugin, monkeypatch):
    register_test_plugin(TaggerPlugin(), "test-tagger")
    paths = shoot(tmp_path / "photos")
    catalog, _ = scan_into(
        tmp_path / "culler.db", tmp_path / "photos", ["technical", "test-tagger"]
    )
    ids = {name: catalog.photo_by_path(str(path.resolve()))["id"] for name, path in paths.items()}
    yield catalog, ids, paths
    assert index_of(catalog.path) == index_of(catalog.path, rebuilt=True)
    catalog.close()


def index_of(path: Path, rebuilt: bool = False) -> list[tuple]:
    """Every word the search index holds (word, photo, column, position); ``rebuilt``: the words of
    a fresh index of every photo's document as the ``photo_search`` view gives it now. The two are
    equal when the triggers took each document out of the index exactly as they put it in."""
    conn = sqlite3.connect(path)
    try:
        index = "photo_search_fts"
        if rebuilt:
            index = "temp.rebuilt"
            conn.execute(
                "CREATE VIRTUAL TABLE temp.rebuilt USING fts5(path, gear, tags, label, people)"
            )
            conn.execute(
                "INSERT INTO temp.rebuilt (rowid, path, gear, tags, label, people)"
                " SELECT id, path, gear, tags, label, people FROM main.photo_search"
            )
        schema, table = index.split(".") if "." in index else ("main", index)
        conn.execute(
            f"CREATE VIRTUAL TABLE temp.words USING fts5vocab({schema}, {table}, instance)"
        )
        return conn.execute("SELECT * FROM temp.words ORDER BY 1, 2, 3, 4").fetchall()
    finally:
        conn.close()


def found(catalog, text: str, ids: dict[str, int]) -> set[str]:
    by_id = {v: k for k, v in ids.items()}
    return {by_id[i] for i in catalog.search_photo_ids(text) if i in by_id}


def test_file_names_and_folders_are_found_by_any_word_or_prefix(searched):
    catalog, ids, _ = searched
    assert found(catalog, "4014", ids) == {"IMG_4014.jpg"}
    assert found(catalog, "img_40", ids) == {"IMG_4014.jpg", "IMG_4015.jpg"}
    assert found(catalog, "IMG_4015.JPG", ids) == {"IMG_4015.jpg"}
    assert found(catalog, "wed", ids) == {"IMG_4014.jpg", "IMG_4015.jpg"}
    assert found(catalog, "smith 4015", ids) == {"IMG_4015.jpg"}  # every word must match
    assert found(catalog, "portraits", ids) == {"DSC_0007.jpg"}
    assert found(catalog, "nothing-like-this", ids) == set()


def test_camera_lens_and_a_scorers_sure_tags_are_searchable(searched):
    catalog, ids, _ = searched
    doc = catalog.search_document(ids["IMG_4014.jpg"])
    assert "Canon EOS R5" in doc["gear"]
    assert found(catalog, "canon", ids) == {"IMG_4014.jpg"}
    assert found(catalog, "awe", ids) == set(ids)
    assert found(catalog, "calm", ids) == set()  # probability 0.2: not said with confidence


def test_hand_tags_and_colour_labels_are_found_as_soon_as_they_are_written(searched, culler_cli):
    catalog, ids, paths = searched
    db = str(catalog.path)
    culler_cli("tag", str(paths["DSC_0007.jpg"]), "--add", "First Dance", "--db", db)
    assert found(catalog, "dance", ids) == {"DSC_0007.jpg"}
    culler_cli("tag", str(paths["DSC_0007.jpg"]), "--remove", "first dance", "--db", db)
    assert found(catalog, "dance", ids) == set()
    culler_cli("tag", str(paths["DSC_0007.jpg"]), "--remove", "awe", "--db", db)
    assert found(catalog, "awe", ids) == {
        "IMG_4014.jpg",
        "IMG_4015.jpg",
    }  # the person's word stands
    culler_cli("rate", str(paths["IMG_4015.jpg"]), "--label", "Red", "--db", db)
    assert found(catalog, "red", ids) == {"IMG_4015.jpg"}
    culler_cli("rate", str(paths["IMG_4015.jpg"]), "--clear", "--db", db)
    assert found(catalog, "red", ids) == set()


def test_a_rescore_that_drops_a_tag_and_a_renamed_file_update_the_index(searched, tmp_path):
    catalog, ids, paths = searched
    pk = catalog.active_scorer("test-tagger")["id"]
    with catalog.transaction() as conn:  # what a rescore does first: the photo's old tags go
        conn.execute(
            "DELETE FROM tags WHERE photo_id = ? AND scorer_pk = ?", [ids["DSC_0007.jpg"], pk]
        )
    assert found(catalog, "awe", ids) == {"IMG_4014.jpg", "IMG_4015.jpg"}
    renamed = paths["IMG_4015.jpg"].with_name("first-kiss.jpg")
    shutil.move(paths["IMG_4015.jpg"], renamed)
    catalog.close()
    catalog, _ = scan_into(catalog.path, tmp_path / "photos", ["technical"])
    try:
        assert catalog.search_photo_ids("kiss") == [ids["IMG_4015.jpg"]]  # the same photo, moved
        assert catalog.search_photo_ids("4015") == []
    finally:
        catalog.close()


def test_list_search_on_the_command_line(searched, culler_cli):
    catalog, ids, paths = searched
    rows = culler_cli.json("list", "--search", "wedding 4014", "--json", "--db", str(catalog.path))
    assert [Path(r["path"]).name for r in rows] == ["IMG_4014.jpg"]
    result = culler_cli("list", "--search", '"', "--db", str(catalog.path))
    assert result.output.strip() == "no photos match"
    assert "--search" in culler_cli("list", "--help").output


@pytest.mark.parametrize(
    "typed", ['"', "AND", "OR NOT", "-", "path:x", "a*b", "(", "NEAR(a b)", "ünïcødé", "'quote"]
)
def test_anything_typed_is_words_never_query_syntax(typed, catalog):
    assert catalog.search_photo_ids(typed) == []  # no sqlite3.OperationalError: fts5 syntax error
    query = fts_query(typed)
    assert query == "" or all(
        part.startswith('"') and part.endswith('"*') for part in query.split()
    )


def test_an_older_catalog_is_indexed_when_it_is_upgraded(tmp_path, monkeypatch):
    dump = Path(__file__).parent / "catalogs" / "schema-2.sql"
    path = tmp_path / "culler.db"
    conn = sqlite3.connect(path)
    conn.executescript(dump.read_text(encoding="utf-8"))
    conn.close()
    with open_catalog(path) as catalog:
        assert catalog.search_photo_ids("4012 sunset") == [2]
        assert catalog.search_photo_ids("red") == [1]
        assert sorted(catalog.search_photo_ids("canon")) == [1, 2, 3, 4]
        names = {r[0] for r in catalog.execute("SELECT name FROM sqlite_master")}
        # No second copy of the documents, no column sizes (nothing ranks by bm25): issue #32.
        assert "photo_search_parts" in names and "photo_search_fts_docsize" not in names
        (kind,) = catalog.execute(
            "SELECT type FROM sqlite_master WHERE name = 'photo_search'"
        ).fetchone()
        assert kind == "view"
    assert index_of(path) == index_of(path, rebuilt=True)


def test_documents_store_only_what_the_photo_row_does_not_hold(searched, tmp_path):
    """The path, camera and lens are read from the photo (issue #32: no second copy); a photo
    with no tag, label, person or other file stores nothing besides its row."""
    catalog, ids, paths = searched
    document = catalog.search_document(ids["IMG_4014.jpg"])
    assert document["path"] == str(paths["IMG_4014.jpg"].resolve())
    assert document["gear"].startswith("Canon EOS R5")
    stored = dict(catalog.execute("SELECT id, tags FROM photo_search_parts").fetchall())
    assert stored == {i: "awe" for i in ids.values()}  # the tagger's sure tag, nothing else
    with catalog.transaction() as conn:
        conn.execute("DELETE FROM tags WHERE photo_id = ?", [ids["DSC_0007.jpg"]])
    assert ids["DSC_0007.jpg"] not in {
        r[0] for r in catalog.execute("SELECT id FROM photo_search_parts")
    }
    assert found(catalog, "dsc_0007 portraits", ids) == {"DSC_0007.jpg"}


def test_a_deleted_photo_with_tags_faces_and_files_leaves_no_word_behind(searched):
    """A photo's deletion cascades to its tags, faces and other files, whose triggers run after
    the photo row is gone: the document went out of the index whole before (``index_of`` checks
    every word at the end of the test)."""
    catalog, ids, paths = searched
    pk = catalog.active_scorer("technical")["id"]
    photo = ids["IMG_4014.jpg"]
    with catalog.transaction() as conn:
        person = catalog.new_person()
        face = conn.execute(
            "INSERT INTO faces (photo_id, scorer_pk, face_index, x, y, w, h)"
            " VALUES (?, ?, 0, 1, 1, 9, 9)",
            [photo, pk],
        ).lastrowid
        catalog.assign_faces([(face, person)])
        catalog.name_person(person, "Anna")
        conn.execute(
            "INSERT INTO photo_files (path, photo_id, kind) VALUES (?, ?, 'raw')",
            [str(paths["IMG_4014.jpg"].with_name("IMG_4014.CR3")), photo],
        )
    catalog.rate(photo, label="Red", source="gui")
    assert found(catalog, "anna cr3 red awe canon", ids) == {"IMG_4014.jpg"}
    assert index_of(catalog.path) == index_of(catalog.path, rebuilt=True)
    with catalog.transaction() as conn:
        conn.execute("DELETE FROM photos WHERE id = ?", [photo])
    for word in ("anna", "cr3", "red", "canon", "4014"):
        assert found(catalog, word, ids) == set()
    assert (
        catalog.execute("SELECT COUNT(*) FROM photo_search_parts WHERE id = ?", [photo]).fetchone()[
            0
        ]
        == 0
    )


def test_a_named_persons_photos_are_found_by_the_name(searched):
    catalog, ids, _ = searched
    pk = catalog.active_scorer("technical")["id"]
    with catalog.transaction() as conn:
        person = catalog.new_person()
        for name in ("IMG_4014.jpg", "DSC_0007.jpg"):
            face = conn.execute(
                "INSERT INTO faces (photo_id, scorer_pk, face_index, x, y, w, h) VALUES (?, ?, 0, 1, 1, 9, 9)",
                [ids[name], pk],
            ).lastrowid
            catalog.assign_faces([(face, person)])
    assert found(catalog, "anna", ids) == set()
    with catalog.transaction():
        catalog.name_person(person, "Anna Smith")
    assert found(catalog, "anna", ids) == {"IMG_4014.jpg", "DSC_0007.jpg"}
    assert found(catalog, "anna wedding", ids) == {"IMG_4014.jpg"}
    with catalog.transaction() as conn:
        conn.execute("DELETE FROM faces WHERE photo_id = ?", [ids["DSC_0007.jpg"]])
    assert found(catalog, "anna", ids) == {"IMG_4014.jpg"}


def test_a_deleted_photo_leaves_the_index(searched):
    """Folding alias rows deletes a photo row: its document goes with it (and nothing refuses it)."""
    catalog, ids, _ = searched
    with catalog.transaction() as conn:
        conn.execute("DELETE FROM photos WHERE id = ?", [ids["DSC_0007.jpg"]])
    assert catalog.search_document(ids["DSC_0007.jpg"]) is None
    assert found(catalog, "portraits", ids) == set()


def test_the_raw_of_a_capture_is_found_by_its_own_name(searched):
    catalog, ids, paths = searched
    raw = str(paths["IMG_4014.jpg"].with_name("IMG_4014.CR3"))
    with catalog.transaction() as conn:
        conn.execute(
            "INSERT INTO photo_files (path, photo_id, kind) VALUES (?, ?, 'raw')",
            [raw, ids["IMG_4014.jpg"]],
        )
    assert found(catalog, "cr3", ids) == {"IMG_4014.jpg"}
    with catalog.transaction() as conn:
        conn.execute("DELETE FROM photo_files WHERE path = ?", [raw])
    assert found(catalog, "cr3", ids) == set()
