"""RAW+JPEG as one photo (issue #30, goal 1): the files of one capture are one catalog row, scored once
from the JPEG, with the RAW recorded beside it; older catalogs' two rows are folded; a half deleted
later leaves the photo and its decision with the other half.

The shoots are real sample photos written as a DNG (``culler.testing.formats``) and a JPEG of the same
picture, as a camera set to RAW+JPEG writes them. Every file lies under the test's ``tmp_path``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_search import index_of

from culler.catalog import open_catalog
from culler.scan import ScanOptions, scan_folders
from culler.scan.captures import file_kind, pair_captures
from culler.scan.work import Found
from culler.testing import sample_image
from culler.testing.formats import write_dng

SCAN = ScanOptions(workers=0, scorer_ids=["technical"])
NAMES = ("astronaut", "chelsea", "coffee")


def make_pairs(
    folder: Path, names=NAMES, lone: str | None = "rocket"
) -> dict[str, tuple[Path, Path]]:
    """A RAW+JPEG shoot: ``IMG_000N.dng`` and ``IMG_000N.JPG`` of each sample photo, and one JPEG alone."""
    folder.mkdir(parents=True, exist_ok=True)
    pairs = {}
    for n, name in enumerate(names, 1):
        image = sample_image(name).resize((192, 144))
        raw = write_dng(folder / f"IMG_{n:04d}.dng", image, preview_side=128)
        jpeg = folder / f"IMG_{n:04d}.JPG"
        image.save(jpeg, quality=90)
        pairs[name] = (raw, jpeg)
    if lone:
        sample_image(lone).resize((192, 144)).save(folder / "IMG_0099.JPG", quality=90)
    return pairs


def scan(db: Path, *roots: Path) -> dict:
    with open_catalog(db) as cat:
        return scan_folders(cat, list(roots), SCAN, echo=lambda _m: None)


def photos(db: Path) -> dict[str, dict]:
    """{path: row with its current rating and its further files} of every photo."""
    with open_catalog(db) as cat:
        rows = cat.query("SELECT * FROM photos ORDER BY path")
        ratings = cat.current_ratings()
        files = cat.capture_files([r["id"] for r in rows])
        for row in rows:
            row["rating"] = ratings.get(row["id"], {})
            row["files"] = [f["path"] for f in files.get(row["id"], [])]
            row["scores"] = cat.current_scores([row["id"]]).get(row["id"], {})
        return {row["path"]: row for row in rows}


def rate(db: Path, path: Path, **fields) -> None:
    with open_catalog(db) as cat:
        cat.rate(cat.photo_by_path(str(path))["id"], source="cli", **fields)


# -- pairing (pure) --------------------------------------------------------------------------------
def found_by(db: Path, text: str) -> set[int]:
    """The photos a search for ``text`` finds."""
    with open_catalog(db) as cat:
        return set(cat.search_photo_ids(text))


def found(*names: str, folder: str = "/shoot") -> list[Found]:
    return [Found(path=f"{folder}/{n}", size=10, mtime_ns=1) for n in names]


def test_a_raw_and_its_jpeg_are_one_capture_scored_from_the_jpeg():
    out = pair_captures(found("IMG_1.CR3", "IMG_1.JPG", "IMG_2.jpg", "img_3.nef", "IMG_3.jpeg"))
    assert [f.path for f in out] == ["/shoot/IMG_1.JPG", "/shoot/IMG_2.jpg", "/shoot/IMG_3.jpeg"]
    assert [c.path for c in out[0].companions] == ["/shoot/IMG_1.CR3"]
    assert out[1].companions == ()
    assert [c.path for c in out[2].companions] == ["/shoot/img_3.nef"]


def test_a_jpeg_and_heic_beside_a_raw_are_one_capture_decoded_from_the_jpeg():
    out = pair_captures(found("A.HEIC", "A.dng", "A.jpg"))
    assert [f.path for f in out] == ["/shoot/A.jpg"]
    assert sorted(c.path for c in out[0].companions) == ["/shoot/A.HEIC", "/shoot/A.dng"]


def test_what_is_not_one_capture_stays_apart():
    # Two RAWs of one stem (a CR2 and its DNG conversion), a .jpg and an edited .jpeg, two folders,
    # a TIFF beside a RAW, and a file that could not be stat'ed: none is paired.
    cases = [
        found("A.cr2", "A.dng", "A.jpg"),
        found("B.dng", "B.jpg", "B.jpeg"),
        found("C.dng") + found("C.jpg", folder="/other"),
        found("D.dng", "D.tif"),
        [Found(path="/shoot/E.dng", error="permission denied"), *found("E.jpg")],
    ]
    for files in cases:
        out = pair_captures(files)
        assert [f.path for f in out] == [f.path for f in files]
        assert all(f.companions == () for f in out)


# -- scanning a RAW+JPEG shoot ---------------------------------------------------------------------
def test_a_raw_jpeg_shoot_is_one_photo_per_capture_decoded_once(tmp_path):
    shoot = tmp_path / "shoot"
    pairs = make_pairs(shoot)
    db = tmp_path / "culler.db"
    summary = scan(db, shoot)
    rows = photos(db)
    assert sorted(Path(p).name for p in rows) == [
        "IMG_0001.JPG",
        "IMG_0002.JPG",
        "IMG_0003.JPG",
        "IMG_0099.JPG",
    ]
    assert summary["decoded"] == 4 and summary["new"] == 4 and summary["files_seen"] == 7
    for raw, jpeg in pairs.values():
        row = rows[str(jpeg)]
        assert row["files"] == [str(raw)]
        assert row["status"] == "ok" and "technical" in row["scores"]
    assert rows[str(shoot / "IMG_0099.JPG")]["files"] == []
    # A rescan reads nothing again and leaves the captures as they are.
    again = scan(db, shoot)
    assert again["skipped"] == 4 and again["decoded"] == 0
    assert photos(db).keys() == rows.keys()


def test_an_older_catalogs_two_rows_of_a_capture_are_folded_keeping_the_newer_hand_rating(tmp_path):
    shoot = tmp_path / "shoot"
    pairs = make_pairs(shoot, lone=None)
    held = tmp_path / "held"
    held.mkdir()
    for raw, _ in pairs.values():  # scan the JPEGs alone first, as they were catalogued before
        raw.rename(held / raw.name)
    db = tmp_path / "culler.db"
    scan(db, shoot)
    (raw_a, jpeg_a), (raw_b, jpeg_b) = pairs["astronaut"], pairs["chelsea"]
    rate(db, jpeg_a, stars=2, decision="reject")  # older than the RAW's below: the RAW's wins
    with open_catalog(db) as cat, cat.transaction():
        for raw, _ in pairs.values():  # the RAW rows an older version of culler stored
            st = (held / raw.name).stat()
            cat.upsert_photo(str(raw), str(shoot), st.st_size, st.st_mtime_ns, status="ok")
    rate(db, raw_a, stars=5, decision="pick")
    rate(db, raw_b, stars=1)
    rate(db, jpeg_b, stars=4, decision="pick")  # newer than the RAW's: the JPEG's stays
    for raw, _ in pairs.values():
        (held / raw.name).rename(raw)
    ids = {name: photos(db)[str(jpeg)]["id"] for name, (_, jpeg) in pairs.items()}
    scan(db, shoot)
    rows = photos(db)
    assert sorted(rows) == sorted(str(jpeg) for _, jpeg in pairs.values())
    for name, (raw, jpeg) in pairs.items():
        assert rows[str(jpeg)]["id"] == ids[name] and rows[str(jpeg)]["files"] == [str(raw)]
    assert rows[str(jpeg_a)]["rating"]["stars"] == 5
    assert rows[str(jpeg_a)]["rating"]["decision"] == "pick"
    assert rows[str(jpeg_b)]["rating"]["stars"] == 4
    assert rows[str(jpeg_b)]["rating"]["decision"] == "pick"
    assert index_of(db) == index_of(db, rebuilt=True)  # the folded rows' words left the index
    assert found_by(db, "dng") == set(ids.values())  # each capture by its RAW


def test_a_raw_catalogued_alone_becomes_the_capture_when_its_jpeg_appears(tmp_path):
    pytest.importorskip("rawpy", reason="decoding the RAW needs `pip install 'culler[raw]'`")
    shoot = tmp_path / "shoot"
    pairs = make_pairs(shoot, names=("coffee",), lone=None)
    raw, jpeg = pairs["coffee"]
    jpeg.rename(tmp_path / jpeg.name)
    db = tmp_path / "culler.db"
    scan(db, shoot)
    rate(db, raw, stars=3, decision="pick")
    photo_id = photos(db)[str(raw)]["id"]
    (tmp_path / jpeg.name).rename(jpeg)
    scan(db, shoot)
    rows = photos(db)
    assert list(rows) == [str(jpeg)]
    row = rows[str(jpeg)]
    assert row["id"] == photo_id and row["files"] == [str(raw)]
    assert row["rating"]["stars"] == 3 and row["rating"]["decision"] == "pick"
    assert "technical" in row["scores"]


# -- a half deleted later --------------------------------------------------------------------------
def test_the_jpeg_deleted_later_leaves_the_photo_and_its_decision_with_the_raw(tmp_path):
    pytest.importorskip("rawpy", reason="decoding the RAW needs `pip install 'culler[raw]'`")
    shoot = tmp_path / "shoot"
    raw, jpeg = make_pairs(shoot, names=("astronaut",), lone=None)["astronaut"]
    db = tmp_path / "culler.db"
    scan(db, shoot)
    rate(db, jpeg, stars=4, decision="pick", label="Green")
    photo_id = photos(db)[str(jpeg)]["id"]
    jpeg.unlink()
    summary = scan(db, shoot)
    rows = photos(db)
    assert list(rows) == [str(raw)] and summary["missing"] == 0
    row = rows[str(raw)]
    assert row["id"] == photo_id and row["status"] == "ok" and row["files"] == []
    assert row["rating"]["stars"] == 4 and row["rating"]["decision"] == "pick"
    assert "technical" in row["scores"]  # scored again, from the RAW
    assert scan(db, shoot)["skipped"] == 1
    assert index_of(db) == index_of(db, rebuilt=True)


def test_the_raw_deleted_later_leaves_the_photo_and_its_decision_with_the_jpeg(tmp_path):
    shoot = tmp_path / "shoot"
    raw, jpeg = make_pairs(shoot, names=("chelsea",), lone=None)["chelsea"]
    db = tmp_path / "culler.db"
    scan(db, shoot)
    rate(db, jpeg, stars=2, decision="reject")
    raw.unlink()
    summary = scan(db, shoot)
    row = photos(db)[str(jpeg)]
    assert summary["skipped"] == 1 and summary["decoded"] == 0
    assert row["files"] == [] and row["status"] == "ok"
    assert row["rating"]["decision"] == "reject"


def test_a_renamed_shoot_folder_keeps_each_capture_with_its_raw(tmp_path):
    shoot = tmp_path / "shoot"
    pairs = make_pairs(shoot, lone=None)
    db = tmp_path / "culler.db"
    scan(db, shoot)
    rate(db, pairs["coffee"][1], stars=5, decision="pick")
    shoot.rename(tmp_path / "2026-wedding")
    summary = scan(db, tmp_path / "2026-wedding")
    rows = photos(db)
    assert summary["moved"] == 3 and summary["decoded"] == 0
    moved = tmp_path / "2026-wedding"
    for raw, jpeg in pairs.values():
        assert rows[str(moved / jpeg.name)]["files"] == [str(moved / raw.name)]
    assert rows[str(moved / "IMG_0003.JPG")]["rating"]["decision"] == "pick"
    assert index_of(db) == index_of(db, rebuilt=True)  # documents of moved paths
    assert len(found_by(db, "2026 wedding dng")) == 3


# -- sidecar and export ----------------------------------------------------------------------------
def cli(*args, code: int = 0):
    from click.testing import CliRunner

    from culler.cli import cli as command

    result = CliRunner().invoke(command, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def test_the_sidecar_of_a_capture_sits_beside_the_raw_where_lightroom_reads_it(tmp_path):
    shoot = tmp_path / "shoot"
    raw, jpeg = make_pairs(shoot, names=("coffee",), lone=None)["coffee"]
    db = tmp_path / "culler.db"
    scan(db, shoot)
    rate(db, jpeg, stars=4, decision="pick")
    cli("xmp", "write", "--db", db)
    assert sorted(p.name for p in shoot.glob("*.xmp")) == ["IMG_0001.xmp"]  # Lightroom's name
    text = (shoot / "IMG_0001.xmp").read_text(encoding="utf-8")
    assert 'xmp:Rating="4"' in text or "<xmp:Rating>4</xmp:Rating>" in text
    cli("xmp", "write", "--db", db, "--naming", "fullname")  # darktable's name, beside the RAW
    assert (shoot / f"{raw.name}.xmp").is_file() and not (shoot / f"{jpeg.name}.xmp").exists()
    # A rating set in Lightroom on the RAW comes back to the one photo.
    (shoot / f"{raw.name}.xmp").unlink()
    side = shoot / "IMG_0001.xmp"
    side.write_text(text.replace('xmp:Rating="4"', 'xmp:Rating="2"'), encoding="utf-8")
    cli("xmp", "read", "--db", db)
    assert photos(db)[str(jpeg)]["rating"]["stars"] == 2


def test_export_copies_every_file_of_a_capture_with_its_sidecar(tmp_path):
    shoot = tmp_path / "shoot"
    pairs = make_pairs(shoot)
    db = tmp_path / "culler.db"
    scan(db, shoot)
    raw, jpeg = pairs["astronaut"]
    rate(db, jpeg, stars=5, decision="pick")
    cli("xmp", "write", "--db", db)
    out = tmp_path / "picks"
    cli("export", "picks", out, "--db", db)
    assert sorted(p.name for p in out.iterdir()) == ["IMG_0001.JPG", "IMG_0001.dng", "IMG_0001.xmp"]
    assert (out / "IMG_0001.dng").read_bytes() == raw.read_bytes()
    # A second export is the same files: nothing copied twice, no -1 names.
    cli("export", "picks", out, "--db", db)
    assert len(list(out.iterdir())) == 3


def test_export_move_takes_the_raw_and_the_sidecar_along_and_the_catalog_follows(tmp_path):
    shoot = tmp_path / "shoot"
    pairs = make_pairs(shoot)
    db = tmp_path / "culler.db"
    scan(db, shoot)
    raw, jpeg = pairs["chelsea"]
    rate(db, jpeg, stars=5, decision="pick")
    cli("xmp", "write", "--db", db)
    photo_id = photos(db)[str(jpeg)]["id"]
    out = tmp_path / "picks"
    cli("export", "picks", out, "--db", db, "--move")
    assert sorted(p.name for p in out.iterdir()) == ["IMG_0002.JPG", "IMG_0002.dng", "IMG_0002.xmp"]
    assert not raw.exists() and not jpeg.exists() and not (shoot / "IMG_0002.xmp").exists()
    row = photos(db)[str(out / "IMG_0002.JPG")]
    assert row["id"] == photo_id and row["files"] == [str(out / "IMG_0002.dng")]
    # The other captures stay whole where they were, and a scan of both folders finds no new photo.
    summary = scan(db, shoot, out)
    assert summary["new"] == 0 and summary["missing"] == 0
    assert photos(db)[str(shoot / "IMG_0001.JPG")]["files"] == [str(shoot / "IMG_0001.dng")]


def test_export_move_beside_a_clashing_name_moves_the_capture_under_one_new_stem(tmp_path):
    shoot = tmp_path / "shoot"
    raw, jpeg = make_pairs(shoot, names=("rocket",), lone=None)["rocket"]
    db = tmp_path / "culler.db"
    scan(db, shoot)
    rate(db, jpeg, decision="pick")
    out = tmp_path / "picks"
    out.mkdir()
    (out / "IMG_0001.dng").write_bytes(b"another photographer's file")
    cli("export", "picks", out, "--db", db, "--move")
    assert sorted(p.name for p in out.iterdir()) == [
        "IMG_0001-1.JPG",
        "IMG_0001-1.dng",
        "IMG_0001.dng",
    ]
    assert (out / "IMG_0001.dng").read_bytes() == b"another photographer's file"


# -- one item in list, show, cull and the grid -----------------------------------------------------
def test_list_and_show_give_one_item_per_capture_and_name_its_raw(tmp_path):
    import json

    shoot = tmp_path / "shoot"
    pairs = make_pairs(shoot)
    db = tmp_path / "culler.db"
    scan(db, shoot)
    raw, jpeg = pairs["coffee"]
    rows = json.loads(cli("list", "--db", db, "--json").output)
    assert len(rows) == 4
    by_path = {r["path"]: r for r in rows}
    assert by_path[str(jpeg)]["files"] == [str(raw)]
    assert by_path[str(shoot / "IMG_0099.JPG")]["files"] == []
    text = cli("list", "--db", db).output
    assert f"{jpeg} (+{raw.name})" in text and str(raw) + "\t" not in text
    # The RAW names the capture's photo: rate it by the RAW, see it by either file.
    cli("rate", raw, "--stars", "3", "--db", db)
    shown = json.loads(cli("show", raw, "--db", db, "--json").output)
    assert shown["path"] == str(jpeg) and shown["rating"]["stars"] == 3
    assert [(f["path"], f["kind"]) for f in shown["files"]] == [(str(raw), "raw")]
    assert f"also: {raw} (raw, same capture)" in cli("show", jpeg, "--db", db).output


def test_cull_never_calls_the_halves_of_a_capture_near_duplicates(tmp_path):
    import json

    shoot = tmp_path / "shoot"
    make_pairs(shoot)
    db = tmp_path / "culler.db"
    scan(db, shoot)
    result = json.loads(cli("cull", "--db", db, "--dry-run", "--json").output)
    assert len(result["plan"]) == 4  # one decision per capture
    assert not any(p["decision"] == "reject" for p in result["plan"]), result["plan"]
    with open_catalog(db) as cat:
        groups = cat.query(
            "SELECT group_id, COUNT(*) AS n FROM group_members GROUP BY group_id HAVING n > 1"
        )
    assert groups == []


def test_the_grid_record_of_a_capture_carries_its_raw_and_a_raw_jpeg_badge(tmp_path):
    from culler.gui.records import load_records

    shoot = tmp_path / "shoot"
    pairs = make_pairs(shoot, names=("astronaut",))
    db = tmp_path / "culler.db"
    scan(db, shoot)
    with open_catalog(db) as cat:
        records = {Path(r.path).name: r for r in load_records(cat)}
    raw, _ = pairs["astronaut"]
    assert records["IMG_0001.JPG"].companions == [(str(raw), "raw")]
    assert records["IMG_0001.JPG"].capture_badge == "RAW+JPEG"
    assert records["IMG_0099.JPG"].capture_badge == ""
    assert "dng" in records["IMG_0001.JPG"].search_text()


# -- the camera's two cards ------------------------------------------------------------------------
def test_pair_card_folders_joins_a_raw_and_a_jpeg_of_one_camera_time_and_stem():
    from culler.scan.captures import pair_card_folders

    def row(i, path, camera="Canon EOS R5", taken="2026-06-13T15:04:05", subsec=None):
        return {"id": i, "path": path, "camera": camera, "taken_at": taken, "subsec": subsec}

    rows = [
        row(1, "/s/card1/IMG_1.CR3", subsec="12"),
        row(2, "/s/card2/IMG_1.JPG", subsec="12"),
        row(3, "/s/card1/IMG_2.CR3", subsec="40"),  # same second, another frame of the burst
        row(4, "/s/card2/IMG_2.JPG", subsec="52"),
        row(5, "/s/card1/IMG_3.CR3", camera="Canon EOS R6"),  # a second shooter's camera
        row(6, "/s/card2/IMG_3.JPG"),
        row(7, "/s/a/IMG_4.CR3", taken=None),  # no capture time: never guessed
        row(8, "/s/b/IMG_4.JPG", taken=None),
        row(9, "/s/card1/IMG_5.CR3"),  # two JPEGs could be its pair: ambiguous, left apart
        row(10, "/s/card2/IMG_5.JPG"),
        row(11, "/s/card3/IMG_5.JPG"),
    ]
    assert pair_card_folders(rows) == [(1, 2)]


def test_a_capture_the_camera_wrote_to_two_cards_is_one_photo(tmp_path):
    pytest.importorskip("rawpy", reason="decoding the RAW needs `pip install 'culler[raw]'`")
    from culler.testing.formats import camera_exif

    shoot = tmp_path / "shoot"
    (shoot / "card1").mkdir(parents=True)
    (shoot / "card2").mkdir()
    for n, name in enumerate(("astronaut", "chelsea"), 1):
        image = sample_image(name).resize((192, 144))
        taken = f"2026:06:13 15:04:0{n}"
        write_dng(shoot / "card1" / f"IMG_{n:04d}.dng", image, preview_side=128, taken=taken)
        exif = camera_exif("Culler", "Test Camera", taken)
        image.save(shoot / "card2" / f"IMG_{n:04d}.JPG", quality=90, exif=exif)
    db = tmp_path / "culler.db"
    scan(db, shoot / "card2")  # one card first: its JPEGs are photos
    rate(db, shoot / "card2" / "IMG_0001.JPG", stars=4, decision="pick")
    summary = scan(db, shoot)
    assert summary["captures_joined"] == 2
    rows = photos(db)
    assert sorted(rows) == [str(shoot / "card2" / f"IMG_000{n}.JPG") for n in (1, 2)]
    first = rows[str(shoot / "card2" / "IMG_0001.JPG")]
    assert first["files"] == [str(shoot / "card1" / "IMG_0001.dng")]
    assert first["rating"]["decision"] == "pick"
    # A rescan keeps the RAW with its photo and reads nothing again.
    again = scan(db, shoot)
    assert again["new"] == 0 and again["decoded"] == 0 and "captures_joined" not in again
    assert photos(db)[str(first["path"])]["files"] == first["files"]
    # The JPEG's card deleted: the photo and its decision go on as the RAW.
    for jpeg in (shoot / "card2").iterdir():
        jpeg.unlink()
    scan(db, shoot)
    rows = photos(db)
    assert sorted(rows) == [str(shoot / "card1" / f"IMG_000{n}.dng") for n in (1, 2)]
    assert rows[str(shoot / "card1" / "IMG_0001.dng")]["rating"]["decision"] == "pick"


def test_pairing_keeps_every_file_once_and_pairs_only_a_raw_with_a_rendered_file():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    names = st.tuples(
        st.sampled_from(["/a", "/b"]),
        st.sampled_from(["IMG_1", "img_1", "IMG_2"]),
        st.sampled_from([".JPG", ".jpg", ".jpeg", ".HEIC", ".dng", ".CR3", ".tif", ".png"]),
    )

    @settings(max_examples=300, deadline=None)
    @given(st.lists(names, unique=True, max_size=8))
    def check(parts):
        files = [Found(path=f"{d}/{stem}{ext}", size=1, mtime_ns=1) for d, stem, ext in parts]
        out = pair_captures(files)
        listed = [f.path for f in out] + [c.path for f in out for c in f.companions]
        assert sorted(listed) == sorted(f.path for f in files)  # each file once, none invented
        assert pair_captures(files) == out  # pure: the same answer again
        for f in out:
            if not f.companions:
                continue
            kinds = [file_kind(c.path) for c in (f, *f.companions)]
            assert file_kind(f.path) in ("jpeg", "heic") and kinds.count("raw") == 1
            folders = {c.path.rpartition("/")[0] for c in (f, *f.companions)}
            stems = {
                c.path.rpartition("/")[2].rpartition(".")[0].lower() for c in (f, *f.companions)
            }
            assert len(folders) == 1 and len(stems) == 1

    check()
