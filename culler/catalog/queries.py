"""Read-side queries shared by the CLI and the GUI: listing, sorting and filtering photos."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from culler.catalog import Catalog
from culler.safe_files import same_file


def list_photos(
    catalog: Catalog,
    *,
    sort_by: str | None = None,
    min_score: float | None = None,
    max_score: float | None = None,
    status: str = "all",
    tag: str | None = None,
    min_prob: float = 0.5,
    limit: int | None = None,
    person: int | None = None,
    eyes: str | None = None,
    focus: str | None = None,
) -> list[dict[str, Any]]:
    """Photos as dicts with ``path``, ``status``, ``error``, ``scores`` {scorer_id: score}, ``tags``, ``rating``.

    ``sort_by`` is a scorer id (best first, unscored last), ``path`` or ``taken``. ``min``/``max`` filter
    on the ``sort_by`` scorer's score. ``person`` (a person's id), ``eyes`` and ``focus`` keep
    photos with one face that matches them all (the person's own face with eyes closed, for
    ``person`` and ``eyes="closed"``); without ``person`` only main faces count.
    """
    where, params = [], []
    order = "p.path"
    join = ""
    if status != "all":
        where.append("p.status = ?")
        params.append(status)
    if sort_by in (None, "path"):
        pass
    elif sort_by == "taken":
        order = "p.taken_at IS NULL, p.taken_at, p.path"
    else:
        _check_scorer(catalog, sort_by)
        # A correlated lookup through the scores primary key: joining the current_scores view (a window
        # query) made SQLite rescan it for every photo, minutes for a 100,000-photo catalog.
        join = (
            ", (SELECT s.score FROM scores s JOIN scorers sc ON sc.id = s.scorer_pk"
            " WHERE s.photo_id = p.id AND sc.scorer_id = ? ORDER BY sc.active DESC, sc.id DESC"
            " LIMIT 1) AS sort_score"
        )
        params.insert(0, sort_by)
        order = "sort_score IS NULL, sort_score DESC, p.path"
        for bound, op in ((min_score, ">="), (max_score, "<=")):
            if bound is not None:
                where.append(f"sort_score {op} ?")
                params.append(bound)
    if (min_score is not None or max_score is not None) and not join:
        raise ValueError("--min/--max need --sort SCORER to say which score to filter on")
    if tag is not None:
        where.append("p.id IN (SELECT photo_id FROM tags WHERE tag = ? AND probability >= ?)")
        params += [tag, min_prob]
    if person is not None or eyes is not None or focus is not None:
        face = ["1"] if person is not None else ["f.main = 1"]
        for column, value in (("f.person_id", person), ("f.eyes", eyes), ("f.focus", focus)):
            if value is not None:
                face.append(f"{column} = ?")
                params.append(value)
        where.append(
            "p.id IN (SELECT f.photo_id FROM faces f JOIN current_scores cs"
            " ON cs.photo_id = f.photo_id AND cs.scorer_pk = f.scorer_pk"
            f" WHERE {' AND '.join(face)})"
        )
    sql = f"SELECT p.*{join} FROM photos p"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {order}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    photos = catalog.query(sql, params)
    return _attach(catalog, photos)


def _check_scorer(catalog: Catalog, scorer_id: str) -> None:
    known = {r[0] for r in catalog.execute("SELECT DISTINCT scorer_id FROM scorers")}
    if scorer_id not in known:
        raise ValueError(
            f"no scores from a scorer called {scorer_id!r} in this catalog "
            f"(known: {', '.join(sorted(known)) or 'none'})"
        )


def _attach(catalog: Catalog, photos: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add scores, tags and the current rating to photo rows, in three queries for all of them."""
    ids = [p["id"] for p in photos]
    scores = catalog.current_scores(ids)
    tags = catalog.tag_maxima(ids)
    ratings = catalog.current_ratings(ids)
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
                "tags": tags.get(p["id"], {}),
                "rating": ratings.get(p["id"]),
            }
        )
    return result


def find_photo(catalog: Catalog, path: str | Path) -> dict[str, Any] | None:
    """Look a photo up by the path as given, its absolute form, or its resolved form; a further
    name of a hard-linked file finds the row of the name the scan found it under."""
    candidates = [str(path), os.path.abspath(path)]
    try:
        candidates.append(str(Path(path).resolve()))
    except OSError:
        pass
    for candidate in candidates:
        row = catalog.photo_by_path(candidate)
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
    rows = catalog.query("SELECT * FROM photos WHERE size = ? AND status = 'ok'", [st.st_size])
    by_path = {row["path"]: row for row in rows}
    match = same_file(by_path, (st.st_dev, st.st_ino))
    return by_path[match] if match else None


def photo_details(catalog: Catalog, path: str | Path) -> dict[str, Any] | None:
    photo = find_photo(catalog, path)
    if photo is None:
        return None
    details = dict(photo)
    details["scores"] = catalog.scores_for(photo["id"])
    details["tags"] = catalog.tags_for(photo["id"])
    details["score_errors"] = catalog.score_errors_for(photo["id"])
    details["rating"] = catalog.current_rating(photo["id"])
    details["groups"] = catalog.photo_groups(photo["id"])
    details["faces"] = catalog.photo_faces(photo["id"])
    return json.loads(json.dumps(details, default=str))
