"""Neutralise a PySide6 reference-counting bug that crashes the GUI within seconds on Python < 3.12.

PySide6 6.12's stable-ABI wheels (``cp310-abi3``) return ``None`` from every void method (``setPen``,
``save``, ``moveTo``…) without taking a reference, which is only correct where ``None`` is immortal
(Python 3.12+). On 3.11 each such call drops one of the ~5,000 references to ``None``; painting one grid
screenful makes thousands of these calls, and the interpreter soon aborts with "deallocating None".

:func:`protect_none` probes for the bug and, only when it is present, gives ``None`` an effectively
infinite reference count — what Python 3.12 does for every interpreter (PEP 683). Nothing else changes.
"""

from __future__ import annotations

import ctypes
import sys

#: Added to None's reference count when the bug is present: no realistic session can drain it.
HEADROOM = 1 << 60

_protected = False


def _void_call_drops_none(calls: int = 64) -> bool:
    from PySide6.QtGui import QPainterPath

    path = QPainterPath()
    before = sys.getrefcount(None)
    for _ in range(calls):
        path.moveTo(1.0, 1.0)
    lost = before - sys.getrefcount(None)
    if lost > 0:
        _add_references(lost)  # give back what the probe itself took
    return lost >= calls


def _add_references(count: int) -> None:
    refcount = ctypes.c_ssize_t.from_address(id(None))  # ob_refcnt, the first field of PyObject
    refcount.value += count


def protect_none() -> bool:
    """Apply the fix once if this PySide6 build needs it; return whether it was needed."""
    global _protected
    if _protected:
        return True
    if sys.version_info >= (3, 12) or not _void_call_drops_none():
        return False
    _add_references(HEADROOM)
    _protected = True
    return True
