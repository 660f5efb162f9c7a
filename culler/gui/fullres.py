"""Full-resolution frames for the loupe at 100 %, decoded off the UI thread and kept for the neighbours.

A 24 MP frame takes a few hundred milliseconds to decode; the loupe shows the fit preview meanwhile.
While zoomed, the photos either side are decoded ahead, so stepping through a burst at 100 % finds
its frame ready. The cache holds a few frames, bounded by their total size.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

from culler.gui.pixels import FULL_SIDE, decode_for_display

#: About six 24 MP frames (72 MB each as RGB).
DEFAULT_BUDGET = 450 * 1024 * 1024


class _Signals(QObject):
    decoded = Signal(int, QImage)


class _Decode(QRunnable):
    def __init__(
        self, signals: _Signals, photo_id: int, path: str, side: int, develop: bool
    ) -> None:
        super().__init__()
        self.signals, self.photo_id, self.path, self.side = signals, photo_id, path, side
        self.develop = develop

    def run(self) -> None:
        image = decode_for_display(self.path, self.side, self.develop)
        self.signals.decoded.emit(self.photo_id, image)


class FullResCache(QObject):
    """An LRU of full-resolution QImages keyed by photo id; ``ready`` fires when one arrives."""

    ready = Signal(int)

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET, side: int = FULL_SIDE) -> None:
        super().__init__()
        self.budget = budget_bytes
        self.side = side
        #: Develop RAW files in full instead of zooming into their embedded preview (slower).
        self.develop = False
        self._images: OrderedDict[int, QImage] = OrderedDict()
        self._pending: set[int] = set()
        self._failed: set[int] = set()
        self._lock = threading.Lock()
        self._signals = _Signals()
        self._signals.decoded.connect(self._on_decoded)
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(
            2
        )  # the current frame and one neighbour; the scan needs the rest

    def get(self, photo_id: int) -> QImage | None:
        image = self._images.get(photo_id)
        if image is not None:
            self._images.move_to_end(photo_id)
        return image

    def set_develop(self, develop: bool) -> None:
        """Switch between RAW previews and full developments; frames decoded the other way go."""
        if develop != self.develop:
            self.develop = develop
            self.clear()

    def request(self, photo_id: int, path: str) -> None:
        """Decode ``path`` unless it is cached, failed or already on its way."""
        with self._lock:
            if photo_id in self._images or photo_id in self._pending or photo_id in self._failed:
                return
            self._pending.add(photo_id)
        self.pool.start(_Decode(self._signals, photo_id, path, self.side, self.develop))

    def failed(self, photo_id: int) -> bool:
        """Whether decoding this photo at full size failed (a deleted file, a broken one)."""
        return photo_id in self._failed

    def pending(self, photo_id: int) -> bool:
        with self._lock:
            return photo_id in self._pending

    def keep(self, photo_ids: list[int]) -> None:
        """Mark ``photo_ids`` (the shown one first) most recently used, so the budget evicts others."""
        for pid in reversed(photo_ids):
            if pid in self._images:
                self._images.move_to_end(pid)

    def clear(self) -> None:
        self._images.clear()
        self._failed.clear()

    def wait(self, msecs: int = 30_000) -> bool:
        return self.pool.waitForDone(msecs)

    def _on_decoded(self, photo_id: int, image: QImage) -> None:
        with self._lock:
            self._pending.discard(photo_id)
        if image.isNull():
            self._failed.add(photo_id)
            self.ready.emit(photo_id)  # repaint: the stage says the full size is unreadable
            return
        self._images[photo_id] = image
        while len(self._images) > 1 and self._bytes() > self.budget:
            self._images.popitem(last=False)
        self.ready.emit(photo_id)

    def _bytes(self) -> int:
        return sum(image.sizeInBytes() for image in self._images.values())
