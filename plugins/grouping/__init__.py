"""Keeps bursts and near-duplicate groups up to date: regroups after every ``culler scan``.

A plugin rather than core code so a third-party grouping (or none) can replace it through
``CULLER_LOAD_PLUGINS``. Its ``grouping_state`` table remembers what each photo looked like at the last
grouping (content, capture time, camera, folder, whether it had a signature and an embedding), which
makes regrouping after a scan incremental; its ``grouping_run`` table what the stored ranks were
computed from, so a scan that changed nothing regroups nothing (one indexed check). Photos scanned before signatures existed get theirs from
the cached thumbnail, so they are not left out of near-duplicate search until their file changes.
"""

from __future__ import annotations

import logging

from culler.api import hookimpl

__version__ = "2.0"

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

    @migrations("grouping_002_facts")
    def add_facts(db):
        # Safe to run again: an earlier culler may have added the column without recording the step.
        if "facts" not in db["grouping_state"].columns_dict:
            db["grouping_state"].add_column("facts", str)

    @migrations("grouping_003_run_watermark")
    def create_run(db):
        # What the stored ranks were computed from (scores, scorers): a scan that changed no photo
        # and no score regroups nothing (culler.decide.cull.update_groups checks it first).
        db.execute(
            "CREATE TABLE IF NOT EXISTS grouping_run (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )


@hookimpl
def scan_finished(db, summary):
    """Regroup the catalog once a scan that finished (or was cancelled) has committed its photos."""
    if summary.get("status") == "failed":
        return
    from culler.api import backfill_signatures, update_groups

    filled = backfill_signatures(db)
    if filled:
        log.debug("signatures from cached thumbnails: %d", filled)
    counts = update_groups(db)
    summary["groups"] = counts["groups"]
    log.debug("grouping after scan: %s", counts)
