"""Thumbnails decoded off the UI thread, cached on disk (shared with the scan) and in memory.

The grid asks for a thumbnail when it paints a cell, and reads ahead: while the user scrolls it asks
for the next screenfuls in the direction of the scroll (:meth:`ThumbnailCache.read_ahead`), so a
flick finds its cells loaded instead of grey. Two queues feed a thread pool: cells being painted
(newest first: what the user looks at now) before read-ahead (nearest the viewport first); rows
scrolled past are dropped from both, and each queue is bounded. Everything is read or decoded in
the workers, never on the UI thread. The disk cache is the scan's ``culler-thumbs/`` folder, so a
scanned catalog reopens with thumbnails that only need reading, never full decodes.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict, deque
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage, QImageReader, QPixmap

from culler.gui.pixels import decode_for_display, srgb, to_qimage
from culler.scan.decode import THUMB_SIDE, hash_file, thumb_dir, thumb_path

#: Pending requests kept; older ones (scrolled past) are dropped and re-requested if painted again.
MAX_PENDING = 256
#: Read-ahead requests kept (the nearest the viewport first).
MAX_AHEAD = 256


def thumb_dir_for(db_path: str | Path) -> Path:
    """The scan's thumbnail folder for a catalog: ``culler-thumbs`` next to it."""
    return thumb_dir(db_path)


def load_thumbnail(path: str, content_hash: str | None, thumb_dir: Path, side: int) -> QImage:
    """Read (or make and cache) the thumbnail of ``path`` scaled to fit ``side``; runs in a worker.

    A null QImage means the file cannot be read (the grid shows its error instead).
    """
    cached = thumb_path(thumb_dir, content_hash) if content_hash else None
    if cached is not None and cached.exists():
        image = _read_scaled(str(cached), side)
        if not image.isNull():
            return image
    return _decode_and_cache(path, content_hash, thumb_dir, side)


def _read_scaled(file: str, side: int) -> QImage:
    reader = QImageReader(file)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > side:
        reader.setScaledSize(size.scaled(QSize(side, side), Qt.AspectRatioMode.KeepAspectRatio))
    return reader.read()


def _decode_and_cache(path: str, content_hash: str | None, thumb_dir: Path, side: int) -> QImage:
    """No cached thumbnail: decode the photo at reduced size (JPEG DCT scaling) and cache it."""
    from culler.imaging.images import ImageError, decode_pil

    try:
        image, _info = decode_pil(path, THUMB_SIDE)
    except (ImageError, OSError):
        return QImage()
    image = srgb(image)  # the cached thumbnail is in sRGB, like the scan's
    try:
        key = content_hash or hash_file(path)
        target = thumb_path(thumb_dir, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        image.save(tmp, "JPEG", quality=85)
        os.replace(tmp, target)
    except OSError:
        pass  # a read-only catalog folder still shows thumbnails, it just cannot cache them
    qimage = to_qimage(image)
    if max(qimage.width(), qimage.height()) > side:
        qimage = qimage.scaled(
            side,
            side,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
    return qimage


def load_preview(path: str, side: int) -> QImage:
    """A large view of ``path`` (the loupe), decoded at reduced size in a worker, in sRGB."""
    return decode_for_display(path, side)


class _Signals(QObject):
    # Emitted from worker threads; Qt queues them to the cache, which lives in the UI thread.
    thumbnail = Signal(int, int, QImage)
    preview = Signal(int, int, QImage)


class _Job(QRunnable):
    def __init__(self, cache: ThumbnailCache) -> None:
        super().__init__()
        self.cache = cache

    def run(self) -> None:
        job = self.cache._next_job()
        if job is None:
            return
        kind, photo_id, path, content_hash, side = job
        if kind == "thumb":
            image = load_thumbnail(path, content_hash, self.cache.thumb_dir, side)
            self.cache._signals.thumbnail.emit(photo_id, side, image)
        else:
            image = load_preview(path, side)
            self.cache._signals.preview.emit(photo_id, side, image)


class ThumbnailCache(QObject):
    """Memory LRU of thumbnail pixmaps in front of the disk cache; loads run in a thread pool."""

    ready = Signal(int)  # photo id whose thumbnail just arrived
    previewReady = Signal(int, QImage)

    def __init__(
        self, thumb_dir: str | Path, capacity: int = 1500, threads: int | None = None
    ) -> None:
        super().__init__()
        self.thumb_dir = Path(thumb_dir)
        self.capacity = capacity
        self.side = 256
        self._pixmaps: OrderedDict[int, QPixmap] = OrderedDict()
        self._failed: set[int] = set()
        self._pending: set[tuple[str, int]] = set()
        self._queue: deque[tuple[str, int, str, str | None, int]] = deque()
        #: Read-ahead: thumbnails of the rows the scroll is heading to, nearest first.
        self._ahead: deque[tuple[str, int, str, str | None, int]] = deque()
        #: Thumbnails asked for by read-ahead (a counter for tests and the flick benchmark).
        self.read_ahead_requests = 0
        self._lock = threading.Lock()
        self._signals = _Signals()
        self._signals.thumbnail.connect(self._on_thumbnail)
        self._signals.preview.connect(self._on_preview)
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(threads or max(2, min(8, os.cpu_count() or 2)))

    # -- requests (UI thread) --------------------------------------------------------------------
    def get(self, photo_id: int, path: str, content_hash: str | None) -> QPixmap | None:
        """The cached pixmap, or None after queueing a load (``ready`` fires when it arrives)."""
        pixmap = self._pixmaps.get(photo_id)
        if pixmap is not None:
            self._pixmaps.move_to_end(photo_id)
            return pixmap
        if photo_id not in self._failed:
            self._submit(("thumb", photo_id, path, content_hash, self.side))
        return None

    def failed(self, photo_id: int) -> bool:
        return photo_id in self._failed

    def has(self, photo_id: int) -> bool:
        """Whether the thumbnail is in memory (a cell showing it is painted at once, not grey)."""
        return photo_id in self._pixmaps

    def read_ahead(self, photos: list[tuple[int, str, str | None]], keep: set[int]) -> int:
        """Queue the thumbnails of ``photos`` (id, path, content hash; nearest the viewport first)
        behind the painted cells, replacing the previous read-ahead, and drop every queued request
        whose photo is not in ``keep`` (the rows on screen and those read ahead: the rest were
        scrolled past). Returns how many new requests were queued."""
        jobs = [
            ("thumb", pid, path, content_hash, self.side)
            for pid, path, content_hash in photos
            if pid not in self._pixmaps and pid not in self._failed
        ][:MAX_AHEAD]
        with self._lock:
            for queue in (self._queue, self._ahead):
                for job in [j for j in queue if j[0] == "thumb" and j[1] not in keep]:
                    queue.remove(job)
                    self._pending.discard((job[0], job[1]))
            previous = {(job[0], job[1]) for job in self._ahead}
            for key in previous:  # the previous read-ahead, still wanted: queued again below
                self._pending.discard(key)
            self._ahead.clear()
            new = 0
            for job in jobs:
                key = (job[0], job[1])
                if key not in self._pending:
                    self._pending.add(key)
                    self._ahead.append(job)
                    new += key not in previous
        self.read_ahead_requests += new
        # One worker run per new request (a request queued again already has one waiting).
        for _ in range(new):
            self.pool.start(_Job(self))
        return new

    def queued(self) -> tuple[list[int], list[int]]:
        """Photo ids waiting: (painted cells, newest first; read-ahead, nearest first)."""
        with self._lock:
            return [j[1] for j in reversed(self._queue)], [j[1] for j in self._ahead]

    def request_preview(self, photo_id: int, path: str, side: int) -> None:
        self._submit(("preview", photo_id, path, None, side))

    def set_side(self, side: int) -> None:
        """Cell size changed: drop pixmaps made for the old size."""
        if side != self.side:
            self.side = side
            self._pixmaps.clear()

    def invalidate(self, photo_id: int) -> None:
        """The photo changed on disk (rescan): forget its thumbnail."""
        self._pixmaps.pop(photo_id, None)
        self._failed.discard(photo_id)

    def clear(self) -> None:
        self._pixmaps.clear()
        self._failed.clear()
        with self._lock:
            self._queue.clear()
            self._ahead.clear()
            self._pending.clear()

    def _submit(self, job: tuple[str, int, str, str | None, int]) -> None:
        key = (job[0], job[1])
        with self._lock:
            if key in self._pending:
                # Read ahead and now painted: it goes before the rest of the read-ahead.
                promote = [j for j in self._ahead if (j[0], j[1]) == key]
                for j in promote:
                    self._ahead.remove(j)
                    self._queue.append(j)
                return
            self._pending.add(key)
            self._queue.append(job)
            while len(self._queue) > MAX_PENDING:
                dropped = self._queue.popleft()
                self._pending.discard((dropped[0], dropped[1]))
        self.pool.start(_Job(self))

    def _next_job(self) -> tuple[str, int, str, str | None, int] | None:
        """Newest painted cell first (what the user is looking at now), then the read-ahead nearest
        the viewport (called from worker threads)."""
        with self._lock:
            if self._queue:
                return self._queue.pop()
            return self._ahead.popleft() if self._ahead else None

    # -- results (UI thread, via queued signals) ---------------------------------------------------
    def _on_thumbnail(self, photo_id: int, side: int, image: QImage) -> None:
        with self._lock:
            self._pending.discard(("thumb", photo_id))
        if side != self.side:
            return
        if image.isNull():
            self._failed.add(photo_id)
        else:
            self._pixmaps[photo_id] = QPixmap.fromImage(image)
            while len(self._pixmaps) > self.capacity:
                self._pixmaps.popitem(last=False)
        self.ready.emit(photo_id)

    def _on_preview(self, photo_id: int, side: int, image: QImage) -> None:
        with self._lock:
            self._pending.discard(("preview", photo_id))
        self.previewReady.emit(photo_id, image)

    def wait(self, msecs: int = 10_000) -> bool:
        """Block until every queued load has run (tests and the benchmark)."""
        return self.pool.waitForDone(msecs)
