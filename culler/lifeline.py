"""Worker processes that die with their parent.

A scan killed with SIGKILL cannot shut its process pool down: without this, its decode workers (and the
multiprocessing resource tracker, which waits for them) would idle on for good. Each worker calls
:func:`die_with_parent` when it starts: on Linux the kernel sends it SIGKILL when the parent goes (the
parent-death signal); a worker forked by a fork server, whose parent is that server, and every worker
elsewhere run a watchdog thread that exits when the scan's process ends.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
#: How often the watchdog looks at the parent where the kernel cannot signal us.
POLL_SECONDS = 1.0


def die_with_parent(parent: int | None = None) -> None:
    """Make this process end when the process that started it ends, however that one ended.

    ``parent`` is the pid of the process this one serves (pass ``os.getpid()`` from there). It is
    usually this process's parent; a worker started through a fork server (see
    :func:`culler.scan.decode_pool.worker_context`) is the fork server's child, and watches ``parent``
    itself. A worker whose parent died while the worker was still starting up has already been
    re-parented, and exits at once instead of watching its new parent.
    """
    parent = os.getppid() if parent is None else parent
    direct = os.getppid() == parent
    if not direct and not _exists(parent):
        os._exit(1)
    if direct and sys.platform.startswith("linux") and _linux_parent_death_signal():
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)
        return
    threading.Thread(
        target=_watch, args=(parent, direct), name="culler-lifeline", daemon=True
    ).start()


def _linux_parent_death_signal() -> bool:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    return True


def _watch(parent: int, direct: bool = True) -> None:
    """Exit when ``parent`` ends: the kernel says so through a pid file descriptor (Linux 5.3+, exact,
    and a zombie counts as ended); elsewhere, poll the parent pid (``direct``) or the process itself."""
    if not direct and hasattr(os, "pidfd_open"):
        try:
            fd = os.pidfd_open(parent)
        except OSError:
            fd = None  # already gone (ESRCH), or a kernel without pidfd: poll
        if fd is not None:
            select.select([fd], [], [])
            os._exit(1)
    while (os.getppid() == parent) if direct else _exists(parent):
        time.sleep(POLL_SECONDS)
    os._exit(1)
