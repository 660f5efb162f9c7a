"""The PySide6 desktop GUI. Qt is imported only inside this package."""

from culler.gui.qtcompat import protect_none

# Before any widget paints: see qtcompat for the PySide6 bug this guards against.
protect_none()
