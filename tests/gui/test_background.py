"""Work off the UI thread: the scan fills the grid while it runs and can be cancelled; thumbnails are
decoded in worker threads and cached on disk."""

from __future__ import annotations

import shutil
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from culler import hookimpl
from culler.plugin.scorers import Scorer, ScoreResult
from culler.testing import write_photos


class SlowScorer(Scorer):
    """Scores the first ``FREE`` photos, then holds every batch until the test opens ``GATE``: a
    scan a test can watch (and cancel) in flight, whatever the machine's speed."""

    id = "slow-test"
    runs_in_worker = True
    FREE = 4
    GATE = threading.Event()
    seen = 0

    def score_batch(self, images):
        SlowScorer.seen += len(images)
        if SlowScorer.seen > self.FREE:
            self.GATE.wait(60)  # bounded: a test that never opens it fails instead of hanging
        return [ScoreResult(score=5.0) for _ in images]


@pytest.fixture
def gate(monkeypatch):
    """The scan's gate, closed; opened again after the test so no scorer thread is left waiting.
    Each photo is committed as soon as it is scored, so the free ones reach the grid before the
    gate holds the scan."""
    from culler.scan import pipeline

    monkeypatch.setattr(pipeline, "FLUSH_EVERY", 1)
    SlowScorer.seen = 0
    SlowScorer.GATE.clear()
    yield SlowScorer.GATE
    SlowScorer.GATE.set()


class SlowPlugin:
    @hookimpl
    def register_scorers(register):
        register(SlowScorer)


@pytest.fixture
def many_photos(tmp_path):
    folder = tmp_path / "shoot"
    paths = write_photos(folder)
    for copy in range(3):  # 24 files: distinct names, same pixels
        for path in paths:
            shutil.copy(path, folder / f"{path.stem}_{copy}.jpg")
    return folder


def test_background_scan_fills_the_grid_while_running(
    window, qtbot, many_photos, register_test_plugin, gate
):
    register_test_plugin(SlowPlugin, "slow-test-plugin")
    files = len(list(many_photos.glob("*.jpg")))
    window.show()
    window.open_folder(many_photos)
    assert window.scan_worker is not None and window.scan_worker.isRunning()
    # Rows appear while the scan is still going (merged once a second), not only at the end.
    qtbot.waitUntil(lambda: window.model.rowCount() > 0, timeout=15_000)
    assert window.scan_worker is not None  # held at the gate: still running
    assert window.progress.isVisible()
    assert window.model.rowCount() < files
    gate.set()
    qtbot.waitUntil(lambda: window.scan_worker is None, timeout=30_000)
    assert window.model.rowCount() == files
    assert all("slow-test" in r.scores for r in window.model.records)
    assert not window.progress.isVisible()


def test_scan_can_be_cancelled(window, qtbot, many_photos, register_test_plugin, gate):
    register_test_plugin(SlowPlugin, "slow-test-plugin")
    files = len(list(many_photos.glob("*.jpg")))
    summaries = []
    window.show()
    window.open_folder(many_photos)
    window.scan_worker.succeeded.connect(summaries.append)
    qtbot.waitUntil(lambda: window.progress.value() >= 2, timeout=15_000)
    qtbot.mouseClick(window.cancel_button, Qt.MouseButton.LeftButton)
    gate.set()  # the batch in flight finishes; nothing after it starts
    qtbot.waitUntil(lambda: window.scan_worker is None, timeout=15_000)
    assert summaries and summaries[0]["status"] == "cancelled"
    assert 0 < window.model.rowCount() < files
    assert (
        window.model.rowCount()
        == window.catalog.execute("SELECT COUNT(*) FROM photos").fetchone()[0]
    )


def test_thumbnails_are_decoded_off_the_ui_thread(qtbot, scanned, monkeypatch, tmp_path):
    from culler.catalog import open_catalog
    from culler.gui import thumbnails
    from culler.gui.records import load_records

    threads = []
    real = thumbnails.load_thumbnail

    def spy(*args, **kwargs):
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(thumbnails, "load_thumbnail", spy)
    with open_catalog(scanned) as catalog:
        records = load_records(catalog)
    cache = thumbnails.ThumbnailCache(thumbnails.thumb_dir_for(scanned))
    ready = []
    cache.ready.connect(ready.append)
    for rec in records:
        assert cache.get(rec.id, rec.path, rec.content_hash) is None  # queued, never decoded inline
    qtbot.waitUntil(lambda: len(ready) == len(records), timeout=10_000)
    assert threads and all(t is not threading.main_thread() for t in threads)
    pixmap = cache.get(records[0].id, records[0].path, records[0].content_hash)
    assert pixmap is not None and max(pixmap.width(), pixmap.height()) == cache.side


def test_uncached_photos_are_decoded_and_written_to_the_cache(qtbot, photo_dir, tmp_path):
    from culler.gui import thumbnails
    from culler.scan.decode import hash_file, thumb_path

    path = next(photo_dir.glob("*.jpg"))
    thumb_dir = tmp_path / "culler-thumbs"
    cache = thumbnails.ThumbnailCache(thumb_dir)
    assert cache.get(1, str(path), None) is None
    qtbot.waitUntil(lambda: cache.get(1, str(path), None) is not None, timeout=10_000)
    assert thumb_path(thumb_dir, hash_file(path)).exists()  # reopening reads, never decodes
    # A file that cannot be read is reported as failed, not retried on every paint.
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    cache.get(2, str(broken), None)
    qtbot.waitUntil(lambda: cache.failed(2), timeout=10_000)


def test_grid_requests_only_visible_thumbnails(window, qtbot, scanned, monkeypatch):
    from culler.gui.records import PhotoRecord

    requested = set()
    real = window.thumbnails.get

    def counting(photo_id, path, content_hash):
        requested.add(photo_id)
        return real(photo_id, path, content_hash)

    monkeypatch.setattr(window.thumbnails, "get", counting)
    records = [PhotoRecord(id=i, path=f"/nowhere/{i:05d}.jpg") for i in range(1, 3001)]
    window.show()
    window.model.set_records(records)
    window.proxy.resort()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: len(requested) > 0, timeout=10_000)
    QApplication.processEvents()  # the rest of that paint, if any
    assert len(requested) < 200  # a screenful, not 3,000
