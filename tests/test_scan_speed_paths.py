"""The scan's fast paths keep results the same: one small copy serves thumbnail and face search, nothing
large travels back from a worker, and a decode that hangs in this process still times out."""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest
from PIL import Image

import culler
from culler.scan import decode as decode_mod
from culler.scan.decode import SMALL_COPY_KEY, THUMB_SIDE, DecodeJob, decode_one, small_copy
from culler.testing import sample_image, scan_into


@pytest.fixture
def astronaut_jpg(tmp_path):
    path = tmp_path / "astronaut.jpg"
    sample_image("astronaut").resize((1024, 1024)).save(path, quality=92)
    return path


def test_small_copy_is_the_face_search_copy(astronaut_jpg):
    """The faces scorer's skin gates get the same pixels whether it resizes the photo itself or
    takes the worker's copy."""
    import cv2
    from culler_plugins.faces import FacesScorer, models

    image = Image.open(astronaut_jpg).convert("RGB")
    rgb = np.asarray(image)
    h, w = rgb.shape[:2]
    scale = models.GATE_COPY_SIDE / max(h, w)
    theirs = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    assert THUMB_SIDE == models.GATE_COPY_SIDE
    assert np.array_equal(small_copy(image, THUMB_SIDE), theirs)

    scorer = FacesScorer()
    scorer.load("cpu")
    plain = scorer.score_batch([image])[0]
    image.info[SMALL_COPY_KEY] = small_copy(image, THUMB_SIDE)
    shared = scorer.score_batch([image])[0]
    assert plain.extra["faces"], "the astronaut's face must be found"
    assert (shared.score, shared.extra) == (plain.score, plain.extra)


def test_worker_sends_back_no_large_array_and_writes_the_thumbnail(astronaut_jpg, tmp_path):
    decode_mod.init_worker([("technical", {}), ("faces", {})])
    thumbs = tmp_path / "thumbs"
    decoded = decode_one(
        DecodeJob(str(astronaut_jpg), 1024, 224, ("technical", "faces"), str(thumbs))
    )
    assert decoded.error is None
    assert set(decoded.worker_results) == {"technical", "faces"}
    assert SMALL_COPY_KEY not in decoded.image.info
    # What goes back through the pool: metadata, scores and the 224 px copy for model scorers.
    assert len(pickle.dumps(decoded)) < 400_000
    thumb = decode_mod.thumb_path(thumbs, decoded.content_hash)
    with Image.open(thumb) as written:
        assert max(written.size) == THUMB_SIDE


class _Hanging:
    """A format plugin whose decoder never returns for files named hang*."""

    release = threading.Event()

    @staticmethod
    @culler.hookimpl
    def load_image(path, max_side):
        if path.rsplit("/", 1)[-1].startswith("hang"):
            _Hanging.release.wait(60)
        return None


def test_in_process_decode_honours_the_file_timeout(photo_dir, tmp_path, register_test_plugin):
    """With --workers 0 a hung decoder costs its file one error row, not the scan."""
    register_test_plugin(_Hanging, "hanging-decoder")
    Image.open(photo_dir / "coffee.jpg").save(photo_dir / "hang.jpg")
    try:
        catalog, summary = scan_into(
            tmp_path / "c.db", photo_dir, ["technical"], workers=0, file_timeout=1.0
        )
    finally:
        _Hanging.release.set()
    try:
        rows = {r["path"].rsplit("/", 1)[1]: r for r in catalog.db["photos"].rows}
    finally:
        catalog.close()
    assert rows["hang.jpg"]["status"] == "error"
    assert "took longer than 1 s" in rows["hang.jpg"]["error"]
    others = [r for name, r in rows.items() if name != "hang.jpg"]
    assert others and all(r["status"] == "ok" for r in others)
    assert summary["errors"] == 1 and summary["decoded"] == len(others)


def test_in_process_decode_without_timeout_runs_inline(photo_dir, tmp_path, monkeypatch):
    """No timeout, no thread: a debugger or profiler sees the decode in the scan's own thread."""
    seen = []
    original = decode_mod.decode_one

    def spy(job):
        seen.append(threading.current_thread() is threading.main_thread())
        return original(job)

    monkeypatch.setattr("culler.scan.decode_pool.decode_one", spy)
    catalog, summary = scan_into(tmp_path / "c.db", photo_dir, ["technical"], file_timeout=None)
    catalog.close()
    assert seen and all(seen) and summary["errors"] == 0


@pytest.mark.timeout(20)  # a FIFO opened for reading without O_NONBLOCK would hang here
def test_read_ahead_leaves_special_files_alone(tmp_path):
    """Read-ahead touches regular files only and never blocks on a FIFO or fails on a missing file."""
    import os

    from culler.scan.decode_pool import read_ahead

    photo = tmp_path / "a.jpg"
    Image.new("RGB", (8, 8)).save(photo)
    read_ahead(str(photo))
    read_ahead(str(tmp_path / "gone.jpg"))
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "fifo.jpg"
        os.mkfifo(fifo)
        read_ahead(str(fifo))  # returns at once: opened non-blocking, not a regular file
    assert photo.read_bytes()[:2] == b"\xff\xd8"


def test_technical_only_workers_never_import_opencv(astronaut_jpg, tmp_path):
    """Only a scorer that asks for the small copy (faces) brings OpenCV into a decode worker."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from culler.scan import decode as d\n"
        "d.init_worker([('technical', {})])\n"
        f"r = d.decode_one(d.DecodeJob({str(astronaut_jpg)!r}, 1024, 0, ('technical',), "
        f"{str(tmp_path / 'thumbs')!r}))\n"
        "assert r.error is None and 'technical' in r.worker_results, r\n"
        "assert 'cv2' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    (thumb,) = (tmp_path / "thumbs").rglob("*.jpg")
    with Image.open(thumb) as written:
        assert max(written.size) == THUMB_SIDE
