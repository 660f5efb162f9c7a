"""Decode workers start from a fork server that has read the in-worker scorers' shared models once."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import subprocess
import sys

import pytest

from culler.scan import decode as decode_mod
from culler.scan import decode_pool

needs_forkserver = pytest.mark.skipif(
    "forkserver" not in multiprocessing.get_all_start_methods(), reason="no fork server here"
)


def _worker_state() -> tuple[int, bool]:
    """The worker's parent, and whether the eye landmark model was already read when it started:
    MediaPipe's two files by default, dlib's 68-point model where they are not installed."""
    from culler_plugins.faces import detect, mesh

    if mesh.available():
        return os.getppid(), set(mesh.FILES) <= set(mesh._BYTES)
    return os.getppid(), "predictor" in detect._MODELS


@needs_forkserver
def test_workers_share_the_landmark_model_the_fork_server_read():
    from culler_plugins.faces import FacesScorer

    preload = [decode_pool.PRELOAD, *FacesScorer.worker_preload]
    context = decode_pool.worker_context(preload)
    assert context.get_start_method() == "forkserver"
    with cf.ProcessPoolExecutor(2, mp_context=context) as pool:
        states = [pool.submit(_worker_state).result() for _ in range(4)]
    # Every worker found the model already read, before it met any face, and is a child of the
    # fork server, not of this process.
    assert all(has_model for _, has_model in states)
    assert all(parent != os.getpid() for parent, _ in states)
    assert set(preload) <= decode_pool._server_preloads


@needs_forkserver
def test_a_scan_that_wants_more_preloads_restarts_the_server_with_both(monkeypatch):
    monkeypatch.setattr(decode_pool, "_server_preloads", {decode_pool.PRELOAD})
    stopped, chosen = [], []
    from multiprocessing import forkserver

    class Running:
        _forkserver_pid = 12345

        def _stop(self):
            stopped.append(True)

    monkeypatch.setattr(forkserver, "_forkserver", Running())
    monkeypatch.setattr(forkserver, "set_forkserver_preload", chosen.append)
    decode_pool.worker_context([decode_pool.PRELOAD, "culler_plugins.faces.preload"])
    assert stopped == [True]
    assert chosen == [[decode_pool.PRELOAD, "culler_plugins.faces.preload"]]
    # The same or a smaller set later reuses the server as it is.
    decode_pool.worker_context([decode_pool.PRELOAD])
    assert stopped == [True] and len(chosen) == 1


def test_a_worker_takes_the_scans_environment_whole(monkeypatch):
    """A forked worker starts with the fork server's environment, which may be an earlier scan's: a
    variable the scan no longer has (a plugin allow-list) must not linger in it."""
    fake = {"CULLER_PLUGINS": "technical", "KEPT": "1"}
    monkeypatch.setattr(os, "environ", fake)
    decode_mod.init_worker([], {"KEPT": "2", "CULLER_DEBUG": "1"})
    assert fake == {"KEPT": "2", "CULLER_DEBUG": "1"}


WORKER = """
import sys, time
from culler.lifeline import die_with_parent
die_with_parent(int(sys.argv[1]))
print("watching", flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_forked_worker_exits_when_the_scan_process_ends():
    """A worker whose parent is the fork server, not the scan, watches the scan's own process."""
    scan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(scan.pid)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert worker.stdout.readline() == "watching\n"  # the scan runs: the worker stays
        scan.send_signal(signal.SIGKILL)
        scan.wait()
        assert worker.wait(30) == 1
    finally:
        for process in (scan, worker):
            process.kill()
            process.wait()


def test_a_worker_started_for_a_scan_that_is_already_gone_exits():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    worker = subprocess.run(
        [sys.executable, "-c", WORKER, str(gone.pid)], capture_output=True, text=True, timeout=60
    )
    assert worker.returncode == 1 and worker.stdout == ""
