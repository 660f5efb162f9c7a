"""Two writers and a reader on one catalog at once (the GUI and the CLI, or two CLIs): no "database is
locked", no lost rating, and readers never hold the write lock."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

from culler.catalog import open_catalog
from culler.catalog.queries import list_photos
from culler.scan import ScanOptions, scan_folders

ROUNDS = 60

# Each writer sets only its own field; Catalog.rate carries the other field over from the current
# rating. If a writer read the current rating outside the write lock, the other's update would be lost.
WRITER = """
import os
import sys
import time
from culler.catalog import open_catalog

db, field, source, go, ready = sys.argv[1:6]
cat = open_catalog(db, migrate=False)
ids = [r[0] for r in cat.execute("SELECT id FROM photos ORDER BY id")]
open(ready, "w").close()
while not os.path.exists(go):  # start together, so the writers really overlap
    time.sleep(0.005)
decisions = ["pick", "reject", "none"]
for i in range({rounds}):
    for pid in ids:
        if field == "stars":
            cat.rate(pid, stars=(i + pid) % 6, source=source)
        else:
            cat.rate(pid, decision=decisions[(i + pid) % 3], source=source)
cat.close()
print("done")
"""


def test_two_writers_and_a_reader_lose_nothing(photo_dir):
    db = photo_dir / "culler.db"
    cat = open_catalog(db)
    scan_folders(cat, [photo_dir], ScanOptions(workers=0), echo=lambda m: None)
    ids = [r[0] for r in cat.execute("SELECT id FROM photos ORDER BY id")]
    cat.close()

    script = WRITER.format(rounds=ROUNDS)
    go = photo_dir / "go"
    ready = photo_dir / "ready"
    ready.mkdir()
    env = {**os.environ, "CULLER_LOAD_PLUGINS": "technical"}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(db), field, source, str(go), str(ready / field)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for field, source in (("stars", "cli"), ("decision", "gui"))
    ]
    # A third writer with longer transactions: a rescoring scan of the same catalog.
    scanner = subprocess.Popen(
        [sys.executable, "-m", "culler", "scan", str(photo_dir), "--db", str(db), "--rescore"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Both writers have opened the catalog and wait at the line (or one died: its error is
    # reported below).
    while len(list(ready.iterdir())) < len(writers) and all(p.poll() is None for p in writers):
        time.sleep(0.01)
    go.touch()
    reads, failures = 0, []
    reader = open_catalog(db, migrate=False)
    try:
        while any(p.poll() is None for p in [*writers, scanner]):
            try:
                rows = list_photos(reader, sort_by="technical")
                assert len(rows) == len(ids)
                for pid in ids:
                    reader.current_rating(pid)
                reads += 1
            except Exception as exc:  # collected, so the writers are still waited for
                failures.append(repr(exc))
            # A reader must never sit in an open transaction: that would block checkpoints and,
            # after a stray write, every other writer.
            assert not reader.conn.in_transaction
            time.sleep(0.01)
    finally:
        reader.close()
    outputs = [p.communicate() for p in [*writers, scanner]]
    for p, (_out, err) in zip([*writers, scanner], outputs):
        assert p.returncode == 0, err
        assert "locked" not in err
    assert not failures, failures
    assert reads > 0

    cat = open_catalog(db)
    try:
        counts = dict(
            cat.execute("SELECT source, COUNT(*) FROM ratings GROUP BY source").fetchall()
        )
        assert counts == {"cli": ROUNDS * len(ids), "gui": ROUNDS * len(ids)}
        decisions = ["pick", "reject", "none"]
        for pid in ids:
            current = cat.current_rating(pid)
            # Whoever wrote last carried the other writer's latest value along.
            assert current["stars"] == (ROUNDS - 1 + pid) % 6
            assert current["decision"] == decisions[(ROUNDS - 1 + pid) % 3]
        assert cat.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert cat.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        cat.close()


def test_one_catalog_shared_by_threads_keeps_transactions_apart(catalog, photo_dir):
    """The GUI shares one Catalog between its window and its scan thread."""
    scan_folders(catalog, [photo_dir], ScanOptions(workers=0), echo=lambda m: None)
    ids = [r[0] for r in catalog.execute("SELECT id FROM photos")]
    errors = []

    def rate_all(field):
        try:
            for i in range(20):
                for pid in ids:
                    if field == "stars":
                        catalog.rate(pid, stars=i % 6, source="gui")
                    else:
                        catalog.rate(pid, label=f"l{i}", source="gui")
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=rate_all, args=(f,)) for f in ("stars", "label")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for pid in ids:
        current = catalog.current_rating(pid)
        assert current["stars"] == 19 % 6 and current["label"] == "l19"
    assert not catalog.conn.in_transaction
