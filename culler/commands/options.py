"""What every command shares: the ``--db`` option, opening a catalog that must exist, and parsing
``[SCORER.]KEY=VALUE`` settings (``--config``).

Its own module so command modules can define their commands at import time without importing
:mod:`culler.cli` (which imports them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

#: The catalog file name (culler.catalog.DEFAULT_NAME; not imported so `culler --help` stays fast).
DEFAULT_NAME = "culler.db"


def db_option(fn):
    return click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="CULLER_DB",
        help="Catalog file (default: culler.db in the scanned folder, or the current folder).",
    )(fn)


#: The catalog this command last resolved, so an SQLite failure deep inside a command can name it.
_resolved: list[Path] = []


def resolve_db(db_path: Path | None, roots: tuple[Path, ...] = ()) -> Path:
    """The catalog to use: --db, else culler.db in the first root, else ./culler.db."""
    if db_path is not None:
        path = Path(db_path)
    elif roots:
        path = Path(roots[0]) / DEFAULT_NAME
    else:
        path = Path(DEFAULT_NAME)
    _resolved[:] = [path]
    return path


def forget_catalog() -> None:
    _resolved.clear()


def last_catalog() -> Path | None:
    """The catalog path the running command resolved (None before it resolved one)."""
    return _resolved[-1] if _resolved else None


class LazyChoice(click.Choice):
    """A ``click.Choice`` whose choices are ``module.name``, read when the option is first parsed or
    shown: a command's module is imported whenever ``culler`` starts (``culler list`` too), and
    the module that holds the choices may load numpy or the XMP code."""

    def __init__(self, module: str, name: str, sort: bool = False) -> None:
        self._source = (module, name, sort)
        self._choices: tuple | None = None
        super().__init__((), case_sensitive=True)

    @property
    def choices(self) -> tuple:  # type: ignore[override]
        if self._choices is None:
            import importlib

            module, name, sort = self._source
            values = getattr(importlib.import_module(module), name)
            self._choices = tuple(sorted(values) if sort else values)
        return self._choices

    @choices.setter
    def choices(self, value) -> None:  # click.Choice.__init__ sets it; the module is the source
        pass


def open_existing(db_path: Path | None, read_only: bool = False, plugins: bool = True):
    """Open a catalog that must already exist (list/show/cull…), with a helpful error when it does not.

    Only ``culler scan`` creates catalogs: a missing file, another application's database or a catalog
    from a newer culler is refused with one line and left exactly as it was. ``read_only`` (dry runs):
    the schema is not upgraded, and a catalog an older culler wrote is refused with one line.
    ``plugins=False`` (commands that read only core tables): plugins are not loaded and their schema
    steps wait for the next command that uses them.
    """
    from culler.catalog import CatalogError, open_catalog

    path = resolve_db(db_path)
    try:
        return open_catalog(
            path, create=False, read_only=read_only, plugins=plugins, progress=UpgradeProgress()
        )
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from exc


class UpgradeProgress:
    """The progress of a catalog's data upgrade (``culler.catalog.upgrades``) on stderr: a bar on a
    terminal, a line at the start and one at the end otherwise; nothing for a few rows."""

    #: Upgrades of fewer rows take well under a second: not worth a line.
    QUIET_BELOW = 2_000

    def __init__(self) -> None:
        self._bar: Any = None
        self._shown = 0

    def __call__(self, what: str, done: int, total: int) -> None:
        if total < self.QUIET_BELOW and not what.startswith("giving"):
            return
        import sys

        if self._bar is None and done < total:
            unit = "" if what.startswith("giving") else f" ({total:,} to do)"
            line = f"upgrading the catalog: {what}{unit}; safe to stop, it resumes on the next run"
            if sys.stderr.isatty():
                self._bar = click.progressbar(length=total, label=line, file=sys.stderr)
                self._bar.__enter__()
            else:
                click.echo(line, err=True)
                self._bar = False
            self._shown = 0
        if self._bar:
            self._bar.update(done - self._shown)
            self._shown = done
        if done >= total and self._bar is not None:
            if self._bar:
                self._bar.__exit__(None, None, None)
            else:
                click.echo(f"upgrading the catalog: {what}: done", err=True)
            self._bar = None


def parse_config_value(text: str) -> Any:
    """``3`` → 3, ``[\"a\"]`` → ["a"], ``true`` → True; anything that is not JSON stays text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_setting(item: str) -> tuple[str, str, Any] | None:
    """``"clip-aesthetic.head=prompts"`` → ``("clip-aesthetic", "head", "prompts")``; ``"head=x"`` →
    ``("", "head", "x")``; None when ``item`` is not ``[SCORER.]KEY=VALUE``."""
    target, sep, value = item.partition("=")
    scorer_id, dot, key = target.rpartition(".")
    if not sep or not key or (dot and not scorer_id):
        return None
    return scorer_id, key, parse_config_value(value)
