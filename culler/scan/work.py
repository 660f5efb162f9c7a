"""The scan's work types: what the stages hand each other, and the summary they add up to.

Stage order is import order: work → discover → captures → plan → unchanged → decode → decode_pool → scoring → writer →
pipeline. Each module imports only the ones before it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # `culler list` imports this module for a default; plugins load with the scan
    from culler.plugin.scorers import Scorer

Echo = Callable[[str], None]

#: Default for ``culler scan --batch-timeout``: long enough for a big model batch on a slow CPU or a
#: 150 MP file, short enough that a hung scorer or decoder does not stall a night's scan.
DEFAULT_BATCH_TIMEOUT = 300.0
#: The scan's thumbnail cache, a folder next to the catalog (and never scanned as photos).
THUMB_DIR_NAME = "culler-thumbs"


@dataclass
class ScanOptions:
    scorer_ids: list[str] | None = None
    rescore: bool = False
    workers: int | None = None
    device: str = "auto"
    progress: bool = False
    thumbnails: bool = True
    #: Seconds a model scorer may spend on one batch before it is abandoned for this scan.
    batch_timeout: float | None = DEFAULT_BATCH_TIMEOUT
    #: Seconds a decode worker may spend on one file (decode + in-worker scorers) before it is killed.
    file_timeout: float | None = DEFAULT_BATCH_TIMEOUT
    #: Set from another thread (the GUI) to stop after the results in flight.
    cancel: threading.Event | None = None
    #: Called as ``on_progress(done, total, path)`` after each file is handled.
    on_progress: Callable[[int, int, str], None] | None = None
    #: {scorer id: {key: value}} laid over the active scorer row's config (``--config``); the scorer
    #: row that results is made active, so later scans keep the setting.
    scorer_config: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()


@dataclass
class ActiveScorer:
    """A loaded scorer, its catalog row, and the photos that row had scores for when the scan began."""

    scorer: Scorer
    pk: int
    done: set[int] = field(default_factory=set)

    @property
    def id(self) -> str:
        return self.scorer.id


@dataclass
class Found:
    """A candidate photo: its absolute path and size/mtime, or why it could not even be stat'ed."""

    path: str
    size: int | None = None
    mtime_ns: int | None = None
    error: str | None = None
    #: (device, inode) of a file with more than one name (a hard link); None otherwise.
    inode: tuple[int, int] | None = None
    #: The capture's other files (the RAW beside this JPEG), found by :mod:`culler.scan.captures`.
    companions: tuple[Found, ...] = ()


@dataclass
class WorkItem:
    """One file the scan will score, and the scorers it still needs."""

    path: str
    root: str  # the scanned folder it was found under (photos.root)
    size: int | None
    mtime_ns: int | None
    photo_id: int | None  # None until the file has a catalog row
    needs: list[ActiveScorer]
    change: str  # "new", "changed", "retry", "unscored"
    #: The capture's other files, recorded with the photo (``photo_files``).
    companions: tuple[Found, ...] = ()


@dataclass
class ScanSummary:
    """What a scan did; :meth:`to_json` is what ``culler scan --json`` prints."""

    files_seen: int = 0
    new: int = 0
    changed: int = 0
    moved: int = 0
    skipped: int = 0
    missing: int = 0
    scored: int = 0
    errors: int = 0
    decoded: int = 0
    folder_errors: list[dict[str, str]] = field(default_factory=list)
    bad_names: int = 0
    #: Photos scored from cached embeddings, without a decode.
    from_cache: int = 0
    #: RAW+JPEG captures a camera wrote to its two cards, joined into one photo by this scan.
    captures_joined: int = 0
    seconds: float = 0.0
    images_per_second: float = 0.0
    scorers: list[str] = field(default_factory=list)
    skipped_scorers: list[dict[str, str]] = field(default_factory=list)
    scorer_errors: dict[str, int] = field(default_factory=dict)
    status: str = "finished"
    db: str = ""

    def to_json(self) -> dict[str, Any]:
        """The summary as a dict, keys in the order ``--json`` has always printed them.

        ``from_cache`` appears only when some photo was scored from the cache, as it always has, and
        ``captures_joined`` only when a scan joined a capture across card folders, so scripts
        reading the output see the same keys.
        """
        data = dict(vars(self))
        for key in ("from_cache", "captures_joined"):
            if not data[key]:
                del data[key]
        return data
