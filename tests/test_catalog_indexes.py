"""The catalog keeps the indexes its reads use and no other (issue #32 goal 5): ``idx_photos_hash``
was used by no statement, so ``017_unused_hash_index`` drops it, in new catalogs and older ones."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import culler
from culler.catalog import open_catalog, upgrades

DUMPS = sorted((Path(__file__).parent / "catalogs").glob("schema-*.sql"))
#: The photo indexes the hot reads' plans use (EXPLAIN QUERY PLAN, docs/scale.md).
USED = {"idx_photos_folder_state", "idx_photos_root", "idx_photos_status", "idx_photos_taken"}


def photo_indexes(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'photos'"
                " AND sql IS NOT NULL"
            )
        }
    finally:
        conn.close()


def test_a_new_catalog_has_the_used_photo_indexes_and_not_the_hash_one(tmp_path):
    path = tmp_path / "culler.db"
    open_catalog(path).close()
    assert photo_indexes(path) == USED


def test_an_older_catalog_loses_the_hash_index_and_gets_its_pages_back(tmp_path):
    path = tmp_path / "culler.db"
    conn = sqlite3.connect(path)
    conn.executescript(DUMPS[-1].read_text(encoding="utf-8"))
    conn.executemany(
        "INSERT INTO photos (path, root, content_hash, status, first_seen, last_seen)"
        " VALUES (?, '/old', ?, 'ok', 't', 't')",
        [(f"/old/{i}.jpg", f"{i:064x}") for i in range(3000)],
    )
    conn.commit()
    conn.close()
    assert "idx_photos_hash" in photo_indexes(path)
    with open_catalog(path, create=False) as catalog:
        # 3,000 rows: a small catalog, so the space is given back on this open, silently
        assert catalog.pending_data_upgrades() == []
        (free,) = catalog.execute("PRAGMA freelist_count").fetchone()
        (size,) = catalog.execute("PRAGMA page_size").fetchone()
        hashes = [r[0] for r in catalog.execute("SELECT content_hash FROM photos ORDER BY id")]
    assert photo_indexes(path) == USED
    assert free == 0 and size == upgrades.PAGE_SIZE
    assert hashes[-3000:] == [f"{i:064x}" for i in range(3000)]


#: A statement that would want an index on photos(content_hash): a comparison in a WHERE or a
#: JOIN's ON, or a GROUP/ORDER BY (culler writes SQL keywords in capitals; Python's ``and`` is not one).
LOOKUP = re.compile(
    r"\b(WHERE|AND|OR|ON)\s+[\w.]*content_hash\s*(=|IN\b)|\bBY\s+[\w.]*content_hash\b"
)


def test_the_lookup_pattern_finds_lookups_and_not_writes():
    assert LOOKUP.search("SELECT id FROM photos WHERE content_hash = ?")
    assert LOOKUP.search("JOIN photos q ON q.content_hash = p.content_hash")
    assert LOOKUP.search("SELECT id FROM photos WHERE status = 'ok' AND content_hash IN (?)")
    assert LOOKUP.search("GROUP BY content_hash")
    assert not LOOKUP.search("UPDATE photos SET content_hash = ?, size = ? WHERE id = ?")
    assert not LOOKUP.search("SELECT id, path, content_hash FROM photos WHERE id IN (1)")
    assert not LOOKUP.search("match = digest and s.content_hash == digest")


def test_no_statement_of_culler_looks_photos_up_by_content_hash():
    """The reason the index could go. A lookup, join, grouping or order by the content hash would
    need it back (a migration that creates it again), so the failure says what to do."""
    root = Path(culler.__file__).parent
    found = [
        f"{source.relative_to(root)}: {match.group(0)!r}"
        for source in sorted(root.rglob("*.py"))
        for match in LOOKUP.finditer(source.read_text(encoding="utf-8"))
    ]
    assert found == [], (
        "a statement reads photos by content hash: create an index on photos(content_hash) again"
        f" in a new migration: {found}"
    )
