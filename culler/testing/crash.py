"""Kill a process at its Nth SQL statement: how the tests prove a cut-short migration, upgrade or
write loses nothing.

:func:`killer_script` is a Python program for ``python -c SCRIPT CATALOG N``: it counts every
statement the catalog's connections run (``sqlite3``'s trace callback) and SIGKILLs itself at the
Nth, or prints how many there were when it gets to the end (run it with N = 0 first to learn
where the kill points are).
"""

from __future__ import annotations

import textwrap

_KILLER = """
import os, signal, sys
from culler.catalog import core
{setup}
kill_at, count = int(sys.argv[2]), [0]
connect = core._connect

def counting(path):
    conn = connect(path)
    def trace(statement):
        count[0] += 1
        if count[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
    conn.set_trace_callback(trace)
    return conn

core._connect = counting
{run}
print(count[0])
"""


def killer_script(run: str, setup: str = "") -> str:
    """The program: ``setup`` (imports, settings) runs first, then ``run`` (the statement that opens
    the catalog ``sys.argv[1]`` and works on it) under the counting connection."""
    return _KILLER.format(setup=textwrap.dedent(setup).strip(), run=textwrap.dedent(run).strip())
