"""A catalog an earlier culler wrote is compacted in place (issue #32 goal 5): signatures of 1,105
bytes become about 800 (losslessly), score details and reasons stored as spaced JSON become packed
(culler.catalog.score_pack), in resumable batches with progress, and a kill at any point loses
nothing."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import ImageEnhance

from culler.catalog import open_catalog, photo_table, roots, score_json, timestamps, upgrades
from culler.catalog.groups import facts_digest
from culler.decide.grouping import NEAR, STRICT, signature_match
from culler.imaging import signatures
from culler.imaging.signatures import Signature, pixel_agreement
from culler.testing import sample_image
from culler.testing.crash import killer_script

DUMPS = sorted((Path(__file__).parent / "catalogs").glob("schema-*.sql"))
PLUGIN_ENV = {**os.environ, "CULLER_LOAD_PLUGINS": "grouping"}


def _edits():
    """Real photos and the edits of each that grouping must keep calling one picture."""
    for name in ("astronaut", "coffee", "moon", "chelsea"):
        image = sample_image(name)
        w, h = image.size
        crop = image.crop((w // 25, h // 25, w - w // 25, h - h // 25))
        yield name, [image, ImageEnhance.Brightness(image).enhance(1.2), crop]


@pytest.fixture(scope="module")
def legacy_blobs() -> list[bytes]:
    """Version-1 signatures (what earlier culler versions stored) of real photos and edits."""
    return [signatures.legacy_bytes(im) for _, ims in _edits() for im in ims]


@pytest.fixture(scope="module")
def v2_blobs() -> list[bytes]:
    """Version-2 signatures (the thumbnail deflated: what culler stored before version 3)."""
    return [signatures.legacy_bytes(im, version=2) for _, ims in _edits() for im in ims]


@pytest.fixture(scope="module")
def real_details() -> list[tuple[str, str]]:
    """(extra, reasons) of technical scores of real photos as earlier versions stored them
    (``json.dumps``: spaced, the sharpness grid as text, where those versions put it)."""
    from culler_plugins.technical import TechnicalScorer

    scorer = TechnicalScorer()
    rows = []
    for name in ("astronaut", "coffee", "moon"):
        image = sample_image(name).resize((768, 512))
        result = scorer.score_one(image)
        extra = {}
        for key, value in result.extra.items():
            extra[key] = value
            if key == "background_sharpness":  # the grid, as versions before 024 stored it
                extra.update(scorer.details_on_demand(image))
        assert set(upgrades.GRID_KEYS) <= set(extra)
        rows.append((json.dumps(extra), json.dumps(result.reasons)))
    return rows


def without_grid(details: dict[int, tuple]) -> dict[int, tuple]:
    """:func:`score_details` as they read once ``technical_details_without_grid`` has run."""
    return {
        key: (
            {k: v for k, v in extra.items() if k not in upgrades.GRID_KEYS}
            if isinstance(extra, dict)
            else extra,
            *rest,
        )
        for key, (extra, *rest) in details.items()
    }


def older_catalog(
    path: Path,
    blobs: list[bytes],
    copies: int = 1,
    details: list[tuple[str, str]] | None = None,
) -> Path:
    """A catalog at schema 2 (an earlier version's own dump) holding photos with version-1
    signatures, every photo rated (stars = id % 6) and every third rejected; with ``details``,
    a technical score for every photo with those details as an earlier version stored them."""
    conn = sqlite3.connect(path)
    conn.executescript(DUMPS[-1].read_text(encoding="utf-8"))
    conn.execute("PRAGMA journal_mode = WAL")
    first = conn.execute("SELECT COALESCE(MAX(id), 0) FROM photos").fetchone()[0] + 1
    rows = [
        (first + i, f"/old/{i}.jpg", "/old", blobs[i % len(blobs)])
        for i in range(len(blobs) * copies)
    ]
    # As earlier versions scanned them: a dHash, ISO times, grouping facts recorded as text.
    conn.executemany(
        "INSERT INTO photos (id, path, root, signature, status, phash, first_seen, last_seen)"
        " VALUES (?, ?, ?, ?, 'ok', ?, ?, ?)",
        [(*r, f"{r[0]:016x}", ISO_TIMES[r[0] % 3], ISO_TIMES[(r[0] + 1) % 3]) for r in rows],
    )
    conn.executemany(
        "INSERT INTO grouping_state (photo_id, facts) VALUES (?, ?)",
        [(r[0], f"None|None|None|None|/old|1|{r[0] % 2}") for r in rows],
    )
    conn.executemany(
        "INSERT INTO ratings (photo_id, stars, decision, source, at) VALUES (?, ?, ?, 'gui', 't')",
        [(r[0], r[0] % 6, "reject" if r[0] % 3 == 0 else None) for r in rows],
    )
    if details:
        conn.execute(
            "INSERT INTO scorers (scorer_id, version, created) VALUES ('technical', '4', 't')"
        )
        (pk,) = conn.execute("SELECT MAX(id) FROM scorers").fetchone()
        conn.executemany(
            "INSERT INTO scores (photo_id, scorer_pk, score, extra, reasons, created)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (r[0], pk, r[0] / 10, *details[r[0] % len(details)], ISO_TIMES[r[0] % 3])
                for r in rows
            ],
        )
    conn.commit()
    conn.close()
    return path


def pages_of(path: Path) -> tuple[int, str, str]:
    """The catalog file's page size, journal mode and integrity check."""
    conn = sqlite3.connect(path)
    try:
        return (
            conn.execute("PRAGMA page_size").fetchone()[0],
            conn.execute("PRAGMA journal_mode").fetchone()[0],
            conn.execute("PRAGMA integrity_check").fetchone()[0],
        )
    finally:
        conn.close()


def ratings_of(path: Path) -> dict[int, tuple]:
    conn = sqlite3.connect(path)
    try:
        return {
            r[0]: r[1:]
            for r in conn.execute("SELECT photo_id, stars, decision, label FROM current_ratings")
        }
    finally:
        conn.close()


#: Score times as earlier versions stored them (ISO text).
ISO_TIMES = (
    "2019-06-01T14:03:07.250+00:00",
    "2024-02-29T23:59:59.999+00:00",
    "2026-12-06T10:31:37.741+00:00",
)


def score_details(path: Path) -> dict[int, tuple]:
    """Every score's details, reasons and time as readers see them (``score_json.load``,
    ``timestamps.iso``)."""
    conn = sqlite3.connect(path)
    try:
        return {
            r[0]: (score_json.load(r[1]), score_json.load(r[2]), timestamps.iso(r[3]))
            for r in conn.execute("SELECT photo_id, extra, reasons, created FROM scores")
        }
    finally:
        conn.close()


def detail_forms(path: Path) -> dict[str, int]:
    """How many score details are still JSON text and how many are packed (BLOBs), and how many
    score times are ISO text and how many numbers."""
    conn = sqlite3.connect(path)
    try:
        forms = dict(
            conn.execute(
                "SELECT typeof(extra), COUNT(*) FROM scores WHERE extra IS NOT NULL GROUP BY 1"
            )
        )
        for form, count in conn.execute(
            "SELECT CASE WHEN created NOT GLOB '*[^0-9]*' THEN 'ms' ELSE 'iso' END, COUNT(*)"
            " FROM scores WHERE extra IS NOT NULL GROUP BY 1"
        ):
            forms[form] = count
        return forms
    finally:
        conn.close()


def photo_rows(path: Path) -> dict[int, tuple]:
    """Every photo's first and last seen times as readers see them (``timestamps.iso``) and its
    grouping facts as compared (``groups.facts_digest``)."""
    conn = sqlite3.connect(path)
    try:
        return {
            r[0]: (timestamps.iso(r[1]), timestamps.iso(r[2]), facts_digest(r[3]))
            for r in conn.execute(
                "SELECT p.id, p.first_seen, p.last_seen, s.facts FROM photos p"
                " LEFT JOIN grouping_state s ON s.photo_id = p.id"
            )
        }
    finally:
        conn.close()


def photo_forms(path: Path) -> dict[str, int]:
    """How many of the photos :func:`older_catalog` added still hold a dHash, ISO times or
    grouping facts as text (``old``), and how many none of them (``compact``)."""
    conn = sqlite3.connect(path)
    try:
        columns = {r[1] for r in conn.execute("PRAGMA table_info(photos)")}
        # No dHash: NULL, or no column once the table is made again (023_compact_photo_table).
        no_dhash = "p.phash IS NULL" if "phash" in columns else "1"
        return dict(
            conn.execute(
                f"SELECT CASE WHEN {no_dhash} AND p.first_seen NOT GLOB '*[^0-9]*'"
                " AND p.last_seen NOT GLOB '*[^0-9]*' AND typeof(s.facts) = 'blob'"
                " THEN 'compact' ELSE 'old' END, COUNT(*)"
                " FROM photos p LEFT JOIN grouping_state s ON s.photo_id = p.id"
                " WHERE p.path LIKE '/old/%' GROUP BY 1"
            )
        )
    finally:
        conn.close()


def root_forms(path: Path) -> dict[str, int]:
    """How many photos hold their scan folder as text and how many as its id in ``roots``
    (``026_scan_roots_table``)."""
    conn = sqlite3.connect(path)
    try:
        return dict(
            conn.execute(
                f"SELECT CASE WHEN {roots.is_id_sql('root')} THEN 'id' ELSE 'text' END, COUNT(*)"
                " FROM photos WHERE root != '' GROUP BY 1"
            )
        )
    finally:
        conn.close()


def roots_read(path: Path) -> dict[int, str]:
    """Every photo's scan folder as readers see it (its text, whichever form it is stored in)."""
    conn = sqlite3.connect(path)
    try:
        has_table = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'roots'").fetchall()
        column = roots.root_sql("root") if has_table else "root"
        return dict(conn.execute(f"SELECT id, {column} FROM photos"))
    finally:
        conn.close()


def photo_table_compact(path: Path) -> bool:
    """Whether the photo table is made again in its compact form (023_compact_photo_table), with
    every reference to a photo intact and a sound file."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        return photo_table.is_compact(conn)
    finally:
        conn.close()


def photo_ids(path: Path) -> list[int]:
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT id FROM photos ORDER BY id")]
    finally:
        conn.close()


def index_sql(path: Path) -> str:
    """How the search index is made (its ``CREATE VIRTUAL TABLE``)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'photo_search_fts'"
        ).fetchone()[0]
    finally:
        conn.close()


def scores_copied(path: Path) -> int | None:
    """How many score rows the copy to the table without rowids holds (``scores_v2``), or None
    when there is no copy under way (not begun, or swapped)."""
    conn = sqlite3.connect(path)
    try:
        if not conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'scores_v2'"
        ).fetchone():
            return None
        return conn.execute("SELECT COUNT(*) FROM scores_v2").fetchone()[0]
    finally:
        conn.close()


def scores_layout(path: Path) -> tuple[bool, set[str]]:
    """Whether ``scores`` is a ``WITHOUT ROWID`` table, and the types its times are stored as (the
    rows the scan wrote: a time not of culler's clock stays the text it is)."""
    conn = sqlite3.connect(path)
    try:
        (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'scores'").fetchone()
        types = {
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT typeof(created) FROM scores WHERE extra IS NOT NULL"
            )
        }
        return "WITHOUT ROWID" in sql, types
    finally:
        conn.close()


def signature_sizes(path: Path) -> dict[str, int]:
    """How many signatures of each version (``v1``: 1,105 bytes; ``v2``: deflated; ``v3``: context
    Rice codes) the catalog holds."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT substr(signature, 1, 1), length(signature) FROM photos"
            " WHERE signature IS NOT NULL"
        ).fetchall()
    finally:
        conn.close()
    found: dict[str, int] = {}
    for version, size in rows:
        key = "v1" if version == b"\x01" and size == 1105 else "?"
        key = {b"\x02": "v2", b"\x03": "v3"}.get(version, key)
        found[key] = found.get(key, 0) + 1
    return found


def test_a_compact_signature_is_smaller_lossless_and_what_a_scan_stores():
    sizes = []
    for _, images in _edits():
        for image in images:
            blob = signatures.compute_bytes(image)
            legacy = signatures.legacy_bytes(image)
            assert blob[0] == signatures.VERSION and len(legacy) == 1105
            sizes.append(len(blob))
            assert Signature.from_bytes(blob).to_bytes() == blob  # read and written unchanged
            assert signatures.compact(legacy) == blob  # an upgraded photo = a rescanned one
            assert (Signature.from_bytes(blob).thumb == Signature.from_bytes(legacy).thumb).all()
    assert max(sizes) < 1105 and sum(sizes) / len(sizes) < 1000
    assert signatures.compact(b"\x07" * 10) is None
    broken = Signature.from_bytes(signatures.compute_bytes(sample_image("coffee"))[:100])
    assert not broken.thumb.any()  # a damaged thumbnail agrees with nothing; it does not raise


def test_grouping_evidence_is_exactly_the_same_on_compact_signatures(legacy_blobs):
    """Lossless: every pair of real photos and edits gets the same pixel agreement and the same
    verdict under both rules from version-1 and version-2 signatures."""
    compact = [Signature.from_bytes(signatures.compact(b)) for b in legacy_blobs]
    old = [Signature.from_bytes(b) for b in legacy_blobs]
    matched = 0
    for i in range(len(old)):
        for j in range(i + 1, len(old)):
            assert pixel_agreement(old[i], old[j]) == pixel_agreement(compact[i], compact[j])
            for rule in (NEAR, STRICT):
                verdict = signature_match(old[i], old[j], rule)
                assert signature_match(compact[i], compact[j], rule) == verdict
                matched += verdict
    assert matched >= 12  # the edits of each photo


def test_an_older_catalog_is_compacted_on_open_keeping_every_rating(tmp_path, legacy_blobs):
    path = older_catalog(tmp_path / "culler.db", legacy_blobs)
    before = ratings_of(path)
    assert signature_sizes(path) == {"v1": len(legacy_blobs)}
    assert pages_of(path) == (4096, "wal", "ok")  # SQLite's default, what earlier versions made
    seen = []
    with open_catalog(path, create=False, progress=lambda *a: seen.append(a)) as catalog:
        assert catalog.pending_data_upgrades() == []
        stored = [
            r[0]
            for r in catalog.execute(
                "SELECT signature FROM photos WHERE path LIKE '/old/%' ORDER BY id"
            )
        ]
    assert signature_sizes(path) == {"v3": len(legacy_blobs)}
    assert pages_of(path) == (upgrades.PAGE_SIZE, "wal", "ok")  # rewritten by the VACUUM
    assert stored == [signatures.compact(b) for b in legacy_blobs]
    assert ratings_of(path) == before
    what = "compacting near-duplicate signatures"
    assert seen[0] == (what, 0, len(legacy_blobs)) and seen[-1][1:] == (1, 1)
    assert (what, len(legacy_blobs), len(legacy_blobs)) in seen
    done = [d for w, d, _ in seen if w == what]
    assert done == sorted(done)
    with open_catalog(path, create=False) as catalog:  # nothing left to do, nothing written
        assert catalog.upgrade_data(lambda *a: pytest.fail("nothing to do")) == []


def test_a_large_upgrade_waits_for_a_command_that_shows_progress(
    tmp_path, monkeypatch, legacy_blobs
):
    """Without a progress bar (the GUI) a large upgrade is left for later: readers read both forms."""
    monkeypatch.setattr(upgrades, "SILENT_ROWS", 5)
    path = older_catalog(tmp_path / "culler.db", legacy_blobs)
    with open_catalog(path, create=False) as catalog:
        # and so is the VACUUM that gives the space back at 16 KB pages (016, 025)
        assert catalog.pending_data_upgrades() == [
            "compact_signatures",
            "compact_photo_rows",
            "grouping_fact_digests",
            "context_rice_signatures",
            "compact_photo_table",
            "scan_roots_as_ids",
            "search_index_without_column_sizes",
            upgrades.RECLAIM,  # done last, after every other upgrade, whatever its place
        ]
        blobs = [
            r[0]
            for r in catalog.execute("SELECT signature FROM photos WHERE signature IS NOT NULL")
        ]
        assert all(Signature.from_bytes(b) is not None for b in blobs)
    assert signature_sizes(path) == {"v1": len(legacy_blobs)}
    with open_catalog(path, create=False, progress=lambda *a: None) as catalog:
        assert catalog.pending_data_upgrades() == []
    assert signature_sizes(path) == {"v3": len(legacy_blobs)}


def test_a_new_catalog_has_nothing_to_upgrade(tmp_path):
    with open_catalog(tmp_path / "culler.db") as catalog:
        assert catalog.pending_data_upgrades() == []
        assert catalog.execute("PRAGMA page_size").fetchone()[0] == upgrades.PAGE_SIZE == 16384
        (finished,) = catalog.execute(
            f"SELECT finished FROM {upgrades.TABLE} WHERE name = 'compact_signatures'"
        ).fetchone()
        assert finished


def test_the_command_line_says_what_it_upgrades(tmp_path, monkeypatch, culler_cli, legacy_blobs):
    from culler.commands.options import UpgradeProgress

    monkeypatch.setattr(UpgradeProgress, "QUIET_BELOW", 5)
    path = older_catalog(tmp_path / "culler.db", legacy_blobs)
    result = culler_cli("list", "--db", str(path))
    assert "upgrading the catalog: compacting near-duplicate signatures (12 to do)" in result.output
    assert "resumes on the next run" in result.output and "Traceback" not in result.output
    assert signature_sizes(path) == {"v3": len(legacy_blobs)}


KILLER = killer_script(
    "core.open_catalog(sys.argv[1], create=False, progress=lambda *a: None).close()",
    setup="from culler.catalog import upgrades\nupgrades.BATCH = 7",
)


def _run_killer(path: Path, kill_at: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", KILLER, str(path), str(kill_at)],
        capture_output=True,
        text=True,
        env=PLUGIN_ENV,
        timeout=120,
    )


def signature_thumbs(path: Path) -> dict[int, bytes]:
    """Each photo's signature as what grouping compares (hash, layout, thumbnail), any version."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT id, signature FROM photos ORDER BY id").fetchall()
    finally:
        conn.close()
    found = {}
    for pid, blob in rows:
        sig = Signature.from_bytes(blob)
        if sig is not None:
            found[pid] = sig.dct.tobytes() + sig.layout.tobytes() + sig.thumb.tobytes()
    return found


def grouping_log_rows(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT COUNT(*) FROM grouping_log").fetchone()[0]
    finally:
        conn.close()


def test_killed_at_any_statement_of_the_upgrade_nothing_is_lost(
    tmp_path, legacy_blobs, v2_blobs, real_details
):
    """SIGKILL at statements spread over the migrations, every upgrade batch and the VACUUM: each
    signature is still version 1 or 2 or rewritten whole as version 3 (batches are atomic) and
    reads as exactly the same signature, each score's details and reasons read exactly as before
    (JSON or packed), every rating is as it was, and the next open finishes the upgrade; the
    signature rewrites leave nothing in the grouping change log."""
    template = older_catalog(
        tmp_path / "template.db", legacy_blobs + v2_blobs, copies=2, details=real_details
    )  # 48 photos: half of them with version-1 signatures, half with version 2
    expected = 2 * (len(legacy_blobs) + len(v2_blobs))
    before = ratings_of(template)
    thumbs = signature_thumbs(template)
    details = score_details(template)
    photos = photo_rows(template)
    assert detail_forms(template) == {"text": expected, "iso": expected}
    assert photo_forms(template) == {"old": expected}
    folders = roots_read(template)
    assert root_forms(template) == {"text": len(folders)}
    count = tmp_path / "count.db"
    count.write_bytes(template.read_bytes())
    counted = _run_killer(count, 0)
    assert counted.returncode == 0, counted.stderr
    total = int(counted.stdout.strip())
    # Every upgrade batch spans statements of its own: kills spread over all of them.
    points = sorted({*range(total - 60, total + 1, 3), *range(1, total, max(1, total // 40))})
    killed, partial, half_packed, half_copied, resized, half_rows = 0, 0, 0, 0, 0, 0
    stripped = without_grid(details)
    half_stripped = 0
    remade = 0
    half_signed = 0
    half_rooted = 0
    for point in points:
        path = tmp_path / f"kill{point}.db"
        path.write_bytes(template.read_bytes())
        result = _run_killer(path, point)
        killed += result.returncode == -signal.SIGKILL
        sizes = signature_sizes(path)
        assert set(sizes) <= {"v1", "v2", "v3"} and sum(sizes.values()) == expected
        partial += "v3" in sizes and ("v1" in sizes or "v2" in sizes)
        half_signed += sizes.get("v2", 0) not in (0, len(v2_blobs) * 2)
        assert signature_thumbs(path) == thumbs
        half_packed += {"text", "blob"} <= set(detail_forms(path))
        copied = scores_copied(path)
        half_copied += copied is not None and 0 < copied < expected
        assert ratings_of(path) == before
        now_details = score_details(path)  # each row as before, or as before without its grid
        assert all(now_details[k] in (details[k], stripped[k]) for k in details)
        assert set(now_details) == set(details)
        half_stripped += 0 < sum(now_details[k] == stripped[k] for k in details) < len(details)
        assert photo_rows(path) == photos
        half_rows += len(photo_forms(path)) == 2
        assert roots_read(path) == folders  # each scan folder reads the same, text or id
        half_rooted += len(root_forms(path)) == 2
        remade += photo_table_compact(path)  # made again whole (one transaction) or not at all
        assert photo_ids(path) == list(range(1, expected + 5))
        size, _, integrity = pages_of(path)  # the VACUUM to 16 KB pages: done whole or not at all
        assert size in (4096, upgrades.PAGE_SIZE) and integrity == "ok"
        resized += size == upgrades.PAGE_SIZE
        with open_catalog(path, create=False, progress=lambda *a: None) as catalog:
            assert catalog.pending_data_upgrades() == []
        assert signature_sizes(path) == {"v3": expected}
        assert signature_thumbs(path) == thumbs
        assert grouping_log_rows(path) == 0  # no photo's grouping facts changed
        assert pages_of(path) == (upgrades.PAGE_SIZE, "wal", "ok")
        assert detail_forms(path) == {"blob": expected, "ms": expected}
        assert photo_forms(path) == {"compact": expected}
        assert root_forms(path) == {"id": len(folders)} and roots_read(path) == folders
        assert photo_table_compact(path) and photo_ids(path) == list(range(1, expected + 5))
        assert "columnsize=0" in index_sql(path)  # the search index made again, whole
        assert scores_layout(path) == (True, {"integer"}) and scores_copied(path) is None
        assert ratings_of(path) == before
        assert score_details(path) == stripped
        assert photo_rows(path) == photos
    assert killed >= len(points) - 1
    assert half_stripped >= 1  # some kills fell while the grids were half dropped
    assert partial >= 2  # some kills fell between batches: a catalog upgraded halfway
    assert half_packed >= 1  # and some while the score details were half packed
    assert half_copied >= 1  # or the score rows half copied to the table without rowids
    assert half_rows >= 1  # or the photo rows and grouping facts half compacted
    assert half_signed >= 1  # or the version-2 signatures half rewritten as version 3
    assert half_rooted >= 1  # or the scan folders half rewritten as ids
    assert 1 <= resized < len(points)  # kills before and after the pages were rewritten
    assert 1 <= remade < len(points)  # and before and after the photo table was made again


def test_another_process_writing_only_postpones_giving_the_space_back(tmp_path, legacy_blobs):
    """A scan holds the write lock: the VACUUM is left for a later command instead of failing this
    one (readers, in WAL mode, do not stop it)."""
    path = older_catalog(tmp_path / "culler.db", legacy_blobs)
    with open_catalog(path, create=False, progress=lambda *a: None) as catalog:
        pass  # migrations applied and rows compacted; now make the reclaim pending again
    conn = sqlite3.connect(path)
    conn.execute(f"UPDATE {upgrades.TABLE} SET finished = NULL WHERE name = ?", [upgrades.RECLAIM])
    conn.commit()
    reader = sqlite3.connect(path)
    reader.execute("BEGIN IMMEDIATE")  # another process's write transaction stays open
    try:
        with open_catalog(path, create=False, progress=lambda *a: None) as catalog:
            assert catalog.pending_data_upgrades() == [upgrades.RECLAIM]
    finally:
        reader.rollback()
        reader.close()
        conn.close()
    with open_catalog(path, create=False, progress=lambda *a: None) as catalog:
        assert catalog.pending_data_upgrades() == []
    assert ratings_of(path)


def test_another_process_with_the_catalog_open_postpones_the_larger_pages(tmp_path, legacy_blobs):
    """Leaving WAL to change the page size needs the catalog to itself: while another process
    (the GUI) merely has it open, the VACUUM waits for a later command, and nothing is lost."""
    path = older_catalog(tmp_path / "culler.db", legacy_blobs)
    before = ratings_of(path)
    other = sqlite3.connect(path)
    (photos,) = other.execute("SELECT COUNT(*) FROM photos").fetchone()  # open, idle, in WAL mode
    try:
        with open_catalog(path, create=False, progress=lambda *a: None) as catalog:
            assert catalog.pending_data_upgrades() == [upgrades.RECLAIM]
            assert catalog.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert other.execute("SELECT COUNT(*) FROM photos").fetchone()[0] == photos
    finally:
        other.close()
    assert pages_of(path) == (4096, "wal", "ok") and ratings_of(path) == before
    with open_catalog(path, create=False, progress=lambda *a: None) as catalog:
        assert catalog.pending_data_upgrades() == []
    assert pages_of(path) == (upgrades.PAGE_SIZE, "wal", "ok") and ratings_of(path) == before


def test_a_catalog_with_larger_pages_keeps_them(tmp_path):
    """``016_larger_pages`` and ``025_sixteen_kb_pages`` record nothing for a catalog with pages
    larger than culler's, and the VACUUM of
    another step (``017_unused_hash_index`` gives its pages back) keeps the size it has."""
    path = tmp_path / "culler.db"
    conn = sqlite3.connect(path)
    conn.executescript(DUMPS[-1].read_text(encoding="utf-8"))
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("PRAGMA page_size = 32768")
    conn.execute("VACUUM")
    conn.close()
    with open_catalog(path, create=False, progress=lambda *a: None) as catalog:
        catalog.execute("DELETE FROM _data_upgrades WHERE name = ?", [upgrades.RECLAIM])
        upgrades.register_page_size(catalog.conn)
        assert catalog.pending_data_upgrades() == []
    assert pages_of(path) == (32768, "wal", "ok")


def test_the_upgrade_knows_the_version_1_signature_size_without_importing_it():
    from culler.catalog import upgrades
    from culler.imaging import signatures

    assert upgrades.V1_SIGNATURE_SIZE == signatures.V1_SIZE
    assert upgrades.SIGNATURE_HEADER == signatures.HEADER


@pytest.mark.parametrize("blobs", ["legacy_blobs", "v2_blobs"])
def test_culler_show_prints_the_same_before_and_after_the_upgrade(
    tmp_path, monkeypatch, culler_cli, blobs, real_details, request
):
    """Packed details, numeric score and photo times, compact signatures (from version 1 or 2)
    and the dHash no longer stored change no character that ``culler show`` prints, as text or as
    JSON."""
    legacy_blobs = request.getfixturevalue(blobs)
    path = older_catalog(tmp_path / "culler.db", legacy_blobs, details=real_details)
    photos = [f"/old/{i}.jpg" for i in range(3)]
    with monkeypatch.context() as m:  # the catalog as it is: every row in the earlier form
        m.setattr(upgrades.UpgradesMixin, "upgrade_data", lambda self, *a, **k: [])
        before = [
            culler_cli("show", p, "--db", path, *flag).output
            for p in photos
            for flag in ((), ("--json",))
        ]
    assert detail_forms(path) == {"text": len(legacy_blobs), "iso": len(legacy_blobs)}
    after = [
        culler_cli("show", p, "--db", path, *flag).output
        for p in photos
        for flag in ((), ("--json",))
    ]
    assert detail_forms(path) == {"blob": len(legacy_blobs), "ms": len(legacy_blobs)}
    assert photo_forms(path) == {"compact": len(legacy_blobs)}  # times as ms, no dHash
    # The upgrade's own progress lines (stderr) come first on the first command; the rest is equal.
    after = [
        "".join(ln for ln in out.splitlines(True) if not ln.startswith("upgrading the catalog:"))
        for out in after
    ]
    assert after[0::2] == before[0::2]  # as text: every character
    # As JSON, everything but the signature's bytes (printed as a Python bytes repr, which the
    # earlier compact_signatures step changes by design: it stores them compressed).
    # The sharpness grid is no longer stored (``024_technical_details_without_grid``: the overlay
    # computes it for the photo it shows); every other detail prints as before.
    as_json = [{**json.loads(out), "signature": None} for out in before[1::2]]
    for shown in as_json:
        for score in shown["scores"]:
            for key in upgrades.GRID_KEYS:
                assert key in score["extra"]
                del score["extra"][key]
    assert [{**json.loads(out), "signature": None} for out in after[1::2]] == as_json
    assert all("sharpness" in out for out in before[1::2]) and ISO_TIMES[1] in "".join(before)
    assert signature_sizes(path) == {"v3": len(legacy_blobs)}


def test_the_photo_rows_compaction_keeps_groups_tags_ratings_and_search(tmp_path, legacy_blobs):
    """An earlier version's catalog (ISO first/last seen, dHashes, grouping facts as text, search
    documents as a table) with groups, tags and ratings: after the upgrade every group, member,
    tag and rating is as it was, the photos are found by path, tag and label, and the times read
    as before."""
    path = older_catalog(tmp_path / "culler.db", legacy_blobs)
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO groups (id, kind, created) VALUES (7, 'burst', 't')")
    conn.executemany(
        "INSERT INTO group_members (group_id, photo_id, rank) VALUES (7, ?, ?)",
        [(5, 0), (6, 1)],
    )
    conn.executemany(
        "INSERT INTO tags (photo_id, scorer_pk, tag, probability) VALUES (?, 1, 'bride', 0.8)",
        [(5,), (9,)],
    )
    conn.commit()

    def kept(p: Path) -> tuple:
        c = sqlite3.connect(p)
        try:
            return tuple(
                c.execute(sql).fetchall()
                for sql in (
                    "SELECT * FROM groups ORDER BY id",
                    "SELECT group_id, photo_id, rank FROM group_members ORDER BY 1, 2",
                    "SELECT * FROM tags ORDER BY 1, 2, 3",
                )
            )
        finally:
            c.close()

    before, ratings, rows = kept(path), ratings_of(path), photo_rows(path)
    conn.close()
    with open_catalog(path, create=False, progress=lambda *a: None) as catalog:
        assert catalog.pending_data_upgrades() == []
        assert sorted(catalog.search_photo_ids("bride")) == [5, 9]
        assert catalog.search_photo_ids("old 7.jpg") == [12]  # /old/7.jpg (after the dump's 4)
        assert catalog.search_photo_ids("red") == [1]  # the dump's own label
        assert catalog.photo(5)["first_seen"] == ISO_TIMES[5 % 3]
    assert kept(path) == before and ratings_of(path) == ratings and photo_rows(path) == rows
    assert photo_forms(path) == {"compact": len(legacy_blobs)}


def test_the_grid_is_dropped_from_every_stored_form_and_nothing_else_changes():
    """``technical_details_without_grid`` on each form an earlier version stored a technical
    score's details in (spaced JSON, compact JSON, packed versions 1 and 2): the grid keys go,
    every other key and value reads back as it did, in its order; rows without a grid, a damaged
    row and another scorer's value that merely holds the same bytes are left as they are; the
    upgrade's SQL condition finds every row that holds a grid."""
    from culler.catalog import score_pack

    grid = [[(r * 7 + c * 13) % 102 - 1 for c in range(17)] for r in range(12)]
    details = {
        "sharpness": 0.8651,
        "subject_sharpness": 0.912,
        "sharpness_grid": grid,
        "sharpness_grid_tile": 60,
        "scored_size": [1024, 768],
        "blur": {"direction": "diagonal ↗", "motion_confidence": 0.12},
        "jpeg_quality": 92,
    }
    small = {**details, "sharpness_grid": [[5, -1]], "sharpness_grid_tile": 0}  # a list, no grid
    kept = {k: v for k, v in details.items() if k not in upgrades.GRID_KEYS}
    forms = {
        "spaced JSON": json.dumps(details),
        "compact JSON": score_json.dump(details),
        "packed v1": score_pack.pack(details, version=1),
        "packed v2": score_pack.pack(details),
        "packed, a short grid": score_pack.pack(small),
    }
    rewrite = upgrades.UPGRADES["technical_details_without_grid"].rewrite
    for form, stored in forms.items():
        new = rewrite(stored)
        assert new is not None, form
        assert score_json.load(new) == kept and list(score_json.load(new)) == list(kept), form
        assert score_pack.is_packed(new) and len(new) < len(stored) - 5, form
    # Byte 14 then 9 inside another value: found by the condition, left as it is by the rewrite.
    lookalike = score_pack.pack({"note": "\x0e\t"})
    assert b"\x0e\x09" in lookalike
    untouched = [score_pack.pack(kept), json.dumps(kept), lookalike, b"\xc0\x0e\x09 damaged"]
    assert [rewrite(v) for v in untouched] == [None] * len(untouched)
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE scores (photo_id INTEGER, extra)")
    conn.executemany(
        "INSERT INTO scores VALUES (?, ?)",
        [(i, v) for i, v in enumerate([*forms.values(), lookalike, *untouched[:2]])],
    )
    needs = upgrades.UPGRADES["technical_details_without_grid"].needs
    found = {r[0] for r in conn.execute(f"SELECT photo_id FROM scores WHERE {needs}")}
    assert found == set(range(len(forms) + 1))  # every grid, and the lookalike (then left)


def test_cull_dry_run_and_duplicates_print_the_same_before_and_after_the_version_3_upgrade(
    tmp_path, monkeypatch, culler_cli, v2_blobs
):
    """The groups and decisions a catalog of version-2 signatures (real photos and their edits)
    gives are exactly those it gives once every signature is version 3."""
    path = older_catalog(tmp_path / "culler.db", v2_blobs)
    commands = (("cull", "--dry-run", "--json"), ("duplicates", "--json"))
    with monkeypatch.context() as m:  # the catalog as it is: every signature version 2
        m.setattr(upgrades.UpgradesMixin, "upgrade_data", lambda self, *a, **k: [])
        open_catalog(path, create=False).close()  # the schema steps (a dry run makes none)
        before = [culler_cli(*cmd, "--db", path).output for cmd in commands]
        assert signature_sizes(path) == {"v2": len(v2_blobs)}
    with open_catalog(path, create=False, progress=lambda *a: None):
        pass
    assert signature_sizes(path) == {"v3": len(v2_blobs)}
    after = [culler_cli(*cmd, "--db", path).output for cmd in commands]
    assert after == before
    assert json.loads(before[1])  # the edits of each photo are found as duplicates
