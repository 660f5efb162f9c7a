"""Pages of the GUI's grid in any order it offers from an index, for a lifetime archive (issue #32).

The grid of a catalog of a million photos never loads every photo: it reads one page at a time in the
order shown. :meth:`GridPagesMixin.grid_order_page` walks an index for each sort the grid offers
(path; capture time; a scorer's score through ``idx_scores_scorer``; stars through ``rating_now``)
with keyset paging (each page seeks past the last key read, so page 1,000 costs what page 1 does),
and applies the common filters (file status, flag, minimum stars, tag, search, minimum score) as conditions
checked row by row along that walk, so a first page stops after it has found a page of matches.

Photos without a value for the sort (no capture time, not scored by that scorer) come after the
others in path order, as in the grid's own sort. Within one value the order is the index's (photo
id or score row), not the path.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from culler.catalog.photos import grid_columns
from culler.catalog.tags import normalise_tag

#: The sorts a page can be read in straight from an index.
INDEXED_SORTS = ("path", "taken", "stars")

_COLUMNS = grid_columns("p")


@dataclass(frozen=True)
class GridWhere:
    """The filters a page of the grid applies in SQL. Empty fields do not filter."""

    #: File statuses shown (empty: every status).
    statuses: tuple[str, ...] = ()
    #: "pick", "reject", "unflagged" or "" (any).
    decision: str = ""
    min_stars: int = 0
    #: Words for the catalog's search index ("" : no search).
    search: str = ""
    #: Minimum score of the sort's scorer (only with a score sort).
    min_score: float | None = None
    #: Only photos carrying this tag (a scorer's at ``min_tag_prob`` or more, or a hand tag).
    tag: str = ""
    min_tag_prob: float = 0.5


@dataclass(frozen=True)
class _Phase:
    """One stretch of the order: ``source`` walked by ``keys`` (all ascending or all descending)."""

    source: str
    where: tuple[str, ...]
    params: tuple[Any, ...]
    keys: tuple[str, ...]
    descending: bool


class GridPagesMixin:
    """Paged, sorted and filtered reads of the grid's photos (see the module docstring)."""

    conn: sqlite3.Connection

    def current_scorer_pk(self, scorer_id: str) -> int | None:
        """The scorer version whose scores the grid shows for ``scorer_id`` (the active one, else
        the newest) among those that scored something; None when no version did."""
        row = self.conn.execute(
            "SELECT sc.id FROM scorers sc WHERE sc.scorer_id = ?"
            " AND EXISTS (SELECT 1 FROM scores s WHERE s.scorer_pk = sc.id)"
            " ORDER BY sc.active DESC, sc.id DESC LIMIT 1",
            [scorer_id],
        ).fetchone()
        return None if row is None else int(row[0])

    def grid_order_page(
        self,
        sort: str,
        descending: bool,
        where: GridWhere,
        cursor: tuple | None,
        limit: int,
    ) -> tuple[list[dict[str, Any]], tuple | None]:
        """Up to ``limit`` photos (the :data:`GRID_COLUMNS`) in the order ``sort`` ("path", "taken",
        "stars" or "score:<scorer id>"; best first for ``descending``) after ``cursor`` (None: from
        the first), matching ``where``. Returns the rows and the cursor of the next page (None when
        none is left)."""
        phases = self._grid_phases(sort, descending, where)
        phase_no, after = cursor if cursor is not None else (0, None)
        rows: list[dict[str, Any]] = []
        cursors: list[tuple] = []  # where each row was read: its phase and keys
        filters, filter_params = self._grid_filters(where)
        wanted = limit + 1  # one more: is there another page?
        while phase_no < len(phases) and len(rows) < wanted:
            phase = phases[phase_no]
            conditions = [*phase.where, *filters]
            params: list[Any] = [*phase.params, *filter_params]
            if after is not None:
                op = "<" if phase.descending else ">"
                keys = ", ".join(phase.keys)
                marks = ", ".join("?" * len(after))
                conditions.append(f"({keys}) {op} ({marks})")
                params += list(after)
            direction = " DESC" if phase.descending else ""
            order = ", ".join(key + direction for key in phase.keys)
            named = ", ".join(f"{key} AS _k{i}" for i, key in enumerate(phase.keys))
            want = wanted - len(rows)
            cur = self.conn.execute(
                f"SELECT {_COLUMNS}, {named} FROM {phase.source}"
                f" WHERE {' AND '.join(conditions) or '1'} ORDER BY {order} LIMIT ?",
                [*params, want],
            )
            names = [d[0] for d in cur.description]
            got = 0
            for values in cur:
                row = dict(zip(names, values, strict=True))
                after = tuple(row.pop(f"_k{i}") for i in range(len(phase.keys)))
                rows.append(row)
                cursors.append((phase_no, after))
                got += 1
            if got < want:  # this stretch is read to its end: the next one from its start
                phase_no, after = phase_no + 1, None
        if len(rows) <= limit:
            return rows, None
        return rows[:limit], cursors[limit - 1]

    def grid_counts(self) -> dict[str, int]:
        """Picks, rejects and unrated photos of the whole catalog (from ``rating_now``'s indexes):
        {"photos", "pick", "reject", "unrated"}; unrated means no stars and no pick or reject."""
        total = self.conn.execute("SELECT COUNT(*) FROM photos").fetchone()[0]
        counts = dict(
            self.conn.execute(
                "SELECT decision, COUNT(*) FROM rating_now WHERE decision IN ('pick', 'reject')"
                " GROUP BY decision"
            ).fetchall()
        )
        (rated,) = self.conn.execute(
            "SELECT COUNT(*) FROM rating_now WHERE stars > 0 OR decision IN ('pick', 'reject')"
        ).fetchone()
        return {
            "photos": total,
            "pick": counts.get("pick", 0),
            "reject": counts.get("reject", 0),
            "unrated": total - rated,
        }

    def tag_filter(self, tag: str, min_prob: float = 0.5) -> tuple[str, list[Any]]:
        """An SQL condition on ``p.id`` (photos aliased ``p``) for the photos that carry ``tag``: a
        hand tag (the newest hand decision on it says present) matches at probability 1, a scorer's
        tag at ``min_prob``, unless a person removed it from that photo (what :meth:`tag_maxima`
        shows). Serves ``culler list --tag`` and the grid's pages."""
        hand = (
            "SELECT photo_id FROM (SELECT photo_id, present, MAX(id) FROM user_tags"
            " WHERE tag = ? GROUP BY photo_id) WHERE present = {}"
        )
        try:
            hand_name = normalise_tag(tag)
        except ValueError:
            hand_name = tag
        condition = (
            f"(p.id IN ({hand.format(1)}) OR (p.id IN (SELECT photo_id FROM tags WHERE tag = ?"
            f" AND probability >= ?) AND p.id NOT IN ({hand.format(0)})))"
        )
        return condition, [hand_name, tag, float(min_prob), hand_name]

    def has_people(self) -> bool:
        """Whether the faces scorer found anyone (one probe; :meth:`people` reads the current
        scores view, seconds on an archive, so the grid asks it only when there is someone)."""
        return self.conn.execute("SELECT EXISTS (SELECT 1 FROM people)").fetchone()[0] == 1

    def last_rating_id(self) -> int:
        """The newest rating event's id (0 for none): counts read before it are still right."""
        return self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM ratings").fetchone()[0]

    # -- the order, stretch by stretch -------------------------------------------------------------
    def _grid_phases(self, sort: str, descending: bool, where: GridWhere) -> list[_Phase]:
        by_path = ("p.path",)
        if sort == "path":
            return [_Phase("photos p", (), (), by_path, descending)]
        if sort == "taken":
            # idx_photos_taken holds (taken_at, rowid): the photo id breaks ties in index order.
            return [
                _Phase(
                    "photos p", ("p.taken_at IS NOT NULL",), (), ("p.taken_at", "p.id"), descending
                ),
                _Phase("photos p", ("p.taken_at IS NULL",), (), by_path, False),
            ]
        if sort == "stars":
            starred = _Phase(
                "rating_now r JOIN photos p ON p.id = r.photo_id",
                ("r.stars > 0",),
                (),
                ("r.stars", "r.photo_id"),
                descending,
            )
            unstarred = _Phase(
                "photos p",
                (
                    "NOT EXISTS (SELECT 1 FROM rating_now r WHERE r.photo_id = p.id AND r.stars > 0)",
                ),
                (),
                by_path,
                False,
            )
            # Unstarred photos count as 0 stars: last when the best come first, first otherwise.
            return [starred, unstarred] if descending else [unstarred, starred]
        if sort.startswith("score:"):
            pk = self.current_scorer_pk(sort.split(":", 1)[1])
            if pk is None:
                return [_Phase("photos p", (), (), by_path, False)]
            scored = ["s.scorer_pk = ?", "s.score IS NOT NULL"]
            params: list[Any] = [pk]
            if where.min_score is not None:
                scored.append("s.score >= ?")
                params.append(float(where.min_score))
            phases = [
                _Phase(
                    "scores s JOIN photos p ON p.id = s.photo_id",
                    tuple(scored),
                    tuple(params),
                    # (scorer_pk, score, photo_id) is the index's key: scores has no rowid.
                    ("s.score", "s.photo_id"),
                    descending,
                )
            ]
            if where.min_score is None:  # unscored photos follow (a minimum score hides them)
                phases.append(
                    _Phase(
                        "photos p",
                        (
                            "NOT EXISTS (SELECT 1 FROM scores s WHERE s.photo_id = p.id"
                            " AND s.scorer_pk = ? AND s.score IS NOT NULL)",
                        ),
                        (pk,),
                        by_path,
                        False,
                    )
                )
            return phases
        raise ValueError(f"the grid cannot page in the order {sort!r}")

    def _grid_filters(self, where: GridWhere) -> tuple[list[str], list[Any]]:
        conditions: list[str] = []
        params: list[Any] = []
        if where.statuses:
            conditions.append(f"p.status IN ({', '.join('?' * len(where.statuses))})")
            params += list(where.statuses)
        flag = "SELECT 1 FROM rating_now f WHERE f.photo_id = p.id AND {}"
        if where.decision in ("pick", "reject"):
            conditions.append(f"EXISTS ({flag.format('f.decision = ?')})")
            params.append(where.decision)
        elif where.decision == "unflagged":
            flagged = flag.format("f.decision IN ('pick', 'reject')")
            conditions.append(f"NOT EXISTS ({flagged})")
        elif where.decision:
            raise ValueError(f"the grid cannot page by the flag filter {where.decision!r}")
        if where.min_stars:
            conditions.append(f"EXISTS ({flag.format('f.stars >= ?')})")
            params.append(int(where.min_stars))
        if where.tag:
            condition, values = self.tag_filter(where.tag, where.min_tag_prob)
            conditions.append(condition)
            params += values
        if where.search:
            condition, values = self.search_filter(where.search)  # type: ignore[attr-defined]
            conditions.append(condition)
            params += values
        return conditions, params
