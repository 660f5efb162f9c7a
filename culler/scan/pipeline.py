"""The scan pipeline: discover → plan → decode (process pool) → score → write, wired together.

Each stage is cheap where it can be: unchanged files (same size and mtime_ns) are never decoded, moved
files are recognised by content hash before any decode, photos whose CLIP-style embedding is cached are
scored from the catalog, and results are committed in short transactions as they arrive, so a killed
scan keeps every finished result and the next run resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from culler.catalog import Catalog
from culler.plugin import manager as plugins
from culler.plugin.scorers import EmbeddingScorer
from culler.scan.decode import Decoded, hash_if_readable, thumb_dir
from culler.scan.decode_pool import DecodePool, decode_jobs
from culler.scan.discover import storable, walk_photos
from culler.scan.gpu_feed import gpu_device, split_for_gpu
from culler.scan.plan import ScanPlan, plan_scan
from culler.scan.scoring import ModelScoring, checked_worker_results, load_scorers
from culler.scan.unchanged import unchanged_files
from culler.scan.work import (
    ActiveScorer,
    Echo,
    Found,
    ScanOptions,
    ScanSummary,
    WorkItem,
)
from culler.scan.writer import CatalogWriteError, ScanWriter, Written

#: Decoded photos are committed in batches of this many, or this often, whichever comes first: few
#: enough transactions to be fast, and little lost when a scan is killed.
FLUSH_EVERY = 32
FLUSH_SECONDS = 2.0
#: Below this many files to decode, starting a process pool costs more than it saves.
MIN_FILES_FOR_POOL = 4


class ScanBackend(Protocol):
    """Where decoding and model scoring run when not in this machine's process pool (``--ray``).

    The plan, the writer and the summary stay here; a backend only swaps the decode pool and the
    model scoring for objects with the same interface (``decode(jobs)``; ``add``/``ready``/``close``).
    """

    def decode_pool(self, scorers: list[ActiveScorer], options: ScanOptions, echo: Echo) -> Any: ...

    def model_scoring(
        self, scorers: list[ActiveScorer], options: ScanOptions, echo: Echo
    ) -> ModelScoring: ...


def scan_folders(
    catalog: Catalog,
    roots: list[Path],
    options: ScanOptions | None = None,
    echo: Echo = print,
    backend: ScanBackend | None = None,
) -> dict[str, Any]:
    """Scan ``roots`` into ``catalog``; return the summary printed by ``culler scan --json``.

    ``backend`` runs decoding and model scoring elsewhere (a Ray cluster); None: this machine.
    """
    options = options or ScanOptions()
    started = time.perf_counter()
    roots = [Path(os.path.abspath(r)) for r in roots]
    scorers, skipped_scorers = load_scorers(catalog, options, echo)
    run_id = catalog.start_scan_run(roots)
    summary = ScanSummary(
        scorers=[s.id for s in scorers], skipped_scorers=skipped_scorers, db=str(catalog.path)
    )
    if not options.rescore:
        unchanged = unchanged_files(catalog, roots, [s.pk for s in scorers])
        if unchanged is not None:  # the everyday rescan: proved folder by folder, nothing planned
            summary.files_seen, summary.skipped = unchanged
            summary.seconds = round(time.perf_counter() - started, 3)
            catalog.finish_scan_run(
                run_id, files_seen=unchanged.files, files_scored=0, errors=0, status=summary.status
            )
            result = summary.to_json()
            plugins.call_safely("scan_finished", db=catalog, summary=result)
            return result
    for active in scorers:  # the photos each scorer has scored: the planner asks per photo
        active.done = catalog.scored_photo_ids(active.pk)
    found, unlisted, links = _discover(roots, summary, echo)
    plan = plan_scan(
        catalog.photo_states(),
        found,
        roots,
        scorers,
        rescore=options.rescore,
        unlisted=unlisted,
        content_hash=hash_if_readable,
        links=links,
        capture_owners=catalog.capture_file_owners(),
    )
    writer = ScanWriter(catalog, scorers)
    writer.apply_plan(plan)
    run = _ScanRun(catalog, scorers, writer, options, echo, backend)
    try:
        run.score(plan.items)
        if not options.cancelled:
            summary.captures_joined = writer.join_card_folders()
    except KeyboardInterrupt:
        summary.status = "interrupted"
        raise
    except CatalogWriteError:
        summary.status = "failed"
        raise
    finally:
        if options.cancelled:
            summary.status = "cancelled"
        run.close()
        _add_up(summary, plan, writer, run.from_cache, time.perf_counter() - started)
        try:
            catalog.finish_scan_run(
                run_id,
                files_seen=summary.files_seen,
                files_scored=summary.scored,
                errors=summary.errors,
                status=summary.status,
            )
        except sqlite3.Error:
            if writer.failure is None:
                raise  # a full disk is already being reported; anything else is new
    result = summary.to_json()
    # Plugins may add to the summary (burst grouping adds its counts): the caller gets their keys.
    plugins.call_safely("scan_finished", db=catalog, summary=result)
    return result


def _discover(
    roots: list[Path], summary: ScanSummary, echo: Echo
) -> tuple[list[Found], list[Path], dict[str, str]]:
    """The photo files under ``roots``, the folders that could not be listed, and the further names
    of hard-linked files (each mapped to the name it was found under)."""
    folder_errors: list[Found] = []
    links: dict[str, str] = {}
    found = list(walk_photos(roots, folder_errors=folder_errors, links=links))
    for folder in folder_errors:
        echo(f"cannot list folder {folder.path}: {folder.error}; the photos in it were not scanned")
    summary.folder_errors = [{"path": f.path, "error": f.error} for f in folder_errors]
    found, summary.bad_names = storable(found, echo)
    summary.files_seen = len(found)
    return found, [Path(f.path) for f in folder_errors], links


def _add_up(
    summary: ScanSummary, plan: ScanPlan, writer: ScanWriter, from_cache: int, seconds: float
) -> None:
    """Fill in what the plan decided and what the writer stored."""
    summary.new = plan.new
    summary.changed = plan.changed
    summary.moved = len(plan.moves)
    summary.skipped = plan.skipped
    summary.missing = len(plan.missing)
    summary.scored = len(writer.scored_photos)
    summary.errors = writer.errors
    summary.decoded = writer.decoded
    summary.scorer_errors = writer.scorer_errors
    summary.from_cache = from_cache
    summary.seconds = round(seconds, 3)
    summary.images_per_second = round(writer.decoded / seconds, 2) if seconds > 0 else 0.0


class _ScanRun:
    """Feeds the planned items through the cache, the decode pool, model scoring and the writer."""

    def __init__(
        self,
        catalog: Catalog,
        scorers: list[ActiveScorer],
        writer: ScanWriter,
        options: ScanOptions,
        echo: Echo,
        backend: ScanBackend | None = None,
    ) -> None:
        self.catalog = catalog
        self.scorers = scorers
        self.writer = writer
        self.options = options
        self.echo = echo
        self.backend = backend
        if backend is None:
            self.scoring = ModelScoring(scorers, options.batch_timeout, echo)
        else:
            self.scoring = backend.model_scoring(scorers, options, echo)
        self.buffer: list[tuple[WorkItem, Decoded]] = []
        self.last_flush = time.monotonic()
        self.from_cache = 0

    def score(self, items: list[WorkItem]) -> None:
        progress = _Progress(len(items), self.options)
        try:
            # Photos whose only missing scores come from cached embeddings need no decode at all.
            to_decode = []
            for item in items:
                if self._score_from_cache(item):
                    progress.advance(item.path)
                else:
                    to_decode.append(item)
            device = gpu_device(self.scorers) if self.backend is None else None
            if device is not None:
                on_gpu, to_decode = split_for_gpu(to_decode)
                to_decode += self._score_on_gpu(on_gpu, device, progress)
            self._decode_and_score(to_decode, progress)
        finally:
            progress.close()
            if self.writer.failure is None:
                self._flush(final=True)

    def close(self) -> None:
        self.scoring.close()

    def _decode_and_score(self, items: list[WorkItem], progress: _Progress) -> None:
        thumbs = thumb_dir(self.catalog.path)
        jobs = decode_jobs(items, self.scorers, str(thumbs) if self.options.thumbnails else None)
        workers = self.options.workers
        workers = (os.cpu_count() or 1) if workers is None else workers
        if len(items) < MIN_FILES_FOR_POOL:
            workers = 0
        if self.backend is not None:
            pool = self.backend.decode_pool(self.scorers, self.options, self.echo)
        else:
            pool = DecodePool(
                self.scorers,
                workers,
                self.options.file_timeout,
                lambda: self.options.cancelled,
                self.echo,
            )
        by_path = {item.path: item for item in items}
        # closing(): a cancel leaves the loop early, and the pool must stop its workers right then.
        with contextlib.closing(pool.decode(jobs)) as results:
            for decoded in results:
                decoded.worker_results = checked_worker_results(decoded.worker_results)
                self.buffer.append((by_path[decoded.path], decoded))
                if (
                    len(self.buffer) >= FLUSH_EVERY
                    or time.monotonic() - self.last_flush > FLUSH_SECONDS
                ):
                    self._flush()
                progress.advance(decoded.path)
                if self.options.cancelled:
                    break

    def _score_on_gpu(
        self, items: list[WorkItem], device: str, progress: _Progress
    ) -> list[WorkItem]:
        """Feed ``items`` to the model scorers from JPEGs decoded on ``device`` in batches; return
        those it could not decode, for the decode pool (:mod:`culler.scan.gpu_feed`)."""
        if not items:
            return []
        from culler.imaging.gpu_decode import BatchDecoder, to_pil

        side = max(s.scorer.input_size for item in items for s in item.needs)
        decoder = BatchDecoder(device, side)
        waiting = {item.path: item for item in items}
        left: list[WorkItem] = []
        try:
            for batch in decoder.batches(list(waiting), FLUSH_EVERY):
                for path, image in zip(batch.paths, batch.images):
                    item = waiting.pop(path)
                    if image is None:
                        left.append(item)
                        continue
                    self.scoring.add(item.photo_id, to_pil(image), item.needs)
                    self.writer.decoded += 1
                    progress.advance(path)
                self._flush()
                if self.options.cancelled:
                    return []
        except CatalogWriteError:
            raise
        except Exception as exc:  # the GPU decoder itself failed (driver, memory): not the photos
            self.echo(
                f"decoding on {device} failed ({type(exc).__name__}: {exc}); the remaining "
                f"{len(waiting)} photos are decoded on the CPU"
            )
        return left + list(waiting.values())

    def _flush(self, final: bool = False) -> None:
        """Commit the decoded photos, then run the model batches that are full (all, when final)."""
        if self.writer.failure is not None:
            raise self.writer.failure
        buffered, self.buffer = self.buffer, []
        self.last_flush = time.monotonic()
        if buffered:
            self._notify(self.writer.write_decoded(buffered))
            for item, decoded in buffered:
                if decoded.image is not None:
                    self.scoring.add(item.photo_id, decoded.image, item.needs)
        for batch in self.scoring.ready(final):
            self._notify(self.writer.write_batch(batch))

    def _score_from_cache(self, item: WorkItem) -> bool:
        """Score ``item`` from cached embeddings when that covers every scorer it needs."""
        if item.photo_id is None or item.change != "unscored" or not item.needs:
            return False
        if not all(isinstance(s.scorer, EmbeddingScorer) for s in item.needs):
            return False
        vectors: dict[str, np.ndarray] = {}
        for key in {s.scorer.embedding_key for s in item.needs}:
            cached = self.catalog.embeddings(key, [item.photo_id])
            if item.photo_id not in cached:
                return False
            vectors[key] = cached[item.photo_id][None, :]
        batch = self.scoring.score_embeddings(item.photo_id, item.needs, vectors)
        self._notify(self.writer.write_batch(batch))
        self.from_cache += 1
        return True

    def _notify(self, written: Written) -> None:
        for scorer_id, ids in written.items():
            plugins.call_safely(
                "photos_scored", db=self.catalog, scorer_id=scorer_id, photo_ids=ids
            )


class _Progress:
    """A progress bar on a terminal (``--progress``) and the GUI's ``on_progress`` callback."""

    def __init__(self, total: int, options: ScanOptions) -> None:
        self.total = total
        self.done = 0
        self.callback = options.on_progress
        self.bar = None
        if options.progress and total:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            self.bar = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("scanning", total=total)

    def advance(self, path: str) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done)
        if self.callback is not None:
            self.callback(self.done, self.total, path)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
