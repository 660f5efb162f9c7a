"""Which score row is a photo's current one for a scorer, as SQL a query can embed.

``current_scores`` (a view) says it for every photo at once: the row of the scorer's active version,
else its newest. A query about some photos asks it photo by photo instead, through the scores primary
key: joining the view (a window query over every score row) made SQLite number every row first —
minutes for a list of a 100,000-photo catalog, seconds for a catalog's people with no face at all.
"""

from __future__ import annotations


def current_score(column: str, photo: str, scorer_id: str) -> str:
    """A scalar subquery: ``column`` of the score row ``current_scores`` shows for the photo
    ``photo`` and the scorer ``scorer_id`` (both SQL expressions: a column, a ``?``)."""
    return (
        f"(SELECT s.{column} FROM scores s JOIN scorers sc ON sc.id = s.scorer_pk"
        f" WHERE s.photo_id = {photo} AND sc.scorer_id = {scorer_id}"
        " ORDER BY sc.active DESC, sc.id DESC LIMIT 1)"
    )
