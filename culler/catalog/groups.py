"""The SQL behind grouping and auto-cull: photos to group, stored groups, scores to rank, auto ratings.

A mixin of :class:`culler.catalog.Catalog`: :mod:`culler.decide.grouping` and :mod:`culler.decide.cull` call these
named methods and never write SQL themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from culler.catalog.chunks import in_clauses

#: Table the ``grouping`` plugin creates: what each photo looked like when it was last grouped.
STATE_TABLE = "grouping_state"


class GroupsMixin:
    """Named queries for bursts, near-duplicates and culling decisions."""

    # -- what grouping reads ---------------------------------------------------------------------
    def grouping_photos(self) -> list[dict[str, Any]]:
        """Readable photos with the facts grouping uses (capture time, camera, root, hashes)."""
        return self.query(
            "SELECT id, path, root, taken_at, subsec, camera, content_hash, phash, signature"
            " FROM photos WHERE status = 'ok' ORDER BY id"
        )

    def default_embedding_model(self) -> str | None:
        """The embedding model with the most cached vectors (the one grouping compares by)."""
        row = self.execute(
            "SELECT model FROM embeddings GROUP BY model ORDER BY COUNT(*) DESC LIMIT 1"
        ).fetchone()
        return row[0] if row else None

    def photos_without_signature(self) -> list[tuple[int, str]]:
        """(id, content hash) of readable photos scanned before signatures existed."""
        return [
            tuple(r)
            for r in self.execute(
                "SELECT id, content_hash FROM photos WHERE status = 'ok' AND signature IS NULL"
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
                f"SELECT id, path, content_hash FROM photos {where}", chunk
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

    def grouping_facts(self) -> dict[int, str]:
        """{photo id: the facts it was last grouped with}; empty without the plugin's table."""
        if not self.has_grouping_state():
            return {}
        return dict(self.execute(f"SELECT photo_id, facts FROM {STATE_TABLE}").fetchall())

    # -- stored groups ---------------------------------------------------------------------------
    def group_rows(self) -> list[tuple[int, str, int, str | None]]:
        """(group id, kind, photo id, frame defect JSON) of every stored group, best member first."""
        return self.execute(
            "SELECT g.id, g.kind, m.photo_id, m.frame_defect FROM groups g"
            " JOIN group_members m ON m.group_id = g.id"
            " ORDER BY g.id, m.rank IS NULL, m.rank, m.photo_id"
        ).fetchall()

    def replace_groups(
        self,
        keep: dict[int, list[tuple[int, int, str | None]]],
        add: list[tuple[str, list[tuple[int, int, str | None]]]],
        drop: Iterable[int],
        facts: dict[int, str] | None,
        created: str,
    ) -> list[int]:
        """One transaction: delete ``drop`` groups, update members (photo, rank, frame defect) of
        ``keep`` groups, insert ``add`` groups (kind, members); record ``facts`` for the next
        incremental run. Returns the new groups' ids, in order."""
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
                conn.execute(
                    f"DELETE FROM {STATE_TABLE} WHERE photo_id NOT IN"
                    " (SELECT id FROM photos WHERE status = 'ok')"
                )
                conn.executemany(
                    f"INSERT OR REPLACE INTO {STATE_TABLE} (photo_id, facts) VALUES (?, ?)",
                    list(facts.items()),
                )
        return new_ids

    # -- what ranking and culling read -----------------------------------------------------------
    def broken_photos(self) -> list[dict[str, Any]]:
        """Photos the scan could not decode, with the reason."""
        return self.query("SELECT id, path, error FROM photos WHERE status = 'error'")

    def current_score_rows(self, photo_ids: Iterable[int]) -> Iterator[tuple]:
        """(photo id, scorer id, score, extra, reasons) of the current scores of these photos, with
        extra and reasons parsed from JSON."""
        for where, chunk in in_clauses("WHERE photo_id", list(photo_ids)):
            for pid, sid, score, extra, reasons in self.execute(
                f"SELECT photo_id, scorer_id, score, extra, reasons FROM current_scores {where}",
                chunk,
            ):
                yield (
                    pid,
                    sid,
                    score,
                    json.loads(extra) if extra else {},
                    json.loads(reasons) if reasons else [],
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
