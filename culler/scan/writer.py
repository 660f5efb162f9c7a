"""Writing scan results to the catalog: the plan, photo rows, scores, errors and embeddings.

Each call is one short transaction through :class:`culler.catalog.scanning.ScanStore`, so the GUI and
other processes can use the catalog during a scan, and a killed scan keeps everything committed. A
catalog that stops accepting writes (disk full, read-only) ends the scan with a message that says what
to do; nothing is written after that.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from culler.catalog import Catalog
from culler.scan.captures import file_kind, pair_card_folders
from culler.scan.decode import Decoded
from culler.scan.plan import ScanPlan
from culler.scan.scoring import BatchResults, Checked
from culler.scan.work import ActiveScorer, Found, WorkItem

#: {scorer id: photo ids} whose scores a call stored, for the ``photos_scored`` hook.
Written = dict[str, list[int]]


class CatalogWriteError(RuntimeError):
    """The catalog cannot be written (disk full, read-only, I/O error): the scan stops cleanly.

    Everything committed before stays; the batch being written is rolled back, so the next scan
    redoes exactly the files whose results were not committed.
    """


class ScanWriter:
    """Stores what the scan stages produce, and counts it for the summary."""

    def __init__(self, catalog: Catalog, scorers: list[ActiveScorer]) -> None:
        self.catalog = catalog
        self._by_id = {s.id: s for s in scorers}
        self.decoded = 0
        self.errors = 0
        self.scored_photos: set[int] = set()
        #: Photos decoded this scan: the ones whose capture time may pair them across card folders.
        self.decoded_ids: set[int] = set()
        self.scorer_errors: dict[str, int] = {}
        #: Set when the catalog stopped accepting writes; nothing more is written this scan.
        self.failure: CatalogWriteError | None = None

    def apply_plan(self, plan: ScanPlan) -> None:
        """Forget the content of changed files, follow moves, fold alias rows into their files' rows,
        mark the vanished missing, and give files that could not be stat'ed their error rows."""
        with self._transaction():
            self.catalog.forget_content(plan.forget)
            for move in plan.moves:
                self.catalog.record_move(move.photo_id, move.path, move.root, move.mtime_ns)
            for fold in plan.folds:
                self.catalog.fold_alias(fold.alias_id, fold.photo_id, fold.why)
            for photo_id, files in plan.capture_files.items():
                self.catalog.set_capture_files(photo_id, capture_rows(files))
            self.catalog.mark_missing(plan.missing)
            for found, root in plan.unreadable:
                self.catalog.upsert_photo(
                    found.path, root, found.size, found.mtime_ns, status="error", error=found.error
                )
                self.errors += 1

    def write_decoded(self, rows: list[tuple[WorkItem, Decoded]]) -> Written:
        """Photo rows for decoded files (with their in-worker scores); sets each ``item.photo_id``."""
        written: Written = {}
        with self._transaction():
            for item, decoded in rows:
                if decoded.error:
                    photo_id = self.catalog.upsert_photo(
                        item.path,
                        item.root,
                        item.size,
                        item.mtime_ns,
                        status="error",
                        error=decoded.error,
                    )
                    self.errors += 1
                    if item.companions:
                        self.catalog.set_capture_files(photo_id, capture_rows(item.companions))
                    continue
                # The file may have changed between discovery and reading: keep the state of the
                # bytes scored.
                size = decoded.size if decoded.size is not None else item.size
                mtime_ns = decoded.mtime_ns if decoded.mtime_ns is not None else item.mtime_ns
                item.photo_id = self.catalog.upsert_photo(
                    item.path, item.root, size, mtime_ns, **photo_columns(decoded)
                )
                self.decoded += 1
                self.decoded_ids.add(item.photo_id)
                if item.companions:
                    self.catalog.set_capture_files(item.photo_id, capture_rows(item.companions))
                for scorer_id, result in decoded.worker_results.items():
                    self._store(item.photo_id, self._by_id[scorer_id], result, written)
        return written

    def join_card_folders(self) -> int:
        """Fold the RAW row of each capture the camera wrote to its two cards into its JPEG's row
        (the newer hand rating kept), among the photos decoded this scan; return how many."""
        if not self.decoded_ids:
            return 0
        rows = self.catalog.capture_time_matches(self.decoded_ids)
        pairs = pair_card_folders(rows)
        by_id = {row["id"]: row for row in rows}
        with self._transaction():
            for raw_id, photo_id in pairs:
                raw = by_id[raw_id]
                files = self.catalog.capture_files([photo_id]).get(photo_id, [])
                self.catalog.fold_alias(
                    raw_id, photo_id, "the same capture, on the camera's other card"
                )
                kept = [(f["path"], f["kind"], f["size"], f.get("mtime_ns")) for f in files]
                self.catalog.set_capture_files(
                    photo_id, [*kept, (raw["path"], "raw", raw["size"], raw["mtime_ns"])]
                )
        return len(pairs)

    def write_batch(self, batch: BatchResults) -> Written:
        """A model batch's embeddings and scores (or errors)."""
        written: Written = {}
        with self._transaction():
            if batch.vectors is not None:
                for photo_id, vector in zip(batch.photo_ids, batch.vectors):
                    self.catalog.store_embedding(photo_id, batch.embedding_key, vector)
            for scorer, results in batch.scores:
                for photo_id, result in zip(batch.photo_ids, results):
                    self._store(photo_id, scorer, result, written)
        return written

    def _store(self, photo_id: int, s: ActiveScorer, result: Checked, written: Written) -> None:
        if isinstance(result, str):
            self.catalog.store_score_error(photo_id, s.pk, result)
            self.scorer_errors[s.id] = self.scorer_errors.get(s.id, 0) + 1
            return
        self.catalog.store_score(photo_id, s.pk, result, embedding_model=s.id)
        self.scored_photos.add(photo_id)
        written.setdefault(s.id, []).append(photo_id)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One catalog transaction; a catalog that cannot be written becomes a CatalogWriteError."""
        if self.failure is not None:
            raise self.failure
        try:
            with self.catalog.transaction():
                yield
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                raise  # another writer held the catalog past the busy timeout: not a disk problem
            self.failure = _write_error(self.catalog, exc)
            raise self.failure from exc
        except sqlite3.DatabaseError as exc:  # e.g. SQLITE_IOERR, SQLITE_CORRUPT
            self.failure = _write_error(self.catalog, exc)
            raise self.failure from exc


def capture_rows(files: Iterable[Found]) -> list[tuple[str, str, int | None, int | None]]:
    """``photo_files`` rows for a capture's further files."""
    return [(f.path, file_kind(f.path), f.size, f.mtime_ns) for f in files]


def photo_columns(decoded: Decoded) -> dict[str, Any]:
    """The photos columns a successful decode fills."""
    info = decoded.info
    return {
        "status": "ok",
        "error": None,
        "content_hash": decoded.content_hash,
        "signature": decoded.signature,
        "width": info.width,
        "height": info.height,
        "taken_at": info.taken_at,
        "subsec": info.subsec,
        "camera": info.camera,
        "lens": info.lens,
        "orientation": info.orientation,
        "exposure_time": info.exposure_time,
        "f_number": info.f_number,
        "iso": info.iso,
        "focal_length": info.focal_length,
    }


def _write_error(catalog: Catalog, exc: sqlite3.Error) -> CatalogWriteError:
    text = str(exc)
    if "full" in text:
        hint = f"free some space on the disk holding {catalog.path.parent} and run the scan again"
    elif "readonly" in text or "read-only" in text:
        hint = f"make {catalog.path} writable, or pass --db to a catalog you can write"
    else:
        hint = "check the disk holding the catalog and run the scan again"
    return CatalogWriteError(
        f"cannot write the catalog {catalog.path} ({text}): {hint}; "
        "results committed so far are kept and the next scan resumes from there"
    )
