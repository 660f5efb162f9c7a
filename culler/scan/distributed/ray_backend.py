"""Decode on a Ray cluster: the local pool's logic, with Ray tasks in place of worker processes.

:class:`RayDecodePool` is the local :class:`~culler.scan.decode_pool.DecodePool` (the same window of
jobs in flight, the same isolation of a file that hangs, the same disabling of an in-worker scorer
that hangs) whose process pool is replaced by :class:`_RayExecutor`: each job is one Ray task that
runs the same :func:`~culler.scan.decode.decode_one` a local worker runs. What Ray adds: a worker
process that dies mid-task has its task retried (``max_retries``) on another worker, and a file that
kills every worker it meets is known by its task alone, so it gets its error row without stopping
anything else.

Thumbnails are written by the driver, next to the catalog, from bytes the task sends back: the
catalog's folder need not be shared with the workers.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import os
import socket
import tempfile
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from culler.scan.decode import Decoded, DecodeJob, decode_one, init_worker, thumb_path
from culler.scan.decode_pool import WORKER_START_TIMEOUT, DecodePool
from culler.scan.scoring import ModelScoring
from culler.scan.work import ActiveScorer, Echo, ScanOptions

#: How many times Ray runs a decode task again after the worker process running it died (a node
#: lost, a worker killed, a decoder that segfaults on this file).
TASK_RETRIES = 2
#: Seconds to wait for a cluster address to accept a connection before saying it cannot be reached.
CONNECT_TIMEOUT = 5.0
#: With ``--ray-ship-bytes`` the driver holds each file in flight in the object store: at most this
#: many at once, however large the cluster.
MAX_SHIPPED_IN_FLIGHT = 256
#: What a task returns when the file killed every worker that tried it (the local pool's wording).
CRASHED = "the decoder crashed on this file (corrupt or hostile data)"
INSTALL_HINT = "pip install 'culler[ray]' (or: pip install 'ray>=2.9')"


class RayUnavailable(RuntimeError):
    """Ray is not installed, or the cluster cannot be reached; the message says what to do."""


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RayUnavailable(f"--ray needs Ray, an optional extra: {INSTALL_HINT}") from None
    return ray


def open_ray_backend(
    address: str | None = None,
    *,
    ship_bytes: bool = False,
    runtime_env: dict[str, Any] | None = None,
) -> RayBackend:
    """Connect to the cluster at ``address`` (as ``ray.init`` takes it: ``auto``,
    ``ray://host:10001``, ``host:6379``), or start a local Ray instance when it is None or "local".

    When this process is already connected (an application or a test did ``ray.init``), that
    connection is used and left open. ``runtime_env`` is laid under the one every task and actor
    gets (the driver's ``CULLER_*`` variables), e.g. ``{"py_modules": [...]}`` for a plugin the
    nodes lack. Raises :class:`RayUnavailable` within seconds when the address
    does not answer.
    """
    ray = import_ray()
    _notices_to_stderr()
    local = address in (None, "", "local")
    if not local and address != "auto":
        _probe(address)
    started = False
    if not ray.is_initialized():
        try:
            if local:
                ray.init(include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=address, log_to_driver=False)
        except Exception as exc:
            where = "start a local Ray instance" if local else f"connect to Ray at {address}"
            raise RayUnavailable(
                f"cannot {where}: {type(exc).__name__}: {str(exc).rstrip('.')}. "
                "Check the address (`ray status` on the head node shows it) or start a cluster "
                "with `ray start --head`."
            ) from None
        started = True
    return RayBackend(ray, ship_bytes=ship_bytes, runtime_env=runtime_env, owns_ray=started)


def _notices_to_stderr() -> None:
    """Ray's driver prints the raylet's notices (a worker died, a task is retried) on stdout, where
    ``culler scan --json`` prints its summary: send them to stderr with the other diagnostics.

    Ray offers no setting for this; its listener looks the printer up by name on each notice, so
    wrapping that name is enough. A Ray without it keeps its own behaviour.
    """
    try:
        from ray._private import worker as ray_worker
    except ImportError:
        return
    original = getattr(ray_worker, "print_to_stdstream", None)
    if original is None or getattr(original, "culler_to_stderr", False):
        return

    def to_stderr(data: dict, *args: Any, **kwargs: Any) -> Any:
        return original({**data, "is_err": True}, *args, **kwargs)

    to_stderr.culler_to_stderr = True  # type: ignore[attr-defined]
    ray_worker.print_to_stdstream = to_stderr


def _probe(address: str) -> None:
    """Fail fast: ``ray.init`` retries an address that does not answer for a long time."""
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep:
        host, port = target, "10001" if address.startswith("ray://") else "6379"
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT):
            pass
    except (OSError, ValueError) as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else str(exc)
        raise RayUnavailable(
            f"cannot reach the Ray cluster at {address} ({reason}). Check the address and that "
            "the head node runs (`ray start --head`; Ray Client listens on port 10001)."
        ) from None


class RayBackend:
    """Runs a scan's decoding as Ray tasks and its model scorers in Ray actor pools.

    Pass it to :func:`culler.scan.scan_folders` as ``backend``; :meth:`close` when done.
    """

    def __init__(
        self,
        ray: Any,
        *,
        ship_bytes: bool = False,
        runtime_env: dict[str, Any] | None = None,
        owns_ray: bool = False,
    ) -> None:
        self.ray = ray
        self.ship_bytes = ship_bytes
        self.owns_ray = owns_ray
        # Workers see the CULLER_* settings of the driver (plugin allow-list, weights home), as a
        # local pool's workers do; Ray starts worker processes with this environment.
        env = {k: v for k, v in os.environ.items() if k.startswith("CULLER_")}
        runtime_env = dict(runtime_env or {})
        env.update(runtime_env.get("env_vars") or {})
        if env:
            runtime_env["env_vars"] = env
        self.runtime_env = runtime_env or None

    def cluster_cpus(self) -> int:
        return max(1, int(self.ray.cluster_resources().get("CPU", 1)))

    def decode_pool(
        self, scorers: list[ActiveScorer], options: ScanOptions, echo: Echo
    ) -> RayDecodePool:
        workers = self.cluster_cpus()
        if self.ship_bytes:
            workers = min(workers, MAX_SHIPPED_IN_FLIGHT // 4)
        return RayDecodePool(self, scorers, workers, options, echo)

    def model_scoring(
        self, scorers: list[ActiveScorer], options: ScanOptions, echo: Echo
    ) -> ModelScoring:
        from culler.scan.distributed.ray_models import RayModelScoring

        return RayModelScoring(self, scorers, options, echo)

    def task_options(self, **options: Any) -> dict[str, Any]:
        if self.runtime_env:
            options["runtime_env"] = self.runtime_env
        return options

    def close(self) -> None:
        if self.owns_ray and self.ray.is_initialized():
            self.ray.shutdown()


class RayDecodePool(DecodePool):
    """The local decode pool, its workers being Ray tasks (``workers``: the cluster's CPUs)."""

    def __init__(
        self,
        backend: RayBackend,
        scorers: list[ActiveScorer],
        workers: int,
        options: ScanOptions,
        echo: Echo,
    ) -> None:
        super().__init__(scorers, workers, options.file_timeout, lambda: options.cancelled, echo)
        self.backend = backend
        self.task = backend.ray.remote(_decode_in_worker)

    def _new_pool(self, workers: int | None = None) -> _RayExecutor:
        """An executor whose workers have started and loaded the in-worker scorers.

        As locally, the per-file timeout must measure a file's work, not a worker's start (a new
        process, plugins, scorers: seconds on a busy node), so workers are warmed up first.
        """
        # A job run alone (a suspect of a hang) gets no retries: its worker is killed on purpose.
        retries = 0 if workers == 1 else TASK_RETRIES
        executor = _RayExecutor(self, retries)
        warm = self.backend.ray.remote(_warm_worker).options(**self.backend.task_options())
        refs = [warm.remote(self.specs) for _ in range(workers or self.workers)]
        self.backend.ray.wait(refs, num_returns=len(refs), timeout=WORKER_START_TIMEOUT)
        return executor


class _RayExecutor:
    """The part of ``concurrent.futures.Executor`` the decode pool uses, over Ray tasks."""

    def __init__(self, pool: RayDecodePool, retries: int) -> None:
        self.pool = pool
        self.ray = pool.backend.ray
        self.task = pool.task.options(**pool.backend.task_options(max_retries=retries))
        self.refs: dict[cf.Future, Any] = {}

    def submit(self, fn: Any, job: DecodeJob) -> cf.Future:
        assert fn is decode_one, "Ray workers run decode_one only"
        future: cf.Future = cf.Future()
        future.set_running_or_notify_cancel()
        data = None
        if self.pool.backend.ship_bytes:
            try:
                data = self.ray.put(_read(job.path))
            except OSError as exc:
                from culler.imaging.images import os_error_reason

                future.set_result(Decoded(path=job.path, error=os_error_reason(exc)))
                return future
        ref = self.task.remote(job, self.pool.specs, data)
        self.refs[future] = ref
        ref.future().add_done_callback(lambda done: self._settle(future, job, done))
        return future

    def _settle(self, future: cf.Future, job: DecodeJob, done: cf.Future) -> None:
        self.refs.pop(future, None)
        exceptions = self.ray.exceptions
        try:
            decoded, thumbnail = done.result()
        except exceptions.TaskCancelledError:
            future.set_exception(cf.CancelledError())
        except exceptions.WorkerCrashedError:
            # Every retry died on this file: only this task knew it, so only this file is at fault.
            future.set_result(Decoded(path=job.path, error=CRASHED))
        except exceptions.RayTaskError as exc:
            future.set_exception(exc.as_instanceof_cause())
        except Exception:
            # A node lost with its objects, and other cluster trouble: the pool retries the job
            # where it can tell a hostile file from a lost worker.
            future.set_exception(BrokenProcessPool("the Ray task was lost"))
        else:
            if thumbnail is not None and job.thumb_dir and decoded.content_hash:
                _write_thumbnail(thumb_path(job.thumb_dir, decoded.content_hash), thumbnail)
            future.set_result(decoded)

    def shutdown(self, wait: bool = False, cancel_futures: bool = True) -> None:
        # force: a task stuck in a decoder's C code ignores a polite cancel; its worker is killed.
        for ref in list(self.refs.values()):
            try:
                self.ray.cancel(ref, force=True)
            except Exception:
                pass  # already finished, or its worker is gone
        self.refs.clear()


def _read(path: str) -> tuple[bytes, int]:
    """The file's bytes and mtime, for a worker without the driver's storage. Only a regular file of
    at most a photo's size is opened (a FIFO named ``b.jpg`` would block the driver for good)."""
    from culler.safe_files import MAX_PHOTO_BYTES, RefusedFile, open_regular

    with open_regular(path, MAX_PHOTO_BYTES) as fh:
        data = fh.read(MAX_PHOTO_BYTES + 1)
        if len(data) > MAX_PHOTO_BYTES:
            raise RefusedFile(f"grew past {MAX_PHOTO_BYTES >> 20} MB while read: not read", path)
        return data, os.fstat(fh.fileno()).st_mtime_ns


def _write_thumbnail(target: Path, data: bytes) -> None:
    if target.exists():
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    except OSError:
        pass  # thumbnails are a cache: a full disk must not fail the scan


# -- in the Ray worker -----------------------------------------------------------------------------
_loaded_specs: list[tuple[str, dict[str, Any]]] | None = None


def _load_scorers(specs: list[tuple[str, dict[str, Any]]]) -> None:
    """A worker process serves many tasks: load the in-worker scorers once."""
    global _loaded_specs
    if specs != _loaded_specs:
        init_worker(specs)
        _loaded_specs = specs


def _warm_worker(specs: list[tuple[str, dict[str, Any]]]) -> int:
    _load_scorers(specs)
    time.sleep(0.02)  # long enough that each idle worker takes one
    return os.getpid()


def _decode_in_worker(
    job: DecodeJob,
    specs: list[tuple[str, dict[str, Any]]],
    shipped: tuple[bytes, int] | None,
) -> tuple[Decoded, bytes | None]:
    """A Ray task: :func:`decode_one` on ``job``; the thumbnail comes back as JPEG bytes.

    With ``shipped`` (the file's bytes and mtime, read by the driver) the bytes are put in a private
    file of the same name first, so format plugins that open paths (RAW) decode them as they would
    the original.
    """
    _load_scorers(specs)
    with tempfile.TemporaryDirectory(prefix="culler-ray-") as tmp:
        local = dataclasses.replace(
            job, thumb_dir=os.path.join(tmp, "thumbs") if job.thumb_dir else None
        )
        if shipped is not None:
            local.path = os.path.join(tmp, os.path.basename(job.path))
            with open(local.path, "wb") as fh:
                fh.write(shipped[0])
        decoded = decode_one(local)
        thumbnail = None
        if local.thumb_dir and decoded.content_hash:
            made = thumb_path(local.thumb_dir, decoded.content_hash)
            thumbnail = made.read_bytes() if made.exists() else None
    if shipped is not None:
        decoded.path = job.path
        if decoded.error:
            decoded.error = decoded.error.replace(local.path, job.path)
        if decoded.size is not None:
            decoded.mtime_ns = shipped[1]  # the original's, not the private copy's
    return decoded, thumbnail
