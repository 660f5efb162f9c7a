"""Keeps bursts and near-duplicate groups up to date: regroups after every ``culler scan``.

A plugin rather than core code so a third-party grouping (or none) can replace it through
``CULLER_LOAD_PLUGINS``. Its ``grouping_state`` table remembers each photo's hash and embedding status
at the last grouping, which makes regrouping after a scan incremental.
"""

from __future__ import annotations

import logging

from culler.api import hookimpl

__version__ = "1.0"

log = logging.getLogger(__name__)


@hookimpl
def register_migrations(migrations):
    @migrations("grouping_001_state")
    def create_state(db):
        db.execute(
            "CREATE TABLE IF NOT EXISTS grouping_state ("
            " photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,"
            " phash TEXT, has_vector INTEGER NOT NULL DEFAULT 0)"
        )


@hookimpl
def scan_finished(db, summary):
    """Regroup the catalog once a scan that finished (or was cancelled) has committed its photos."""
    if summary.get("status") == "failed":
        return
    from culler.api import update_groups

    counts = update_groups(db)
    summary["groups"] = counts["groups"]
    log.debug("grouping after scan: %s", counts)
