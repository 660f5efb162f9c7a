"""The decode pool: decode jobs in worker processes, surviving decoders and scorers that crash or hang.

A worker process that dies (a decoder segfault) or makes no progress for ``timeout`` seconds (a hung
decoder or in-worker scorer) is killed; the jobs it may have held are retried one at a time, so the one
file at fault gets an error and every other file is scanned normally. An in-worker scorer that hangs
on its own is disabled for the rest of the scan instead of failing every later file.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import multiprocessing
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from culler.lifeline import die_with_parent
from culler.scan.decode import (
    THUMB_SIDE,
    Decoded,
    DecodeJob,
    decode_one,
    init_worker,
    use_one_opencv_thread,
)
from culler.scan.work import ActiveScorer, Echo, WorkItem

#: How many jobs wait in the pool per worker: enough to keep every worker busy, few enough that a
#: cancel or a crash throws little work away.
QUEUE_PER_WORKER = 4
#: Imported by the workers' fork server beside the scorers' own preloads: the decode worker's code.
PRELOAD = "culler.scan.decode"
#: What the fork server of this process was started with (see :func:`worker_context`).
_server_preloads: set[str] = set()
_SERVER_LOCK = threading.Lock()
#: Seconds a new worker may take to start (interpreter, plugins, scorers) before the pool is used anyway.
WORKER_START_TIMEOUT = 120.0


def decode_jobs(
    items: list[WorkItem], scorers: list[ActiveScorer], thumb_dir: str | None
) -> list[DecodeJob]:
    """One job per item: decoded at the largest size any scorer (or the thumbnail) needs."""
    worker_ids = tuple(s.id for s in scorers if s.scorer.runs_in_worker)
    main_side = max(
        (s.scorer.input_size for s in scorers if not s.scorer.runs_in_worker), default=0
    )
    decode_side = max([s.scorer.input_size for s in scorers] + [THUMB_SIDE])
    jobs = []
    for item in items:
        wanted = {s.id for s in item.needs}
        needs_image = any(not s.scorer.runs_in_worker for s in item.needs)
        jobs.append(
            DecodeJob(
                item.path,
                decode_side,
                main_side if needs_image else 0,
                tuple(w for w in worker_ids if w in wanted),
                thumb_dir,
            )
        )
    return jobs


class DecodePool:
    """Runs :func:`decode_one` for many jobs, in ``workers`` processes (in this one when 0)."""

    def __init__(
        self,
        scorers: list[ActiveScorer],
        workers: int,
        timeout: float | None,
        cancelled: Callable[[], bool],
        echo: Echo,
    ) -> None:
        self.specs = [(s.id, s.scorer.config) for s in scorers if s.scorer.runs_in_worker]
        #: Modules the workers' fork server imports once (:func:`worker_context`).
        self.preload = [PRELOAD] + [
            m for s in scorers if s.scorer.runs_in_worker for m in s.scorer.worker_preload
        ]
        self.workers = workers
        self.timeout = timeout or None
        self.cancelled = cancelled
        self.echo = echo
        #: In-worker scorers that hung, with the reason; they are left out of later jobs.
        self.disabled: dict[str, str] = {}
        self._pool: cf.ProcessPoolExecutor | None = None
        self._last_progress = 0.0

    def decode(self, jobs: list[DecodeJob]) -> Iterator[Decoded]:
        """Yield a :class:`Decoded` per job as they complete (stops early when cancelled).

        Every in-worker scorer a job asked for has a result or an error message in the result.
        """
        if not jobs:
            return
        by_path = {job.path: job for job in jobs}
        results = self._in_process(jobs) if self.workers <= 0 else self._in_pool(jobs)
        for decoded in results:
            yield self._complete(by_path[decoded.path], decoded)

    def _complete(self, job: DecodeJob, decoded: Decoded) -> Decoded:
        for scorer_id in job.worker_scorers:
            if decoded.error is None and scorer_id not in decoded.worker_results:
                # Left out of the job because it hung earlier in this scan.
                reason = self.disabled.get(scorer_id, "no result came back")
                decoded.worker_results[scorer_id] = f"not run: {reason}"
        return decoded

    def _in_process(self, jobs: list[DecodeJob]) -> Iterator[Decoded]:
        init_worker(self.specs)
        for job in jobs:
            if self.cancelled():
                return
            job = self._without_disabled(job)
            yield decode_one(job) if not self.timeout else self._in_thread(job)

    def _in_thread(self, job: DecodeJob) -> Decoded:
        """``decode_one(job)`` in a daemon thread, given up after the per-file timeout.

        In this process nothing can be killed: a thread stuck in a decoder (a FIFO, a hostile file)
        is abandoned, and being a daemon it never holds up the end of the scan. The file gets its
        error row and the scan goes on with the next one.
        """
        outcome: list[Decoded] = []

        def run() -> None:
            try:
                outcome.append(decode_one(job))
            except BaseException as exc:  # decode_one catches the file's errors; this is a bug
                outcome.append(Decoded(path=job.path, error=f"{type(exc).__name__}: {exc}"))

        thread = threading.Thread(target=run, name="culler-decode", daemon=True)
        thread.start()
        thread.join(self.timeout)
        if outcome:
            return outcome[0]
        return Decoded(path=job.path, error=_hung_message(self.timeout))

    def _in_pool(self, jobs: list[DecodeJob]) -> Iterator[Decoded]:
        self._pool = self._new_pool()
        pending = list(reversed(jobs))
        in_flight: dict[cf.Future, DecodeJob] = {}
        self._last_progress = time.monotonic()
        try:
            while pending or in_flight:
                while pending and len(in_flight) < self.workers * QUEUE_PER_WORKER:
                    if self.cancelled():
                        break
                    job = self._without_disabled(pending.pop())
                    read_ahead(job.path)
                    in_flight[self._pool.submit(decode_one, job)] = job
                if not in_flight:
                    return
                # Poll (rather than block) so a cancel or a hang is noticed within a second.
                finished, _ = cf.wait(in_flight, timeout=1.0, return_when=cf.FIRST_COMPLETED)
                if finished:
                    self._last_progress = time.monotonic()
                suspects = [] if finished else self._stalled(in_flight, pending)
                for future in finished:
                    job = in_flight.pop(future)
                    try:
                        yield future.result()
                    except cf.process.BrokenProcessPool:
                        suspects.append(job)
                if suspects:
                    suspects += in_flight.values()
                    in_flight.clear()
                    yield from self._recover(suspects)
        finally:
            if in_flight:
                _kill(self._pool)  # cancelled, or the consumer stopped early: do not wait for files
            else:
                self._pool.shutdown(wait=False, cancel_futures=True)

    def _stalled(
        self, in_flight: dict[cf.Future, DecodeJob], pending: list[DecodeJob]
    ) -> list[DecodeJob]:
        """When nothing finished for a whole timeout, the jobs the workers hold are stuck.

        Returns those (emptying ``in_flight``); jobs still queued go back to ``pending``.
        """
        if not self.timeout or time.monotonic() - self._last_progress <= self.timeout:
            return []
        suspects = []
        for future, job in in_flight.items():
            (suspects if future.running() else pending).append(job)
        in_flight.clear()
        return suspects

    def _recover(self, suspects: list[DecodeJob]) -> Iterator[Decoded]:
        """A decoder crashed or hung: retry what the pool held one at a time in a fresh pool, so the
        file at fault is found and recorded, and the rest go on."""
        _kill(self._pool)
        for job in suspects:
            yield self._isolated(job)
        self._pool = self._new_pool()
        self._last_progress = time.monotonic()

    def _isolated(self, job: DecodeJob) -> Decoded:
        """Run one suspect job alone; tell a hung in-worker scorer from a hung or crashing decoder."""
        job = self._without_disabled(job)
        pool = self._new_pool(1)
        try:
            return pool.submit(decode_one, job).result(timeout=self.timeout)
        except cf.process.BrokenProcessPool:
            return Decoded(
                path=job.path, error="the decoder crashed on this file (corrupt or hostile data)"
            )
        except cf.TimeoutError:
            pass
        finally:
            _kill(pool)
        # It hung. Without the in-worker scorers, does the file decode? Then one of them is at fault.
        if job.worker_scorers:
            decoded = self._alone(dataclasses.replace(job, worker_scorers=()))
            if decoded is not None:
                if decoded.error is None:
                    self._retry_scorers_alone(job, decoded)
                return decoded
        return Decoded(path=job.path, error=_hung_message(self.timeout))

    def _retry_scorers_alone(self, job: DecodeJob, decoded: Decoded) -> None:
        """Give each in-worker scorer of a hung job its own try; disable those that hang again."""
        message = f"timed out after {self.timeout:g} s on one photo; disabled for this scan"
        for scorer_id in job.worker_scorers:
            single = self._alone(dataclasses.replace(job, worker_scorers=(scorer_id,)))
            if single is not None and scorer_id in single.worker_results:
                decoded.worker_results[scorer_id] = single.worker_results[scorer_id]
            else:
                self.disabled[scorer_id] = message
                self.echo(f"{scorer_id}: {message}")
                decoded.worker_results[scorer_id] = message

    def _alone(self, job: DecodeJob) -> Decoded | None:
        """``job`` in a one-process pool of its own; None when it crashed or hung."""
        pool = self._new_pool(1)
        try:
            return pool.submit(decode_one, job).result(timeout=self.timeout)
        except (cf.process.BrokenProcessPool, cf.TimeoutError):
            return None
        finally:
            _kill(pool)

    def _without_disabled(self, job: DecodeJob) -> DecodeJob:
        if not any(s in self.disabled for s in job.worker_scorers):
            return job
        kept = tuple(s for s in job.worker_scorers if s not in self.disabled)
        return dataclasses.replace(job, worker_scorers=kept)

    def _new_pool(self, workers: int | None = None) -> cf.ProcessPoolExecutor:
        """A pool whose workers have started and loaded their scorers.

        Starting a worker (a new interpreter, plugins, scorers) takes seconds on a busy machine; the
        per-file timeout must measure the file's work, not that, or every file of a slow start would
        be called hung.
        """
        # Workers see this process's environment as it is now (the plugin allow-list, debug), not
        # the one a fork server started with for an earlier scan.
        env = dict(os.environ)
        size = workers or self.workers
        pool = cf.ProcessPoolExecutor(
            size,
            mp_context=worker_context(self.preload),
            initializer=_init_pool_worker,
            initargs=(self.specs, env, os.getpid()),
        )
        try:
            cf.wait([pool.submit(_started) for _ in range(size)], timeout=WORKER_START_TIMEOUT)
        except cf.process.BrokenProcessPool:
            pass  # a worker that cannot even start shows up as a crash on the first real job
        return pool


def worker_context(preload: list[str]) -> multiprocessing.context.BaseContext:
    """How decode workers are started: from a fork server where the platform has one, else spawned.

    Both start workers from a clean interpreter, never a fork of the scan (a fork after torch or Qt
    started threads can deadlock the child). The fork server is started once per process, at the
    first scan with workers, and imports ``preload`` there once: the worker code, and what in-worker
    scorers name in ``Scorer.worker_preload`` (the faces scorer's 100 MB landmark model). Each worker
    is then a fork of it, starts in milliseconds and shares those pages instead of reading its own
    copy. Later scans in the same process reuse that server; one whose scorers want a module it has
    not imported starts a new one with both. Where there is no fork server (Windows), workers are
    spawned and each loads what it needs itself.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    with _SERVER_LOCK:
        wanted = set(preload) - _server_preloads
        if wanted:
            # The running server lacks a module this scan's scorers want shared: start a new one
            # with both sets (workers already forked from the old one are unaffected).
            from multiprocessing import forkserver

            server = getattr(forkserver, "_forkserver", None)
            if getattr(server, "_forkserver_pid", None) is not None:
                server._stop()
            _server_preloads.update(wanted)
            context.set_forkserver_preload(sorted(_server_preloads))
    return context


def read_ahead(path: str) -> None:
    """Ask the kernel to start reading ``path`` now, while the workers decode the files before it
    (a slow or network disk then delivers it by the time a worker opens it). Costs no memory here;
    only regular files, opened without blocking, so a FIFO is never waited on."""
    if not hasattr(os, "posix_fadvise"):
        return
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return  # the worker reports the error
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
    except OSError:
        pass
    finally:
        os.close(fd)


def _hung_message(timeout: float) -> str:
    return f"decoding took longer than {timeout:g} s (a hung decoder or hostile file); skipped"


def _init_pool_worker(
    specs: list[tuple[str, dict[str, Any]]], env: dict[str, str], scan_pid: int
) -> None:
    """Pool initializer: die with the scan (a scan killed with SIGKILL leaves no worker behind),
    then load the in-worker scorers."""
    die_with_parent(scan_pid)
    use_one_opencv_thread()
    init_worker(specs, env)


def _started() -> int:
    """A no-op each new worker runs once: it returns when the worker's initializer has finished."""
    time.sleep(0.02)  # long enough that each worker of a new pool takes one
    return os.getpid()


def _kill(pool: cf.ProcessPoolExecutor) -> None:
    """Stop a pool now, even if a worker is stuck in C code (shutdown alone would wait for it)."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            process.kill()
        except (OSError, AttributeError):
            pass
    pool.shutdown(wait=False, cancel_futures=True)
