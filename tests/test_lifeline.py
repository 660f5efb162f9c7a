"""Worker processes die with their parent, even when the parent is killed with SIGKILL."""

import os
import signal
import subprocess
import sys
import time

import pytest

from culler import lifeline

PARENT = """
import concurrent.futures as cf, multiprocessing, os, sys, time
from culler.lifeline import die_with_parent

def pid():
    return os.getpid()

if __name__ == "__main__":
    pool = cf.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=die_with_parent, initargs=(os.getpid(),))
    pids = {f.result() for f in [pool.submit(pid) for _ in range(8)]}
    print(" ".join(map(str, sorted(pids))), flush=True)
    time.sleep(60)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for its (dead) parent's reaper counts as gone
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_until_gone(pids: list[int], seconds: float = 15.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = [p for p in pids if alive(p)]
        if not left:
            return []
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_pool_workers_exit_when_the_parent_is_killed(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(p) for p in parent.stdout.readline().split()]
        assert workers and all(alive(p) for p in workers)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        assert wait_until_gone(workers) == []
    finally:
        if parent.poll() is None:
            parent.kill()


def test_watchdog_exits_when_the_parent_changes(monkeypatch):
    """Where the kernel cannot signal the child, the watchdog sees the parent pid change."""
    exits = []
    parents = iter([100, 100, 1])
    monkeypatch.setattr(lifeline.os, "getppid", lambda: next(parents))
    monkeypatch.setattr(lifeline.os, "_exit", exits.append)
    monkeypatch.setattr(lifeline, "POLL_SECONDS", 0.0)
    lifeline._watch(100)
    assert exits == [1]


def children_of(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    parents[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == parent]
        found += kids
        frontier += kids
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the process tree from /proc")
def test_a_scan_killed_with_sigkill_leaves_no_process_behind(tmp_path):
    from culler.testing import sample_image

    folder = tmp_path / "shoot"
    folder.mkdir()
    photo = sample_image("astronaut").resize((2048, 2048))
    for i in range(40):
        photo.rotate(i).save(folder / f"IMG_{i:04d}.jpg", quality=90)
    scan = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "culler",
            "scan",
            str(folder),
            "--workers",
            "2",
            "--scorer",
            "technical",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while len(children_of(scan.pid)) < 2 and scan.poll() is None:
            assert time.monotonic() < deadline, "the scan never started its decode workers"
            time.sleep(0.05)
        spawned = children_of(scan.pid)
        assert scan.poll() is None, "the scan finished before it could be killed; give it more work"
        scan.send_signal(signal.SIGKILL)
        scan.wait(10)
        assert wait_until_gone(spawned) == []  # workers and the resource tracker alike
    finally:
        if scan.poll() is None:
            scan.kill()
