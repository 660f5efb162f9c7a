"""Kill and resume: ``culler scan`` killed with SIGKILL mid-scan loses nothing it committed, recomputes
nothing it finished, and the catalog stays sound."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
from PIL import Image

from culler.testing import available_samples

COUNT = 120


def make_shoot(folder, count=COUNT):
    """``count`` distinct 1024×683 JPEGs from the sample photos (each tinted differently)."""
    folder.mkdir()
    bases = [im.resize((1024, 683)) for _, im in available_samples()]
    rng = np.random.default_rng(1)
    for i in range(count):
        pixels = np.asarray(bases[i % len(bases)], dtype=np.int16) + rng.integers(-15, 15, 3)
        Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(
            folder / f"IMG_{i:04d}.jpg", quality=88
        )


def scan_command(folder, db):
    return [sys.executable, "-m", "culler", "scan", str(folder), "--db", str(db), "--json"]


def scan_env():
    return {**os.environ, "CULLER_LOAD_PLUGINS": "technical"}


def committed_scores(db):
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute("SELECT photo_id, scorer_pk, created FROM scores").fetchall()
    except sqlite3.OperationalError:
        return []  # the schema is not there yet
    finally:
        conn.close()


def test_sigkill_mid_scan_then_resume_scores_every_photo_exactly_once(tmp_path):
    folder = tmp_path / "shoot"
    make_shoot(folder)
    db = tmp_path / "culler.db"
    # A session of its own, so the kill takes the decode workers down with the scan, like a power cut.
    proc = subprocess.Popen(
        [*scan_command(folder, db), "--workers", "1"],
        env=scan_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while len(committed_scores(db)) < 10:
            assert proc.poll() is None, "the scan finished before it could be killed"
            assert time.monotonic() < deadline, "no score was committed within two minutes"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    before = {(pid, pk): created for pid, pk, created in committed_scores(db)}
    assert 10 <= len(before) < COUNT, "killed mid-way"

    done = subprocess.run(
        scan_command(folder, db), env=scan_env(), capture_output=True, text=True, check=True
    )
    summary = json.loads(done.stdout)
    # Only the photos whose results were not committed were decoded again.
    assert summary["decoded"] == COUNT - len(before)
    assert summary["errors"] == 0

    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        photos = conn.execute("SELECT id, status FROM photos").fetchall()
        assert len(photos) == COUNT and all(status == "ok" for _, status in photos)
        per_photo = conn.execute(
            "SELECT p.id, COUNT(s.photo_id) FROM photos p LEFT JOIN scores s ON s.photo_id = p.id"
            " GROUP BY p.id"
        ).fetchall()
        assert all(n == 1 for _, n in per_photo), "every photo scored exactly once"
        rows = conn.execute("SELECT photo_id, scorer_pk, created FROM scores").fetchall()
        after = {(pid, pk): created for pid, pk, created in rows}
        runs = conn.execute("SELECT status FROM scan_runs ORDER BY id").fetchall()
    finally:
        conn.close()
    # No finished result was recomputed: the results committed before the kill are untouched.
    assert {k: after[k] for k in before} == before
    # The killed run never got to record its end; the resumed one did.
    assert runs[0][0] == "running" and runs[-1][0] == "finished"
