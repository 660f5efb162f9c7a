"""The PySide6 desktop GUI, the only package that imports Qt.

Item models (``item_models``, ``records``) are plain Qt models tested without a window; the views
(``grid``, ``stage``, the panels) show them; long work (scans, culls, exports) runs in ``workers``
off the UI thread with progress and cancel; ``main_window`` wires them and the keys.
"""

from culler.gui.qtcompat import protect_none

# Before any widget paints: see qtcompat for the PySide6 bug this guards against.
protect_none()
