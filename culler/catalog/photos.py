"""Photo reads for viewers (the grid, the why panel, ``culler list``, XMP and export); the path change
of ``culler export --move`` lives with its journal in :mod:`culler.catalog.moves`.

Bulk reads take ``photo_ids=None`` for the whole catalog (one query per table, joined in Python by the
caller) or a list of ids (chunked ``IN`` lists), so ``culler list`` and the GUI share one query each.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from culler.catalog.chunks import in_clauses
from culler.catalog.content_hash import hash_sql
from culler.catalog.roots import root_sql

#: The columns the GUI's grid shows for each photo.
GRID_COLUMNS = (
    "id",
    "path",
    "status",
    "error",
    "content_hash",
    "taken_at",
    "subsec",
    "camera",
    "lens",
    "width",
    "height",
    "exposure_time",
    "f_number",
    "iso",
    "focal_length",
)


def grid_columns(alias: str = "") -> str:
    """The :data:`GRID_COLUMNS` as SQL (of ``photos`` aliased ``alias``), the content hash as
    hex text whichever form it is stored in (culler.catalog.photo_table)."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(
        f"{hash_sql(prefix + c)} AS {c}" if c == "content_hash" else prefix + c
        for c in GRID_COLUMNS
    )


class PhotosMixin:
    """Photo reads of :class:`culler.catalog.Catalog`."""

    conn: sqlite3.Connection

    def photo_roots(self) -> list[str]:
        """Every folder a scan started from (the ``root`` recorded with its photos)."""
        # Each stored value once (down idx_photos_root), then as text: a folder whose rows are
        # half rewritten holds both its id and its text (culler.catalog.roots). In the order of
        # the folders' text, as when every root was text.
        found = self.conn.execute(
            f"SELECT {root_sql('root')} FROM (SELECT DISTINCT root FROM photos)"
        ).fetchall()
        return sorted({r[0] for r in found if r[0]})

    def grid_photos(self) -> list[dict[str, Any]]:
        """Every photo with the :data:`GRID_COLUMNS`, by path."""
        return self.query(f"SELECT {grid_columns()} FROM photos ORDER BY path")

    def grid_page(self, after: str | None, limit: int) -> list[dict[str, Any]]:
        """The next ``limit`` photos by path after the path ``after`` (None: from the first), with the
        :data:`GRID_COLUMNS`: one seek down the unique path index, whatever the catalog's size."""
        where, params = ("WHERE path > ?", [after]) if after is not None else ("", [])
        return self.query(
            f"SELECT {grid_columns()} FROM photos {where} ORDER BY path LIMIT ?",
            [*params, int(limit)],
        )

    def photo_total(self) -> int:
        """How many photos the catalog holds."""
        return self.conn.execute("SELECT COUNT(*) FROM photos").fetchone()[0]

    def page_scores(self, photo_ids: Iterable[int]) -> dict[int, dict[str, float | None]]:
        """:meth:`current_scores` of a few photos read by primary key (the ``current_scores`` view
        numbers every score row of the catalog before it filters): the active, else newest, version
        of each scorer."""
        best: dict[tuple[int, str], tuple[tuple[int, int], float | None]] = {}
        for where, params in in_clauses("WHERE s.photo_id", photo_ids):
            for pid, scorer_id, score, active, pk in self.conn.execute(
                "SELECT s.photo_id, sc.scorer_id, s.score, sc.active, sc.id FROM scores s"
                f" JOIN scorers sc ON sc.id = s.scorer_pk {where}",
                params,
            ):
                key, rank = (pid, scorer_id), (active, pk)
                if key not in best or rank > best[key][0]:
                    best[key] = (rank, score)
        result: dict[int, dict[str, float | None]] = {}
        for (pid, scorer_id), (_rank, score) in best.items():
            result.setdefault(pid, {})[scorer_id] = score
        return result

    def scored_scorer_ids(self) -> list[str]:
        """Every scorer id with at least one score, sorted (one probe of ``idx_scores_scorer`` per
        scorer version)."""
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT DISTINCT sc.scorer_id FROM scorers sc"
                " WHERE EXISTS (SELECT 1 FROM scores s WHERE s.scorer_pk = sc.id)"
                " ORDER BY sc.scorer_id"
            )
        ]

    def tag_vocabulary(self) -> list[str]:
        """Every tag any photo carries, sorted (read from ``idx_tags_tag``)."""
        return [r[0] for r in self.conn.execute("SELECT DISTINCT tag FROM tags ORDER BY tag")]

    def readable_photos(self, photo_ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
        """{id, path, width, height} of photos with status ok (all, or those of ``photo_ids``), by
        path."""
        rows = [
            row
            for where, params in in_clauses("AND id", photo_ids)
            for row in self.query(
                f"SELECT id, path, width, height FROM photos WHERE status = 'ok' {where}"
                " ORDER BY path",
                params,
            )
        ]
        return sorted(rows, key=lambda r: r["path"]) if photo_ids is not None else rows

    def picks(self, min_stars: int | None = None) -> list[dict[str, Any]]:
        """{id, path, root} of readable picks, plus (with ``min_stars``) photos rated at least that
        and not rejected; by path."""
        sql = (
            f"SELECT p.id, p.path, {root_sql('p.root')} AS root FROM photos p"
            " JOIN current_ratings r ON r.photo_id = p.id"
            " WHERE p.status = 'ok' AND (r.decision = 'pick'"
        )
        params: list[Any] = []
        if min_stars is not None:
            sql += " OR (r.stars >= ? AND COALESCE(r.decision, 'none') != 'reject')"
            params.append(min_stars)
        return self.query(sql + ") ORDER BY p.path", params)

    def current_scores(
        self, photo_ids: Iterable[int] | None = None
    ) -> dict[int, dict[str, float | None]]:
        """{photo id: {scorer id: score}} from the current (active, else newest) scorer versions."""
        result: dict[int, dict[str, float | None]] = {}
        for where, params in in_clauses("WHERE photo_id", photo_ids):
            for pid, scorer_id, score in self.conn.execute(
                f"SELECT photo_id, scorer_id, score FROM current_scores {where}", params
            ):
                result.setdefault(pid, {})[scorer_id] = score
        return result

    def scored_versions(self, photo_id: int) -> dict[str, tuple[str, float]]:
        """{scorer id: (version, score)} of a photo's current numeric scores (what sidecars carry)."""
        return {
            scorer_id: (version, float(score))
            for scorer_id, version, score in self.conn.execute(
                "SELECT cs.scorer_id, sc.version, cs.score FROM current_scores cs"
                " JOIN scorers sc ON sc.id = cs.scorer_pk"
                " WHERE cs.photo_id = ? AND cs.score IS NOT NULL",
                [photo_id],
            )
        }

    def tag_maxima(self, photo_ids: Iterable[int] | None = None) -> dict[int, dict[str, float]]:
        """{photo id: {tag: probability}}: the highest a scorer gave it, 1 for a hand tag; a tag
        removed by hand is left out (see :meth:`TagStore.tag_details`)."""
        return {
            pid: {tag: info["probability"] for tag, info in tags.items()}
            for pid, tags in self.tag_details(photo_ids).items()  # type: ignore[attr-defined]
        }

    def photo_groups(self, photo_id: int) -> list[dict[str, Any]]:
        """The groups a photo belongs to: {id, kind, rank (0 = best), size}."""
        return self.query(
            "SELECT g.id, g.kind, m.rank,"
            " (SELECT COUNT(*) FROM group_members x WHERE x.group_id = g.id) AS size"
            " FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.photo_id = ?"
            " ORDER BY g.id",
            [photo_id],
        )

    def stack_members(
        self, photo_ids: Iterable[int] | None = None
    ) -> list[tuple[int, str, int, int | None]]:
        """(group id, kind, photo id, rank) of every group member (or of every member of the groups
        that hold one of ``photo_ids``): bursts first, each best first."""
        order = (
            " ORDER BY CASE g.kind WHEN 'burst' THEN 0 ELSE 1 END, m.group_id,"
            " m.rank IS NULL, m.rank, m.photo_id"
        )
        select = (
            "SELECT m.group_id, g.kind, m.photo_id, m.rank FROM group_members m"
            " JOIN groups g ON g.id = m.group_id"
        )
        if photo_ids is None:
            return self.conn.execute(select + order).fetchall()
        rows: set[tuple[int, str, int, int | None]] = set()
        for where, params in in_clauses("WHERE photo_id", photo_ids):
            rows.update(
                self.conn.execute(
                    f"{select} WHERE m.group_id IN (SELECT group_id FROM group_members {where})",
                    params,
                ).fetchall()
            )
        kind_first = {"burst": 0}
        return sorted(
            rows,
            key=lambda r: (kind_first.get(r[1], 1), r[0], r[3] is None, r[3] or 0, r[2]),
        )
