"""culler: an open, plugin-based photo culler."""

from culler.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["hookimpl", "__version__"]
