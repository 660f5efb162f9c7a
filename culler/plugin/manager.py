"""The plugin manager: entry-point loading, the CULLER_LOAD_PLUGINS allow-list, fault isolation.

Named apart from ``culler_plugins`` (the first-party plugins themselves). It imports nothing else from
core: modules that answer hooks themselves (:mod:`culler.imaging.images`' PIL loader) register with :data:`pm`.

First-party plugins are ordinary entry points in the ``culler`` group, so they load the same way a
third-party one does. A plugin that raises at import is recorded in :data:`FAILED` and skipped; a
plugin whose hook raises is reported by name through :func:`call_safely` and the others keep working.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import traceback
from typing import Any

import pluggy

from culler.plugin import hookspecs

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "culler"

pm = pluggy.PluginManager("culler")
pm.add_hookspecs(hookspecs)

#: name -> one-line error for plugins that failed to import or register.
FAILED: dict[str, str] = {}
#: name -> distribution version for plugins loaded from entry points.
VERSIONS: dict[str, str] = {}

_loaded = False


def allowed_plugins() -> set[str] | None:
    """The CULLER_LOAD_PLUGINS allow-list (comma separated), or None when every plugin may load."""
    raw = os.environ.get("CULLER_LOAD_PLUGINS")
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def load_plugins() -> pluggy.PluginManager:
    """Load every allowed entry-point plugin, once per process."""
    global _loaded
    if _loaded:
        return pm
    _loaded = True
    allow = allowed_plugins()
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if allow is not None and ep.name not in allow:
            continue
        if pm.get_plugin(ep.name) is not None:
            continue
        try:
            module = ep.load()
            pm.register(module, name=ep.name)
        except Exception as exc:  # a broken plugin must not take culler down
            FAILED[ep.name] = f"{type(exc).__name__}: {exc}"
            log.warning("plugin %r failed to load and was skipped: %s", ep.name, exc)
            continue
        if ep.dist is not None:
            VERSIONS[ep.name] = ep.dist.version
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        log.warning("plugin hook validation failed: %s", exc)
    return pm


def register_plugin(module_or_obj: Any, name: str) -> None:
    """Register a plugin object by hand (tests and embedding applications use this)."""
    load_plugins()
    pm.register(module_or_obj, name=name)
    pm.check_pending()


def unregister_plugin(name: str) -> None:
    """Undo :func:`register_plugin` (tests)."""
    plugin = pm.get_plugin(name)
    if plugin is not None:
        pm.unregister(plugin)


def call_safely(hook_name: str, **kwargs: Any) -> list[Any]:
    """Call every implementation of a hook on its own, so one plugin's exception cannot stop the rest.

    Failures are logged with the plugin's name and stored in :data:`FAILED`.
    """
    load_plugins()
    hook = getattr(pm.hook, hook_name)
    results = []
    for impl in reversed(hook.get_hookimpls()):  # pluggy calls LIFO; keep that order
        args = {name: kwargs[name] for name in impl.argnames}
        try:
            results.append(impl.function(**args))
        except Exception as exc:
            FAILED[impl.plugin_name] = f"{hook_name}: {type(exc).__name__}: {exc}"
            log.warning(
                "plugin %r raised in %s and was skipped: %s\n%s",
                impl.plugin_name,
                hook_name,
                exc,
                "".join(traceback.format_exception(exc)) if log.isEnabledFor(logging.DEBUG) else "",
            )
    return results


def hook_names() -> list[str]:
    """Names of every hook in :mod:`culler.plugin.hookspecs` (used by the documentation meta-test)."""
    return sorted(
        name for name, fn in vars(hookspecs).items() if callable(fn) and hasattr(fn, "culler_spec")
    )
