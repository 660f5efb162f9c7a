"""Pixels for display: every image the GUI decodes itself is turned into sRGB before it is shown.

Thumbnails the GUI makes, the loupe's previews and its full-resolution frames all go through
:func:`to_qimage`, so an Adobe RGB or Display P3 photo looks the same in the grid, the loupe and
compare (and as in any colour-managed viewer), not washed out or oversaturated.
"""

from __future__ import annotations

from PIL import Image
from PySide6.QtGui import QImage

from culler.imaging import colour

#: The longest side decoded for "100 %": 24–60 MP cameras fit; larger frames are shown slightly reduced.
FULL_SIDE = 10_000
#: ``info`` key colour.to_srgb sets on converted images (so a converted image is never converted twice).
CONVERTED = "culler.colour_space"


def srgb(im: Image.Image) -> Image.Image:
    """``im`` in sRGB: converted from its declared profile (embedded ICC, or EXIF "Adobe RGB")."""
    if CONVERTED in im.info:  # the decoder already converted it
        return im
    return colour.to_srgb(im)


def to_qimage(im: Image.Image) -> QImage:
    """A colour-managed QImage owning its pixels (``im`` may be freed as soon as this returns)."""
    im = srgb(im)
    if im.mode != "RGB":
        im = im.convert("RGB")
    data = im.tobytes()
    image = QImage(data, im.width, im.height, 3 * im.width, QImage.Format.Format_RGB888)
    return image.copy()


def decode_for_display(path: str, side: int, develop: bool = False) -> QImage:
    """``path`` decoded through the image loaders (RAW: the largest embedded preview the RAW plugin
    gives, or its full development with ``develop``), at most ``side`` pixels on its longer side, in
    sRGB; a null QImage when unreadable."""
    from culler.imaging.images import ImageError, open_photo

    try:
        im, _info = open_photo(path, side, develop)
    except (ImageError, OSError):
        return QImage()
    return to_qimage(im)
