"""Model scorers on a Ray cluster: actor pools that load each model once and take whole batches.

The driver queues images exactly as a local scan does (:class:`~culler.scan.scoring.ModelScoring`:
one queue per model, embedding scorers that share a backbone share a queue); a full batch goes to
the least busy actor of its queue instead of running here. Inside the actor the same
``ModelScoring`` runs it, so timeouts, result checks and embedding caching are the local ones.
Batches in flight are bounded (two per actor): when all are busy, the driver waits, and with it the
decode stream, so its memory stays bounded however large the archive.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from culler.scan.scoring import BatchResults, Checked, ModelScoring
from culler.scan.work import ActiveScorer, Echo, ScanOptions

if TYPE_CHECKING:
    from PIL import Image


class Cluster(Protocol):
    """What model scoring needs of the backend that connected to Ray (``RayBackend``): the ``ray``
    module and the options every task and actor gets (its runtime environment)."""

    ray: Any

    def task_options(self, **options: Any) -> dict[str, Any]: ...


#: Batches waiting at or running in each actor: one running, one ready to start.
BATCHES_PER_ACTOR = 2
#: Without GPUs, the model actors together get half the cluster's CPUs (the other half decodes),
#: split evenly between the models, with at most this many torch threads per actor.
CPU_ACTOR_THREADS = 8
#: How many times an actor whose process died is started again (its batches are run again).
ACTOR_RESTARTS = 2

#: What an actor sends back for one batch: the photo ids, per scorer id its checked results, the
#: embedding key and vectors to cache, and the scorers its timeouts disabled.
Sent = tuple[list[int], list[tuple[str, list[Checked]]], str | None, Any, dict[str, str]]


@dataclass
class _Batch:
    key: str
    photo_ids: list[int]
    actor: Any


class RayModelScoring(ModelScoring):
    """:class:`ModelScoring` whose batches run in Ray actors (GPU actors when the cluster has GPUs)."""

    def __init__(
        self, backend: Cluster, scorers: list[ActiveScorer], options: ScanOptions, echo: Echo
    ) -> None:
        super().__init__(scorers, options.batch_timeout, echo)
        self.backend = backend
        self.ray = backend.ray
        self.device = options.device
        self._actors: dict[str, list[Any]] = {}
        self._busy: dict[Any, int] = {}
        self._in_flight: dict[Any, _Batch] = {}

    def ready(self, final: bool = False) -> Iterator[BatchResults]:
        """Send every full batch (and, when ``final``, what is left); yield the batches that came back
        (when ``final``, all of them)."""
        for key, queue in self._queues.items():
            while len(queue.entries) >= queue.batch_size or (final and queue.entries):
                while len(self._in_flight) >= self._window():
                    yield from self._collect(wait_for=1)
                entries = queue.entries[: queue.batch_size]
                del queue.entries[: queue.batch_size]
                self._send(key, [pid for pid, _ in entries], [image for _, image in entries])
        yield from self._collect(wait_for=len(self._in_flight) if final else 0)

    def close(self) -> None:
        super().close()
        for actors in self._actors.values():
            for actor in actors:
                self.ray.kill(actor, no_restart=True)
        self._actors.clear()

    def _window(self) -> int:
        return max(1, sum(len(a) for a in self._actors.values())) * BATCHES_PER_ACTOR

    def _send(self, key: str, photo_ids: list[int], images: list[Image.Image]) -> None:
        actors = self._actors.get(key) or self._start_actors(key)
        actor = min(actors, key=lambda a: self._busy[a])
        self._busy[actor] += 1
        ref = actor.run.remote(photo_ids, images)
        self._in_flight[ref] = _Batch(key, photo_ids, actor)

    def _collect(self, wait_for: int) -> Iterator[BatchResults]:
        """Yield the batches that are back; block until ``wait_for`` of them are (0: do not wait)."""
        while self._in_flight:
            refs = list(self._in_flight)
            if wait_for > 0:
                done, _ = self.ray.wait(refs, num_returns=min(wait_for, len(refs)))
            else:  # every batch that is back, without waiting
                done, _ = self.ray.wait(refs, num_returns=len(refs), timeout=0)
            for ref in done:
                batch = self._in_flight.pop(ref)
                self._busy[batch.actor] -= 1
                yield self._results(batch, ref)
            wait_for -= len(done)
            if wait_for <= 0:
                return

    def _results(self, batch: _Batch, ref: Any) -> BatchResults:
        members = {m.id: m for m in self._queues[batch.key].members}
        results = BatchResults(batch.photo_ids)
        try:
            photo_ids, scores, key, vectors, disabled = self.ray.get(ref)
        except self.ray.exceptions.RayError as exc:
            cause = exc.as_instanceof_cause() if hasattr(exc, "as_instanceof_cause") else exc
            message = f"the Ray model actor failed: {type(cause).__name__}: {cause}"
            results.scores = [(m, [message] * len(batch.photo_ids)) for m in members.values()]
            return results
        for scorer_id, reason in disabled.items():
            if scorer_id not in self.disabled:
                self.disabled[scorer_id] = reason
                self.echo(f"{scorer_id}: {reason}")
        results.photo_ids = photo_ids
        results.scores = [(members[sid], checked) for sid, checked in scores]
        results.embedding_key = key
        results.vectors = None if vectors is None else np.asarray(vectors, np.float32)
        return results

    def _start_actors(self, key: str) -> list[Any]:
        """The actors of one queue: one per GPU (sharing it with the other models' actors), or CPU
        actors when the cluster has no GPU or ``--device cpu`` was asked for."""
        resources = self.ray.cluster_resources()
        gpus = int(resources.get("GPU", 0)) if self.device in ("auto", "cuda") else 0
        if gpus:
            count, device = gpus, "cuda"
            placement = {"num_gpus": 1 / len(self._queues), "num_cpus": 1}
        else:
            share = int(resources.get("CPU", 1)) // (2 * len(self._queues))
            threads = max(1, min(CPU_ACTOR_THREADS, share))
            count = max(1, share // threads)
            # On a cluster too small to share, an actor reserves nothing: one that took the last
            # CPU would leave none for the decode tasks that feed it.
            device, placement = "cpu", {"num_cpus": threads if share else 0}
        members = self._queues[key].members
        specs = [(m.id, m.scorer.config) for m in members]
        cls = self.ray.remote(_ModelActor).options(
            **self.backend.task_options(
                max_restarts=ACTOR_RESTARTS, max_task_retries=ACTOR_RESTARTS, **placement
            )
        )
        threads = int(placement["num_cpus"]) or 1
        actors = [cls.remote(specs, device, self.batch_timeout, threads) for _ in range(count)]
        for actor in actors:
            self._busy[actor] = 0
        self._actors[key] = actors
        return actors


class _ModelActor:
    """Holds one queue's models (loaded once) and scores the batches sent to it."""

    def __init__(
        self,
        specs: list[tuple[str, dict[str, Any]]],
        device: str,
        batch_timeout: float | None,
        threads: int,
    ) -> None:
        from culler.plugin.scorers import get_scorer_classes

        if device == "cpu":
            # Ray starts workers with one OpenMP thread; a CPU model gets the CPUs it reserved.
            os.environ["OMP_NUM_THREADS"] = str(threads)
        classes = get_scorer_classes()
        self.members = []
        for scorer_id, config in specs:
            scorer = classes[scorer_id](config)
            scorer.load(device)
            self.members.append(ActiveScorer(scorer, pk=0))
        if device == "cpu" and "torch" in sys.modules:  # loaded by a scorer: a torch model
            sys.modules["torch"].set_num_threads(threads)
        self.scoring = ModelScoring(self.members, batch_timeout, echo=lambda message: None)

    def run(self, photo_ids: list[int], images: list[Image.Image]) -> Sent:
        for photo_id, image in zip(photo_ids, images):
            self.scoring.add(photo_id, image, self.members)
        ids: list[int] = []
        scores: dict[str, list[Checked]] = {m.id: [] for m in self.members}
        key, vectors = None, []
        # Sent a batch of the queue's own size, this is one batch; the loop is for a smaller one.
        for batch in self.scoring.ready(final=True):
            ids += batch.photo_ids
            for member, checked in batch.scores:
                scores[member.id] += checked
            if batch.vectors is not None:
                key = batch.embedding_key
                vectors.append(batch.vectors)
        if not ids:  # a timeout here disabled the model: the photos get its reason, as locally
            reason = next(iter(self.scoring.disabled.values()), "the model is disabled")
            ids, scores = list(photo_ids), {sid: [reason] * len(photo_ids) for sid in scores}
        stacked = np.concatenate(vectors) if vectors else None
        if stacked is not None and len(stacked) != len(ids):
            key, stacked = None, None  # some sub-batch failed to embed: cache nothing from it
        return ids, list(scores.items()), key, stacked, dict(self.scoring.disabled)
