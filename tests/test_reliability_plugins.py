"""Plugin faults are isolated: a scorer that raises, miscounts, returns NaN/inf or hangs gets error rows
against itself, and every other scorer's results (here the technical scorer's) are kept."""

from __future__ import annotations

import math
import sys
import threading

import pytest

from culler.catalog import open_catalog
from culler.plugin.scorers import Scorer, ScoreResult
from culler.scan import ScanOptions, scan_folders

RELEASE = threading.Event()  # lets an abandoned "hung" scorer thread end when the test is over


class Raising(Scorer):
    id = "test-raises"
    batch_size = 4

    def score_batch(self, images):
        raise RuntimeError("model exploded")


class WrongCount(Scorer):
    id = "test-miscounts"
    batch_size = 4

    def score_batch(self, images):
        return [ScoreResult(score=5.0)] * (len(images) - 1)


class NonFinite(Scorer):
    id = "test-nonfinite"
    batch_size = 16

    def score_batch(self, images):
        values = [math.nan, math.inf] + [float(i) for i in range(len(images) - 2)]
        return [ScoreResult(score=v) for v in values]


class Hangs(Scorer):
    id = "test-hangs"
    batch_size = 2
    calls = 0  # batches started: one timeout must disable the scorer for the rest of the scan

    def score_batch(self, images):
        Hangs.calls += 1
        RELEASE.wait(60)
        return [ScoreResult(score=1.0) for _ in images]


class Plugin:
    @staticmethod
    def register_scorers(register):
        for cls in (Raising, WrongCount, NonFinite, Hangs):
            register(cls)


def _register(register_test_plugin):
    from culler.plugin.hookspecs import hookimpl

    class P:
        @staticmethod
        @hookimpl
        def register_scorers(register):
            Plugin.register_scorers(register)

    register_test_plugin(P, "reliability-faulty")


def _results(db):
    cat = open_catalog(db)
    try:
        scores = cat.query(
            "SELECT p.path, sc.scorer_id, s.score FROM scores s JOIN scorers sc ON sc.id = s.scorer_pk"
            " JOIN photos p ON p.id = s.photo_id"
        )
        errors = cat.query(
            "SELECT p.path, sc.scorer_id, e.error FROM score_errors e"
            " JOIN scorers sc ON sc.id = e.scorer_pk JOIN photos p ON p.id = e.photo_id"
        )
        photos = cat.query("SELECT path, status FROM photos")
    finally:
        cat.close()
    return scores, errors, photos


def test_faulty_model_scorers_get_error_rows_and_technical_scores_are_kept(
    photo_dir, register_test_plugin
):
    _register(register_test_plugin)
    RELEASE.clear()
    db = photo_dir / "culler.db"
    cat = open_catalog(db)
    ids = ["technical", "test-raises", "test-miscounts", "test-nonfinite", "test-hangs"]
    Hangs.calls = 0
    try:
        summary = scan_folders(
            cat,
            [photo_dir],
            ScanOptions(workers=0, scorer_ids=ids, batch_timeout=0.5),
            echo=lambda m: None,
        )
    finally:
        cat.close()
        RELEASE.set()
    n = len(list(photo_dir.glob("*.jpg")))
    assert n > Hangs.batch_size  # several batches, of which only the first reached the hung scorer
    assert Hangs.calls == 1  # the hung scorer cost one timeout, not one per batch
    scores, errors, photos = _results(db)
    assert all(p["status"] == "ok" for p in photos) and len(photos) == n
    by_scorer = {}
    for row in scores:
        by_scorer.setdefault(row["scorer_id"], []).append(row["score"])
    assert len(by_scorer["technical"]) == n  # nothing the faulty scorers did cost a technical score
    assert "test-raises" not in by_scorer and "test-miscounts" not in by_scorer
    assert "test-hangs" not in by_scorer
    # NaN and inf are refused per photo; the finite results of the same batch are stored.
    assert len(by_scorer["test-nonfinite"]) == n - 2
    assert all(math.isfinite(v) for v in by_scorer["test-nonfinite"])
    errs = {}
    for row in errors:
        errs.setdefault(row["scorer_id"], []).append(row["error"])
    assert len(errs["test-raises"]) == n and all("model exploded" in e for e in errs["test-raises"])
    assert len(errs["test-miscounts"]) == n
    assert all("results for" in e for e in errs["test-miscounts"])
    assert (
        sorted(e.split(":")[0] for e in errs["test-nonfinite"])
        == ["score is not a finite number"] * 2
    )
    assert len(errs["test-hangs"]) == n and all("timed out" in e for e in errs["test-hangs"])
    assert summary["scorer_errors"]["test-hangs"] == n
    assert "technical" not in errs

    # The failures are retried by the next scan (they are errors, not results).
    cat = open_catalog(db)
    try:
        again = scan_folders(
            cat, [photo_dir], ScanOptions(workers=0, scorer_ids=["test-raises"]), echo=print
        )
    finally:
        cat.close()
    assert again["decoded"] == n


# -- in-worker scorers inside decode processes -------------------------------------------------------

PLUGIN_SOURCE = '''
"""A third-party plugin whose decoder hangs or dies on chosen files and whose scorer hangs."""
import os
import signal
import time

from culler import hookimpl
from culler.plugin.scorers import Scorer, ScoreResult


class Moody(Scorer):
    id = "moody"
    runs_in_worker = True
    batch_size = 1
    input_size = 256

    def score_batch(self, images):
        if images[0].size == (123, 77):  # the one photo this scorer cannot cope with
            time.sleep(3600)
        return [ScoreResult(score=3.0)]


@hookimpl
def register_scorers(register):
    register(Moody)


@hookimpl
def load_image(path, max_side):
    name = os.path.basename(path)
    if name.startswith("hang"):
        time.sleep(3600)
    if name.startswith("crash"):
        os.kill(os.getpid(), signal.SIGKILL)
    return None
'''


@pytest.fixture
def moody_plugin(tmp_path, monkeypatch, register_test_plugin):
    """Install a plugin by entry point (as a user would) so the spawned decode workers load it too."""
    import importlib

    site = tmp_path / "site"
    dist = site / "moody_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (site / "moody_plugin.py").write_text(PLUGIN_SOURCE)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: moody-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[culler]\nmoody = moody_plugin\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("CULLER_LOAD_PLUGINS", "technical,moody")
    importlib.invalidate_caches()
    register_test_plugin(importlib.import_module("moody_plugin"), "moody")  # this process
    yield
    sys.modules.pop("moody_plugin", None)


def test_hung_and_crashing_work_in_decode_workers_is_isolated(photo_dir, moody_plugin):
    from PIL import Image

    # The plugin's decoder hangs on hang*.jpg and kills its worker on crash*.jpg; its scorer hangs on
    # the 123×77 photo.
    for name in ("hang.jpg", "crash.jpg"):
        Image.open(photo_dir / "coffee.jpg").save(photo_dir / name)
    Image.open(photo_dir / "rocket.jpg").resize((123, 77)).save(photo_dir / "slowscore.jpg")
    db = photo_dir / "culler.db"
    cat = open_catalog(db)
    # Finishing at all is the isolation: without it the hour-long sleeps hit the pytest timeout.
    try:
        summary = scan_folders(
            cat,
            [photo_dir],
            ScanOptions(workers=2, scorer_ids=["technical", "moody"], file_timeout=1.0),
            echo=lambda m: None,
        )
    finally:
        cat.close()
    scores, errors, photos = _results(db)
    name = lambda p: p.rsplit("/", 1)[1]  # noqa: E731
    status = {name(p["path"]): p["status"] for p in photos}
    cat = open_catalog(db)
    file_errors = {
        name(r["path"]): r["error"]
        for r in cat.query("SELECT path, error FROM photos WHERE status = 'error'")
    }
    cat.close()
    assert set(file_errors) == {"hang.jpg", "crash.jpg"}
    assert "took longer than 1 s" in file_errors["hang.jpg"]
    assert "crashed" in file_errors["crash.jpg"]
    good = sorted(n for n in status if n not in file_errors)
    assert all(status[n] == "ok" for n in good)
    technical = {name(r["path"]) for r in scores if r["scorer_id"] == "technical"}
    assert technical == set(good)  # every decodable photo, the one the scorer hung on included
    moody_errors = {name(r["path"]): r["error"] for r in errors if r["scorer_id"] == "moody"}
    assert "timed out" in moody_errors["slowscore.jpg"]
    moody_scored = {name(r["path"]) for r in scores if r["scorer_id"] == "moody"}
    assert moody_scored | set(moody_errors) == set(good)  # each photo: a moody score or its error
    assert summary["scored"] == len(good)
