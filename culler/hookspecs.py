"""Every hook a culler plugin can implement.

This module is the plugin author's reference: each hook has one docstring, and docs/plugins.md has one
heading per hook (a test fails when either is missing). Implement a hook with ``@culler.hookimpl``.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("culler")
hookimpl = pluggy.HookimplMarker("culler")


@hookspec
def register_scorers(register):
    """Call ``register(ScorerClass)`` once for each :class:`culler.scorers.Scorer` subclass the plugin offers."""


@hookspec
def register_commands(cli):
    """Add click commands or groups to the ``culler`` command line (``cli`` is the root click group)."""


@hookspec(firstresult=True)
def load_image(path, max_side):
    """Open ``path`` as an RGB ``PIL.Image`` whose longer side is about ``max_side`` or more, or return None.

    The first plugin that returns an image wins; culler's own PIL loader runs last. Raise
    ``culler.images.ImageError`` with a one-line reason when the file is yours but cannot be decoded.
    """


@hookspec
def register_migrations(migrations):
    """Add the plugin's own database migrations: ``@migrations(name)`` decorates ``fn(db)``, applied once, in order."""


@hookspec
def photos_scored(db, scorer_id, photo_ids):
    """Called after the scores of ``photo_ids`` by ``scorer_id`` were committed to the catalog ``db``."""


@hookspec
def scan_finished(db, summary):
    """Called once at the end of ``culler scan`` with the catalog and the summary dict (the ``--json`` output)."""


@hookspec
def register_gui_panels(register):
    """Call ``register(title, factory)``; ``factory(parent)`` returns a QWidget with ``set_photo(db, photo_id)``."""
