"""Read-side queries shared by the CLI and the GUI: listing, sorting and filtering photos."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from culler.catalog import Catalog
from culler.catalog.current import current_score
from culler.catalog.roots import WHOLE_ROW
from culler.catalog.search import fts_query
from culler.catalog.timestamps import photo_row
from culler.safe_files import same_file


def list_photos(catalog: Catalog, **options: Any) -> list[dict[str, Any]]:
    """Every photo :func:`iter_photos` yields, in one list (see there for the options)."""
    return list(iter_photos(catalog, **options))


def iter_photos(
    catalog: Catalog,
    *,
    sort_by: str | None = None,
    min_score: float | None = None,
    max_score: float | None = None,
    status: str = "all",
    tag: str | None = None,
    min_prob: float = 0.5,
    limit: int | None = None,
    search: str | None = None,
    person: int | None = None,
    eyes: str | None = None,
    focus: str | None = None,
    batch: int = 1_000,
) -> Iterator[dict[str, Any]]:
    """Photos as dicts with ``path``, ``status``, ``error``, ``scores`` {scorer_id: score}, ``tags``, ``rating``.

    ``sort_by`` is a scorer id (best first, unscored last), ``path`` or ``taken``. ``min``/``max`` filter
    on the ``sort_by`` scorer's score. ``search`` keeps the photos whose path, camera, lens, tags, colour
    label or people match every word (:mod:`culler.catalog.search`); without ``sort_by`` its matches
    come newest first, streamed from the index, so a first page never collects every match.
    ``person`` (a person's id), ``eyes`` and ``focus`` keep
    photos with one face that matches them all (the person's own face with eyes closed, for
    ``person`` and ``eyes="closed"``); without ``person`` only main faces count.
    """
    where, params = [], []
    order = "p.path"
    join = ""
    source = "photos p"
    if search is not None and sort_by is None:
        source = "photo_search_fts fts JOIN photos p ON p.id = fts.rowid"
        query = fts_query(search)
        where.append("photo_search_fts MATCH ?" if query else "0")
        params += [query] if query else []
        order = "fts.rowid DESC"
        search = None
    if status != "all":
        where.append("p.status = ?")
        params.append(status)
    if sort_by in (None, "path"):
        pass
    elif sort_by == "taken":
        order = "p.taken_at IS NULL, p.taken_at, p.path"
    else:
        _check_scorer(catalog, sort_by)
        faces = (person, eyes, focus) != (None, None, None)
        if limit is not None and search is None and tag is None and not faces:
            top = _top_by_score_index(
                catalog, sort_by, where, params, limit, min_score, max_score, tag, min_prob
            )
            if top is not None:
                yield from _attach(catalog, top)
                return
        # Photo by photo through the scores primary key, not the current_scores view (see .current).
        join = f", {current_score('score', 'p.id', '?')} AS sort_score"
        params.insert(0, sort_by)
        order = "sort_score IS NULL, sort_score DESC, p.path"
        for bound, op in ((min_score, ">="), (max_score, "<=")):
            if bound is not None:
                where.append(f"sort_score {op} ?")
                params.append(bound)
    if (min_score is not None or max_score is not None) and not join:
        raise ValueError("--min/--max need --sort SCORER to say which score to filter on")
    if tag is not None:
        condition, values = catalog.tag_filter(tag, min_prob)
        where.append(condition)
        params += values
    if person is not None or eyes is not None or focus is not None:
        condition, values = catalog.face_filter(person, eyes, focus)
        where.append(condition)
        params += values
    if search is not None:
        condition, values = catalog.search_filter(search)
        where.append(condition)
        params += values
    sql = f"SELECT {_COLUMNS}{join} FROM {source}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {order}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    # Streamed: rows are read from the cursor and attached ``batch`` at a time, so a whole-catalog
    # listing never holds every photo (the query runs on its own cursor; the attach reads use others).
    cursor = catalog.conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    while rows := cursor.fetchmany(batch):
        yield from _attach(catalog, [dict(zip(names, row, strict=True)) for row in rows])


#: What a listed photo shows (never ``p.*``: the signature blob alone is a kilobyte per photo).
_COLUMNS = "p.id, p.path, p.status, p.error, p.width, p.height, p.taken_at, p.camera"


def _top_by_score_index(
    catalog: Catalog,
    scorer_id: str,
    where: list[str],
    params: list[Any],
    limit: int,
    min_score: float | None,
    max_score: float | None,
    tag: str | None,
    min_prob: float,
) -> list[dict[str, Any]] | None:
    """The first ``limit`` photos by one scorer's score, read down ``idx_scores_scorer`` (a page of
    a million-photo catalog in milliseconds), then the unscored ones by path, as the general query
    orders them. None when the scorer id has more than one version in the catalog (a photo's
    current score may then come from either): the general query answers that."""
    versions = [
        r[0] for r in catalog.execute("SELECT id FROM scorers WHERE scorer_id = ?", [scorer_id])
    ]
    if len(versions) != 1:
        return None
    conditions, values = list(where), list(params)
    if tag is not None:
        conditions.append("p.id IN (SELECT photo_id FROM tags WHERE tag = ? AND probability >= ?)")
        values += [tag, min_prob]
    scored_where = ["s.scorer_pk = ?", "s.score IS NOT NULL", *conditions]
    scored_values = [versions[0], *values]
    for bound, op in ((min_score, ">="), (max_score, "<=")):
        if bound is not None:
            scored_where.append(f"s.score {op} ?")
            scored_values.append(bound)
    rows = catalog.query(
        f"SELECT {_COLUMNS} FROM scores s JOIN photos p ON p.id = s.photo_id"
        f" WHERE {' AND '.join(scored_where)} ORDER BY s.score DESC, p.path LIMIT {int(limit)}",
        scored_values,
    )
    if len(rows) < limit and min_score is None and max_score is None:
        unscored = [
            "NOT EXISTS (SELECT 1 FROM scores s WHERE s.photo_id = p.id AND s.scorer_pk = ?"
            " AND s.score IS NOT NULL)",
            *conditions,
        ]
        rows += catalog.query(
            f"SELECT {_COLUMNS} FROM photos p WHERE {' AND '.join(unscored)}"
            f" ORDER BY p.path LIMIT {int(limit) - len(rows)}",
            [versions[0], *values],
        )
    return rows


def _check_scorer(catalog: Catalog, scorer_id: str) -> None:
    known = {r[0] for r in catalog.execute("SELECT DISTINCT scorer_id FROM scorers")}
    if scorer_id not in known:
        raise ValueError(
            f"no scores from a scorer called {scorer_id!r} in this catalog "
            f"(known: {', '.join(sorted(known)) or 'none'})"
        )


def _attach(catalog: Catalog, photos: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add scores, tags (with their sources) and the current rating to photo rows, in a few queries
    for all of them."""
    ids = [p["id"] for p in photos]
    scores = catalog.page_scores(ids)  # by primary key: the current_scores view numbers every row
    tags = catalog.tag_details(ids)
    ratings = catalog.current_ratings(ids)
    files = catalog.capture_files(ids)
    result = []
    for p in photos:
        result.append(
            {
                "id": p["id"],
                "path": p["path"],
                "status": p["status"],
                "error": p["error"],
                "width": p["width"],
                "height": p["height"],
                "taken_at": p["taken_at"],
                "camera": p["camera"],
                "scores": scores.get(p["id"], {}),
                "tags": {t: i["probability"] for t, i in tags.get(p["id"], {}).items()},
                "tag_sources": {t: i["source"] for t, i in tags.get(p["id"], {}).items()},
                "rating": ratings.get(p["id"]),
                "files": [f["path"] for f in files.get(p["id"], [])],
            }
        )
    return result


def find_photo(catalog: Catalog, path: str | Path) -> dict[str, Any] | None:
    """Look a photo up by the path as given, its absolute form, or its resolved form; a further
    name of a hard-linked file finds the row of the name the scan found it under, and the RAW of a
    RAW+JPEG capture finds the capture's photo."""
    candidates = [str(path), os.path.abspath(path)]
    try:
        candidates.append(str(Path(path).resolve()))
    except OSError:
        pass
    for candidate in candidates:
        row = catalog.photo_by_path(candidate) or catalog.photo_by_capture_file(candidate)
        if row:
            return row
    return _hard_linked_row(catalog, path)


def _hard_linked_row(catalog: Catalog, path: str | Path) -> dict[str, Any] | None:
    """The row of another name of ``path``'s file (same device and inode), among rows of its size."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if st.st_nlink < 2:
        return None
    rows = catalog.query(
        f"SELECT {WHOLE_ROW} FROM photos p WHERE size = ? AND status = 'ok'", [st.st_size]
    )
    by_path = {row["path"]: photo_row(row) for row in rows}
    match = same_file(by_path, (st.st_dev, st.st_ino))
    return by_path[match] if match else None


def photo_details(catalog: Catalog, path: str | Path) -> dict[str, Any] | None:
    photo = find_photo(catalog, path)
    if photo is None:
        return None
    details = dict(photo)
    details["scores"] = catalog.scores_for(photo["id"])
    tags = catalog.tag_details([photo["id"]]).get(photo["id"], {})
    details["tags"] = {t: i["probability"] for t, i in tags.items()}
    details["tag_sources"] = {t: i["source"] for t, i in tags.items()}
    details["score_errors"] = catalog.score_errors_for(photo["id"])
    details["rating"] = catalog.current_rating(photo["id"])
    details["groups"] = catalog.photo_groups(photo["id"])
    details["faces"] = catalog.photo_faces(photo["id"])
    details["files"] = catalog.capture_files([photo["id"]]).get(photo["id"], [])
    return json.loads(json.dumps(details, default=str))


def shooting_text(photo: dict[str, Any]) -> str | None:
    """The shooting data as a photographer reads it: "1/250 s · f/2.8 · ISO 800 · 85 mm"; None when
    the scan stored none of it."""
    parts = []
    exposure = photo.get("exposure_time")
    if exposure:
        if exposure >= 0.3:
            parts.append(f"{exposure:g} s")
        else:
            parts.append(f"1/{round(1 / exposure)} s")
    if photo.get("f_number"):
        parts.append(f"f/{photo['f_number']:.1f}".replace(".0", ""))
    if photo.get("iso"):
        parts.append(f"ISO {photo['iso']}")
    if photo.get("focal_length"):
        parts.append(f"{photo['focal_length']:g} mm")
    return " · ".join(parts) or None
