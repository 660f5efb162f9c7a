"""Data upgrades: rewriting, in place, what earlier versions stored in a bulkier form (issue #32):
near-duplicate signatures of 1,105 bytes as about 800, losslessly (``compact_signatures``), and then
as about 700 (``context_rice_signatures``, version 3), score details as compact
JSON with integer grids as bytes (``compact_score_json``, :mod:`culler.catalog.score_json`), then
score details and reasons in a binary layout (``pack_score_extra``, ``pack_score_reasons``,
:mod:`culler.catalog.score_pack`) and score times as milliseconds (``score_times_ms``,
:mod:`culler.catalog.timestamps`), then the score rows copied into a ``WITHOUT ROWID`` table
(``scores_without_rowid``, :mod:`culler.catalog.score_table`: a copy kept in step by triggers,
swapped in by its last batch, instead of a rewrite in place), then the technical scorer's stored
sharpness grids dropped (``technical_details_without_grid``: the overlay computes the grid for the
photo it shows).

A schema migration (``culler.catalog.migrations``) runs in one transaction: right for adding a table or
a column, wrong for rewriting a million rows (minutes under one write lock, no progress, all lost if
stopped). A data upgrade is registered by a migration (a row in :data:`TABLE`) and then run by
:meth:`UpgradesMixin.upgrade_data` in batches of :data:`BATCH` rows in key order, each batch one
transaction that rewrites its rows *and* records how far it got. So:

* a kill, a power cut or Ctrl-C loses at most the batch in flight (rolled back: those rows keep the
  form they had), and the next open goes on from the last recorded key;
* every reader reads both forms (``Signature.from_bytes`` reads version 1, 2 and 3 signatures), so a
  catalog upgraded halfway is a correct catalog;
* an upgrade only rewrites the column it compacts: ratings, scores, tags and groups are never
  touched (tests/test_catalog_upgrades.py kills the upgrade at many statements and checks);
* the command line shows a progress bar (``progress``); with no one to show it to (the GUI, library
  code), an upgrade of more than :data:`SILENT_ROWS` rows waits for the next command run in a
  terminal, so a window never freezes on open;
* once an upgrade has shrunk rows, the space is given back (``VACUUM``, itself atomic) when the
  free disk allows and no other process is writing, recorded the same way, so it is redone if
  stopped or postponed;
* that ``VACUUM`` also rewrites a catalog's smaller pages at :data:`PAGE_SIZE` (16 KB; migrations
  ``016_larger_pages`` and ``025_sixteen_kb_pages`` record it as to do for such a catalog,
  :func:`vacuum`), and gives back the
  pages of an index a migration dropped (``017_unused_hash_index``).
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from culler.catalog import score_table
from culler.catalog.timestamps import now

#: Where each data upgrade records how far it got.
TABLE = "_data_upgrades"
#: Rows rewritten per transaction (about 5 MB of signatures: a short write lock).
BATCH = 5_000
#: How long the space reclaim waits for other processes' reads to end before leaving it for later.
VACUUM_WAIT_MS = 1_000
#: An upgrade of at most this many rows runs on any open, silently (a second or two).
SILENT_ROWS = 20_000
#: The catalog's page size in bytes. New catalogs are made with it, and an older catalog's smaller
#: pages are rewritten at it by the space reclaim's ``VACUUM`` (migrations ``016_larger_pages``,
#: 4 KB to 8 KB, and ``025_sixteen_kb_pages``, to 16 KB): a photo's row holds a signature of about
#: 770 bytes, and larger pages leave less unused space at their ends (a real catalog at 100,000
#: photos: 4 KB 2,430 → 8 KB about 2,270 B a photo, then 1,501 → 1,480 at 16 KB; reads measured
#: no slower at either step, docs/scale.md).
PAGE_SIZE = 16384

#: ``progress(what, done, total)``: rows rewritten so far of the rows to rewrite; called with
#: done == total when ``what`` is finished. ``what`` is a phrase ("compacting signatures").
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DataUpgrade:
    """Rewrite ``column`` of ``table`` row by row (``key``: an integer key, visited in order)."""

    name: str
    what: str
    table: str
    key: str
    column: str
    #: SQL condition on the rows that need it (counted for the progress bar; cheap to test).
    needs: str
    #: The new value of a row's column, or None to leave the row as it is. With :attr:`more`, it
    #: takes and returns a tuple: the values of ``column`` and then of each of ``more``.
    rewrite: Callable[[Any], Any] | None = None
    #: Further columns the same pass rewrites (one pass over a table of a million rows, not three).
    more: tuple[str, ...] = ()
    #: The columns that name one row when ``key`` does not (``scores``: photo and scorer); a batch
    #: then ends after all the rows of its last key.
    row: tuple[str, ...] = ()
    #: Instead of ``rewrite``: ``copy(conn, last_key, batch)`` moves the next batch and returns the
    #: last key moved, or None when nothing is left; then ``finish(conn)``, in the same
    #: transaction (``scores_without_rowid``: culler.catalog.score_table).
    copy: Callable[[Any, int, int], int | None] | None = None
    finish: Callable[[Any], None] | None = None
    #: Instead of ``rewrite``: ``rewrite_many(conn, values)``, the new values of a whole batch's
    #: ``column`` values at once (a list for a list; None leaves a row as it is), given the
    #: batch's connection inside its transaction: for a rewrite that is cheaper done together
    #: (``context_rice_signatures``: the thumbnails coded with numpy across the batch) or that
    #: writes beside its rows (``scan_roots_as_ids`` adds each new folder to ``roots``).
    rewrite_many: Callable[[Any, list[Any]], list[Any]] | None = None
    #: The rewrite changes no fact grouping reads (a signature stored in another coding of the same
    #: values): the change-log rows its ``UPDATE`` makes the ``grouping_photo_changed`` trigger
    #: write are removed in the same transaction, so the next grouping does not compare every
    #: rewritten photo's facts again, and the log's position is put back where it was (those
    #: sequence numbers were never seen outside the transaction).
    keeps_grouping_facts: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column, *self.more)


def _signatures_today(
    conn: Any, blobs: list[Any], versions: tuple[int, ...] = (1, 2)
) -> list[bytes | None]:
    """Stored signatures of earlier ``versions`` as today's (version 3), a batch at once; None
    for a row to leave as it is (another version, or a blob no version reads). ``conn`` unused."""
    from culler.imaging import signatures

    old = [bytes(b) if b and b[0] in versions else b"" for b in blobs]
    rewritten = signatures.compact_many(old)
    return [new if blob and new != blob else None for blob, new in zip(old, rewritten)]


def _version_1_signatures_today(conn: Any, blobs: list[Any]) -> list[bytes | None]:
    return _signatures_today(conn, blobs, (1,))


#: ``culler.imaging.signatures.V1_SIZE`` and ``HEADER``, written out: importing that module loads
#: numpy and PIL, and every command opens a catalog through this one (``culler list`` starts
#: without them; tests/test_catalog_upgrades.py checks they agree).
V1_SIGNATURE_SIZE = 1105
SIGNATURE_HEADER = 81


UPGRADES: dict[str, DataUpgrade] = {
    "compact_signatures": DataUpgrade(
        name="compact_signatures",
        what="compacting near-duplicate signatures",
        table="photos",
        key="id",
        column="signature",
        needs=f"length(signature) = {V1_SIGNATURE_SIZE} AND substr(signature, 1, 1) = x'01'",
        rewrite_many=_version_1_signatures_today,  # straight to today's version
        keeps_grouping_facts=True,
    ),
    # Versions 1 and 2 as version 3 (the thumbnail in MED residuals and context Rice codes,
    # culler.imaging.signatures): migration 022_signature_context_rice.
    "context_rice_signatures": DataUpgrade(
        name="context_rice_signatures",
        what="coding near-duplicate signatures smaller",
        table="photos",
        key="id",
        column="signature",
        needs=(
            f"(length(signature) = {V1_SIGNATURE_SIZE} AND substr(signature, 1, 1) = x'01')"
            f" OR (length(signature) > {SIGNATURE_HEADER} AND substr(signature, 1, 1) = x'02')"
        ),
        rewrite_many=_signatures_today,
        keeps_grouping_facts=True,
    ),
}


def _repack_score_json(text: Any) -> str | bytes | None:
    from culler.catalog import score_json

    # Straight to today's form (packed): one pass over a catalog from before both steps.
    return score_json.repack(text)


UPGRADES["compact_score_json"] = DataUpgrade(
    name="compact_score_json",
    what="compacting stored score details",
    table="scores",
    key="photo_id",
    row=("photo_id", "scorer_pk"),
    column="extra",
    # What json.dumps wrote before (", " and ": " between items); compact rows are left as they are,
    # and so are packed ones (BLOBs: culler.catalog.score_pack).
    needs="typeof(extra) = 'text' AND (extra LIKE '%, %' OR extra LIKE '%: %')",
    rewrite=_repack_score_json,
)


for _column in ("extra", "reasons"):
    UPGRADES[f"pack_score_{_column}"] = DataUpgrade(
        name=f"pack_score_{_column}",
        what=f"packing stored score {'details' if _column == 'extra' else 'reasons'}",
        table="scores",
        key="photo_id",
        row=("photo_id", "scorer_pk"),
        column=_column,
        # JSON text; a row whose JSON is shorter than its packed form stays text (a short reason).
        needs=f"typeof({_column}) = 'text'",
        rewrite=_repack_score_json,
    )


def _score_time_ms(text: Any) -> int | None:
    from culler.catalog import timestamps

    return timestamps.to_ms(text)


UPGRADES["score_times_ms"] = DataUpgrade(
    name="score_times_ms",
    what="storing score times as numbers",
    table="scores",
    key="photo_id",
    row=("photo_id", "scorer_pk"),
    column="created",
    # ISO text culler's clock wrote (a number, or anything else, is left as it is).
    needs="typeof(created) = 'text' AND created LIKE '____-__-__T%'",
    rewrite=_score_time_ms,
)


def _facts_digest(facts: Any) -> bytes | None:
    from culler.catalog.groups import facts_digest

    return facts_digest(facts) if isinstance(facts, str) else None


UPGRADES["grouping_fact_digests"] = DataUpgrade(
    name="grouping_fact_digests",
    what="recording grouping facts as digests",
    table="grouping_state",
    key="photo_id",
    column="facts",
    # The text earlier versions recorded (culler.catalog.groups.facts_digest).
    needs="typeof(facts) = 'text'",
    rewrite=_facts_digest,
)


def _compact_photo_row(values: tuple[Any, Any, Any]) -> tuple[Any, Any, Any] | None:
    """A photo's (phash, first_seen, last_seen) as this version stores them: no dHash (nothing
    reads it since signatures exist), the times as milliseconds (culler.catalog.timestamps)."""
    from culler.catalog import timestamps

    phash, first, last = values
    new = (None, timestamps.to_ms(first) or first, timestamps.to_ms(last) or last)
    return None if new == (phash, first, last) else new


UPGRADES["compact_photo_rows"] = DataUpgrade(
    name="compact_photo_rows",
    what="compacting photo rows",
    table="photos",
    key="id",
    column="phash",
    more=("first_seen", "last_seen"),
    needs="phash IS NOT NULL OR first_seen LIKE '____-__-__T%' OR last_seen LIKE '____-__-__T%'",
    rewrite=_compact_photo_row,
)


#: The technical scorer's per-tile sharpness map and the two facts that place it: computed when the
#: loupe's overlay shows a photo (``Scorer.details_on_demand``) since migration
#: ``024_technical_details_without_grid``, no longer stored (about 150 bytes a photo).
GRID_KEYS = ("sharpness_grid", "sharpness_grid_tile", "scored_size")


def _details_without_grid(stored: Any) -> str | bytes | None:
    """A score's stored details without :data:`GRID_KEYS` (None when it has no grid: left as it
    is); every other key and value reads back as it did."""
    from culler.catalog import score_json, score_pack

    try:
        packed = score_pack.is_packed(stored)
        value = score_pack.unpack(stored) if packed else score_json.load(stored)
    except (ValueError, TypeError):
        return None  # damaged: left for the reader to report, as before
    if not isinstance(value, dict) or "sharpness_grid" not in value:
        return None
    for key in GRID_KEYS:
        value.pop(key, None)
    # A packed row is unpacked and packed again directly (what ``store`` would choose: a
    # technical score's details are always shorter packed), about 90 µs a row; text rows
    # (before ``pack_score_extra``) as ``store`` writes them.
    return score_pack.pack(value) if packed else score_json.store(value)


UPGRADES["technical_details_without_grid"] = DataUpgrade(
    name="technical_details_without_grid",
    what="dropping stored sharpness grids",
    table="scores",
    key="photo_id",
    row=("photo_id", "scorer_pk"),
    column="extra",
    # Packed rows (culler.catalog.score_pack) holding the key ``sharpness_grid`` (word 7, stored
    # as the byte 14) followed by a grid, a list or compressed grid tag (9, 7, 10); JSON text rows
    # naming it. A value that merely holds those bytes is read and left as it is.
    needs=(
        "CASE WHEN typeof(extra) = 'blob' THEN instr(extra, x'0e09') > 0"
        " OR instr(extra, x'0e0a') > 0 OR instr(extra, x'0e07') > 0"
        " ELSE typeof(extra) = 'text' AND extra LIKE '%\"sharpness_grid\"%' END"
    ),
    rewrite=_details_without_grid,
)


@dataclass(frozen=True)
class WholeStep:
    """A rewrite that cannot be cut into batches (an index made again from scratch): one
    transaction, run like a data upgrade (recorded as to do by a migration, with a progress bar, a
    large one left for a command run in a terminal) so that a catalog's first open does not wait
    on it; killed, it is rolled back whole and done again by the next open."""

    name: str
    what: str
    #: The table whose rows it reads (counted for the progress bar and the silent-size rule).
    table: str
    #: ``run(conn)``, inside the step's transaction.
    run: Callable[[Any], None]
    #: Run with foreign keys off (a table made again: dropping the old one with them on deletes
    #: every row that refers to it, ``ON DELETE CASCADE``). They cannot change inside a
    #: transaction, so the step turns them off before its transaction and on after it, and checks
    #: every reference (``PRAGMA foreign_key_check``) before it commits.
    foreign_keys_off: bool = False


#: The whole steps, by name: each added by the module whose step it is, as that module is imported
#: (``search_index_without_column_sizes``: culler.catalog.search, which every catalog imports), so
#: this module imports none of them.
WHOLE_STEPS: dict[str, WholeStep] = {}


UPGRADES["scores_without_rowid"] = DataUpgrade(
    name="scores_without_rowid",
    what="storing score rows without rowids",
    table="scores",
    key="photo_id",
    column="created",
    needs="1",  # every row is copied
    copy=score_table.copy_batch,
    finish=score_table.swap,
)


def _roots_as_ids(conn: Any, roots: list[Any]) -> list[Any]:
    from culler.catalog import roots as scan_roots

    return scan_roots.as_ids(conn, roots)


#: Each photo's scan folder as its id in ``roots`` instead of its text (migration
#: ``026_scan_roots_table``, culler.catalog.roots). The same folder read back: no grouping fact
#: changes, so the rewrite leaves nothing in the grouping change log.
UPGRADES["scan_roots_as_ids"] = DataUpgrade(
    name="scan_roots_as_ids",
    what="storing scan folders once each",
    table="photos",
    key="id",
    column="root",
    # A folder's text (an id is digits only: culler.catalog.roots).
    needs="typeof(root) = 'text' AND root != '' AND (root NOT GLOB '[1-9]*' OR root GLOB '*[^0-9]*')",
    rewrite_many=_roots_as_ids,
    keeps_grouping_facts=True,
)
#: The last step: give the space the upgrades freed back to the file system.
RECLAIM = "reclaim_space"


def _log_position(conn: Any) -> int | None:
    """The grouping change log's last sequence number (None: a catalog without the log)."""
    from culler.catalog.groups import LOG_TABLE

    has_log = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [LOG_TABLE]
    ).fetchall()
    if not has_log:
        return None
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", [LOG_TABLE]).fetchall()
    return int(row[0][0]) if row else 0


def _rewind_log(conn: Any, position: int) -> None:
    """The grouping change log as it was at ``position`` (:func:`_log_position`): the rows a
    rewrite's ``UPDATE`` made its trigger write go, and so does the log's move past them (those
    sequence numbers were never seen outside the transaction, so nothing reads the log as moved
    on)."""
    from culler.catalog.groups import LOG_TABLE

    conn.execute(f"DELETE FROM {LOG_TABLE} WHERE seq > ?", [position])
    conn.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", [position, LOG_TABLE])


def _record_table(db: Any) -> None:
    """Inside a migration: the table where each data upgrade records how far it got."""
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {TABLE} (name TEXT PRIMARY KEY, last_key INTEGER NOT NULL"
        " DEFAULT 0, rewritten INTEGER NOT NULL DEFAULT 0, started TEXT, finished TEXT)"
    )


def register(db: Any, name: str) -> None:
    """Inside a migration: record data upgrade ``name`` as to do (finished at once when its table
    has no row that needs it, as in a new catalog)."""
    _record_table(db)
    upgrade = UPGRADES[name]
    needed = db.execute(f"SELECT 1 FROM {upgrade.table} WHERE {upgrade.needs} LIMIT 1").fetchone()
    db.execute(
        f"INSERT OR IGNORE INTO {TABLE} (name, finished) VALUES (?, ?)",
        [name, None if needed else now()],
    )


def register_whole_step(db: Any, name: str) -> None:
    """Inside a migration: record :data:`WHOLE_STEPS` ``name`` as to do."""
    _record_table(db)
    db.execute(f"INSERT OR IGNORE INTO {TABLE} (name) VALUES (?)", [WHOLE_STEPS[name].name])


def register_page_size(db: Any) -> None:
    """Inside a migration: record the space reclaim as to do when the catalog's pages are smaller
    than :data:`PAGE_SIZE` (its ``VACUUM`` rewrites them at that size: :func:`vacuum`)."""
    (size,) = db.execute("PRAGMA page_size").fetchone()
    if size < PAGE_SIZE:
        register_reclaim(db)


def register_reclaim(db: Any) -> None:
    """Inside a migration that freed pages (an index dropped): record the space reclaim as to do."""
    _record_table(db)
    db.execute(f"INSERT OR REPLACE INTO {TABLE} (name, started) VALUES (?, ?)", [RECLAIM, now()])


def vacuum(conn: sqlite3.Connection) -> None:
    """``VACUUM``, rewriting the pages at :data:`PAGE_SIZE` when they are smaller.

    A database in WAL mode keeps its page size through a ``VACUUM``, so for that one the catalog
    leaves WAL for the rollback journal and comes back to it. Leaving WAL needs the catalog to
    itself: while another process has it open this raises ``sqlite3.OperationalError`` (database
    is locked) and the caller leaves the step for later. Atomic as a plain ``VACUUM`` is: killed
    halfway, the journal puts the file back as it was, and the next open switches it to WAL again.
    """
    # Every statement read to its end (fetchall): one left open keeps the checkpoint that follows
    # from running ("database table is locked").
    ((size,),) = conn.execute("PRAGMA page_size").fetchall()
    if size >= PAGE_SIZE:
        conn.execute("VACUUM")
        return
    ((mode,),) = conn.execute("PRAGMA journal_mode = DELETE").fetchall()
    try:
        if mode.lower() != "delete":  # not changed: another connection has the catalog open
            raise sqlite3.OperationalError("database is locked (journal mode unchanged)")
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        conn.execute("VACUUM")
    finally:
        if mode.lower() == "delete":
            conn.execute("PRAGMA journal_mode = WAL").fetchall()
            # After a table was renamed (the score rows' copy, culler.catalog.score_table), the
            # first checkpoint after this VACUUM fails ("database table is locked", SQLite 3.40)
            # unless the schema is read first.
            conn.execute("SELECT count(*) FROM sqlite_master").fetchall()


class UpgradesMixin:
    """Running the data upgrades a catalog has pending."""

    def pending_data_upgrades(self) -> list[str]:
        """Names of the data upgrades (and the space reclaim) not yet finished. Only reads."""
        if not self._has_table(TABLE):  # type: ignore[attr-defined]
            return []
        return [
            r[0]
            for r in self.conn.execute(  # type: ignore[attr-defined]
                f"SELECT name FROM {TABLE} WHERE finished IS NULL ORDER BY rowid"
            )
        ]

    def data_upgrade_rows(self, name: str) -> int:
        """Rows data upgrade ``name`` has still to rewrite (a pass over its table); a whole step's
        table's rows."""
        if name in WHOLE_STEPS:
            return self.conn.execute(  # type: ignore[attr-defined]
                f"SELECT COUNT(*) FROM {WHOLE_STEPS[name].table}"
            ).fetchone()[0]
        upgrade = UPGRADES[name]
        (last,) = self.conn.execute(  # type: ignore[attr-defined]
            f"SELECT last_key FROM {TABLE} WHERE name = ?", [name]
        ).fetchone()
        return self.conn.execute(  # type: ignore[attr-defined]
            f"SELECT COUNT(*) FROM {upgrade.table} WHERE {upgrade.key} > ? AND {upgrade.needs}",
            [last],
        ).fetchone()[0]

    def upgrade_data(self, progress: Progress | None = None, batch: int | None = None) -> list[str]:
        """Run the pending data upgrades, batch by batch; return the names finished.

        Without ``progress`` an upgrade of more than :data:`SILENT_ROWS` rows is left for later
        (readers read both forms)."""
        finished = []
        for name in self.pending_data_upgrades():
            if name == RECLAIM:
                continue
            total = self.data_upgrade_rows(name)
            if progress is None and total > SILENT_ROWS:
                continue
            if name in WHOLE_STEPS:
                if not self._room_for(WHOLE_STEPS[name]):
                    continue  # left for later: readers read the catalog as it is
                self._run_whole_step(WHOLE_STEPS[name], total, progress)
            else:
                self._run_upgrade(UPGRADES[name], total, progress, batch or BATCH)
            finished.append(name)
        if self.pending_data_upgrades() == [RECLAIM] and self._reclaim_space(progress):
            finished.append(RECLAIM)
        return finished

    def _run_upgrade(
        self, upgrade: DataUpgrade, total: int, progress: Progress | None, batch: int
    ) -> None:
        done = 0
        if progress:
            progress(upgrade.what, 0, total)
        while True:
            with self.transaction() as conn:  # type: ignore[attr-defined]
                (last,) = conn.execute(
                    f"SELECT last_key FROM {TABLE} WHERE name = ?", [upgrade.name]
                ).fetchone()
                before = conn.total_changes
                if upgrade.copy is not None:
                    moved = upgrade.copy(conn, last, batch)
                    rows: list[Any] = [] if moved is None else [(moved,)]
                else:
                    rows = self._upgrade_batch(conn, upgrade, last, batch)
                if not rows:
                    if upgrade.finish is not None:
                        upgrade.finish(conn)
                    conn.execute(
                        f"UPDATE {TABLE} SET finished = ? WHERE name = ?", [now(), upgrade.name]
                    )
                    (rewritten,) = conn.execute(
                        f"SELECT rewritten FROM {TABLE} WHERE name = ?", [upgrade.name]
                    ).fetchone()
                    if rewritten:  # rows shrank: give the space back once every upgrade is done
                        conn.execute(
                            f"INSERT OR REPLACE INTO {TABLE} (name, started) VALUES (?, ?)",
                            [RECLAIM, now()],
                        )
                    break
                if upgrade.copy is None:
                    changes = self._rewritten(upgrade, rows, conn)
                    sets = ", ".join(f"{c} = ?" for c in upgrade.columns)
                    where = " AND ".join(f"{c} = ?" for c in upgrade.row or (upgrade.key,))
                    logged = _log_position(conn) if upgrade.keeps_grouping_facts else None
                    conn.executemany(f"UPDATE {upgrade.table} SET {sets} WHERE {where}", changes)
                    if logged is not None:
                        _rewind_log(conn, logged)
                # Rows rewritten, or copied (no trigger on the table copied to).
                count = conn.total_changes - before if upgrade.copy else len(changes)
                conn.execute(
                    f"UPDATE {TABLE} SET last_key = ?, rewritten = rewritten + ?,"
                    " started = coalesce(started, ?) WHERE name = ?",
                    [rows[-1][0], count, now(), upgrade.name],
                )
            done += count
            if progress:
                progress(upgrade.what, min(done, total), total)
        if progress:
            progress(upgrade.what, total, total)

    def _room_for(self, step: WholeStep) -> bool:
        """Whether the disk holds what ``step`` writes: a table made again (``foreign_keys_off``)
        is written whole into the WAL before it commits, about the catalog's size at most (1.0
        GB at a million photos, docs/scale.md). Without the room the step waits for a later
        open instead of failing with a full disk halfway (it would be rolled back all the same)."""
        if not step.foreign_keys_off:
            return True
        size = self.path.stat().st_size  # type: ignore[attr-defined]
        return shutil.disk_usage(self.path.parent).free >= size + (64 << 20)  # type: ignore[attr-defined]

    @staticmethod
    def _rewritten(
        upgrade: DataUpgrade, rows: list[Any], conn: Any = None
    ) -> list[tuple[Any, ...]]:
        """(new values..., where values...) of the batch's rows that change."""
        width = len(upgrade.columns)
        names = [row[: len(row) - width] for row in rows]
        values = [row[len(row) - width :] for row in rows]
        if upgrade.rewrite_many is not None:
            new_values = upgrade.rewrite_many(conn, [v[0] for v in values])
        else:
            new_values = [
                upgrade.rewrite(tuple(v) if upgrade.more else v[0])  # type: ignore[misc]
                for v in values
            ]
        changes = []
        for name, new in zip(names, new_values):
            if new is not None:
                where_values = name[1:] if upgrade.row else name
                changes.append((*(new if upgrade.more else (new,)), *where_values))
        return changes

    def _run_whole_step(self, step: WholeStep, total: int, progress: Progress | None) -> None:
        if progress:
            progress(step.what, 0, total)
        conn = self.conn  # type: ignore[attr-defined]
        ((keys,),) = conn.execute("PRAGMA foreign_keys").fetchall()
        if step.foreign_keys_off:
            conn.execute("PRAGMA foreign_keys = OFF")
        try:
            self._whole_step_transaction(step, total)
        finally:
            conn.execute(f"PRAGMA foreign_keys = {int(keys)}")
        if progress:
            progress(step.what, total, total)

    def _whole_step_transaction(self, step: WholeStep, total: int) -> None:
        with self.transaction() as conn:  # type: ignore[attr-defined]
            step.run(conn)
            if step.foreign_keys_off:
                broken = conn.execute("PRAGMA foreign_key_check").fetchall()
                if broken:  # rolled back whole: the catalog stays as it was
                    raise sqlite3.IntegrityError(
                        f"{step.what}: {len(broken)} rows would refer to no row"
                        f" (first: {tuple(broken[0])}); the catalog is left as it was"
                    )
            conn.execute(
                f"UPDATE {TABLE} SET finished = ?, started = coalesce(started, ?),"
                " rewritten = ? WHERE name = ?",
                [now(), now(), total, step.name],
            )
            # Its pages change: give the space back once every upgrade is done.
            conn.execute(
                f"INSERT OR REPLACE INTO {TABLE} (name, started) VALUES (?, ?)", [RECLAIM, now()]
            )

    @staticmethod
    def _upgrade_batch(conn: Any, upgrade: DataUpgrade, last: int, batch: int) -> list[Any]:
        """The next rows to rewrite: (key, row columns..., value), about ``batch`` of them; when
        ``key`` does not name one row, every row of the batch's last key."""
        names = ", ".join((upgrade.key, *upgrade.row, *upgrade.columns))
        if not upgrade.row:
            return conn.execute(
                f"SELECT {names} FROM {upgrade.table} WHERE {upgrade.key} > ?"
                f" ORDER BY {upgrade.key} LIMIT ?",
                [last, batch],
            ).fetchall()
        bound = conn.execute(
            f"SELECT {upgrade.key} FROM {upgrade.table} WHERE {upgrade.key} > ?"
            f" ORDER BY {upgrade.key} LIMIT 1 OFFSET ?",
            [last, batch - 1],
        ).fetchall()  # read to its end: an open statement would keep VACUUM from running
        upto = f" AND {upgrade.key} <= {int(bound[0][0])}" if bound else ""
        return conn.execute(
            f"SELECT {names} FROM {upgrade.table} WHERE {upgrade.key} > ?{upto}"
            f" ORDER BY {', '.join(upgrade.row)}",
            [last],
        ).fetchall()

    def _reclaim_space(self, progress: Progress | None) -> bool:
        """VACUUM when the disk has room for a copy of the catalog (it writes one); True when done.
        Atomic: stopped halfway, the file is as it was and the step stays to do."""
        size = self.path.stat().st_size  # type: ignore[attr-defined]
        if progress is None and size > SILENT_ROWS * 2_000:
            return False  # minutes on a large catalog: only with someone watching
        if shutil.disk_usage(self.path.parent).free < 2 * size + (64 << 20):  # type: ignore[attr-defined]
            return False
        what = "giving the freed space back (VACUUM)"
        if progress:
            progress(what, 0, 1)
        conn = self.conn  # type: ignore[attr-defined]
        (waited,) = conn.execute("PRAGMA busy_timeout").fetchone()
        conn.execute(f"PRAGMA busy_timeout = {VACUUM_WAIT_MS}")
        try:
            vacuum(conn)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError:
            # Another process is reading the catalog (the GUI): the space is given back by a
            # later command; this one goes on with its work.
            if progress:
                progress(what, 1, 1)
            return False
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(waited)}")
        with self.transaction() as conn:  # type: ignore[attr-defined]
            conn.execute(f"UPDATE {TABLE} SET finished = ? WHERE name = ?", [now(), RECLAIM])
        if progress:
            progress(what, 1, 1)
        return True
