"""culler: an open, plugin-based photo culler.

Plugins import from :mod:`culler.api` only. ``culler.hookimpl`` stays for plugins written before that
module existed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from culler.plugin.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["hookimpl", "__version__"]


def __getattr__(name: str) -> Any:
    # ``culler.hookimpl`` loads pluggy on first use: `culler list` starts without it.
    if name == "hookimpl":
        from culler.plugin.hookspecs import hookimpl

        return hookimpl
    raise AttributeError(f"module 'culler' has no attribute {name!r}")
