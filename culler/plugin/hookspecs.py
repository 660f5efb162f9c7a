"""Every hook a culler plugin can implement.

This module is the plugin author's reference: each hook has one docstring, and docs/plugins.md has one
heading per hook (a test fails when either is missing). Implement a hook with ``@hookimpl`` from
:mod:`culler.api`, the one module a plugin imports from culler.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("culler")
hookimpl = pluggy.HookimplMarker("culler")


@hookspec
def register_scorers(register):
    """Call ``register(ScorerClass)`` once for each :class:`culler.api.Scorer` subclass the plugin offers."""


@hookspec
def register_commands(cli):
    """Add click commands or groups to the ``culler`` command line (``cli`` is the root click group)."""


@hookspec(firstresult=True)
def load_image(path, max_side, develop):
    """Open ``path`` as an RGB ``PIL.Image`` whose longer side is about ``max_side`` or more, or return None.

    The first plugin that returns an image wins; culler's own PIL loader runs last. Raise
    ``culler.api.ImageError`` with a one-line reason when the file is yours but cannot be decoded.
    ``develop`` is True when the user asked for the full development of a RAW file (the loupe's
    "Develop RAW at 100 %") instead of its embedded preview; a loader with no such choice leaves the
    argument out of its signature.
    """


@hookspec
def register_image_extensions(register):
    """Call ``register(".cr3", ".nef", …)`` with the file extensions the plugin's ``load_image`` reads,
    so that ``culler scan`` finds those files (PIL's own extensions are always included)."""


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


@hookspec
def register_trainable_models(register):
    """Call ``register(culler.api.TrainableModel(...))`` for each network ``culler train`` may build:
    a head on cached embeddings (``kind="head"``) or a whole network trained on images
    (``kind="image"``)."""
