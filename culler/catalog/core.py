"""The catalog: one SQLite file (WAL, foreign keys, busy timeout) with typed accessors.

Everything culler knows lives here: photos, scorer versions, scores, tags, embeddings, ratings
(append-only), groups, scan and training runs. Writers keep transactions short so the GUI and the CLI can
share a catalog.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from culler.catalog import roots, score_json, timestamps
from culler.catalog.faces import FacesMixin, PeopleMixin
from culler.catalog.grid_pages import GridPagesMixin
from culler.catalog.groups import DIGEST_FUNCTION, GroupsMixin, facts_digest
from culler.catalog.migrations import Migrations, migrations
from culler.catalog.moves import MovesMixin
from culler.catalog.opening import (
    CatalogError,
    NoCatalog,
    OlderCatalog,
    check_catalog_file,
    explain,
    is_blank,
)
from culler.catalog.photos import PhotosMixin
from culler.catalog.rankers import RankersMixin
from culler.catalog.ratings import RatingsMixin
from culler.catalog.scanning import ScanStore
from culler.catalog.search import SearchMixin
from culler.catalog.tags import TagStore
from culler.catalog.timestamps import now
from culler.catalog.training import TrainingMixin
from culler.catalog.upgrades import PAGE_SIZE, Progress, UpgradesMixin

if TYPE_CHECKING:  # numpy loads where a vector is read or written (`culler list` never does)
    import numpy as np
    import sqlite_utils

DEFAULT_NAME = "culler.db"
BUSY_TIMEOUT_MS = 30_000


class Catalog(
    PhotosMixin,
    RatingsMixin,
    TrainingMixin,
    ScanStore,
    GroupsMixin,
    TagStore,
    MovesMixin,
    SearchMixin,
    FacesMixin,
    PeopleMixin,
    RankersMixin,
    GridPagesMixin,
    UpgradesMixin,
):
    """A culler catalog. Use :func:`open_catalog` to get one with the schema up to date."""

    def __init__(self, path: str | Path, read_only: bool = False) -> None:
        self.path = Path(path)
        conn = _connect(self.path)
        self._db: sqlite_utils.Database | None = None
        self.conn = conn
        # One connection may be shared by threads (the GUI's scan worker and its window): a write
        # transaction must not interleave with another thread's statements on the same connection.
        self._lock = threading.RLock()
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not read_only and is_blank(self.path):  # before the first write fixes the page size
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        try:
            if not read_only:  # switching the journal mode rewrites the file's header
                conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError:
            pass  # e.g. a read-only medium: the default journal still works
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        # Recorded grouping facts are digests (culler.catalog.groups.facts_digest); the comparison in
        # SQL digests the facts it makes the same way.
        conn.create_function(DIGEST_FUNCTION, 1, facts_digest, deterministic=True)

    @property
    def db(self) -> sqlite_utils.Database:
        """The catalog as a ``sqlite_utils.Database`` (made on first use: sqlite-utils loads numpy)."""
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self.conn)
        return self._db

    # -- lifecycle -------------------------------------------------------------------------------
    def migrate(self, plugins: bool = True) -> list[str]:
        """Apply the schema steps this catalog lacks; ``plugins=False`` applies core steps only
        (commands that read only core tables, such as ``culler list``, then load no plugin)."""
        applied = migrations.apply(self.db) if migrations.pending(self.conn) else []
        if plugins:
            plugin_steps = _plugin_migrations()
            if plugin_steps.pending(self.conn):
                applied += plugin_steps.apply(self.db)
        return applied

    def pending_migrations(self, plugins: bool = True) -> list[str]:
        """Schema steps (core and, with ``plugins``, plugins') this catalog lacks. Only reads."""
        pending = migrations.pending(self.conn)
        return pending + (_plugin_migrations().pending(self.conn) if plugins else [])

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction (BEGIN IMMEDIATE, so writers queue instead of deadlocking).

        IMMEDIATE takes the write lock before the first read, so a read-modify-write such as
        :meth:`rate` cannot lose another process's update, and waiting for the lock obeys the busy
        timeout (a deferred transaction that upgrades from read to write fails at once instead).
        """
        with self._lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise explain(exc, self.path, BUSY_TIMEOUT_MS / 1000) from exc
            try:
                yield self.conn
                self.conn.commit()  # inside the try: a commit that fails (disk full) is rolled back too
            except sqlite3.OperationalError as exc:
                if self.conn.in_transaction:
                    self.conn.rollback()
                raise explain(exc, self.path, BUSY_TIMEOUT_MS / 1000) from exc
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.rollback()
                raise

    def execute(self, sql: str, params: Iterable[Any] | dict = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def query(self, sql: str, params: Iterable[Any] | dict = ()) -> list[dict[str, Any]]:
        cursor = self.conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    # -- scorers ---------------------------------------------------------------------------------
    def scorer_pk(
        self,
        scorer_id: str,
        version: str,
        weights_sha256: str = "",
        config: dict[str, Any] | None = None,
        parent: int | None = None,
    ) -> int:
        """The row id for (scorer id, version, weights), created on first use."""
        row = self.conn.execute(
            "SELECT id FROM scorers WHERE scorer_id = ? AND version = ? AND weights_sha256 = ?",
            [scorer_id, version, weights_sha256],
        ).fetchone()
        if row:
            return row[0]
        with self.transaction() as conn:
            active = conn.execute(
                "SELECT COUNT(*) FROM scorers WHERE scorer_id = ? AND active = 1", [scorer_id]
            ).fetchone()[0]
            cursor = conn.execute(
                "INSERT INTO scorers (scorer_id, version, weights_sha256, parent, active, created, config)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    scorer_id,
                    version,
                    weights_sha256,
                    parent,
                    0 if active else 1,
                    now(),
                    json.dumps(config or {}, sort_keys=True),
                ],
            )
            return cursor.lastrowid

    def configure_scorer(self, pk: int, config: dict[str, Any]) -> None:
        """Store ``config`` on scorer row ``pk`` and make it the active row for its scorer id.

        Settings that change scores also change the scorer's ``weights_sha256`` and so get their own
        row (older scores stay with the settings that made them); settings that do not (a reasons
        threshold) update the row in place.
        """
        with self.transaction() as conn:
            conn.execute(
                "UPDATE scorers SET config = ? WHERE id = ?",
                [json.dumps(config, sort_keys=True), pk],
            )
        self.activate_scorer(pk)

    def activate_scorer(self, pk: int) -> None:
        """Make scorer row ``pk`` the one ``culler scan`` uses for its scorer id (e.g. a personal model)."""
        with self.transaction() as conn:
            (scorer_id,) = conn.execute(
                "SELECT scorer_id FROM scorers WHERE id = ?", [pk]
            ).fetchone()
            conn.execute(
                "UPDATE scorers SET active = (id = ?) WHERE scorer_id = ?", [pk, scorer_id]
            )

    def active_scorer(self, scorer_id: str) -> dict[str, Any] | None:
        rows = self.query(
            "SELECT * FROM scorers WHERE scorer_id = ? ORDER BY active DESC, id DESC LIMIT 1",
            [scorer_id],
        )
        if not rows:
            return None
        row = rows[0]
        row["config"] = json.loads(row["config"] or "{}")
        return row

    def scored_photo_ids(self, scorer_pk: int) -> set[int]:
        return {
            r[0]
            for r in self.conn.execute(
                "SELECT photo_id FROM scores WHERE scorer_pk = ?", [scorer_pk]
            )
        }

    # -- photos ----------------------------------------------------------------------------------
    def photo_by_path(self, path: str | Path) -> dict[str, Any] | None:
        rows = self.query(f"SELECT {roots.WHOLE_ROW} FROM photos p WHERE path = ?", [str(path)])
        return timestamps.photo_row(rows[0]) if rows else None

    def photo(self, photo_id: int) -> dict[str, Any] | None:
        rows = self.query(f"SELECT {roots.WHOLE_ROW} FROM photos p WHERE id = ?", [photo_id])
        return timestamps.photo_row(rows[0]) if rows else None

    def scores_for(self, photo_id: int) -> list[dict[str, Any]]:
        """Every score of a photo with its scorer version, parsed (for ``culler show`` and the GUI)."""
        rows = self.query(
            "SELECT sc.scorer_id, sc.version, sc.weights_sha256, sc.active, s.score, s.distribution,"
            " s.reasons, s.extra, s.created FROM scores s JOIN scorers sc ON sc.id = s.scorer_pk"
            " WHERE s.photo_id = ? ORDER BY sc.scorer_id, sc.active DESC, sc.id DESC",
            [photo_id],
        )
        for row in rows:
            for key in ("distribution", "reasons", "extra"):
                row[key] = score_json.load(row[key]) if row[key] else None
            row["created"] = timestamps.iso(row["created"])  # stored as milliseconds since 1970
        return rows

    def tags_for(self, photo_id: int) -> dict[str, float]:
        """{tag: probability}, most probable first: scorer tags and hand tags (probability 1) alike;
        :meth:`tag_details` also says where each came from."""
        tags = self.tag_details([photo_id]).get(photo_id, {})  # type: ignore[attr-defined]
        return {tag: info["probability"] for tag, info in tags.items()}

    def score_errors_for(self, photo_id: int) -> list[dict[str, Any]]:
        return self.query(
            "SELECT sc.scorer_id, e.error, e.at FROM score_errors e JOIN scorers sc ON sc.id = e.scorer_pk"
            " WHERE e.photo_id = ?",
            [photo_id],
        )

    # -- embeddings ------------------------------------------------------------------------------
    def embeddings(
        self, model: str, photo_ids: Iterable[int] | None = None
    ) -> dict[int, np.ndarray]:
        """Cached embeddings for ``model`` by photo id (all of them, or those of ``photo_ids``)."""
        import numpy as np

        if photo_ids is None:
            rows = self.conn.execute(
                "SELECT photo_id, dim, vector FROM embeddings WHERE model = ?", [model]
            )
            return {
                pid: np.frombuffer(blob, dtype=np.float32, count=dim) for pid, dim, blob in rows
            }
        result = {}
        ids = list(photo_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT photo_id, dim, vector FROM embeddings WHERE model = ? AND photo_id IN ({marks})",
                [model, *chunk],
            )
            for pid, dim, blob in rows:
                result[pid] = np.frombuffer(blob, dtype=np.float32, count=dim)
        return result


def _plugin_migrations() -> Migrations:
    from culler.plugin import manager as plugins

    plugin_migrations = Migrations("plugin")
    plugins.call_safely("register_migrations", migrations=plugin_migrations)
    return plugin_migrations


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)


def open_catalog(
    path: str | Path,
    migrate: bool = True,
    create: bool = True,
    read_only: bool = False,
    progress: Progress | None = None,
    plugins: bool = True,
) -> Catalog:
    """Open the catalog at ``path`` (creating it when ``create``) and bring its schema up to date.

    Then the data upgrades an earlier version's catalog needs (``culler.catalog.upgrades``: a
    compact form of what it stored) run in resumable batches, reporting to ``progress(what, done,
    total)``; without ``progress`` only small ones run (a large one waits for a command that shows
    a progress bar; readers read both forms meanwhile).

    A file that is not a culler catalog, or one from a newer culler, is refused with a
    :class:`~culler.catalog.opening.CatalogError` before anything is written to it. With
    ``read_only`` (dry runs) the schema is never upgraded: a catalog an older culler wrote is refused
    with a line saying that a scan will upgrade it, and the file stays as it was.
    """
    path = Path(path)
    if is_blank(path):
        if not create:
            raise NoCatalog(
                f"no catalog at {path}. Run `culler scan FOLDER` first, or pass --db PATH to an "
                "existing catalog"
            )
        if path.parent and not path.parent.exists():
            raise FileNotFoundError(
                f"cannot create catalog {path}: folder {path.parent} does not exist"
            )
    else:
        check_catalog_file(path, {name for name, _ in migrations.steps})
    catalog = Catalog(path, read_only=read_only)
    try:
        if read_only:
            pending = catalog.pending_migrations(plugins)
            if pending:
                raise OlderCatalog(
                    f"{path} was written by an older culler and needs an upgrade ({len(pending)} "
                    "schema step(s)) before this command can read it; nothing was changed. Run "
                    "`culler scan FOLDER` (or the command without --dry-run) to upgrade it"
                )
        elif migrate:
            catalog.migrate(plugins)
            catalog.upgrade_data(progress)
    except sqlite3.OperationalError as exc:
        catalog.close()
        raise explain(exc, path, BUSY_TIMEOUT_MS / 1000) from exc
    except BaseException:
        catalog.close()
        raise
    return catalog


__all__ = ["BUSY_TIMEOUT_MS", "DEFAULT_NAME", "Catalog", "CatalogError", "open_catalog"]
