"""The compact catalog (issue #32 goal 5): bytes per photo, and the in-place upgrade of a catalog an
earlier culler wrote.

1. Builds (once, cached) the catalog of ``benchmarks/archive_scale.py`` at N photos, ungrouped: the
   photo rows of ``benchmarks/grouping_scale.py`` (signatures of real photos), a technical and a clip
   score for each, a tag on every third and a hand rating on every second. Prints its bytes per
   photo and where they go (SQLite's ``dbstat``: each table and index).
2. Turns a copy into what an earlier culler left: version-1 signatures (1,105 bytes: the same hash
   and layout, the thumbnail in 8-bit grey), migration ``010_compact_signatures`` not applied, then
   ``VACUUM``. Prints its bytes per photo.
3. Opens that copy as a culler command does, in a fresh process (``open_catalog`` with a progress
   callback): the migration, the batched rewrite and the ``VACUUM`` that gives the space back, with
   wall and CPU seconds of each stage, peak memory, and the bytes per photo after. Every rating is
   checked to be as it was.

With ``--real``, a REAL catalog instead: the 45 real photographs of
``benchmarks/technical_calibration.py`` (scikit-image, matplotlib, scikit-learn samples, Debian
wallpapers) written as JPEGs and scanned by ``culler scan`` with the default scorers (those that run
without downloaded weights: technical, faces, colourfulness), then grown to N photos by copying the
scanned rows (each copy a new path and content hash; every score, signature and search row as the
scan wrote it), VACUUMed, and the same breakdown printed, with the score details' and the photo
columns' bytes. ``--as-before`` also times ``culler cull --dry-run`` on it and on a copy whose
score rows are as the previous version stored them (compact JSON, ISO times) and checks that the two
print the same, then upgrades a copy stored as the previous version stored it in place, as above.

    python benchmarks/catalog_compact.py [--photos 100000] [--cache /tmp/culler-archive]
    python benchmarks/catalog_compact.py --real [--photos 20000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r"""
import json, resource, sys, time
from culler.catalog import open_catalog
stages, t0, c0 = {}, time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
def progress(what, done, total):
    s = stages.setdefault(what, {"start": time.perf_counter(), "cpu0": cpu(), "rows": total})
    if done >= total:
        s["wall"] = time.perf_counter() - s["start"]
        s["cpu"] = cpu() - s["cpu0"]
open_catalog(sys.argv[1], create=False, progress=progress).close()
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print("RESULT " + json.dumps({"wall": time.perf_counter() - t0, "cpu": cpu(), "rss_mb": hwm / 1024,
      "stages": {k: {"wall": v.get("wall"), "cpu": v.get("cpu"), "rows": v["rows"]}
                 for k, v in stages.items()}}))
"""


def breakdown(db: Path, n: int, columns: bool = False) -> str:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 10"
        ).fetchall()
        sig = conn.execute("SELECT AVG(LENGTH(signature)) FROM photos").fetchone()[0]
        (page,) = conn.execute("PRAGMA page_size").fetchone()
        detail = column_bytes(conn, n) if columns else ""
    finally:
        conn.close()
    parts = ", ".join(f"{name} {size / n:,.0f}" for name, size in rows)
    return (
        f"{db.stat().st_size / n:,.0f} B/photo (signature {sig or 0:,.0f} B, {page // 1024} KB"
        " pages); "
        f"largest parts, B/photo: {parts}{detail}"
    )


#: The column groups of the two largest tables, as ``breakdown(columns=True)`` prints them.
COLUMN_GROUPS = {
    "photos": {
        "signature": ["signature"],
        "path, root": ["path", "root"],
        "hashes": ["content_hash", "phash"],
        "first/last seen": ["first_seen", "last_seen"],
        "other columns": None,
    },
    "scores": {
        "extra": ["extra"],
        "reasons": ["reasons"],
        "created": ["created"],
        "other columns": None,
    },
}


def stored_size(column: str) -> str:
    """SQL: the bytes SQLite's record format stores ``column``'s value in (an integer in 0 to 8
    bytes by its size, a REAL in 8, text and blobs their bytes), not the length of its text."""
    bounds = ((1, 0x7F), (2, 0x7FFF), (3, 0x7FFFFF), (4, 0x7FFFFFFF), (6, 0x7FFFFFFFFFFF))
    sizes = " ".join(f"WHEN {column} BETWEEN {-b - 1} AND {b} THEN {k}" for k, b in bounds)
    return (
        f"CASE typeof({column}) WHEN 'null' THEN 0 WHEN 'real' THEN 8"
        f" WHEN 'integer' THEN CASE WHEN {column} IN (0, 1) THEN 0 {sizes} ELSE 8 END"
        f" ELSE length(CAST({column} AS BLOB)) END"
    )


def column_bytes(conn: sqlite3.Connection, n: int) -> str:
    """Bytes a photo of each column group of ``photos`` and ``scores`` (the bytes each value is
    stored in: :func:`stored_size`)."""
    out = []
    for table, groups in COLUMN_GROUPS.items():
        names = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        named = {c for cols in groups.values() if cols for c in cols}
        parts = []
        for label, cols in groups.items():
            # A column a catalog no longer has (``phash`` since 023_compact_photo_table) adds 0.
            cols = [c for c in cols if c in names] if cols else [c for c in names if c not in named]
            if not cols:
                parts.append(f"{label} 0")
                continue
            total = conn.execute(
                f"SELECT {' + '.join(f'coalesce(SUM({stored_size(c)}), 0)' for c in cols)}"
                f" FROM {table}"
            ).fetchone()[0]
            parts.append(f"{label} {total / n:,.0f}")
        out.append(f"\n    {table} values, B/photo: " + ", ".join(parts))
    per_scorer = conn.execute(
        "SELECT sc.scorer_id, COUNT(*), AVG(LENGTH(s.extra)), AVG(LENGTH(s.reasons))"
        " FROM scores s JOIN scorers sc ON sc.id = s.scorer_pk GROUP BY sc.scorer_id"
    ).fetchall()
    out.append(
        "\n    per scorer (rows; average extra / reasons B): "
        + ", ".join(f"{sid} ({k:,}; {e or 0:,.0f} / {r or 0:,.0f})" for sid, k, e, r in per_scorer)
    )
    return "".join(out)


def legacy_copy(db: Path, target: Path) -> None:
    """``db`` as an earlier culler would have left it: version-1 signatures, no compaction step."""
    import numpy as np

    from culler.imaging.signatures import Signature

    shutil.copyfile(db, target)
    conn = sqlite3.connect(target)
    last = 0
    while True:
        rows = conn.execute(
            "SELECT id, signature FROM photos WHERE id > ? AND signature IS NOT NULL"
            " ORDER BY id LIMIT 20000",
            [last],
        ).fetchall()
        if not rows:
            break
        updates = []
        for pid, blob in rows:
            s = Signature.from_bytes(blob)
            v1 = bytes([1]) + s.dct.astype(">u8").tobytes() + s.layout.tobytes()
            updates.append((v1 + s.thumb.astype(np.uint8).tobytes(), pid))
        conn.executemany("UPDATE photos SET signature = ? WHERE id = ?", updates)
        conn.commit()
        last = rows[-1][0]
    _as_before_migrations(conn, "010_compact_signatures")
    conn.execute("DROP TABLE IF EXISTS _data_upgrades")
    conn.commit()
    small_pages(conn)
    conn.close()


def _as_before_migrations(conn: sqlite3.Connection, step: str) -> None:
    """Unrecord ``step`` and this stop's page-size and index steps, and put the content-hash index
    back: the catalog as the version before them left it."""
    for table in ("_migrations", "_sqlite_migrations"):
        for name in (step, "016_larger_pages", "017_unused_hash_index"):
            conn.execute(f"DELETE FROM {table} WHERE name LIKE ?", [f"%{name}"])
    conn.execute("CREATE INDEX IF NOT EXISTS idx_photos_hash ON photos(content_hash)")


def small_pages(conn: sqlite3.Connection) -> None:
    """``VACUUM`` at SQLite's default 4 KB pages, what every culler before ``016_larger_pages``
    made (a page size changes only outside WAL mode)."""
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("PRAGMA page_size = 4096")
    conn.execute("VACUUM")
    conn.execute("PRAGMA journal_mode = WAL")


def upgrade_in_place(old: Path, n: int, columns: bool = False) -> None:
    """Open ``old`` as a culler command does, in a fresh process; print what the upgrade took and
    the bytes after, and check that ratings and score details read as before."""
    before, details = ratings(old), score_details(old)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(old)],
        capture_output=True,
        text=True,
        env={**os.environ, "CULLER_LOAD_PLUGINS": "grouping"},
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        print("upgrade failed:", proc.stderr.strip().splitlines()[-3:])
        return
    result = json.loads(lines[-1][7:])
    print(
        f"upgraded in place on open: {result['wall']:.1f} s wall, {result['cpu']:.1f} s CPU, "
        f"peak {result['rss_mb']:.0f} MB"
    )
    for what, stage in result["stages"].items():
        wall, cpu = stage["wall"] or 0.0, stage["cpu"] or 0.0
        rows = stage["rows"]
        per = f", {1e6 * wall / rows:,.0f} µs a row" if rows > 1 else ""
        print(f"  {what} ({rows:,} rows): {wall:.1f} s wall, {cpu:.1f} s CPU{per}")
    print(f"  after: {breakdown(old, n, columns)}")
    print(f"  ratings as they were: {ratings(old) == before}")
    print(f"  every score's details and reasons read as they did: {score_details(old) == details}")


def score_details(db: Path) -> str:
    """A digest of every score's details, reasons and time as readers see them."""
    import hashlib

    from culler.catalog import score_json, timestamps

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    digest = hashlib.sha256()
    try:
        for row in conn.execute(
            "SELECT photo_id, scorer_pk, extra, reasons, created FROM scores"
            " ORDER BY photo_id, scorer_pk"
        ):
            value = [
                row[:2],
                score_json.load(row[2]),
                score_json.load(row[3]),
                timestamps.iso(row[4]),
            ]
            digest.update(repr(value).encode())
        return digest.hexdigest()
    finally:
        conn.close()


#: The score rows' table as every culler before ``019_scores_without_rowid`` made it.
ROWID_SCORES = """CREATE TABLE scores (
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    scorer_pk INTEGER NOT NULL REFERENCES scorers(id),
    score REAL,
    distribution TEXT,
    extra TEXT,
    reasons TEXT,
    created TEXT NOT NULL,
    PRIMARY KEY (photo_id, scorer_pk)
)"""


def rowid_scores(conn: sqlite3.Connection) -> None:
    """``scores`` as a rowid table with a TEXT ``created`` (a number's digits as text, as the
    previous version's TEXT column kept them), migration ``019_scores_without_rowid`` not applied."""
    views = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'view' AND sql LIKE '%scores%'"
    ).fetchall()
    for name, _ in views:
        conn.execute(f'DROP VIEW "{name}"')
    conn.execute("ALTER TABLE scores RENAME TO scores_now")
    conn.execute(ROWID_SCORES)
    conn.execute(
        "INSERT INTO scores SELECT photo_id, scorer_pk, score, distribution, extra, reasons,"
        " created FROM scores_now ORDER BY photo_id, scorer_pk"
    )
    conn.execute("DROP TABLE scores_now")
    conn.execute("CREATE INDEX idx_scores_scorer ON scores(scorer_pk, score)")
    for _, sql in views:
        conn.execute(sql)
    conn.execute("DROP TABLE IF EXISTS score_log")
    conn.execute("DELETE FROM _data_upgrades WHERE name = 'scores_without_rowid'")
    for table in ("_migrations", "_sqlite_migrations"):
        conn.execute(f"DELETE FROM {table} WHERE name LIKE '%019_scores_without_rowid'")
    conn.commit()


def previous_version_copy(db: Path, target: Path, packed: bool = False) -> None:
    """``db`` as the previous culler stored it: a rowid ``scores`` table (:func:`rowid_scores`),
    and unless ``packed``, score details and reasons as compact JSON (the
    ``011_compact_score_json`` form), score times as ISO text, migration
    ``014_packed_score_details`` not applied."""
    from culler.catalog import score_json, timestamps

    shutil.copyfile(db, target)
    conn = sqlite3.connect(target)
    rowid_scores(conn)
    if packed:
        _as_before_migrations(conn, "019_scores_without_rowid")
        conn.execute("DELETE FROM _data_upgrades WHERE name = 'reclaim_space'")
        conn.commit()
        small_pages(conn)
        conn.close()
        return
    last = 0
    while True:
        rows = conn.execute(
            "SELECT rowid, extra, reasons, created FROM scores WHERE rowid > ?"
            " ORDER BY rowid LIMIT 20000",
            [last],
        ).fetchall()
        if not rows:
            break
        conn.executemany(
            "UPDATE scores SET extra = ?, reasons = ?, created = ? WHERE rowid = ?",
            [
                (
                    None if e is None else score_json.dump(score_json.load(e)),
                    None if r is None else score_json.dump(score_json.load(r)),
                    timestamps.iso(created),
                    rowid,
                )
                for rowid, e, r, created in rows
            ],
        )
        conn.commit()
        last = rows[-1][0]
    _as_before_migrations(conn, "014_packed_score_details")
    conn.execute(
        "DELETE FROM _data_upgrades WHERE name LIKE 'pack_score_%' OR name = 'score_times_ms'"
        " OR name = 'reclaim_space'"
    )
    conn.commit()
    small_pages(conn)
    conn.close()


def readers_agree(db: Path, work: Path) -> None:
    """``culler cull --dry-run`` on ``db`` and on a copy whose score rows are stored as the
    previous version stored them (this version's schema: its readers read both forms): the time
    of each, and whether they print the same."""
    old = work / "rows-as-before.db"
    previous_version_copy(db, old)
    src = sqlite3.connect(db)
    steps = src.execute(
        "SELECT * FROM _sqlite_migrations WHERE name LIKE '%014_packed_score_details'"
        " OR name LIKE '%016_larger_pages' OR name LIKE '%017_unused_hash_index'"
        " OR name LIKE '%019_scores_without_rowid'"
    ).fetchall()
    done = src.execute(
        "SELECT * FROM _data_upgrades WHERE name LIKE 'pack_score_%' OR name = 'score_times_ms'"
        " OR name = 'reclaim_space' OR name = 'scores_without_rowid'"
    ).fetchall()
    src.close()
    conn = sqlite3.connect(
        old
    )  # the step recorded and its rewrites marked done: rows stay as before
    for table, rows in (("_sqlite_migrations", steps), ("_data_upgrades", done)):
        if rows:
            conn.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows)
    conn.commit()
    conn.close()
    printed = {}
    for label, path in (("packed rows", db), ("rows as before", old), ("packed rows", db)):
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "culler", "cull", "--db", str(path), "--dry-run"],
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - t0
        printed.setdefault(label, proc.stdout)
        print(f"  culler cull --dry-run on {label}: {wall:.1f} s wall (exit {proc.returncode})")
    same = printed["packed rows"] == printed["rows as before"]
    print(f"  the two print the same ({len(printed['packed rows'].splitlines()):,} lines): {same}")
    for path in (old, old.with_name(old.name + "-wal"), old.with_name(old.name + "-shm")):
        path.unlink(missing_ok=True)


def layout_agree(db: Path, work: Path) -> None:
    """The score rows' layout alone (migration ``019_scores_without_rowid``): ``culler cull
    --dry-run``, ``culler list --sort technical --limit 50`` and ``culler show`` of a few photos
    on ``db`` and on a copy whose ``scores`` is the previous version's rowid table (the step
    recorded as done: this version's readers read it as it is), CPU seconds of each (user +
    system of the command's process, best of three) and whether they print the same."""
    import resource

    old = work / "scores-rowid.db"
    shutil.copyfile(db, old)
    conn = sqlite3.connect(old)
    steps = conn.execute(
        "SELECT * FROM _sqlite_migrations WHERE name LIKE '%019_scores_without_rowid'"
    ).fetchall()
    done = conn.execute(
        "SELECT * FROM _data_upgrades WHERE name = 'scores_without_rowid'"
    ).fetchall()
    rowid_scores(conn)
    for table, rows in (("_sqlite_migrations", steps), ("_data_upgrades", done)):
        conn.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows)
    conn.commit()
    conn.execute("VACUUM")
    paths = [r[0] for r in conn.execute("SELECT path FROM photos ORDER BY id LIMIT 3")]
    conn.close()
    commands = {
        "cull --dry-run": ["cull", "--dry-run"],
        "list --sort technical --limit 50": ["list", "--sort", "technical", "--limit", "50"],
        **{f"show photo {i + 1}": ["show", path] for i, path in enumerate(paths)},
    }
    for label, args in commands.items():
        cpu, printed = {}, {}
        for form, path in [("rowid", old), ("without rowid", db)] * 3:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            proc = subprocess.run(
                [sys.executable, "-m", "culler", *args, "--db", str(path)],
                capture_output=True,
                text=True,
            )
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            used = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
            cpu[form] = min(cpu.get(form, used), used)
            printed.setdefault(form, set()).add((proc.returncode, proc.stdout))
        same = printed["rowid"] == printed["without rowid"] and len(printed["rowid"]) == 1
        print(
            f"  {label}: {cpu['rowid']:.2f} s CPU (rowid scores) / {cpu['without rowid']:.2f} s"
            f" (without rowid); print the same: {same}"
        )
    old.unlink()


def ratings(db: Path) -> str:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT photo_id, stars, decision FROM current_ratings ORDER BY 1")
        return str(hash(tuple(rows)))
    finally:
        conn.close()


def scan_real(folder: Path, db: Path) -> int:
    """Write the real photographs into ``folder`` and scan them into ``db`` with the default
    scorers, as a user runs ``culler scan``; return how many photos the catalog holds."""
    sys.path.insert(0, str(HERE))
    import tempfile

    from technical_calibration import real_photos

    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, image) in enumerate(real_photos(Path(tmp))):
            image.save(folder / f"{i:02d}-{name.split(':')[-1].split('.')[0]}.jpg", quality=92)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "culler",
            "scan",
            str(folder),
            "--db",
            str(db),
            "--workers",
            "1",
            "--json",
        ],
        check=True,
        capture_output=True,
    )
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT COUNT(*) FROM photos").fetchone()[0]
    finally:
        conn.close()


#: The tables a scan writes a row (or rows) per photo to, and their photo column.
PER_PHOTO = {
    "photos": "id",
    "scores": "photo_id",
    "tags": "photo_id",
    "embeddings": "photo_id",
    "grouping_state": "photo_id",
}  # the search rows (photo_search) follow the photos and tags by the catalog's own triggers


def grow(db: Path, n: int) -> None:
    """Copy the scanned photos' rows until the catalog holds ``n`` photos: each copy a new path
    (and content hash), every other value as the scan wrote it."""
    conn = sqlite3.connect(db)
    try:
        (real,) = conn.execute("SELECT COUNT(*) FROM photos").fetchone()
        (top,) = conn.execute("SELECT MAX(id) FROM photos").fetchone()
        copy = 1
        while copy * real < n:
            offset = copy * top
            limit = n - copy * real
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM photos WHERE id <= ? ORDER BY id LIMIT ?", [top, limit]
                )
            ]
            keep = f"IN ({','.join(map(str, ids))})"
            for table, key in PER_PHOTO.items():
                cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
                values = []
                for c in cols:
                    if c == key:
                        values.append(f"{c} + {offset}")
                    elif table == "photos" and c == "path":
                        values.append(f"'/copy{copy}' || path")
                    elif table == "photos" and c == "content_hash":
                        values.append("lower(hex(randomblob(length(content_hash) / 2)))")
                    else:
                        values.append(c)
                conn.execute(
                    f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(values)}"
                    f" FROM {table} WHERE {key} {keep}"
                )
            copy += 1
        # A photographer's ratings on every second photo (so the upgrade can show it keeps them).
        conn.execute(
            "INSERT INTO ratings (photo_id, stars, decision, source, at)"
            " SELECT id, 3, 'pick', 'gui', '2026-01-01T00:00:00.000+00:00' FROM photos"
            " WHERE id % 2 = 0"
        )
        # A scan's grouping has read the change log and the score log (culler.catalog.score_table:
        # the next grouping drops what it saw); the copies are as grouped as the originals.
        conn.execute("DELETE FROM grouping_log")
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'score_log'").fetchone():
            conn.execute("DELETE FROM score_log WHERE seq > 0")
        conn.commit()
        conn.execute("VACUUM")
    finally:
        conn.close()


def real_catalog(args: argparse.Namespace) -> None:
    import tempfile

    n = args.photos
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        db = work / f"real-{n}.db"
        for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            path.unlink(missing_ok=True)
        t0 = time.perf_counter()
        real = scan_real(work / "photos", db)
        print(
            f"scanned {real} real photographs with the default scorers in "
            f"{time.perf_counter() - t0:.0f} s"
        )
        grow(db, n)
        print(f"a real catalog grown to {n:,} photos: {breakdown(db, n, columns=True)}")
        if args.layout:
            layout_agree(db, work)
        if args.as_before:
            readers_agree(db, work)
            for packed, what in ((True, "the previous version"), (False, "the version before")):
                old = work / f"real-{n}-previous.db"
                previous_version_copy(db, old, packed=packed)
                print(f"the same as {what} stored it: {breakdown(old, n, columns=True)}")
                upgrade_in_place(old, n, columns=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/culler-archive"))
    parser.add_argument("--real", action="store_true", help="a catalog of real scanned photos")
    parser.add_argument("--keep", type=Path, help="with --real: keep the photos and catalog here")
    parser.add_argument(
        "--as-before",
        action="store_true",
        help="with --real: also upgrade a copy stored as the previous version stored it",
    )
    parser.add_argument(
        "--layout",
        action="store_true",
        help="with --real: time and compare commands on the rowid and WITHOUT ROWID score tables",
    )
    args = parser.parse_args()
    if args.real:
        real_catalog(args)
        return
    n = args.photos
    args.cache.mkdir(parents=True, exist_ok=True)
    db = args.cache / f"archive-{n}-ungrouped.db"
    if not db.exists():
        sys.path.insert(0, str(HERE))
        from archive_scale import build

        build(db, n, grouped=False)
    print(f"a catalog made by this version, {n:,} photos: {breakdown(db, n)}")
    old = args.cache / f"legacy-{n}.db"
    t0 = time.perf_counter()
    legacy_copy(db, old)
    print(f"the same as an earlier culler left it (made in {time.perf_counter() - t0:.0f} s):")
    print(f"  {breakdown(old, n)}")
    upgrade_in_place(old, n)
    old.unlink()


if __name__ == "__main__":
    main()
