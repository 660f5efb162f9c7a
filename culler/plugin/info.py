"""What ``culler plugins`` prints: every plugin with its version, hooks and scorers, and the failures.

Apart from the plugin manager so that the manager imports no other core module.
"""

from __future__ import annotations

import sys
from typing import Any

from culler.plugin import manager as plugin_manager
from culler.plugin.scorers import get_scorer_classes


def plugin_info() -> list[dict[str, Any]]:
    """One dict per plugin with its name, version, hooks and scorers (and ``error`` for a failed one)."""
    pm = plugin_manager.load_plugins()
    scorers_by_plugin: dict[str, list[str]] = {}
    for cls in get_scorer_classes().values():
        scorers_by_plugin.setdefault(cls.plugin_name or "", []).append(cls.id)
    info = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: item[0]):
        if name == "culler.imaging.images":
            continue
        hooks = sorted(
            hc.name for hc in pm.get_hookcallers(plugin) or [] if not hc.name.startswith("_")
        )
        info.append(
            {
                "name": name,
                "version": plugin_manager.VERSIONS.get(name) or _module_version(plugin),
                "hooks": hooks,
                "scorers": sorted(scorers_by_plugin.get(name, [])),
            }
        )
    for name, error in sorted(plugin_manager.FAILED.items()):
        if pm.get_plugin(name) is None:
            info.append({"name": name, "version": None, "hooks": [], "scorers": [], "error": error})
    return info


def _module_version(plugin: Any) -> str | None:
    version = getattr(plugin, "__version__", None)
    if version is None and hasattr(plugin, "__module__"):
        version = getattr(sys.modules.get(plugin.__module__), "__version__", None)
    return version
