"""Overlay details computed for the photo on screen, off the UI thread.

A scorer may compute some of its details when a viewer asks instead of storing them for every photo
(``Scorer.details_on_demand_keys``: the technical scorer's per-tile sharpness map, about 140 bytes a
photo of the catalog, issue #32). When the overlay is shown, the window asks :class:`OverlayDetails`
for them: a photo whose stored details lack them gets them computed from its file by a worker thread
(:func:`culler.scan.decode.details_on_demand`: the scan's decode, so the scan's grid), and the
overlay is drawn again when they arrive (``ready``). Details a scan of an earlier version stored are
used as they are. A missing or unreadable file gives no details: the overlay simply has no grid, as
for a photo whose scorer measured none. The last few photos' details are kept, so stepping back and
forth through a burst with the overlay on computes each frame's once.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from culler.gui.records import PhotoRecord

log = logging.getLogger(__name__)

#: Photos whose computed details are kept (a burst stepped through with the overlay on).
KEEP = 16


def wanted_scorers(scores: list[dict[str, Any]]) -> list[str]:
    """The scorers of a photo's scores (``Catalog.scores_for``, current row first) that compute
    details on demand of which their stored ``extra`` has none (a scan of an earlier version
    stored them, some of them in still older versions: nothing to compute)."""
    try:
        from culler.plugin.scorers import get_scorer_classes

        classes = get_scorer_classes()
    except Exception as exc:  # plugins that cannot load: nothing to ask
        log.warning("scorer plugins unavailable for the overlay: %s", exc)
        return []
    wanted, seen = [], set()
    for row in scores:
        sid = row.get("scorer_id")
        if sid in seen:
            continue
        seen.add(sid)
        keys = getattr(classes.get(sid), "details_on_demand_keys", ())
        extra = row.get("extra") if isinstance(row.get("extra"), dict) else {}
        if keys and not any(key in extra for key in keys):
            wanted.append(sid)
    return wanted


class _Signals(QObject):
    computed = Signal(object, object)  # key, {scorer id: details}


class _Compute(QRunnable):
    def __init__(self, signals: _Signals, key: tuple, path: str, scorer_ids: list[str]) -> None:
        super().__init__()
        self.signals, self.key, self.path, self.scorer_ids = signals, key, path, scorer_ids

    def run(self) -> None:
        from culler.scan.decode import details_on_demand

        try:
            details = details_on_demand(self.path, self.scorer_ids)
        except Exception as exc:  # a file gone or broken since the scan: no grid, as before
            log.info("no overlay details for %s: %s", self.path, exc)
            details = {}
        self.signals.computed.emit(self.key, details)


class OverlayDetails(QObject):
    """The on-demand details of the photos the overlay shows; ``ready(photo_id)`` when computed."""

    ready = Signal(int)

    def __init__(self, keep: int = KEEP) -> None:
        super().__init__()
        self.keep = keep
        self._details: OrderedDict[tuple, dict[str, dict[str, Any]]] = OrderedDict()
        self._pending: set[tuple] = set()
        self._lock = threading.Lock()
        self._signals = _Signals()
        self._signals.computed.connect(self._on_computed)
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(1)  # one photo at a time: the scan and decodes need the rest

    def details_for(
        self, rec: PhotoRecord, scores: list[dict[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        """``{scorer id: details}`` for ``rec`` when computed; else {} and, unless its scores
        already hold them or its file is not there, the computation is started."""
        if rec.status != "ok":
            return {}
        wanted = wanted_scorers(scores)
        if not wanted:
            return {}
        key = (rec.id, rec.path, rec.content_hash, tuple(wanted))
        with self._lock:
            if key in self._details:
                self._details.move_to_end(key)
                return self._details[key]
            if key in self._pending:
                return {}
            self._pending.add(key)
        self.pool.start(_Compute(self._signals, key, rec.path, wanted))
        return {}

    def pending(self, photo_id: int) -> bool:
        with self._lock:
            return any(key[0] == photo_id for key in self._pending)

    def clear(self) -> None:
        with self._lock:
            self._details.clear()

    def wait(self, msecs: int = 30_000) -> bool:
        return self.pool.waitForDone(msecs)

    def _on_computed(self, key: tuple, details: dict[str, dict[str, Any]]) -> None:
        with self._lock:
            self._pending.discard(key)
            self._details[key] = details
            while len(self._details) > self.keep:
                self._details.popitem(last=False)
        self.ready.emit(key[0])
