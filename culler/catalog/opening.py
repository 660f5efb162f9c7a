"""Is this file a culler catalog we may open? Checked before the first statement that could write.

``--db`` can name anything: another application's SQLite file, a JPEG, a catalog written by a newer
culler. Opening such a file as a catalog would add our tables to it or switch it to WAL, so the file is
inspected first (its header, then its table names through a plain read) and refused with one line that
says what it is and what to do. Failures of a catalog that is ours (read-only, locked by another
process) become the same kind of one-line error instead of a bare ``sqlite3`` traceback.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SQLITE_HEADER = b"SQLite format 3\x00"
#: Tables every culler catalog has once its first migration ran.
CULLER_TABLES = {"_migrations", "photos", "ratings"}
#: Every table the first migration creates, and the record tables: a file holding only some of these and
#: an empty ``_migrations`` is a catalog whose creation an earlier version left unfinished (it is
#: finished on open), not another application's database.
FIRST_STEP_TABLES = {
    "photos",
    "scorers",
    "scores",
    "score_errors",
    "tags",
    "embeddings",
    "ratings",
    "preferences",
    "groups",
    "group_members",
    "scan_runs",
    "training_runs",
}
RECORD_TABLES = {"_migrations", "_sqlite_migrations", "sqlite_sequence"}


class CatalogError(Exception):
    """The catalog cannot be used as asked; the message says what happened and what to do."""


class NotACatalog(CatalogError):
    """The file exists but is not a culler catalog (another application's, or not SQLite)."""


class NewerCatalog(CatalogError):
    """A catalog written by a newer culler: its schema has steps this version does not know."""


class OlderCatalog(CatalogError):
    """A catalog an older culler wrote, opened by a command that must not upgrade it (a dry run)."""


class NoCatalog(CatalogError):
    """No catalog at that path, and the command only opens existing ones."""


class CatalogLocked(CatalogError, sqlite3.OperationalError):
    """Another process held the write lock past the busy timeout (keeps sqlite's ``locked`` word)."""


class CatalogReadOnly(CatalogError, sqlite3.OperationalError):
    """The catalog file (or its folder) cannot be written (keeps sqlite's ``readonly`` word)."""


def is_blank(path: Path) -> bool:
    """True when there is nothing at ``path`` yet (no file, or an empty one): a catalog may go there."""
    try:
        return path.stat().st_size == 0
    except FileNotFoundError:
        return True


def check_catalog_file(path: Path, known_steps: set[str]) -> None:
    """Raise :class:`CatalogError` unless ``path`` holds a culler catalog this version can open.

    ``known_steps`` are the core migration names this version has; a catalog that recorded others was
    written by a newer culler. Only reads: the file's bytes and mtime stay as they were.
    """
    with open(path, "rb") as fh:
        header = fh.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise NotACatalog(
            f"{path} is not a culler catalog (not an SQLite database); nothing was changed. Pass "
            "--db the catalog file (culler.db), or run `culler scan FOLDER` to create one"
        )
    tables, steps = _read_schema(path)
    if not tables:
        return  # an empty SQLite database: a catalog may be created in it
    if not CULLER_TABLES.issubset(tables) and not _unfinished_catalog(tables, steps):
        raise NotACatalog(
            f"{path} is an SQLite database of another application (no culler tables); nothing was "
            "changed. Pass --db a culler catalog, or a new file name to create one with `culler scan`"
        )
    newer = sorted(s for s in steps if s.startswith("core:") and s not in known_steps)
    if newer:
        raise NewerCatalog(
            f"{path} was written by a newer culler (schema step {newer[-1]}); nothing was changed. "
            "Upgrade culler (pip install -U culler) to open it"
        )


def _unfinished_catalog(tables: set[str], steps: set[str]) -> bool:
    """A catalog an earlier culler began to create and was stopped (disk full, killed)."""
    return (
        "_migrations" in tables
        and tables <= FIRST_STEP_TABLES | RECORD_TABLES
        and all(step.startswith(("core:", "plugin:")) for step in steps)
    )


def _read_schema(path: Path) -> tuple[set[str], set[str]]:
    """The table names and recorded migration steps, read without writing anything."""
    # A plain connection that only reads: it creates nothing (the file exists) and, unlike mode=ro,
    # leaves no -wal/-shm files behind when the database is in WAL mode.
    conn = sqlite3.connect(str(path), timeout=5)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        steps: set[str] = set()
        if "_migrations" in tables:
            steps = {r[0] for r in conn.execute("SELECT name FROM _migrations")}
        if "_sqlite_migrations" in tables:  # sqlite-utils' record (culler's sets only)
            steps |= {
                r[0]
                for r in conn.execute(
                    "SELECT name FROM _sqlite_migrations WHERE migration_set LIKE 'culler-%'"
                )
            }
        return tables, steps
    except sqlite3.OperationalError as exc:
        raise explain(exc, path) from exc
    except sqlite3.DatabaseError as exc:  # "file is not a database": a damaged or encrypted file
        raise NotACatalog(
            f"{path} is not a readable SQLite database ({exc}); nothing was changed. Pass --db the "
            "catalog file (culler.db)"
        ) from exc
    finally:
        conn.close()


def explain(exc: sqlite3.Error, path: Path, busy_seconds: float | None = None) -> sqlite3.Error:
    """A locked or read-only catalog as a one-line :class:`CatalogError`; other errors unchanged."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        waited = f" for {busy_seconds:g} s" if busy_seconds else ""
        return CatalogLocked(
            f"the catalog {path} is locked: another process (a running culler scan, the culler GUI, "
            f"or another program) has been writing to it{waited} (database is locked). Wait for it "
            "to finish or close it, then run the command again"
        )
    if "readonly" in text or "read-only" in text:
        return CatalogReadOnly(
            f"the catalog {path} is read-only (attempt to write a readonly database): make the file "
            "and its folder writable, or pass --db a copy you can write"
        )
    return exc
