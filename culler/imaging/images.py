"""Opening photos fast and safely: reduced-size JPEG decoding, EXIF orientation, metadata, dHash.

``open_photo`` asks the ``load_image`` hook (RAW/HEIC plugins go first) and falls back to PIL. Every
failure becomes an :class:`ImageError` with a one-line reason a photographer can act on.
"""

from __future__ import annotations

import datetime as dt
import errno
import math
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import ExifTags, Image, ImageFile, ImageOps, UnidentifiedImageError

from culler.imaging import colour
from culler.plugin import manager as plugin_manager
from culler.plugin.hookspecs import hookimpl
from culler.safe_files import MAX_PHOTO_BYTES, RefusedFile, check_regular, open_regular

#: Extensions culler's own loader reads. Format plugins add theirs through the
#: ``register_image_extensions`` hook.
PIL_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".tif", ".tiff", ".webp"})

#: Largest image (in pixels) culler decodes. Medium-format backs reach 150 MP; beyond 300 MP is a bomb.
MAX_PIXELS = 300_000_000
# PIL's own bomb guard warns at 89 MP, which would refuse a 100 MP medium-format frame: culler's limit
# rules instead (the warning, turned into an error while decoding, then fires only above MAX_PIXELS).
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False


class ImageError(Exception):
    """A file could not be decoded as a photo; the message is the one-line reason stored in the catalog."""


#: (the register_image_extensions implementations asked, what they answered): asked again only when
#: a plugin is registered or unregistered. XMP sidecar writing asks once per photo.
_extensions: tuple[tuple[tuple[str, int], ...], frozenset[str]] | None = None


def supported_extensions() -> set[str]:
    """Lower-case extensions (with the dot) that discovery picks up: PIL's and every format plugin's."""
    global _extensions
    hook = plugin_manager.load_plugins().hook.register_image_extensions
    key = tuple((impl.plugin_name, id(impl.function)) for impl in hook.get_hookimpls())
    if _extensions is None or _extensions[0] != key:
        _extensions = (key, frozenset(_ask_extensions()))
    return set(_extensions[1])


def _ask_extensions() -> set[str]:
    extensions = set(PIL_EXTENSIONS)

    def register(*names: str) -> None:
        for name in names:
            if not (isinstance(name, str) and name.startswith(".") and len(name) > 1):
                raise ValueError(f"an image extension looks like '.cr3', not {name!r}")
            extensions.add(name.lower())

    plugin_manager.call_safely("register_image_extensions", register=register)
    return extensions


@dataclass
class PhotoInfo:
    """Metadata read while decoding."""

    width: int | None = None
    height: int | None = None
    taken_at: str | None = None
    subsec: str | None = None
    camera: str | None = None
    lens: str | None = None
    orientation: int | None = None
    jpeg_quality: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: Shooting data from EXIF: shutter in seconds, aperture (f-number), ISO, focal length in mm.
    exposure_time: float | None = None
    f_number: float | None = None
    iso: int | None = None
    focal_length: float | None = None


_EXIF_IFD = 0x8769
_TAGS = {name: code for code, name in ExifTags.TAGS.items()}


def read_metadata(im: Image.Image) -> PhotoInfo:
    info = PhotoInfo(width=im.width, height=im.height)
    try:
        exif = im.getexif()
    except Exception:
        return info
    if not exif:
        return info
    sub = {}
    try:
        sub = exif.get_ifd(_EXIF_IFD)
    except Exception:
        pass
    info.orientation = _int_or_none(exif.get(_TAGS["Orientation"]))
    make = str(exif.get(_TAGS["Make"], "") or "").strip("\x00 ")
    model = str(exif.get(_TAGS["Model"], "") or "").strip("\x00 ")
    if model:
        info.camera = (
            model
            if make and model.lower().startswith(make.lower()[:4])
            else f"{make} {model}".strip()
        )
    lens = sub.get(_TAGS["LensModel"])
    info.lens = str(lens).strip("\x00 ") if lens else None
    taken = sub.get(_TAGS["DateTimeOriginal"]) or exif.get(_TAGS["DateTime"])
    info.taken_at = _parse_exif_time(taken)
    info.subsec = sub.get(_TAGS["SubsecTimeOriginal"])
    read_shooting_data(info, sub)
    return clean_info(info)


#: What a camera can store, generously: anything outside is a broken or hostile field, not a photo's.
SHOOTING_LIMITS = {
    "exposure_time": (1e-6, 3600.0 * 24),
    "f_number": (0.5, 256.0),
    "iso": (1, 10_000_000),
    "focal_length": (0.5, 10_000.0),
}


def read_shooting_data(info: PhotoInfo, sub: Any) -> PhotoInfo:
    """Fill ``info``'s shutter, aperture, ISO and focal length from the EXIF sub-IFD ``sub``; a
    value that is missing, not a number or outside :data:`SHOOTING_LIMITS` is left None."""
    iso = sub.get(_TAGS["ISOSpeedRatings"])
    if isinstance(iso, tuple | list):  # some cameras store a list of ISO values
        iso = iso[0] if iso else None
    values = {
        "exposure_time": _float_or_none(sub.get(_TAGS["ExposureTime"])),
        "f_number": _float_or_none(sub.get(_TAGS["FNumber"])),
        "iso": _int_or_none(_float_or_none(iso)),
        "focal_length": _float_or_none(sub.get(_TAGS["FocalLength"])),
    }
    for name, value in values.items():
        low, high = SHOOTING_LIMITS[name]
        setattr(info, name, value if value is not None and low <= value <= high else None)
    return info


def _float_or_none(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) else None


#: EXIF text fields are free text from the file: a camera name is cut here, and control characters
#: (terminal escape codes) never reach the catalog.
MAX_EXIF_TEXT = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean_info(info: PhotoInfo) -> PhotoInfo:
    """``info`` with its EXIF text made safe to store and print: camera and lens without control
    characters and cut to :data:`MAX_EXIF_TEXT`; ``subsec`` as at most 9 digits (nanoseconds), so a
    field of thousands of digits cannot overflow the capture time of every later grouping."""
    for name in ("camera", "lens"):
        value = getattr(info, name)
        if value is not None:
            text = _CONTROL.sub("", str(value)).strip()[:MAX_EXIF_TEXT]
            setattr(info, name, text or None)
    if info.subsec is not None:
        digits = "".join(ch for ch in str(info.subsec)[:64] if "0" <= ch <= "9")
        info.subsec = digits[:9] or None
    return info


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError, ZeroDivisionError):  # EXIF rationals: inf, 1/0
        return None


def _parse_exif_time(value: Any) -> str | None:
    if not value:
        return None
    try:
        return dt.datetime.strptime(str(value).strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S").isoformat()
    except ValueError:
        return None


#: libjpeg's standard luminance quantisation table (JPEG Annex K), in natural (row-major) order.
_STD_LUMA = np.array(
    [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
     14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
     92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99],
    dtype=np.float64,
)  # fmt: skip
#: Index of each zigzag position in natural order (older Pillow reported tables in zigzag order).
_ZIGZAG = np.array(
    [0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
     13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
     52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63]
)  # fmt: skip


def jpeg_quality(im: Image.Image) -> int | None:
    """The libjpeg quality (1–100) the file was saved at, from its luminance quantisation table.

    libjpeg (and every encoder built on it) scales the standard table, so the quality whose scaled
    table is exactly this one is the answer (quality 92 reads 92). A table no quality makes exactly
    (a camera's own encoder) gets the nearest by mean ratio, as ImageMagick estimates it.
    """
    tables = getattr(im, "quantization", None)
    if not tables or 0 not in tables:
        return None
    table = np.asarray(list(tables[0]), dtype=np.float64)
    if table.size != 64:
        return None
    qualities = np.arange(1, 101)
    scales = np.where(qualities < 50, 5000 // qualities, 200 - 2 * qualities).astype(np.float64)
    best: tuple[float, float] = (np.inf, 50.0)
    for std in (_STD_LUMA, _STD_LUMA[_ZIGZAG]):
        expected = np.clip(np.floor((std[None, :] * scales[:, None] + 50.0) / 100.0), 1, 255)
        errors = np.abs(expected - table[None, :]).sum(axis=1)
        exact = np.flatnonzero(errors == 0)
        if exact.size:  # qualities 98–100 can share a table of ones: the highest is the one meant
            return int(qualities[exact[-1]])
        scale = float(np.mean(table / std)) * 100.0  # libjpeg: table = std * scale / 100
        best = min(best, (float(errors.min()), scale))
    scale = best[1]
    quality = (200.0 - scale) / 2.0 if scale <= 100 else 5000.0 / scale
    return int(round(min(100.0, max(1.0, quality))))


def decode_pil(path: str | Path | BinaryIO, max_side: int) -> tuple[Image.Image, PhotoInfo]:
    """Decode with PIL at reduced size: JPEG DCT scaling (``draft``) then a high-quality downscale.

    The returned image is RGB, upright (EXIF orientation applied) and its longer side is at most
    ``max_side``. ``info.width``/``height`` are the full-size, upright dimensions.
    """
    if hasattr(path, "read"):  # a file object is already in memory (the scan reads once)
        return _decode_file(path, max_side)
    try:
        fh = open_regular(str(path), MAX_PHOTO_BYTES)
    except OSError as exc:
        raise ImageError(os_error_reason(exc)) from exc
    with fh:
        return _decode_file(fh, max_side)


def _decode_file(fh: BinaryIO, max_side: int) -> tuple[Image.Image, PhotoInfo]:
    """Decode an open file; every pixel is loaded before this returns, so the file may be closed."""
    if _byte_size(fh) == 0:
        raise ImageError("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(fh)
            try:
                return _decode_opened(im, max_side)
            except BaseException:
                im.close()
                raise
    except ImageError:
        raise
    except _DECODE_ERRORS as exc:
        raise _decode_error(exc) from exc


def _byte_size(fh: BinaryIO) -> int:
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    fh.seek(0)
    return size


#: EXIF orientations that need a transpose (1 is upright); 5–8 also swap width and height.
_TRANSPOSED = (2, 3, 4, 5, 6, 7, 8)
_SWAPPED = (5, 6, 7, 8)


def _decode_opened(im: Image.Image, max_side: int) -> tuple[Image.Image, PhotoInfo]:
    pixels = im.width * im.height
    if pixels > MAX_PIXELS:
        raise ImageError(
            f"image too large: {im.width}×{im.height} = {pixels / 1e6:.0f} MP "
            f"(limit {MAX_PIXELS / 1e6:.0f} MP) — possibly a decompression bomb"
        )
    full_width = im.width
    if im.format != "JPEG":
        # Decode first: PNG's getexif() loads the pixels itself, and read_metadata would swallow the
        # error of a corrupt file, leaving a half-decoded image that looks fine.
        im.load()
    info = read_metadata(im)
    info.jpeg_quality = jpeg_quality(im) if im.format == "JPEG" else None
    info.extra["format"] = im.format
    if im.format == "JPEG":
        # Ask for the final size with the image's own aspect ratio: draft() keeps both sides at least
        # as large as asked, so a square request would halve the DCT scaling of a 3:2 frame.
        long_side = max(im.width, im.height)
        im.draft(
            "RGB",
            (max(1, im.width * max_side // long_side), max(1, im.height * max_side // long_side)),
        )
    im.load()
    profile = colour.declared_profile(im)  # before any conversion drops the ICC profile
    # JPEG DCT scaling keeps the encoder's 8×8 grid at 8/scale pixels: blockiness needs it.
    ratio = full_width / im.width
    period = 8 / ratio if ratio in (1, 2, 4) else None
    if info.orientation in _TRANSPOSED:  # exif_transpose copies even an upright image
        im = ImageOps.exif_transpose(im)
    if info.orientation in _SWAPPED:
        info.width, info.height = info.height, info.width
    if im.mode == "CMYK" and profile:
        im = colour.to_srgb(
            im, profile
        )  # the profile knows the inks better than a naive CMYK → RGB
    if im.mode != "RGB":
        im = _to_rgb(im)
    if max(im.size) > max_side:
        im.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
        period = None
    if profile:  # scorers, thumbnails and the loupe all see sRGB; converted after the downscale
        im = colour.to_srgb(im, profile)
        info.extra["colour_space"] = im.info.get("culler.colour_space", "sRGB")
    im.info["culler.jpeg_quality"] = info.jpeg_quality
    im.info["culler.block_period"] = period
    return im, info


#: What PIL raises on files it cannot decode; each becomes an :class:`ImageError`.
_DECODE_ERRORS = (
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
    OSError,
    MemoryError,
    ValueError,
    SyntaxError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
)


def _decode_error(exc: BaseException) -> ImageError:
    """The one-line reason for a PIL failure (UnidentifiedImageError is an OSError: test it first)."""
    if isinstance(exc, UnidentifiedImageError):
        return ImageError("not an image culler can read (unrecognised or corrupt format)")
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return ImageError(f"image too large — possibly a decompression bomb ({exc})")
    if isinstance(exc, OSError):
        message = str(exc)
        if "truncated" in message or "broken data stream" in message or "image file is" in message:
            return ImageError(f"truncated or damaged file ({message})")
        if isinstance(exc, (PermissionError, FileNotFoundError)) or exc.errno:
            return ImageError(os_error_reason(exc))
        return ImageError(f"cannot decode image: {message}")
    if isinstance(exc, MemoryError):
        return ImageError("image too large to decode in memory")
    return ImageError(f"corrupt image data ({type(exc).__name__}: {exc})")


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im, dtype=np.float32)
        top = 65535.0 if arr.max() > 255 else 255.0
        return Image.fromarray((arr / top * 255).clip(0, 255).astype(np.uint8)).convert("RGB")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        background = Image.new("RGB", im.size, (255, 255, 255))
        rgba = im.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return im.convert("RGB")


def os_error_reason(exc: OSError) -> str:
    """The one-line reason a file could not be read (permissions, vanished, link loop, …)."""
    if isinstance(exc, RefusedFile):
        return str(exc)
    if isinstance(exc, PermissionError) or exc.errno == errno.EACCES:
        return "permission denied: culler cannot read this file (check its permissions)"
    if isinstance(exc, FileNotFoundError) or exc.errno == errno.ENOENT:
        return "file vanished during the scan"
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    return f"cannot read file: {exc.strerror or exc}"


class PILLoader:
    """culler's own ``load_image`` implementation; runs after every plugin's."""

    @staticmethod
    @hookimpl(trylast=True)
    def load_image(path, max_side):
        return decode_pil(path, max_side)


# Registered here rather than by the plugin manager, which imports no other core module: whoever asks
# the load_image hook has imported this module (open_photo, the decode workers).
if not plugin_manager.pm.is_registered(PILLoader):
    plugin_manager.pm.register(PILLoader, name="culler.imaging.images")


def open_photo(
    path: str | Path, max_side: int, develop: bool = False
) -> tuple[Image.Image, PhotoInfo]:
    """Decode ``path`` through the ``load_image`` hook. Plugins may return an Image or (Image, PhotoInfo).

    ``develop`` asks RAW loaders for a full development instead of the embedded preview (slower).
    """
    try:
        # Plugins open the path themselves: a FIFO or a device named like a photo never reaches them.
        check_regular(path, MAX_PHOTO_BYTES)
    except OSError as exc:
        raise ImageError(os_error_reason(exc)) from exc
    pm = plugin_manager.load_plugins()
    try:
        result = pm.hook.load_image(path=str(path), max_side=max_side, develop=develop)
    except ImageError:
        raise
    except Exception as exc:
        raise ImageError(f"image loader plugin failed: {type(exc).__name__}: {exc}") from exc
    if result is None:
        raise ImageError("no image loader accepted this file")
    if isinstance(result, tuple):
        im, info = result[0], clean_info(result[1])
    else:
        im, info = result, PhotoInfo(width=result.width, height=result.height)
    if im.mode != "RGB":
        im = _to_rgb(im)
    if max(im.size) > max_side:
        im.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return im, info
