"""RAW and HEIC/HEIF photos through the ``load_image`` hook (optional extra: ``pip install 'culler[raw]'``).

RAW files are read with rawpy (LibRaw). Cameras embed a full-size or large JPEG preview in every RAW
file; decoding it is 10–50× faster than demosaicing and is what the photographer saw on the camera, so
culler scores the preview and demosaics (at half size when that is still large enough) only when a file
has no usable preview. HEIC/HEIF (phones) is read with pillow-heif.

rawpy and pillow-heif are imported only when such a file is opened: this module is imported by every
``culler`` command and every decode worker. The extensions are claimed (``register_image_extensions``)
even without the extra, so a RAW folder scanned without it gets one clear error row per file instead of
silently skipping them.
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

from PIL import Image, ImageOps

from culler.api import (
    ImageError,
    PhotoInfo,
    decode_pil,
    hookimpl,
    os_error_reason,
    read_metadata,
)

__version__ = "1.0"

RAW_EXTENSIONS = frozenset(
    {
        ".3fr", ".ari", ".arw", ".cr2", ".cr3", ".crw", ".dcr", ".dng", ".erf", ".fff", ".iiq",
        ".k25", ".kdc", ".mef", ".mos", ".mrw", ".nef", ".nrw", ".orf", ".pef", ".raf", ".raw",
        ".rw2", ".rwl", ".sr2", ".srf", ".srw", ".x3f",
    }
)  # fmt: skip
HEIF_EXTENSIONS = frozenset({".heic", ".heif", ".hif"})

#: A preview smaller than this fraction of the requested side (e.g. a 160 px thumbnail) is not used.
MIN_PREVIEW_FRACTION = 0.5
#: Never ask for more than this from a preview to accept it: scorers work at 224–1024 px.
PREVIEW_ENOUGH_SIDE = 1024

MISSING_EXTRA = "{what} support needs `pip install 'culler[raw]'` (rawpy and pillow-heif)"

# LibRaw's ``flip`` -> the PIL transpose that makes the image upright.
_FLIP_TRANSPOSE = {
    3: Image.Transpose.ROTATE_180,
    5: Image.Transpose.ROTATE_90,
    6: Image.Transpose.ROTATE_270,
}


def have_rawpy() -> bool:
    return importlib.util.find_spec("rawpy") is not None


def have_pillow_heif() -> bool:
    return importlib.util.find_spec("pillow_heif") is not None


@hookimpl
def register_image_extensions(register):
    """Claimed even without the extra, so a RAW folder gets one clear error row per file."""
    register(*sorted(RAW_EXTENSIONS | HEIF_EXTENSIONS))


@hookimpl
def load_image(path, max_side, develop):
    """Decode RAW via its embedded preview (or demosaic; always when ``develop``), HEIC via
    pillow-heif; None for other files."""
    ext = Path(path).suffix.lower()
    if ext in RAW_EXTENSIONS:
        if not have_rawpy():
            raise ImageError(MISSING_EXTRA.format(what="RAW"))
        return decode_raw(path, max_side, develop)
    if ext in HEIF_EXTENSIONS:
        if not have_pillow_heif():
            raise ImageError(MISSING_EXTRA.format(what="HEIC/HEIF"))
        return decode_heif(path, max_side)
    return None


def decode_raw(
    path: str | Path, max_side: int, develop: bool = False
) -> tuple[Image.Image, PhotoInfo]:
    """Open a RAW file: the embedded JPEG/bitmap preview when it is large enough, else (or when
    ``develop`` asks for it) demosaic.

    ``info.extra["raw_source"]`` says which ("preview" or "demosaic") so tests and benchmarks can tell.
    """
    import rawpy

    try:
        with rawpy.imread(str(path)) as raw:
            sizes = raw.sizes
            flip = sizes.flip
            info = _raw_info(raw)
            image = None if develop else _preview(raw, flip, max_side, info)
            if image is not None:
                info.extra["raw_source"] = "preview"
            else:
                half = max(sizes.width, sizes.height) // 2 >= max_side
                rgb = raw.postprocess(use_camera_wb=True, output_bps=8, half_size=half)
                image = Image.fromarray(rgb)
                info.extra["raw_source"] = "demosaic"
    except rawpy.LibRawFileUnsupportedError as exc:
        raise ImageError(
            "not a RAW file LibRaw can read (unsupported camera or corrupt file)"
        ) from exc
    except (rawpy.LibRawIOError, rawpy.LibRawDataError) as exc:
        raise ImageError(f"truncated or damaged RAW file ({exc})") from exc
    except rawpy.LibRawError as exc:
        raise ImageError(f"cannot decode RAW file: {type(exc).__name__}: {exc}") from exc
    except OSError as exc:
        raise ImageError(os_error_reason(exc)) from exc
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return image, info


def _raw_info(raw) -> PhotoInfo:
    sizes = raw.sizes
    width, height = sizes.width, sizes.height
    if sizes.flip in (5, 6):
        width, height = height, width
    info = PhotoInfo(width=width, height=height, orientation=sizes.flip or None)
    info.extra["format"] = "RAW"
    lens = raw.lens.model.strip() if raw.lens and raw.lens.model else ""
    info.lens = lens or None
    stamp = raw.other.timestamp if raw.other else None
    if stamp is not None and stamp.year > 1970:
        info.taken_at = stamp.isoformat()
    return info


def _preview(raw, flip: int, max_side: int, info: PhotoInfo) -> Image.Image | None:
    """The embedded preview, upright, or None when there is none or it is too small to score.

    Camera and capture time missing from LibRaw's fields are taken from the preview's EXIF, if any.
    """
    import rawpy

    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        try:
            image = Image.open(io.BytesIO(thumb.data))
            full_side = max(image.size)
            meta = read_metadata(image)
            image.draft("RGB", (max_side, max_side))
            image.load()
        except Exception:
            return None  # a broken preview is not fatal: the raw data may be fine
        info.camera = info.camera or meta.camera
        # LibRaw writes its own EXIF into the preview it hands out, with time 0 when the RAW records
        # none: 1970-01-01 is no capture time (it would put such RAWs in one burst, or pair them).
        if meta.taken_at and meta.taken_at[:4] > "1970":
            info.taken_at = info.taken_at or meta.taken_at
        has_orientation = image.getexif().get(0x0112) not in (None, 1)
        image = ImageOps.exif_transpose(image).convert("RGB")
        if not has_orientation and flip in _FLIP_TRANSPOSE:
            image = image.transpose(_FLIP_TRANSPOSE[flip])
    elif thumb.format == rawpy.ThumbFormat.BITMAP:
        image = Image.fromarray(thumb.data).convert("RGB")
        if flip in _FLIP_TRANSPOSE:
            image = image.transpose(_FLIP_TRANSPOSE[flip])
        full_side = max(image.size)
    else:
        return None
    if full_side < MIN_PREVIEW_FRACTION * min(max_side, PREVIEW_ENOUGH_SIDE):
        return None
    return image


def decode_heif(path: str | Path, max_side: int) -> tuple[Image.Image, PhotoInfo]:
    """Open HEIC/HEIF with pillow-heif registered as a PIL plugin, then culler's usual PIL path."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    image, info = decode_pil(path, max_side)
    info.extra["format"] = "HEIF"
    return image, info


__all__ = [
    "HEIF_EXTENSIONS",
    "RAW_EXTENSIONS",
    "decode_heif",
    "decode_raw",
    "have_pillow_heif",
    "have_rawpy",
    "load_image",
    "register_image_extensions",
]
