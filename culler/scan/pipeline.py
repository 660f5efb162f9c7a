"""The scan pipeline: discover → skip unchanged → decode (process pool) → batch → score → write.

Each stage is cheap where it can be: unchanged files (same size and mtime_ns) are never decoded, moved
files are recognised by content hash before any decode, photos whose CLIP-style embedding is cached are
scored from the catalog, and results are committed in short transactions as they arrive, so a killed
scan keeps every finished result and the next run resumes where it stopped.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import multiprocessing
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from culler import plugins
from culler.catalog import Catalog, now
from culler.scan.decode import Decoded, DecodeJob, decode_one, hash_file, init_worker
from culler.scan.discover import Found, under_roots, walk_photos
from culler.scan.writer import CatalogWriteError, ScoreWriter
from culler.scorers import EmbeddingScorer, Scorer, get_scorer_classes
from culler.weights import WeightsMissing

Echo = Callable[[str], None]

#: Default for ``culler scan --batch-timeout``: long enough for a big model batch on a slow CPU or a
#: 150 MP file, short enough that a hung scorer or decoder does not stall a night's scan.
DEFAULT_BATCH_TIMEOUT = 300.0


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


@dataclass
class ActiveScorer:
    scorer: Scorer
    pk: int
    done: set[int] = field(default_factory=set)

    @property
    def id(self) -> str:
        return self.scorer.id


@dataclass
class WorkItem:
    path: str
    size: int
    mtime_ns: int
    photo_id: int | None
    needs: list[ActiveScorer]
    change: str  # "new", "changed", "retry", "unscored"


def prepare_scorers(
    catalog: Catalog, options: ScanOptions, echo: Echo
) -> tuple[list[ActiveScorer], list[dict]]:
    """Instantiate and load the selected scorers; learned ones without weights are reported and skipped."""
    classes = get_scorer_classes()
    if options.scorer_ids:
        unknown = [s for s in options.scorer_ids if s not in classes]
        if unknown:
            raise KeyError(
                f"unknown scorer {', '.join(unknown)}; installed scorers: {', '.join(sorted(classes)) or 'none'}"
            )
        selected = [classes[s] for s in options.scorer_ids]
    else:
        selected = [cls for cls in classes.values() if cls.default_enabled]
    unknown = sorted(set(options.scorer_config) - set(classes))
    if unknown:
        raise KeyError(
            f"--config names unknown scorer {', '.join(unknown)}; installed scorers: "
            f"{', '.join(sorted(classes)) or 'none'}"
        )
    device = None
    active, skipped = [], []
    for cls in selected:
        row = catalog.active_scorer(cls.id)
        overrides = options.scorer_config.get(cls.id) or {}
        config = {**(row["config"] if row else {}), **overrides}
        scorer = cls(config)
        try:
            if device is None and not cls.runs_in_worker and _weights_absent(cls, config):
                # Let the scorer say what is missing before torch is imported for the device:
                # a rescan with no learned weights installed stays a sub-second job.
                scorer.load("cpu")
            if device is None and not cls.runs_in_worker:
                from culler.devices import pick_device

                device = pick_device(options.device)
            scorer.load(device or "cpu")
        except WeightsMissing as exc:
            echo(str(exc))
            skipped.append({"scorer": cls.id, "reason": str(exc)})
            continue
        except Exception as exc:
            message = f"{cls.id}: failed to load ({type(exc).__name__}: {exc}); skipped"
            echo(message)
            skipped.append({"scorer": cls.id, "reason": message})
            continue
        pk = catalog.scorer_pk(
            cls.id, scorer.version_key, scorer.weights_sha256, config, config.get("parent")
        )
        if overrides:
            catalog.configure_scorer(pk, config)
        active.append(ActiveScorer(scorer, pk, catalog.scored_photo_ids(pk)))
    return active, skipped


def _weights_absent(cls: type[Scorer], config: dict[str, Any]) -> bool:
    """Whether a weight file ``cls`` needs is not installed (stats and manifests only, no torch)."""
    from culler.weight_status import file_status, specs_of

    try:
        return any(file_status(cls, s)["status"] == "missing" for s in specs_of(cls, config))
    except Exception:  # a plugin's weight_specs failing is reported by its load() below
        return False


def scan_folders(
    catalog: Catalog, roots: list[Path], options: ScanOptions | None = None, echo: Echo = print
) -> dict[str, Any]:
    """Scan ``roots`` into ``catalog``; return the summary printed by ``culler scan --json``."""
    options = options or ScanOptions()
    started = time.perf_counter()
    roots = [Path(os.path.abspath(r)) for r in roots]
    scorers, skipped_scorers = prepare_scorers(catalog, options, echo)
    run_id = catalog.execute(
        "INSERT INTO scan_runs (root, started) VALUES (?, ?)",
        [os.pathsep.join(map(str, roots)), now()],
    ).lastrowid
    catalog.conn.commit()

    summary: dict[str, Any] = dict.fromkeys(
        [
            "files_seen",
            "new",
            "changed",
            "moved",
            "skipped",
            "missing",
            "scored",
            "errors",
            "decoded",
        ],
        0,
    )
    writer = ScoreWriter(catalog, scorers, summary, options.batch_timeout, echo)
    folder_errors: list[Found] = []
    found = list(walk_photos(roots, folder_errors=folder_errors))
    for folder in folder_errors:
        echo(f"cannot list folder {folder.path}: {folder.error}; the photos in it were not scanned")
    summary["folder_errors"] = [{"path": f.path, "error": f.error} for f in folder_errors]
    found = _storable(found, summary, echo)
    summary["files_seen"] = len(found)
    items, stat_errors = _plan(
        catalog, roots, found, scorers, options, summary, [Path(f.path) for f in folder_errors]
    )
    for f in stat_errors:
        writer.record_error(f.path, f.size, f.mtime_ns, f.error)

    status = "finished"
    try:
        _run(catalog, roots, items, scorers, writer, options)
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    except CatalogWriteError:
        status = "failed"
        raise
    finally:
        if options.cancel is not None and options.cancel.is_set():
            status = "cancelled"
        writer.close()
        seconds = time.perf_counter() - started
        summary.update(
            seconds=round(seconds, 3),
            images_per_second=round(summary["decoded"] / seconds, 2) if seconds > 0 else 0.0,
            scorers=[s.id for s in scorers],
            skipped_scorers=skipped_scorers,
            scorer_errors=writer.scorer_errors,
            status=status,
            db=str(catalog.path),
        )
        try:
            with catalog.transaction() as conn:
                conn.execute(
                    "UPDATE scan_runs SET finished = ?, files_seen = ?, files_scored = ?, errors = ?,"
                    " status = ? WHERE id = ?",
                    [
                        now(),
                        summary["files_seen"],
                        summary["scored"],
                        summary["errors"],
                        status,
                        run_id,
                    ],
                )
        except sqlite3.Error:
            if writer.failure is None:
                raise  # a full disk is already being reported; anything else is new
    plugins.call_safely("scan_finished", db=catalog, summary=summary)
    return summary


def _storable(found: list[Found], summary: dict[str, Any], echo: Echo) -> list[Found]:
    """Drop files whose names SQLite cannot store (bytes that are not UTF-8), saying which."""
    kept, bad = [], 0
    for f in found:
        try:
            f.path.encode("utf-8")
        except UnicodeEncodeError:
            bad += 1
            shown = f.path.encode("utf-8", "backslashreplace").decode("ascii", "replace")
            echo(f"skipped {shown}: its name is not valid UTF-8; rename it to scan it")
            continue
        kept.append(f)
    summary["bad_names"] = bad
    return kept


def _plan(
    catalog: Catalog,
    roots: list[Path],
    found: list[Found],
    scorers: list[ActiveScorer],
    options: ScanOptions,
    summary: dict[str, Any],
    unlisted: list[Path] = (),
) -> tuple[list[WorkItem], list[Found]]:
    """Compare what is on disk with the catalog: what to decode, what moved, what went missing."""
    known = {
        row[0]: row[1:]
        for row in catalog.execute(
            "SELECT path, id, size, mtime_ns, status, content_hash FROM photos"
        )
    }
    seen_paths = {f.path for f in found}
    items, stat_errors, new = [], [], []
    for f in found:
        if f.error:
            stat_errors.append(f)
            continue
        row = known.get(f.path)
        if row is None:
            new.append(f)
            continue
        photo_id, size, mtime_ns, status, _ = row
        if status == "ok" and size == f.size and mtime_ns == f.mtime_ns:
            needs = scorers if options.rescore else [s for s in scorers if photo_id not in s.done]
            if needs:
                items.append(WorkItem(f.path, f.size, f.mtime_ns, photo_id, needs, "unscored"))
            else:
                summary["skipped"] += 1
        else:
            change = (
                "retry"
                if status == "error" and size == f.size and mtime_ns == f.mtime_ns
                else "changed"
            )
            if change == "changed" and status == "ok":
                _forget_content(catalog, photo_id)
            items.append(WorkItem(f.path, f.size, f.mtime_ns, photo_id, list(scorers), change))

    # Rows under the scanned roots that are no longer on disk are kept, marked missing. Photos under
    # a folder that could not be listed are not known to be gone: they are left as they are.
    gone = [
        (path, row[0], row[1], row[4])
        for path, row in known.items()
        if path not in seen_paths
        and row[3] != "missing"
        and under_roots(path, roots)
        and not (unlisted and under_roots(path, unlisted))
    ]
    # Moves: a new file with the size and content hash of a vanished one takes over its row.
    by_size: dict[int, list[tuple[str, int, str | None]]] = {}
    for path, photo_id, size, content_hash in gone:
        by_size.setdefault(size, []).append((path, photo_id, content_hash))
    moved_ids: set[int] = set()
    with catalog.transaction() as conn:
        for f in new:
            candidates = by_size.get(f.size, [])
            match = None
            if candidates:
                content_hash = hash_file(f.path) if os.access(f.path, os.R_OK) else None
                match = next(
                    (c for c in candidates if c[2] == content_hash and c[1] not in moved_ids), None
                )
            if match is not None:
                moved_ids.add(match[1])
                conn.execute(
                    "UPDATE photos SET path = ?, root = ?, mtime_ns = ?, status = 'ok', error = NULL,"
                    " last_seen = ? WHERE id = ?",
                    [f.path, _root_of(f.path, roots), f.mtime_ns, now(), match[1]],
                )
                summary["moved"] += 1
                needs = [s for s in scorers if match[1] not in s.done or options.rescore]
                if needs:
                    items.append(WorkItem(f.path, f.size, f.mtime_ns, match[1], needs, "unscored"))
            else:
                summary["new"] += 1
                items.append(WorkItem(f.path, f.size, f.mtime_ns, None, list(scorers), "new"))
        missing = [photo_id for _, photo_id, _, _ in gone if photo_id not in moved_ids]
        for photo_id in missing:
            conn.execute("UPDATE photos SET status = 'missing' WHERE id = ?", [photo_id])
        summary["missing"] = len(missing)
    summary["changed"] = sum(1 for i in items if i.change == "changed")
    return items, stat_errors


def _forget_content(catalog: Catalog, photo_id: int) -> None:
    """The file's bytes changed: its old scores, tags and embedding describe another image."""
    with catalog.transaction() as conn:
        for table in ("scores", "tags", "embeddings", "score_errors"):
            conn.execute(f"DELETE FROM {table} WHERE photo_id = ?", [photo_id])


def _root_of(path: str, roots: list[Path]) -> str:
    for root in roots:
        if under_roots(path, [root]):
            return str(root)
    return str(roots[0]) if roots else ""


def _run(
    catalog: Catalog,
    roots: list[Path],
    items: list[WorkItem],
    scorers: list[ActiveScorer],
    writer: ScoreWriter,
    options: ScanOptions,
) -> None:
    total = len(items)
    done = 0
    progress = _Progress(total, options)

    def tick(path: str) -> None:
        nonlocal done
        done += 1
        progress.advance(path, done)

    # Photos whose only missing scores come from cached embeddings need no decode at all.
    to_decode: list[WorkItem] = []
    for item in items:
        if (
            item.photo_id is not None
            and item.change == "unscored"
            and writer.try_from_embeddings(item)
        ):
            tick(item.path)
        else:
            to_decode.append(item)

    worker_ids = tuple(s.id for s in scorers if s.scorer.runs_in_worker)
    main_side = max(
        (s.scorer.input_size for s in scorers if not s.scorer.runs_in_worker), default=0
    )
    decode_side = max([s.scorer.input_size for s in scorers] + [384])
    thumb_dir = str(catalog.path.parent / "culler-thumbs") if options.thumbnails else None
    by_path = {item.path: item for item in to_decode}

    def job(item: WorkItem) -> DecodeJob:
        wanted = {s.id for s in item.needs}
        return DecodeJob(
            item.path,
            decode_side,
            main_side if any(not s.scorer.runs_in_worker for s in item.needs) else 0,
            tuple(w for w in worker_ids if w in wanted),
            thumb_dir,
        )

    specs = [(s.id, s.scorer.config) for s in scorers if s.scorer.runs_in_worker]
    workers = options.workers if options.workers is not None else (os.cpu_count() or 1)
    if len(to_decode) < 4:
        workers = 0  # a pool costs more than it saves for a handful of files
    jobs = {item.path: job(item) for item in to_decode}
    announced: set[str] = set()
    try:
        for decoded in _decode_all(list(jobs.values()), specs, workers, options, writer.disabled):
            item = by_path[decoded.path]
            for scorer_id in jobs[decoded.path].worker_scorers:
                if scorer_id in writer.disabled and scorer_id not in announced:
                    announced.add(scorer_id)
                    writer.echo(f"{scorer_id}: {writer.disabled[scorer_id]}")
                if decoded.error is None and scorer_id not in decoded.worker_results:
                    # Left out of the job because it hung earlier in this scan.
                    decoded.worker_results[scorer_id] = (
                        f"not run: {writer.disabled.get(scorer_id, 'no result came back')}"
                    )
            writer.add_decoded(item, decoded, _root_of(item.path, roots))
            tick(item.path)
            if options.cancel is not None and options.cancel.is_set():
                break
    finally:
        progress.close()
        if writer.failure is None:
            writer.flush(final=True)


def _decode_all(
    jobs: list[DecodeJob],
    specs,
    workers: int,
    options: ScanOptions,
    disabled: dict[str, str] | None = None,
) -> Iterator[Decoded]:
    """Yield :class:`Decoded` results as they complete, surviving decoders that crash or hang.

    A worker process that dies (a decoder segfault) or makes no progress for ``options.file_timeout``
    seconds (a hung decoder or in-worker scorer) is killed; the jobs it may have held are retried one
    at a time, so the one file at fault gets an error row and every other file is scanned normally.
    ``disabled`` maps in-worker scorers that hung to the reason; they are left out of later jobs.
    """
    if not jobs:
        return
    disabled = disabled if disabled is not None else {}
    if workers <= 0:
        init_worker(specs)
        for j in jobs:
            if options.cancel is not None and options.cancel.is_set():
                return
            yield decode_one(_without(j, disabled))
        return
    env = {k: v for k, v in os.environ.items() if k.startswith("CULLER_")}
    context = multiprocessing.get_context("spawn")  # fork after torch/Qt threads can deadlock
    timeout = options.file_timeout or None

    def new_pool(n: int = workers) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            n, mp_context=context, initializer=init_worker, initargs=(specs, env)
        )

    pool = new_pool()
    pending = list(reversed(jobs))
    in_flight: dict[cf.Future, DecodeJob] = {}
    limit = workers * 4
    last_progress = time.monotonic()
    try:
        while pending or in_flight:
            cancelled = options.cancel is not None and options.cancel.is_set()
            while pending and len(in_flight) < limit and not cancelled:
                j = _without(pending.pop(), disabled)
                in_flight[pool.submit(decode_one, j)] = j
            if not in_flight:
                return
            # Poll (rather than block) so a cancel or a hang is noticed within a second.
            finished, _ = cf.wait(in_flight, timeout=1.0, return_when=cf.FIRST_COMPLETED)
            suspects: list[DecodeJob] = []
            if finished:
                last_progress = time.monotonic()
            elif timeout and time.monotonic() - last_progress > timeout:
                # Nothing finished for a whole timeout: the jobs the workers hold are stuck.
                suspects = [j for f, j in in_flight.items() if f.running()]
                for f, j in list(in_flight.items()):
                    if not f.running():
                        pending.append(j)
                in_flight.clear()
            for future in finished:
                j = in_flight.pop(future)
                try:
                    yield future.result()
                except cf.process.BrokenProcessPool:
                    suspects.append(j)
            if suspects:
                # A decoder crashed or hung. Retry what the pool held one at a time in a fresh pool so
                # the file at fault is found and recorded, and the rest go on.
                suspects += list(in_flight.values())
                in_flight.clear()
                _kill(pool)
                for j in suspects:
                    yield _isolated(j, new_pool, timeout, disabled)
                pool = new_pool()
                last_progress = time.monotonic()
    finally:
        if in_flight:
            _kill(pool)  # cancelled, or the consumer stopped early: do not wait for running files
        else:
            pool.shutdown(wait=False, cancel_futures=True)


def _without(job: DecodeJob, disabled: dict[str, str]) -> DecodeJob:
    if not any(s in disabled for s in job.worker_scorers):
        return job
    kept = tuple(s for s in job.worker_scorers if s not in disabled)
    return dataclasses.replace(job, worker_scorers=kept)


def _alone(job: DecodeJob, new_pool, timeout: float | None) -> Decoded | None:
    """``job`` in a one-process pool of its own; None when it crashed or hung."""
    pool = new_pool(1)
    try:
        return pool.submit(decode_one, job).result(timeout=timeout)
    except (cf.process.BrokenProcessPool, cf.TimeoutError):
        return None
    finally:
        _kill(pool)


def _kill(pool: cf.ProcessPoolExecutor) -> None:
    """Stop a pool now, even if a worker is stuck in C code (shutdown alone would wait for it)."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            process.kill()
        except (OSError, AttributeError):
            pass
    pool.shutdown(wait=False, cancel_futures=True)


def _isolated(job: DecodeJob, new_pool, timeout: float | None, disabled: dict[str, str]) -> Decoded:
    """Run one suspect job alone; tell a hung in-worker scorer apart from a hung or crashing decoder."""
    job = _without(job, disabled)
    pool = new_pool(1)
    try:
        return pool.submit(decode_one, job).result(timeout=timeout)
    except cf.process.BrokenProcessPool:
        return Decoded(
            path=job.path, error="the decoder crashed on this file (corrupt or hostile data)"
        )
    except cf.TimeoutError:
        pass
    finally:
        _kill(pool)
    # It hung. Without the in-worker scorers, does the file decode? Then one of them is at fault: give
    # each its own try, keep the results of those that finish and disable those that hang.
    if job.worker_scorers:
        decoded = _alone(dataclasses.replace(job, worker_scorers=()), new_pool, timeout)
        if decoded is not None:
            message = f"timed out after {timeout:g} s on one photo; disabled for this scan"
            for scorer_id in job.worker_scorers if decoded.error is None else ():
                single = _alone(
                    dataclasses.replace(job, worker_scorers=(scorer_id,)), new_pool, timeout
                )
                if single is not None and scorer_id in single.worker_results:
                    decoded.worker_results[scorer_id] = single.worker_results[scorer_id]
                else:
                    disabled[scorer_id] = message
                    decoded.worker_results[scorer_id] = message
            return decoded
    return Decoded(
        path=job.path,
        error=f"decoding took longer than {timeout:g} s (a hung decoder or hostile file); skipped",
    )


class _Progress:
    def __init__(self, total: int, options: ScanOptions) -> None:
        self.total = total
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

    def advance(self, path: str, done: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done)
        if self.callback is not None:
            self.callback(done, self.total, path)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def embedding_scorers(scorers: list[ActiveScorer]) -> dict[str, list[ActiveScorer]]:
    """Group embedding scorers by their embedding key (one forward pass per group)."""
    groups: dict[str, list[ActiveScorer]] = {}
    for s in scorers:
        if isinstance(s.scorer, EmbeddingScorer):
            groups.setdefault(s.scorer.embedding_key, []).append(s)
    return groups
