"""culler: an open, plugin-based photo culler.

Plugins import from :mod:`culler.api` only. ``culler.hookimpl`` stays for plugins written before that
module existed.
"""

from culler.plugin.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["hookimpl", "__version__"]
