"""Tags a person gives photos by hand (``culler tag``, the GUI), kept apart from scorer tags.

Scorer tags (``tags``) are one scorer version's probabilities and are replaced when it rescores; a
person's tags are decisions, so they are stored append-only like ratings: every ``--add`` / ``--remove``
is a row (photo, tag, present 1/0, source, time) and the newest row per (photo, tag) is the current
state. The emotion trainer (``culler train --scorer emotion --model tags``) learns from the current
ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlite_utils

from culler.catalog.migrations import migrations, run_again_safely
from culler.catalog.timestamps import now


@migrations("user_tags")
def m_user_tags(db: sqlite_utils.Database) -> None:
    db.executescript(
        run_again_safely(
            """
        CREATE TABLE user_tags (
            id INTEGER PRIMARY KEY,
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            present INTEGER NOT NULL CHECK (present IN (0, 1)),
            source TEXT NOT NULL,
            at TEXT NOT NULL
        );
        CREATE INDEX user_tags_photo ON user_tags (photo_id, tag, id);
        CREATE VIEW current_user_tags AS
            SELECT u.photo_id, u.tag, u.source, u.at FROM user_tags u
            WHERE u.present = 1 AND u.id = (
                SELECT MAX(v.id) FROM user_tags v WHERE v.photo_id = u.photo_id AND v.tag = u.tag
            );
        """
        )
    )


def normalise_tag(tag: str) -> str:
    """Tags compare case- and space-insensitively ("Awe" and " awe" are one tag)."""
    name = " ".join(tag.strip().lower().split())
    if not name:
        raise ValueError("a tag needs at least one letter")
    return name


class TagStore:
    """Catalog methods for hand-given tags (mixed into :class:`culler.catalog.core.Catalog`)."""

    def tag_photos(
        self,
        photo_ids: Iterable[int],
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
        source: str = "user",
    ) -> int:
        """Record ``add`` / ``remove`` for every photo in one transaction; return rows written."""
        added = [normalise_tag(t) for t in add]
        removed = [normalise_tag(t) for t in remove]
        both = set(added) & set(removed)
        if both:
            raise ValueError(f"cannot both add and remove {', '.join(sorted(both))}")
        at = now()
        rows = [
            (pid, tag, present, source, at)
            for pid in photo_ids
            for tags, present in ((added, 1), (removed, 0))
            for tag in tags
        ]
        with self.transaction() as conn:  # type: ignore[attr-defined]
            conn.executemany(
                "INSERT INTO user_tags (photo_id, tag, present, source, at) VALUES (?, ?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    def user_tags(self, photo_ids: Iterable[int] | None = None) -> dict[int, set[str]]:
        """Current hand-given tags per photo (photos with none are left out)."""
        sql = (
            "SELECT c.photo_id, c.tag FROM current_user_tags c JOIN photos p ON p.id = c.photo_id"
            " WHERE p.status = 'ok' ORDER BY c.photo_id, c.tag"
        )
        wanted = None if photo_ids is None else set(photo_ids)
        out: dict[int, set[str]] = {}
        for row in self.query(sql):  # type: ignore[attr-defined]
            if wanted is None or row["photo_id"] in wanted:
                out.setdefault(row["photo_id"], set()).add(row["tag"])
        return out

    def user_tag_rows(self) -> list[dict[str, Any]]:
        """Current tags with their path, for the trainer's dataset."""
        return self.query(  # type: ignore[attr-defined]
            "SELECT c.photo_id, c.tag, p.path FROM current_user_tags c"
            " JOIN photos p ON p.id = c.photo_id WHERE p.status = 'ok' ORDER BY c.photo_id, c.tag"
        )
