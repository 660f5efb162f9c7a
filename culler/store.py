"""Writing scan results: photo rows, scores, tags, embeddings — batched, validated, fault-isolated.

A scorer that raises, hangs past the batch timeout, returns the wrong number of results or NaN has its
error recorded against that scorer (``score_errors``); the photo and every other scorer's results are kept.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import sqlite3
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from culler import plugins
from culler.catalog import Catalog, now
from culler.decode import Decoded
from culler.scorers import EmbeddingScorer, ScoreResult

if TYPE_CHECKING:
    from PIL import Image

    from culler.scan import ActiveScorer, WorkItem

FLUSH_EVERY = 32
FLUSH_SECONDS = 2.0


class ScorerTimeout(Exception):
    pass


class CatalogWriteError(RuntimeError):
    """The catalog cannot be written (disk full, read-only, I/O error): the scan stops cleanly.

    Everything committed before stays; the batch being written is rolled back, so the next scan
    redoes exactly the files whose results were not committed.
    """


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


class _Queue:
    """Images waiting for one model scorer, or for one embedding backbone shared by several scorers."""

    def __init__(self, members: list[ActiveScorer]) -> None:
        self.members = members
        self.batch_size = 1
        self.entries: list[tuple[int, Image.Image]] = []

    @property
    def lead(self) -> ActiveScorer:
        return self.members[0]


class ScoreWriter:
    def __init__(
        self,
        catalog: Catalog,
        scorers: list[ActiveScorer],
        summary: dict[str, Any],
        batch_timeout: float | None,
        echo: Callable[[str], None],
    ) -> None:
        self.catalog = catalog
        self.summary = summary
        self.batch_timeout = batch_timeout
        self.echo = echo
        self.buffer: list[tuple[WorkItem, Decoded, str]] = []
        self.last_flush = time.monotonic()
        self.scored_photos: set[int] = set()
        self.scorer_errors: dict[str, int] = {}
        self.disabled: dict[str, str] = {}
        self._executor: cf.ThreadPoolExecutor | None = None
        self.queues: dict[str, _Queue] = {}
        self.queue_of: dict[str, str] = {}
        for s in scorers:
            if s.scorer.runs_in_worker:
                continue
            key = f"emb:{s.scorer.embedding_key}" if isinstance(s.scorer, EmbeddingScorer) else s.id
            self.queues.setdefault(key, _Queue([]))
            self.queues[key].members.append(s)
            self.queue_of[s.id] = key
        for q in self.queues.values():
            q.batch_size = max(1, min(m.scorer.batch_size for m in q.members))
        self.by_id = {s.id: s for s in scorers}
        #: Set when the catalog stopped accepting writes; nothing more is written this scan.
        self.failure: CatalogWriteError | None = None

    # -- photo rows ------------------------------------------------------------------------------
    def record_error(
        self, path: str, size: int | None, mtime_ns: int | None, error: str, root: str = ""
    ) -> int:
        with self.catalog.transaction() as conn:
            photo_id = self._upsert(conn, path, root, size, mtime_ns, status="error", error=error)
        self.summary["errors"] += 1
        return photo_id

    def _upsert(self, conn, path, root, size, mtime_ns, **fields) -> int:
        fields = {"root": root, "size": size, "mtime_ns": mtime_ns, **fields, "last_seen": now()}
        columns = ", ".join(fields)
        marks = ", ".join("?" * len(fields))
        updates = ", ".join(f"{c} = excluded.{c}" for c in fields)
        row = conn.execute(
            f"INSERT INTO photos (path, first_seen, {columns}) VALUES (?, ?, {marks})"
            f" ON CONFLICT(path) DO UPDATE SET {updates} RETURNING id",
            [path, now(), *fields.values()],
        ).fetchone()
        return row[0]

    def add_decoded(self, item: WorkItem, decoded: Decoded, root: str) -> None:
        self.buffer.append((item, decoded, root))
        if len(self.buffer) >= FLUSH_EVERY or time.monotonic() - self.last_flush > FLUSH_SECONDS:
            self.flush()

    def flush(self, final: bool = False) -> None:
        """Commit buffered photos and in-worker scores in one transaction, then run full model batches."""
        if self.failure is not None:
            raise self.failure
        try:
            self._flush(final)
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                raise  # another writer held the catalog past the busy timeout: not a disk problem
            self.failure = _write_error(self.catalog, exc)
            raise self.failure from exc
        except sqlite3.DatabaseError as exc:  # e.g. SQLITE_IOERR, SQLITE_CORRUPT
            self.failure = _write_error(self.catalog, exc)
            raise self.failure from exc

    def _flush(self, final: bool) -> None:
        buffered, self.buffer = self.buffer, []
        self.last_flush = time.monotonic()
        written: dict[str, list[int]] = {}
        if buffered:
            with self.catalog.transaction() as conn:
                for item, decoded, root in buffered:
                    self._write_decoded(conn, item, decoded, root, written)
        self._notify(written)
        for queue in self.queues.values():
            while len(queue.entries) >= queue.batch_size or (final and queue.entries):
                self._run_queue(queue)

    def _write_decoded(self, conn, item: WorkItem, d: Decoded, root: str, written) -> None:
        if d.error:
            self._upsert(
                conn, item.path, root, item.size, item.mtime_ns, status="error", error=d.error
            )
            self.summary["errors"] += 1
            return
        info = d.info
        # The file may have changed between discovery and reading: keep the state of the bytes scored.
        size = d.size if d.size is not None else item.size
        mtime_ns = d.mtime_ns if d.mtime_ns is not None else item.mtime_ns
        photo_id = self._upsert(
            conn,
            item.path,
            root,
            size,
            mtime_ns,
            status="ok",
            error=None,
            content_hash=d.content_hash,
            phash=d.phash,
            signature=d.signature,
            width=info.width,
            height=info.height,
            taken_at=info.taken_at,
            subsec=info.subsec,
            camera=info.camera,
            lens=info.lens,
            orientation=info.orientation,
        )
        item.photo_id = photo_id
        self.summary["decoded"] += 1
        for scorer_id, result in d.worker_results.items():
            s = self.by_id[scorer_id]
            if isinstance(result, str):
                self._error(conn, photo_id, s, result)
            else:
                self._store(conn, photo_id, s, result, written)
        if d.image is not None:
            for key in {self.queue_of[s.id] for s in item.needs if s.id in self.queue_of}:
                if self.queues[key].lead.id not in self.disabled:
                    self.queues[key].entries.append((photo_id, d.image))

    # -- model batches ---------------------------------------------------------------------------
    def _run_queue(self, queue: _Queue) -> None:
        batch, queue.entries = queue.entries[: queue.batch_size], queue.entries[queue.batch_size :]
        ids = [pid for pid, _ in batch]
        images = [im for _, im in batch]
        lead = queue.lead
        written: dict[str, list[int]] = {}
        if isinstance(lead.scorer, EmbeddingScorer):
            try:
                vectors = np.asarray(
                    self._call(lead, lead.scorer.embed_batch, images), dtype=np.float32
                )
                if vectors.ndim != 2 or len(vectors) != len(ids):
                    raise ValueError(
                        f"embed_batch returned shape {vectors.shape} for {len(ids)} images"
                    )
            except Exception as exc:
                self._fail_batch(queue.members, ids, exc)
                return
            with self.catalog.transaction() as conn:
                key = lead.scorer.embedding_key
                for pid, vec in zip(ids, vectors):
                    conn.execute(
                        "INSERT OR REPLACE INTO embeddings (photo_id, model, dim, vector, created) VALUES (?, ?, ?, ?, ?)",
                        [
                            pid,
                            key,
                            int(vec.shape[0]),
                            np.ascontiguousarray(vec, np.float32).tobytes(),
                            now(),
                        ],
                    )
            for member in queue.members:
                self._score_and_store(
                    member, ids, lambda m=member: m.scorer.score_embeddings(vectors), written
                )
        else:
            self._score_and_store(lead, ids, lambda: lead.scorer.score_batch(images), written)
        self._notify(written)

    def _score_and_store(self, s: ActiveScorer, ids: list[int], fn, written) -> None:
        try:
            results = self._call(s, fn)
            if not isinstance(results, (list, tuple)) or len(results) != len(ids):
                got = len(results) if isinstance(results, (list, tuple)) else type(results).__name__
                raise ValueError(f"returned {got} results for {len(ids)} images")
        except Exception as exc:
            self._fail_batch([s], ids, exc)
            return
        with self.catalog.transaction() as conn:
            for pid, result in zip(ids, results):
                self._store(conn, pid, s, result, written)

    def _call(self, s: ActiveScorer, fn, *args):
        if s.id in self.disabled:
            raise RuntimeError(self.disabled[s.id])
        if not self.batch_timeout:
            return fn(*args)
        if self._executor is None:
            self._executor = cf.ThreadPoolExecutor(1, thread_name_prefix="culler-scorer")
        future = self._executor.submit(fn, *args)
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

    def _fail_batch(self, members: list[ActiveScorer], ids: list[int], exc: Exception) -> None:
        message = str(exc) if isinstance(exc, ScorerTimeout) else f"{type(exc).__name__}: {exc}"
        with self.catalog.transaction() as conn:
            for s in members:
                for pid in ids:
                    self._error(conn, pid, s, message)

    # -- rows ------------------------------------------------------------------------------------
    def _store(self, conn, photo_id: int, s: ActiveScorer, result: Any, written) -> None:
        if not isinstance(result, ScoreResult):
            self._error(conn, photo_id, s, f"returned {type(result).__name__}, not a ScoreResult")
            return
        problems = result.problems()
        if problems:
            self._error(conn, photo_id, s, "; ".join(problems))
            return
        conn.execute(
            "INSERT OR REPLACE INTO scores (photo_id, scorer_pk, score, distribution, extra, reasons, created)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                photo_id,
                s.pk,
                None if result.score is None else float(result.score),
                json.dumps([float(p) for p in result.distribution])
                if result.distribution is not None
                else None,
                json.dumps(result.extra, default=_json_default) if result.extra else None,
                json.dumps(list(result.reasons)) if result.reasons else None,
                now(),
            ],
        )
        conn.execute("DELETE FROM tags WHERE photo_id = ? AND scorer_pk = ?", [photo_id, s.pk])
        if result.tags:
            conn.executemany(
                "INSERT INTO tags (photo_id, scorer_pk, tag, probability) VALUES (?, ?, ?, ?)",
                [(photo_id, s.pk, tag, float(p)) for tag, p in result.tags.items()],
            )
        if result.embedding is not None:
            vec = np.asarray(result.embedding, dtype=np.float32).ravel()
            conn.execute(
                "INSERT OR REPLACE INTO embeddings (photo_id, model, dim, vector, created) VALUES (?, ?, ?, ?, ?)",
                [photo_id, s.id, int(vec.shape[0]), vec.tobytes(), now()],
            )
        conn.execute(
            "DELETE FROM score_errors WHERE photo_id = ? AND scorer_pk = ?", [photo_id, s.pk]
        )
        s.done.add(photo_id)
        self.scored_photos.add(photo_id)
        written.setdefault(s.id, []).append(photo_id)

    def _error(self, conn, photo_id: int, s: ActiveScorer, message: str) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO score_errors (photo_id, scorer_pk, error, at) VALUES (?, ?, ?, ?)",
            [photo_id, s.pk, message[:500], now()],
        )
        self.scorer_errors[s.id] = self.scorer_errors.get(s.id, 0) + 1

    def _notify(self, written: dict[str, list[int]]) -> None:
        for scorer_id, ids in written.items():
            plugins.call_safely(
                "photos_scored", db=self.catalog, scorer_id=scorer_id, photo_ids=ids
            )

    # -- scoring from cached embeddings ----------------------------------------------------------
    def try_from_embeddings(self, item: WorkItem) -> bool:
        """Score ``item`` from cached embeddings when that covers every scorer it needs (no decode)."""
        if not item.needs or not all(isinstance(s.scorer, EmbeddingScorer) for s in item.needs):
            return False
        vectors = {}
        for s in item.needs:
            key = s.scorer.embedding_key
            if key not in vectors:
                found = self.catalog.embeddings(key, [item.photo_id])
                if item.photo_id not in found:
                    return False
                vectors[key] = found[item.photo_id][None, :]
        written: dict[str, list[int]] = {}
        for s in item.needs:
            vec = vectors[s.scorer.embedding_key]
            self._score_and_store(
                s, [item.photo_id], lambda s=s, v=vec: s.scorer.score_embeddings(v), written
            )
        self._notify(written)
        self.summary["from_cache"] = self.summary.get("from_cache", 0) + 1
        return True

    def close(self) -> None:
        self.summary["scored"] = len(self.scored_photos)
        if self._executor is not None:
            self._executor.shutdown(wait=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
