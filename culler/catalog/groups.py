"""The SQL behind grouping and auto-cull: photos to group, stored groups, scores to rank, auto ratings.

A mixin of :class:`culler.catalog.Catalog`: :mod:`culler.decide.grouping` and :mod:`culler.decide.cull` call these
named methods and never write SQL themselves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from culler.catalog import score_json, score_table
from culler.catalog.chunks import in_clauses
from culler.catalog.content_hash import hash_sql, stored_hash
from culler.catalog.roots import root_keys, root_sql
from culler.catalog.timestamps import iso_sql, now_ms

#: Table the ``grouping`` plugin creates: what each photo looked like when it was last grouped.
STATE_TABLE = "grouping_state"
#: Table the ``grouping`` plugin creates: what the last grouping's ranks were computed from.
RUN_TABLE = "grouping_run"
#: Core tables kept by triggers (migration ``013_grouping_change_log``): the photos whose grouping
#: facts may have changed, in order, and the stored groups' generation.
LOG_TABLE = "grouping_log"
CHANGES_TABLE = "grouping_changes"


def _root_is(conn: Any, root: str) -> list[tuple[str, list[str]]]:
    """A photo's root is ``root`` ("" also matches none) as SQL conditions, one query each, that
    each read a range of ``idx_photos_root`` (root, capture time): an ``OR`` over both sent the
    planner down the status or capture-time index instead, past every photo of the catalog. A
    folder is stored as its id in ``roots`` and, in rows not yet rewritten, as its text
    (culler.catalog.roots): one range for each."""
    if root:
        return [("root = ?", [key]) for key in root_keys(conn, root)]
    return [("root IS NULL", []), ("root = ''", [])]


#: A photo's grouping facts as SQL, the same text :func:`culler.decide.grouping._facts` makes in Python
#: (``str(None)`` is "None"; whether it has a signature of the current size, and an embedding of the
#: model grouping compares by, the one parameter). A signature of either version counts (version 1
#: blobs of a catalog being compacted, version 2), so compacting a catalog changes no facts.
FACTS_SQL = (
    f"coalesce({hash_sql('p.content_hash')}, 'None') || '|' || coalesce(p.taken_at, 'None')"
    " || '|'"
    " || coalesce(p.subsec, 'None') || '|' || coalesce(p.camera, 'None') || '|'"
    f" || coalesce({root_sql('p.root')}, 'None') || '|'"
    " || {readable} || '|'"
    " || EXISTS (SELECT 1 FROM embeddings e WHERE e.photo_id = p.id AND e.model = ?)"
)


#: The photo columns grouping reads (the content hash as hex text, whichever form it is stored in;
#: ``phash`` None: a dHash no version has written since ``018``, no longer a column since ``023``).
_GROUPING_COLUMNS = (
    f"id, path, {root_sql()} AS root, taken_at, subsec, camera, {hash_sql()} AS content_hash,"
    " NULL AS phash,"
    " signature"
)


#: Stored groups' members as (group id, kind, photo id, frame defect JSON), best member first;
#: ``{where}`` narrows it to some groups.
_GROUP_ROWS = (
    "SELECT g.id, g.kind, m.photo_id, m.frame_defect FROM groups g"
    " JOIN group_members m ON m.group_id = g.id {where}"
    " ORDER BY g.id, m.rank IS NULL, m.rank, m.photo_id"
)


#: The SQL function a catalog's connection has for :func:`facts_digest` (culler.catalog.core).
DIGEST_FUNCTION = "culler_facts_digest"


def facts_digest(facts: Any) -> bytes | None:
    """A photo's grouping facts as recorded in ``grouping_state.facts``: 8 bytes of BLAKE2b of the
    facts text (:data:`FACTS_SQL`, ``culler.decide.grouping._facts``) instead of the text itself
    (about 77 bytes: a content hash, a capture time, a folder). The facts are only ever compared for
    equality, and two different facts agree on 8 bytes once in 2**64. Earlier versions recorded the
    text: :meth:`GroupsMixin.grouping_facts` and the SQL comparison read both forms, and the data
    upgrade ``grouping_fact_digests`` rewrites the text as a digest. None stays None."""
    if facts is None:
        return None
    if isinstance(facts, bytes):
        return facts  # a digest already
    return hashlib.blake2b(str(facts).encode("utf-8"), digest_size=8).digest()


def _facts_differ(recorded: str, current: str) -> str:
    """SQL: the ``recorded`` facts (a digest, or the text an earlier version recorded) are not
    ``current`` (the facts text as SQL makes it), compared as digests (``current`` written once: it
    holds a parameter)."""
    stored = (
        f"(CASE WHEN typeof({recorded}) = 'blob' THEN {recorded}"
        f" ELSE {DIGEST_FUNCTION}({recorded}) END)"
    )
    return f"{stored} != {DIGEST_FUNCTION}({current})"


def _facts_changed_sql() -> str:
    from culler.imaging.signatures import SQL_READABLE

    current = FACTS_SQL.format(readable=SQL_READABLE.format(column="p.signature"))
    return f"(s.facts IS NULL OR {_facts_differ('s.facts', current)})"


class GroupsMixin:
    """Named queries for bursts, near-duplicates and culling decisions."""

    def insert_signed_photos(self, rows: Iterable[tuple]) -> None:
        """Photos with a near-duplicate signature, as a scan stores them, in one transaction: rows of
        (path, root, taken_at, camera, content_hash, signature). Benchmarks and tests build large
        or odd catalogs with it (benchmarks/grouping_scale.py, identical_frames.py)."""
        stamp = now_ms()
        with self.transaction() as conn:  # type: ignore[attr-defined]
            conn.executemany(
                "INSERT INTO photos (path, root, taken_at, camera, content_hash, signature, status,"
                " first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, 'ok', ?, ?)",
                [(*r[:4], stored_hash(r[4]), *r[5:], stamp, stamp) for r in rows],
            )

    # -- what grouping reads ---------------------------------------------------------------------
    def grouping_photos(self) -> list[dict[str, Any]]:
        """Readable photos with the facts grouping uses (capture time, camera, root, hashes)."""
        return self.query(f"SELECT {_GROUPING_COLUMNS} FROM photos WHERE status = 'ok' ORDER BY id")

    def grouping_photos_of(self, photo_ids: Iterable[int]) -> list[dict[str, Any]]:
        """:meth:`grouping_photos` of the given photos only (those still readable), by id."""
        rows = []
        for where, chunk in in_clauses("AND id", sorted(set(photo_ids))):
            rows += self.query(
                f"SELECT {_GROUPING_COLUMNS} FROM photos WHERE status = 'ok' {where}",
                chunk,
            )
        return sorted(rows, key=lambda r: r["id"])

    def grouping_changed_ids(
        self, model: str | None, among: Iterable[int] | None = None
    ) -> list[int]:
        """Readable photos whose grouping facts differ from those recorded at the last grouping (all
        of them without the grouping plugin's table): compared in SQL, nothing decoded. With
        ``among`` (the photos :meth:`grouping_logged_since` names), only those are compared."""
        if not self.has_grouping_state():
            return [r[0] for r in self.execute("SELECT id FROM photos WHERE status = 'ok'")]
        sql = (
            f"SELECT p.id FROM photos p LEFT JOIN {STATE_TABLE} s ON s.photo_id = p.id"
            f" WHERE p.status = 'ok' AND {_facts_changed_sql()}"
        )
        if among is None:
            return [r[0] for r in self.execute(sql, [model])]
        found: list[int] = []
        for where, chunk in in_clauses("AND p.id", sorted(set(among))):
            found += [r[0] for r in self.execute(f"{sql} {where}", [model, *chunk])]
        return sorted(found)

    def grouping_gone_ids(self, among: Iterable[int] | None = None) -> list[int]:
        """Photos grouped last time that are no longer readable (deleted, missing, broken); with
        ``among``, only those of these photos."""
        if not self.has_grouping_state():
            return []
        sql = (
            f"SELECT s.photo_id FROM {STATE_TABLE} s LEFT JOIN photos p ON p.id = s.photo_id"
            " WHERE (p.id IS NULL OR p.status != 'ok')"
        )
        if among is None:
            return [r[0] for r in self.execute(sql)]
        found: list[int] = []
        for where, chunk in in_clauses("AND s.photo_id", sorted(set(among))):
            found += [r[0] for r in self.execute(f"{sql} {where}", chunk)]
        return sorted(found)

    # -- the change log (core tables kept by triggers) -------------------------------------------
    def grouping_log_position(self) -> int | None:
        """The change log's newest sequence number (0: nothing logged yet), read before a grouping
        reads the photos and recorded with it; None for a catalog without the log."""
        if not self._has_table(LOG_TABLE):
            return None
        row = self.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", [LOG_TABLE]).fetchone()
        return int(row[0]) if row else 0

    def groups_generation(self) -> int | None:
        """How many times the stored groups or their members changed (None: no counter)."""
        if not self._has_table(CHANGES_TABLE):
            return None
        row = self.execute(
            f"SELECT generation FROM {CHANGES_TABLE} WHERE what = 'groups'"
        ).fetchone()
        return int(row[0]) if row else None

    def _recorded_number(self, key: str) -> int | None:
        if not self._has_table(RUN_TABLE):
            return None
        row = self.execute(f"SELECT value FROM {RUN_TABLE} WHERE key = ?", [key]).fetchone()
        return int(row[0]) if row and str(row[0]).isdigit() else None

    def grouping_logged_since(self) -> set[int] | None:
        """The photos the change log names since the position the last grouping recorded (each may
        or may not have changed a fact: a trigger logs any write that touched one), or None when no
        position is recorded (an older catalog, or a grouping that did not record its facts): then
        only comparing every photo's facts can tell."""
        position = self._recorded_number("log_position")
        if position is None or self.grouping_log_position() is None:
            return None
        return {
            r[0]
            for r in self.execute(f"SELECT photo_id FROM {LOG_TABLE} WHERE seq > ?", [position])
        }

    def record_grouping_position(self, position: int | None) -> None:
        """Record that the stored groups and facts are as of change-log ``position`` (read before
        the check that proved it), so that the next check reads the log alone."""
        if position is None or not self._has_table(RUN_TABLE):
            return
        with self.transaction() as conn:
            self._record_position(conn, position)

    def _record_position(self, conn: Any, position: int | None) -> None:
        """Record the log ``position`` (none: forget it) and the groups' generation now."""
        conn.execute(f"DELETE FROM {RUN_TABLE} WHERE key IN ('log_position', 'groups_generation')")
        if position is not None:
            # What the log holds up to the position has been read: it is not needed again.
            conn.execute(f"DELETE FROM {LOG_TABLE} WHERE seq <= ?", [position])
            conn.execute(
                f"INSERT INTO {RUN_TABLE} (key, value) VALUES ('log_position', ?)",
                [str(position)],
            )
        conn.execute(
            f"INSERT INTO {RUN_TABLE} (key, value) VALUES ('groups_generation', ?)",
            [str(self.groups_generation())],
        )

    def photos_shot_between(self, camera: str, first: str, last: str) -> list[int]:
        """Readable photos from ``camera`` whose ``taken_at`` text lies in [first, last]: a range of
        ``idx_photos_taken`` (the unary ``+`` keeps the planner off the status index, which every
        readable photo of the catalog shares)."""
        return [
            r[0]
            for r in self.execute(
                "SELECT id FROM photos WHERE taken_at BETWEEN ? AND ? AND +status = 'ok'"
                " AND coalesce(camera, '') = ?",
                [first, last, camera],
            )
        ]

    def photos_under_root(self, root: str, untimed_only: bool = False) -> list[int]:
        """Readable photos scanned under ``root`` (only those without a capture time if asked), read
        down ``idx_photos_root`` (root, capture time): the untimed photos of a folder are one range."""
        untimed = " AND taken_at IS NULL" if untimed_only else ""
        found: list[int] = []
        for where, params in _root_is(self.conn, root):
            found += [
                r[0]
                for r in self.execute(
                    f"SELECT id FROM photos WHERE {where}{untimed} AND +status = 'ok'", params
                )
            ]
        return found

    def root_sizes(self, roots: Iterable[str], at_most: int | None = None) -> dict[str, int]:
        """{root: how many readable photos were scanned under it}; with ``at_most``, counted no
        further than that (``at_most`` + 1 means "more than ``at_most``"), so a folder of a million
        photos costs what one of ``at_most`` does: grouping only asks whether a folder is small
        enough to compare photo by photo."""
        sizes = {}
        for root in set(roots):
            size = 0
            for where, params in _root_is(self.conn, root):
                if at_most is None:
                    sql = f"SELECT COUNT(*) FROM photos WHERE {where} AND +status = 'ok'"
                else:
                    sql = (
                        f"SELECT COUNT(*) FROM (SELECT 1 FROM photos WHERE {where}"
                        " AND +status = 'ok' LIMIT ?)"
                    )
                    params = [*params, at_most + 1 - size]
                size += self.execute(sql, params).fetchone()[0]
            sizes[root] = size
        return sizes

    def groups_touching(self, photo_ids: Iterable[int]) -> list[int]:
        """Ids of the stored groups with a member among ``photo_ids``."""
        found: set[int] = set()
        for where, chunk in in_clauses("WHERE photo_id", sorted(set(photo_ids))):
            found.update(
                r[0] for r in self.execute(f"SELECT group_id FROM group_members {where}", chunk)
            )
        return sorted(found)

    def default_embedding_model(self) -> str | None:
        """The embedding model with the most cached vectors (the one grouping compares by; a tie
        goes to the first name): read from the per-model counts triggers keep (migration
        ``015_embedding_model_counts``), not counted over every embedding."""
        if self._has_table("embedding_models"):
            sql = "SELECT model FROM embedding_models WHERE photos > 0 ORDER BY photos DESC, model"
        else:  # a catalog opened without its schema steps
            sql = "SELECT model FROM embeddings GROUP BY model ORDER BY COUNT(*) DESC, model"
        row = self.execute(f"{sql} LIMIT 1").fetchone()
        return row[0] if row else None

    def photos_without_signature(self) -> list[tuple[int, str]]:
        """(id, content hash) of readable photos scanned before signatures existed."""
        return [
            tuple(r)
            for r in self.execute(
                f"SELECT id, {hash_sql()} FROM photos WHERE status = 'ok' AND signature IS NULL"
                " AND content_hash IS NOT NULL"
            )
        ]

    def set_signatures(self, rows: Iterable[tuple[int, bytes]]) -> None:
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE photos SET signature = ? WHERE id = ?", [(s, pid) for pid, s in rows]
            )

    def photo_paths(self, photo_ids: Iterable[int]) -> dict[int, tuple[str, str | None]]:
        """{id: (path, content hash)} of the given photos."""
        result = {}
        for where, chunk in in_clauses("WHERE id", sorted(set(photo_ids))):
            for pid, path, chash in self.execute(
                f"SELECT id, path, {hash_sql()} FROM photos {where}", chunk
            ):
                result[pid] = (path, chash)
        return result

    # -- incremental state (the grouping plugin's table) -----------------------------------------
    def has_grouping_state(self) -> bool:
        return bool(
            self.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [STATE_TABLE]
            ).fetchone()
        )

    def has_grouping_facts(self) -> bool:
        """Whether a grouping was recorded (the plugin's table exists and holds a photo)."""
        return self.has_grouping_state() and bool(
            self.execute(f"SELECT 1 FROM {STATE_TABLE} WHERE facts IS NOT NULL LIMIT 1").fetchone()
        )

    def grouping_facts(self) -> dict[int, bytes | None]:
        """{photo id: the digest of the facts it was last grouped with (:func:`facts_digest`; the
        text an earlier version recorded is digested as it is read)}; empty without the plugin's
        table."""
        if not self.has_grouping_state():
            return {}
        return {
            pid: facts_digest(facts)
            for pid, facts in self.execute(f"SELECT photo_id, facts FROM {STATE_TABLE}")
        }

    def _has_table(self, name: str) -> bool:
        return bool(
            self.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]
            ).fetchone()
        )

    def scoring_watermark(self) -> str:
        """What stored ranks depend on in the catalog besides the photos: the score rows (how many,
        the newest) and the scorer versions (which are active, which are personal). The newest is
        the score log's position (``log`` and a number: culler.catalog.score_table), or, while
        ``scores`` is still the rowid table it was, the newest rowid (a number)."""
        # Two statements: a lone COUNT(*) is SQLite's b-tree count and MAX(rowid) one seek; asked
        # together they were a scan of every score row (0.17 s at a million photos).
        count = self.execute("SELECT COUNT(*) FROM scores").fetchone()[0]
        if score_table.is_swapped(self.conn):
            newest: Any = f"log{score_table.log_position(self.conn)}"
        else:
            newest = self.execute("SELECT MAX(rowid) FROM scores").fetchone()[0]
        scorers = self.execute(
            "SELECT group_concat(id || ':' || active || ':' || coalesce(parent, ''), ',')"
            " FROM (SELECT id, active, parent FROM scorers ORDER BY id)"
        ).fetchone()[0]
        return f"scores {count}/{newest}; scorers {scorers}"

    def log_scores_from_now(self) -> None:
        """Before a grouping reads :meth:`scoring_watermark`: have every score written from now on
        logged (culler.catalog.score_table), so that one another process writes while this
        grouping runs (a scan beside the first cull) is seen by the next. A write only the first
        time: once armed, the log stays armed."""
        if not (self.has_grouping_state() and score_table.is_swapped(self.conn)):
            return
        if score_table.is_armed(self.conn):
            return
        with self.transaction() as conn:  # type: ignore[attr-defined]
            score_table.arm_log(conn, 0)

    def recorded_watermark(self) -> str | None:
        """The ``scoring_watermark``-led text the stored groups were ranked with (None: none)."""
        if not self._has_table(RUN_TABLE):
            return None
        row = self.execute(f"SELECT value FROM {RUN_TABLE} WHERE key = 'watermark'").fetchone()
        return row[0] if row else None

    def photos_scored_after(self, newest: str) -> set[int] | None:
        """Photos given a score since ``newest`` (what ``scoring_watermark`` said was the newest
        score row then), or None when that cannot be told: the mark is of the other form (the
        score rows were copied to the table without rowids in between) or not one at all."""
        swapped = score_table.is_swapped(self.conn)
        if newest == "None":  # no score row then: every photo scored since is new to the ranks
            newest = "log0" if swapped else "0"
        if swapped and newest.startswith("log") and newest[3:].isdigit():
            return score_table.logged_after(self.conn, int(newest[3:]))
        if not swapped and newest.isdigit():
            rows = self.execute("SELECT photo_id FROM scores WHERE rowid > ?", [int(newest)])
            return {r[0] for r in rows}
        return None

    def grouping_unchanged(
        self, model: str | None | Callable[[], str | None], watermark: str
    ) -> bool:
        """Whether nothing grouping depends on changed since the last grouping was stored: the
        recorded ``watermark`` is the same, and the change log holds nothing since the position
        the grouping recorded (a row or two read). Without a recorded position (a catalog grouped
        before the log existed): every readable photo's facts are as recorded and no recorded photo
        is gone, one pass over the photos in SQL, nothing decoded; when that proves it, the
        position read before the pass is recorded, so the next check reads the log alone.
        ``model`` (the embedding model grouping compares by) may be a function: it is only called
        for the full comparison."""
        if not (self.has_grouping_state() and self._has_table(RUN_TABLE)):
            return False
        stored = self.execute(f"SELECT value FROM {RUN_TABLE} WHERE key = 'watermark'").fetchone()
        if stored is None or stored[0] != watermark or not self.groups_as_recorded():
            return False  # scores or scorers changed, or the groups were changed behind grouping
        logged = self.grouping_logged_since()
        if logged is not None:
            return not logged
        position = self.grouping_log_position()
        if callable(model):
            model = model()
        differs = self.execute(
            f"SELECT 1 FROM photos p LEFT JOIN {STATE_TABLE} s ON s.photo_id = p.id"
            f" WHERE p.status = 'ok' AND {_facts_changed_sql()} LIMIT 1",
            [model],
        ).fetchone()
        if differs:
            return False
        gone = self.execute(
            f"SELECT 1 FROM {STATE_TABLE} s LEFT JOIN photos p ON p.id = s.photo_id"
            " WHERE p.id IS NULL OR p.status != 'ok' LIMIT 1"
        ).fetchone()
        if gone is not None:
            return False
        self.record_grouping_position(position)
        return True

    def groups_as_recorded(self) -> bool:
        """Whether the stored groups are as the last grouping wrote them (none deleted or added
        behind its back): an incremental grouping builds on them."""
        if not self._has_table(RUN_TABLE):
            return True  # an older grouping plugin: nothing recorded to compare with
        generation = self._recorded_number("groups_generation")
        if generation is not None:
            return generation == self.groups_generation()  # a row read, kept by triggers
        stored = self.execute(f"SELECT value FROM {RUN_TABLE} WHERE key = 'stored'").fetchone()
        return stored is None or stored[0] == self._stored_group_size()

    def _stored_group_size(self) -> str:
        groups, newest = self.execute("SELECT COUNT(*), MAX(id) FROM groups").fetchone()
        members = self.execute("SELECT COUNT(*) FROM group_members").fetchone()[0]
        return f"{groups}/{newest}/{members}"

    def group_counts(self) -> dict[str, int]:
        """{kind: how many groups} of the stored groups."""
        return dict(self.execute("SELECT kind, COUNT(*) FROM groups GROUP BY kind").fetchall())

    # -- stored groups ---------------------------------------------------------------------------
    def group_rows(self) -> list[tuple[int, str, int, str | None]]:
        """(group id, kind, photo id, frame defect JSON) of every stored group, best member first."""
        return self.execute(_GROUP_ROWS.format(where="")).fetchall()

    def group_rows_of(self, group_ids: Iterable[int]) -> list[tuple[int, str, int, str | None]]:
        """:meth:`group_rows` of the given groups only, read by id (an incremental grouping reads
        the groups its changes touch, not every group of the archive)."""
        rows: list[tuple[int, str, int, str | None]] = []
        for where, chunk in in_clauses("WHERE g.id", sorted(set(group_ids))):
            rows += self.execute(_GROUP_ROWS.format(where=where), chunk).fetchall()
        return rows

    def group_total(self) -> int:
        """How many groups are stored."""
        return self.execute("SELECT COUNT(*) FROM groups").fetchone()[0]

    def iter_group_rows(self) -> Iterator[tuple[int, str, int, str | None]]:
        """:meth:`group_rows` one row at a time, from a cursor (a million members never in memory)."""
        yield from self.execute(_GROUP_ROWS.format(where=""))

    def replace_groups(
        self,
        keep: dict[int, list[tuple[int, int, str | None]]],
        add: list[tuple[str, list[tuple[int, int, str | None]]]],
        drop: Iterable[int],
        facts: dict[int, bytes] | dict[int, str] | None,
        created: str,
        watermark: str | None = None,
        log_position: int | None = None,
        gone: Iterable[int] | None = None,
    ) -> list[int]:
        """One transaction: delete ``drop`` groups, update members (photo, rank, frame defect) of
        ``keep`` groups, insert ``add`` groups (kind, members); record ``facts`` for the next
        incremental run, with the ``watermark`` they were ranked by (none: the next grouping
        cannot be skipped) and the change-log position read before the photos were (none: the next
        check compares every photo's facts; without ``facts`` none is recorded). The recorded facts
        of photos no longer readable are dropped: those of ``gone`` when given (an incremental
        grouping knows them from the change log), else by a pass over the table. Returns the new groups' ids, in order."""
        upsert = (
            "INSERT INTO group_members (group_id, photo_id, rank, frame_defect) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (group_id, photo_id) DO UPDATE SET rank = excluded.rank,"
            " frame_defect = excluded.frame_defect"
        )
        new_ids = []
        with self.transaction() as conn:
            conn.executemany("DELETE FROM groups WHERE id = ?", [(gid,) for gid in drop])
            for gid, members in keep.items():
                conn.executemany(upsert, [(gid, *m) for m in members])
            for kind, members in add:
                gid = conn.execute(
                    "INSERT INTO groups (kind, created) VALUES (?, ?)", [kind, created]
                ).lastrowid
                conn.executemany(upsert, [(gid, *m) for m in members])
                new_ids.append(gid)
            if facts is not None and self.has_grouping_state():
                if gone is not None:
                    conn.executemany(
                        f"DELETE FROM {STATE_TABLE} WHERE photo_id = ?", [(p,) for p in gone]
                    )
                else:
                    conn.execute(
                        f"DELETE FROM {STATE_TABLE} WHERE photo_id NOT IN"
                        " (SELECT id FROM photos WHERE status = 'ok')"
                    )
                conn.executemany(
                    f"INSERT OR REPLACE INTO {STATE_TABLE} (photo_id, facts) VALUES (?, ?)",
                    [(pid, facts_digest(f)) for pid, f in facts.items()],
                )
            if self._has_table(RUN_TABLE):
                conn.execute(
                    f"DELETE FROM {RUN_TABLE} WHERE key IN"
                    " ('watermark', 'stored', 'log_position', 'groups_generation')"
                )
                if self._has_table(CHANGES_TABLE):
                    # The groups as written now: their generation (after this transaction's own
                    # writes) is recorded with the log position below; no members counted.
                    # Without facts the next check compares every photo's facts.
                    self._record_position(conn, log_position if facts is not None else None)
                else:
                    conn.execute(
                        f"INSERT INTO {RUN_TABLE} (key, value) VALUES ('stored', ?)",
                        [self._stored_group_size()],
                    )
                if facts is not None and watermark is not None:
                    conn.execute(
                        f"INSERT INTO {RUN_TABLE} (key, value) VALUES ('watermark', ?)",
                        [watermark],
                    )
                    seen = watermark.partition("; ")[0].rpartition("/log")
                    if seen[1] and seen[2].isdigit() and score_table.is_swapped(conn):
                        # Scores written from now on are logged, those this grouping saw dropped.
                        score_table.arm_log(conn, int(seen[2]))
            elif log_position is not None and self._has_table(LOG_TABLE):
                # Without the grouping plugin's tables every grouping is a full one and nothing
                # reads the log: what this grouping has seen is dropped, so the log stays short.
                conn.execute(f"DELETE FROM {LOG_TABLE} WHERE seq <= ?", [log_position])
        return new_ids

    # -- what ranking and culling read -----------------------------------------------------------
    def photos_in_scope(self, folders: Iterable[str] | None, since: str | None) -> set[int]:
        """Photos (readable or broken) under one of ``folders`` (resolved absolute paths; all when
        None) taken on or after ``since`` (an ISO date; a photo without a capture time counts from
        when it was first scanned). Read through the path index, a folder at a time."""
        conditions, params = ["status IN ('ok', 'error')"], []
        if since is not None:
            conditions.append(f"coalesce(taken_at, {iso_sql('first_seen')}) >= ?")
            params.append(since)
        where = " AND ".join(conditions)
        if folders is None:
            return {r[0] for r in self.execute(f"SELECT id FROM photos WHERE {where}", params)}
        found: set[int] = set()
        for folder in folders:
            base = folder.rstrip("/") or "/"
            prefix = base if base.endswith("/") else base + "/"
            found.update(
                r[0]
                for r in self.execute(
                    f"SELECT id FROM photos WHERE path >= ? AND path < ? AND {where}",
                    # Every path under the folder sorts between "FOLDER/" and "FOLDER0".
                    [prefix, prefix[:-1] + "0", *params],
                )
            )
        return found

    def readable_ids(self) -> Iterator[int]:
        """The ids of the photos with status ok, from a cursor (a whole-archive cull reads them a
        batch at a time)."""
        for (pid,) in self.execute("SELECT id FROM photos WHERE status = 'ok'"):
            yield pid

    def broken_photos(self) -> list[dict[str, Any]]:
        """Photos the scan could not decode, with the reason."""
        return self.query("SELECT id, path, error FROM photos WHERE status = 'error'")

    def current_score_rows(self, photo_ids: Iterable[int]) -> Iterator[tuple]:
        """(photo id, scorer id, score, extra, reasons) of the current scores of these photos, with
        extra and reasons parsed from JSON; by photo id, then scorer id (as the ``current_scores``
        view gives them).

        The view's choice (per photo and scorer id, the active version's score, else the newest
        version's) is made here from the few scorer rows, and the scores are read straight from
        the table by its primary key: the view's window sorts every chunk's rows again, which was
        most of a whole-archive cull's reading (2.3 s of 200,000 score rows)."""
        preference: dict[int, tuple[str, tuple[int, int]]] = {
            pk: (sid, (-active, -pk))
            for pk, sid, active in self.execute("SELECT id, scorer_id, active FROM scorers")
        }
        for where, chunk in in_clauses("WHERE photo_id", list(photo_ids)):
            best: dict[tuple[int, str], tuple[tuple[int, int], tuple]] = {}
            for row in self.execute(
                f"SELECT photo_id, scorer_pk, score, extra, reasons FROM scores {where}", chunk
            ):
                sid, rank = preference[row[1]]
                key = (row[0], sid)
                held = best.get(key)
                if held is None or rank < held[0]:
                    best[key] = (rank, row)
            for (pid, sid), (_, (_, _, score, extra, reasons)) in sorted(best.items()):
                yield (
                    pid,
                    sid,
                    score,
                    score_json.load(extra) if extra else {},
                    score_json.load(reasons) if reasons else [],
                )

    def personal_scorer_ids(self) -> set[str]:
        """Scorer ids whose active version is a fine-tune (the user's personal model)."""
        return {
            r[0]
            for r in self.execute(
                "SELECT scorer_id FROM scorers WHERE active = 1 AND parent IS NOT NULL"
            )
        }

    def current_decisions(self) -> dict[int, dict[str, Any]]:
        """{photo id: {"decision", "source", "by_hand"}} of the latest rating event of every rated
        photo; ``by_hand`` says whether a person's stars or pick/reject stand now
        (:meth:`hand_decided`: undone ratings and colour labels do not count)."""
        by_hand = self.hand_decided()
        return {
            r["photo_id"]: {**r, "by_hand": r["photo_id"] in by_hand}
            for r in self.query("SELECT photo_id, decision, source FROM current_ratings")
        }

    def append_decisions(
        self, rows: Iterable[tuple[int, str, str]], source: str, keep_sources: tuple[str, ...]
    ) -> list[int]:
        """Append (photo id, decision, reason) events with ``source``, skipping photos decided by
        hand through one of ``keep_sources`` (:meth:`hand_decided`) or that already have that
        decision. Checked inside the write transaction, so a decision made by hand meanwhile wins.
        Returns the ids of the events written."""
        from culler.catalog.timestamps import now

        rows = list(rows)
        written: list[int] = []
        with self.transaction() as conn:
            kept = self.hand_decided([r[0] for r in rows], keep_sources)
            for photo_id, decision, reason in rows:
                state = self.current_rating(photo_id)
                if photo_id in kept or state.get("decision") == decision:
                    continue
                cursor = conn.execute(
                    "INSERT INTO ratings"
                    " (photo_id, stars, decision, label, source, reason, at, fields)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, 'decision')",
                    [
                        photo_id,
                        state.get("stars"),
                        decision,
                        state.get("label"),
                        source,
                        reason,
                        now(),
                    ],
                )
                written.append(cursor.lastrowid)
        return written
