"""Tiny but real RAW (DNG) and HEIC files made from any image, for tests of RAW/HEIC loading.

Camera RAW files are large and licence-encumbered, so culler's tests (and a format plugin author's,
through the ``raw_photo`` and ``heic_photo`` fixtures of :mod:`culler.testing`) build their own: a DNG with a Bayer (RGGB) mosaic that LibRaw demosaics, optionally with an embedded JPEG preview
the way cameras store one. The TIFF structure is written by hand (about 60 lines) because the
general-purpose TIFF writers need a JPEG codec package to store an already-encoded preview.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
from PIL import Image

# TIFF field types: (code, struct format of one value)
_TYPES = {
    "B": (1, "B"),
    "A": (2, "B"),
    "H": (3, "H"),
    "L": (4, "I"),
    "R": (5, "II"),
    "S": (10, "ii"),
}


def _rational(value: float) -> tuple[int, int]:
    return (int(round(value * 10000)), 10000)


class _TiffBuilder:
    """Little-endian TIFF with IFDs placed after their data; enough for a DNG."""

    def __init__(self) -> None:
        self.buf = bytearray(b"II*\x00\x00\x00\x00\x00")

    def blob(self, data: bytes) -> int:
        if len(self.buf) % 2:
            self.buf += b"\x00"
        offset = len(self.buf)
        self.buf += data
        return offset

    def ifd(self, entries: dict[int, tuple[str, object]], next_ifd: int = 0) -> int:
        """Write an IFD; returns its offset. ``entries``: tag -> (type letter, value or values)."""
        packed = []
        for tag in sorted(entries):
            kind, value = entries[tag]
            code, fmt = _TYPES[kind]
            if kind == "A":
                raw = str(value).encode("ascii") + b"\x00"
                count = len(raw)
            else:
                values = list(value) if isinstance(value, (list, tuple)) else [value]
                flat = [
                    v for item in values for v in (item if isinstance(item, tuple) else (item,))
                ]
                raw = struct.pack("<" + fmt[0] * len(flat), *flat)
                count = len(values)
            field = raw.ljust(4, b"\x00") if len(raw) <= 4 else struct.pack("<I", self.blob(raw))
            packed.append(struct.pack("<HHI", tag, code, count) + field)
        if len(self.buf) % 2:
            self.buf += b"\x00"
        offset = len(self.buf)
        self.buf += struct.pack("<H", len(packed)) + b"".join(packed) + struct.pack("<I", next_ifd)
        return offset

    def finish(self, first_ifd: int) -> bytes:
        self.buf[4:8] = struct.pack("<I", first_ifd)
        return bytes(self.buf)


def bayer_mosaic(image: Image.Image, white: int = 4095, black: int = 64) -> np.ndarray:
    """An RGGB mosaic (uint16, linear light) that demosaics back to roughly ``image``."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0
    linear = rgb**2.2 * (white - black) + black
    h, w = (rgb.shape[0] // 2) * 2, (rgb.shape[1] // 2) * 2
    cfa = np.empty((h, w), dtype=np.uint16)
    cfa[0::2, 0::2] = linear[0:h:2, 0:w:2, 0]
    cfa[0::2, 1::2] = linear[0:h:2, 1:w:2, 1]
    cfa[1::2, 0::2] = linear[1:h:2, 0:w:2, 1]
    cfa[1::2, 1::2] = linear[1:h:2, 1:w:2, 2]
    return cfa


def camera_exif(make: str, model: str, taken: str) -> Image.Exif:
    """EXIF naming the camera and the capture time (``"2026:06:13 15:04:05"``), for JPEGs a test
    writes as a camera would."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = make, model
    exif.get_ifd(0x8769)[0x9003] = taken  # DateTimeOriginal
    return exif


def write_dng(
    path: str | Path,
    image: Image.Image,
    *,
    preview_side: int | None = 256,
    make: str = "Culler",
    model: str = "Test Camera",
    orientation: int = 1,
    taken: str | None = None,
) -> Path:
    """Write ``image`` as a DNG (RGGB mosaic, 12 bit) with a JPEG preview of ``preview_side`` px (None: no preview).

    ``taken`` ("2026:06:13 15:04:05") is written, with the camera, into the preview's EXIF, where
    camera-made DNGs also carry it.

    With a preview, IFD0 holds the preview and a SubIFD the raw data, as camera-made DNGs do; without
    one, IFD0 is the raw image itself and a reader must demosaic.
    """
    white, black = 4095, 64
    cfa = bayer_mosaic(image, white, black)
    tiff = _TiffBuilder()
    camera = _camera_tags(make, model, orientation)
    if taken:
        camera[306] = ("A", taken)  # DateTime, which LibRaw reads as the capture time
    raw_tags = _raw_tags(cfa, tiff.blob(cfa.astype("<u2").tobytes()), black, white)
    if preview_side is None:
        first = tiff.ifd({**camera, **raw_tags})
        return _write(path, tiff.finish(first))
    preview = image.convert("RGB").copy()
    preview.thumbnail((preview_side, preview_side), Image.Resampling.LANCZOS)
    jpeg = io.BytesIO()
    preview.save(
        jpeg, "JPEG", quality=90, **({"exif": camera_exif(make, model, taken)} if taken else {})
    )
    raw_ifd = tiff.ifd(raw_tags)
    jpeg_offset = tiff.blob(jpeg.getvalue())
    preview_tags: dict[int, tuple[str, object]] = {
        254: ("L", 1),  # NewSubfileType: reduced-resolution preview
        256: ("L", preview.width),
        257: ("L", preview.height),
        258: ("H", (8, 8, 8)),
        259: ("H", 7),  # JPEG
        262: ("H", 6),  # YCbCr
        273: ("L", jpeg_offset),
        277: ("H", 3),
        278: ("L", preview.height),
        279: ("L", len(jpeg.getvalue())),
        330: ("L", raw_ifd),  # SubIFDs: the raw image
    }
    first = tiff.ifd({**camera, **preview_tags})
    return _write(path, tiff.finish(first))


def _camera_tags(make: str, model: str, orientation: int) -> dict[int, tuple[str, object]]:
    """IFD0's camera and DNG tags."""
    # XYZ (D65) -> linear sRGB: the "camera" records linear sRGB, so colours demosaic back faithfully.
    xyz_to_srgb = (3.2406, -1.5372, -0.4986, -0.9689, 1.8758, 0.0415, 0.0557, -0.2040, 1.0570)
    return {
        271: ("A", make),
        272: ("A", model),
        274: ("H", orientation),
        50706: ("B", (1, 4, 0, 0)),  # DNGVersion
        50707: ("B", (1, 1, 0, 0)),  # DNGBackwardVersion
        50708: ("A", f"{make} {model}"),  # UniqueCameraModel
        50721: ("S", [_rational(v) for v in xyz_to_srgb]),  # ColorMatrix1 (XYZ -> camera)
        50778: ("H", 21),  # CalibrationIlluminant1: D65
        50728: ("R", [(1, 1)] * 3),  # AsShotNeutral
    }


def _raw_tags(
    cfa: np.ndarray, offset: int, black: int, white: int
) -> dict[int, tuple[str, object]]:
    """The raw image's IFD: an uncompressed 16-bit RGGB mosaic stored at ``offset``."""
    h, w = cfa.shape
    return {
        254: ("L", 0),  # NewSubfileType: main image
        256: ("L", w),
        257: ("L", h),
        258: ("H", 16),
        259: ("H", 1),  # no compression
        262: ("H", 32803),  # PhotometricInterpretation: CFA
        273: ("L", offset),
        277: ("H", 1),
        278: ("L", h),
        279: ("L", cfa.nbytes),
        284: ("H", 1),
        33421: ("H", (2, 2)),  # CFARepeatPatternDim
        33422: ("B", (0, 1, 1, 2)),  # CFAPattern: RGGB
        50714: ("L", black),  # BlackLevel
        50717: ("L", white),  # WhiteLevel
    }


def write_heic(path: str | Path, image: Image.Image, quality: int = 80) -> Path:
    """Write ``image`` as HEIC with pillow-heif (needs the ``[raw]`` extra)."""
    import pillow_heif

    heif = pillow_heif.from_pillow(image.convert("RGB"))
    heif.save(str(path), quality=quality)
    return Path(path)


def _write(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    path.write_bytes(data)
    return path
