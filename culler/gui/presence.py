"""Whether the files a rating key is about to rate are still there, checked off the UI thread.

A rating must never land on a photo whose file is gone (deleted, moved, a disk unplugged), but a
select-all on a slow network share would pay one ``stat`` per photo on the UI thread, seconds for
thousands of photos, and a dead mount can hang a ``stat`` for longer. So a key press on a selection
hands the files to :class:`PresenceChecker`, which stats them in one worker thread, in the order the
keys were pressed, and the window writes the rating for the photos found when the answer arrives.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


def file_present(path: str) -> bool:
    """Whether ``path`` is there now (one ``stat``; runs in the checker's worker)."""
    return os.path.exists(path)


class _Signals(QObject):
    checked = Signal(int, object)  # ticket, set of photo ids whose file is gone


class _Check(QRunnable):
    def __init__(self, signals: _Signals, ticket: int, items: list[tuple[int, str]]) -> None:
        super().__init__()
        self.signals, self.ticket, self.items = signals, ticket, items

    def run(self) -> None:
        gone = {pid for pid, path in self.items if not file_present(path)}
        self.signals.checked.emit(self.ticket, gone)


class PresenceChecker(QObject):
    """Stats files in one worker thread; ``checked(ticket, gone ids)`` arrives in the UI thread, in
    the order the checks were asked for (one thread: a later key never lands before an earlier one)."""

    checked = Signal(int, object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._signals = _Signals()
        self._signals.checked.connect(self.checked)
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(1)
        self._ticket = 0

    def check(self, items: list[tuple[int, str]]) -> int:
        """Queue a check of (photo id, path) pairs; returns its ticket."""
        self._ticket += 1
        self.pool.start(_Check(self._signals, self._ticket, list(items)))
        return self._ticket

    def wait(self, msecs: int = 30_000) -> bool:
        return self.pool.waitForDone(msecs)
