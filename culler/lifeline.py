"""Worker processes that die with their parent.

A scan killed with SIGKILL cannot shut its process pool down: without this, its decode workers (and the
multiprocessing resource tracker, which waits for them) would idle on for good. Each worker calls
:func:`die_with_parent` when it starts: on Linux the kernel sends it SIGKILL when the parent goes (the
parent-death signal); elsewhere a watchdog thread notices that the parent pid changed and exits.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
#: How often the watchdog looks at the parent where the kernel cannot signal us.
POLL_SECONDS = 1.0


def die_with_parent(parent: int | None = None) -> None:
    """Make this process end when the process that started it ends, however that one ended.

    ``parent`` is the parent's pid as the parent saw it (pass ``os.getpid()`` from there): a worker
    whose parent died while the worker was still starting up has already been re-parented, and
    exits at once instead of watching its new parent.
    """
    if parent is not None and os.getppid() != parent:
        os._exit(1)
    parent = os.getppid() if parent is None else parent
    if sys.platform.startswith("linux") and _linux_parent_death_signal():
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)
        return
    threading.Thread(target=_watch, args=(parent,), name="culler-lifeline", daemon=True).start()


def _linux_parent_death_signal() -> bool:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    os._exit(1)
