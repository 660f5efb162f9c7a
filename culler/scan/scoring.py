"""Scoring: load the scorers, run model batches under a timeout, return checked results.

A scorer that raises, hangs past the batch timeout, returns the wrong number of results or NaN gets an
error message for the photos of that batch instead of a score; the photos and every other scorer's
results are kept. Nothing here writes to the catalog: :mod:`culler.scan.writer` stores what comes back.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from culler.catalog import Catalog
from culler.models.weights import WeightsMissing
from culler.plugin.scorers import EmbeddingScorer, Scorer, ScoreResult, get_scorer_classes
from culler.scan.work import ActiveScorer, Echo, ScanOptions

if TYPE_CHECKING:
    from PIL import Image

#: A result that can be stored, or why there is none for the photo.
Checked = ScoreResult | str


class ScorerTimeout(Exception):
    """A model batch ran past ``--batch-timeout``; its message is stored for each photo."""


# -- loading -------------------------------------------------------------------------------------
def load_scorers(
    catalog: Catalog, options: ScanOptions, echo: Echo
) -> tuple[list[ActiveScorer], list[dict]]:
    """Instantiate and load the selected scorers; learned ones without weights are reported and skipped.

    Returns the loaded scorers and, for those skipped, ``{"scorer": id, "reason": message}``.
    """
    device = None
    active, skipped = [], []
    for cls in _selected(options):
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
        active.append(ActiveScorer(scorer, pk))  # ``done`` is read when a scan plans (pipeline)
    return active, skipped


def _selected(options: ScanOptions) -> list[type[Scorer]]:
    """The scorer classes ``--scorer`` names, or every one enabled by default; KeyError if unknown."""
    classes = get_scorer_classes()
    installed = ", ".join(sorted(classes)) or "none"
    unknown = [s for s in options.scorer_ids or () if s not in classes]
    if unknown:
        raise KeyError(f"unknown scorer {', '.join(unknown)}; installed scorers: {installed}")
    unknown = sorted(set(options.scorer_config) - set(classes))
    if unknown:
        raise KeyError(
            f"--config names unknown scorer {', '.join(unknown)}; installed scorers: {installed}"
        )
    if options.scorer_ids:
        return [classes[s] for s in options.scorer_ids]
    return [cls for cls in classes.values() if cls.default_enabled]


def _weights_absent(cls: type[Scorer], config: dict[str, Any]) -> bool:
    """Whether a weight file ``cls`` needs is not installed (stats and manifests only, no torch)."""
    from culler.models.weight_status import file_status, specs_of

    try:
        return any(file_status(cls, s)["status"] == "missing" for s in specs_of(cls, config))
    except Exception:  # a plugin's weight_specs failing is reported by its load() below
        return False


# -- checking results ----------------------------------------------------------------------------
def checked(result: Any) -> Checked:
    """``result`` if it can be stored, else the reason it cannot (a plugin's bug, not the photo's)."""
    if not isinstance(result, ScoreResult):
        return f"returned {type(result).__name__}, not a ScoreResult"
    problems = result.problems()
    return "; ".join(problems) if problems else result


def checked_worker_results(results: dict[str, ScoreResult | str]) -> dict[str, Checked]:
    """Check the results in-worker scorers sent back; their strings are already error messages."""
    return {sid: r if isinstance(r, str) else checked(r) for sid, r in results.items()}


# -- model batches -------------------------------------------------------------------------------
@dataclass
class BatchResults:
    """What the scorers said about a batch of photos."""

    photo_ids: list[int]
    #: Per scorer, one checked result (or error message) per photo, in ``photo_ids`` order.
    scores: list[tuple[ActiveScorer, list[Checked]]] = field(default_factory=list)
    #: The embedding backbone's key and its vectors, to cache (batches of embedding scorers).
    embedding_key: str | None = None
    vectors: np.ndarray | None = None


class _Queue:
    """Images waiting for one model scorer, or for one embedding backbone shared by several scorers."""

    def __init__(self) -> None:
        self.members: list[ActiveScorer] = []
        self.batch_size = 1
        self.entries: list[tuple[int, Image.Image]] = []

    @property
    def lead(self) -> ActiveScorer:
        return self.members[0]


class ModelScoring:
    """Batches images for the scorers that run in this process and runs them under a timeout.

    Embedding scorers that share a backbone (``embedding_key``) share one queue: one forward pass per
    image, then each scorer's cheap head.
    """

    def __init__(self, scorers: list[ActiveScorer], batch_timeout: float | None, echo: Echo):
        self.batch_timeout = batch_timeout
        self.echo = echo
        #: Model scorers that timed out, with the reason; they get no more batches this scan.
        self.disabled: dict[str, str] = {}
        self._executor: cf.ThreadPoolExecutor | None = None
        self._queues: dict[str, _Queue] = {}
        self._queue_of: dict[str, str] = {}
        for s in scorers:
            if s.scorer.runs_in_worker:
                continue
            key = f"emb:{s.scorer.embedding_key}" if isinstance(s.scorer, EmbeddingScorer) else s.id
            self._queues.setdefault(key, _Queue()).members.append(s)
            self._queue_of[s.id] = key
        for q in self._queues.values():
            q.batch_size = batch_size_on_device(q.lead.scorer.device, q.members)

    def add(self, photo_id: int, image: Image.Image, needs: list[ActiveScorer]) -> None:
        """Queue a decoded image for the model scorers in ``needs``."""
        for key in {self._queue_of[s.id] for s in needs if s.id in self._queue_of}:
            if self._queues[key].lead.id not in self.disabled:
                self._queues[key].entries.append((photo_id, image))

    def ready(self, final: bool = False) -> Iterator[BatchResults]:
        """Run every full batch (and, when ``final``, what is left) and yield the results."""
        for queue in self._queues.values():
            while len(queue.entries) >= queue.batch_size or (final and queue.entries):
                yield self._run(queue)

    def score_embeddings(
        self, photo_id: int, needs: list[ActiveScorer], vectors: dict[str, np.ndarray]
    ) -> BatchResults:
        """Score one photo from its cached embeddings (``vectors`` by embedding key): no decode."""
        batch = BatchResults([photo_id])
        for s in needs:
            vec = vectors[s.scorer.embedding_key]
            batch.scores.append(
                (s, self._score(s, 1, lambda s=s, v=vec: s.scorer.score_embeddings(v)))
            )
        return batch

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False)

    def _run(self, queue: _Queue) -> BatchResults:
        """One batch of ``queue``; on a device that runs out of memory, the batch size is halved
        (for the rest of the scan) and the same photos are tried again."""
        while True:
            entries = queue.entries[: queue.batch_size]
            batch = self._run_entries(queue, entries)
            if batch is not None:
                del queue.entries[: len(entries)]
                return batch
            queue.batch_size = max(1, len(entries) // 2)
            self.echo(
                f"{queue.lead.id}: out of memory on {queue.lead.scorer.device} with a batch of "
                f"{len(entries)}; trying {queue.batch_size}"
            )
            _release_device_memory(queue.lead.scorer.device)

    def _run_entries(self, queue: _Queue, entries: list) -> BatchResults | None:
        """The results of ``entries``, or None when the device ran out of memory on more than one."""
        try:
            return self._run_batch(queue, entries)
        except _OutOfMemory:
            return None

    def _run_batch(self, queue: _Queue, entries: list) -> BatchResults:
        batch = BatchResults([pid for pid, _ in entries])
        images = [image for _, image in entries]
        lead = queue.lead
        if not isinstance(lead.scorer, EmbeddingScorer):
            batch.scores.append(
                (lead, self._score(lead, len(images), lambda: lead.scorer.score_batch(images)))
            )
            return batch
        try:
            vectors = np.asarray(self._call(lead, lead.scorer.embed_batch, images), np.float32)
            if vectors.ndim != 2 or len(vectors) != len(images):
                raise ValueError(
                    f"embed_batch returned shape {vectors.shape} for {len(images)} images"
                )
        except Exception as exc:
            if isinstance(exc, _OutOfMemory) and len(images) > 1:
                raise  # split by _run
            batch.scores = [(m, [_message(exc)] * len(images)) for m in queue.members]
            return batch
        batch.embedding_key, batch.vectors = lead.scorer.embedding_key, vectors
        for m in queue.members:
            batch.scores.append(
                (m, self._score(m, len(images), lambda m=m: m.scorer.score_embeddings(vectors)))
            )
        return batch

    def _score(self, s: ActiveScorer, count: int, fn: Callable[[], Any]) -> list[Checked]:
        """``count`` checked results from ``fn`` (the scorer's call), or its error for each photo."""
        try:
            results = self._call(s, fn)
            if not isinstance(results, (list, tuple)) or len(results) != count:
                got = len(results) if isinstance(results, (list, tuple)) else type(results).__name__
                raise ValueError(f"returned {got} results for {count} images")
        except Exception as exc:
            if isinstance(exc, _OutOfMemory) and count > 1:
                raise  # split by _run
            return [_message(exc)] * count
        return [checked(r) for r in results]

    def _call(self, s: ActiveScorer, fn: Callable[..., Any], *args: Any) -> Any:
        if s.id in self.disabled:
            raise RuntimeError(self.disabled[s.id])
        run = functools.partial(_on_device, s.scorer.device, fn, *args)
        if not self.batch_timeout:
            return run()
        if self._executor is None:
            self._executor = cf.ThreadPoolExecutor(1, thread_name_prefix="culler-scorer")
        future = self._executor.submit(run)
        try:
            return future.result(timeout=self.batch_timeout)
        except cf.TimeoutError:
            # The thread cannot be killed; abandon it and stop feeding this scorer for the scan.
            self._executor.shutdown(wait=False)
            self._executor = None
            message = (
                f"timed out after {self.batch_timeout:g} s on one batch; disabled for this scan"
            )
            self.disabled[s.id] = message
            self.echo(f"{s.id}: {message}")
            raise ScorerTimeout(message) from None


class _OutOfMemory(Exception):
    """A batch did not fit the device's memory: a smaller one may (a single photo gets the error)."""


def _on_device(device: str, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in the device's reduced precision (autocast is per thread, so it is entered
    here, in the thread that runs the model); running out of memory becomes :class:`_OutOfMemory`."""
    from culler import devices

    try:
        with devices.inference_autocast(device):
            return fn(*args)
    except Exception as exc:
        if devices.is_out_of_memory(exc):
            raise _OutOfMemory(f"out of memory on {device} ({exc})") from exc
        raise


def batch_size_on_device(device: str, members: list[ActiveScorer]) -> int:
    """The batch size of a queue: the smallest its scorers ask for, scaled to a GPU's free memory."""
    from culler import devices

    base = max(1, min(m.scorer.batch_size for m in members))
    return devices.batch_size_for(device, base) if devices.device_kind(device) == "cuda" else base


def _release_device_memory(device: str) -> None:
    from culler import devices

    if devices.device_kind(device) == "cuda":
        import torch

        torch.cuda.empty_cache()


def _message(exc: Exception) -> str:
    """The error stored for each photo of a failed batch."""
    return str(exc) if isinstance(exc, ScorerTimeout) else f"{type(exc).__name__}: {exc}"
