"""Tags a person gives photos by hand (``culler tag``, the GUI), kept apart from scorer tags.

Scorer tags (``tags``) are one scorer version's probabilities and are replaced when it rescores; a
person's tags are decisions, so they are stored append-only like ratings: every ``--add`` / ``--remove``
is a row (photo, tag, present 1/0, source, time) and the newest row per (photo, tag) is the current
state. The emotion trainer (``culler train --scorer emotion --model tags``) learns from the current
ones.

Everything that shows tags (``culler list --tag``/``--json``, ``culler show``, the GUI's search, tag
filter and Why panel, XMP ``dc:subject``) reads both kinds through :meth:`TagStore.tag_details`: a hand
tag has probability 1 and source ``hand`` (``xmp`` when it came from a sidecar's keywords), a scorer tag
its highest probability and the scorer's id as source. A tag a person removed is hidden even when a
scorer gives it: the person's word stands, as with ratings.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from culler.catalog.chunks import in_clauses
from culler.catalog.migrations import migrations, run_again_safely
from culler.catalog.timestamps import now

if TYPE_CHECKING:  # sqlite-utils (and the numpy it imports) loads with the first write
    import sqlite_utils


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


#: ``user_tags.source`` -> the source a reader sees: typed in culler ("hand") or read from a sidecar.
HAND_SOURCES = {"user": "hand", "xmp": "xmp"}


def hand_source(source: str) -> str:
    return HAND_SOURCES.get(source, source)


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

    def hand_tag_states(
        self, photo_ids: Iterable[int] | None = None
    ) -> dict[int, dict[str, tuple[bool, str]]]:
        """{photo id: {tag: (present, source)}}: the newest hand decision per photo and tag, removals
        included (what XMP writing needs to take a keyword out again)."""
        out: dict[int, dict[str, tuple[bool, str]]] = {}
        for where, params in in_clauses("WHERE photo_id", photo_ids):
            # SQLite takes the bare columns of a MAX() aggregate from the row holding the maximum.
            for pid, tag, present, source, _ in self.conn.execute(  # type: ignore[attr-defined]
                f"SELECT photo_id, tag, present, source, MAX(id) FROM user_tags {where}"
                " GROUP BY photo_id, tag",
                params,
            ):
                out.setdefault(pid, {})[tag] = (bool(present), source)
        return out

    def tag_details(
        self, photo_ids: Iterable[int] | None = None
    ) -> dict[int, dict[str, dict[str, Any]]]:
        """{photo id: {tag: {"probability": p, "source": s}}}, hand and scorer tags alike.

        A hand tag is probability 1 with source ``hand`` (``xmp`` if read from a sidecar's keywords);
        a scorer tag is its highest probability, with the id of the scorer that gave it. A tag removed
        by hand is left out even when a scorer gives it. Tags are ordered most probable first.
        """
        ids = None if photo_ids is None else list(photo_ids)
        found: dict[int, dict[str, dict[str, Any]]] = {}
        for where, params in in_clauses("WHERE t.photo_id", ids):
            for pid, tag, prob, scorer in self.conn.execute(  # type: ignore[attr-defined]
                "SELECT t.photo_id, t.tag, MAX(t.probability), sc.scorer_id FROM tags t"
                f" JOIN scorers sc ON sc.id = t.scorer_pk {where} GROUP BY t.photo_id, t.tag",
                params,
            ):
                found.setdefault(pid, {})[tag] = {"probability": prob, "source": scorer}
        for pid, states in self.hand_tag_states(ids).items():
            for tag, (present, source) in states.items():
                if present:
                    found.setdefault(pid, {})[tag] = {
                        "probability": 1.0,
                        "source": hand_source(source),
                    }
                elif pid in found:
                    found[pid].pop(tag, None)
        return {
            pid: dict(sorted(tags.items(), key=lambda kv: (-kv[1]["probability"], kv[0])))
            for pid, tags in found.items()
            if tags
        }
