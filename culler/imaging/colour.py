"""Colour management: every photo is turned into sRGB pixels before a scorer, a thumbnail or the loupe sees it.

Cameras offer Adobe RGB and phones write Display P3; shown or scored as if they were sRGB, their colours
are wrong (a saturated Adobe RGB green (100, 200, 50) is sRGB (0, 201, 12), not (100, 200, 50)). The
source space comes from the embedded ICC profile, or, when there is none, from the EXIF colour-space
tag with the Adobe RGB interoperability index ("R03"), which is how most cameras mark Adobe RGB JPEGs.
The conversion is littlecms through Pillow's ``ImageCms``; transforms are built once per profile and
reused, and photos already in sRGB (the vast majority) are passed through untouched.
"""

from __future__ import annotations

import functools
import hashlib
import io
import struct
from typing import Any

from PIL import Image, ImageCms

#: EXIF: the Exif sub-IFD, its ColorSpace tag (1 = sRGB, 0xFFFF = "uncalibrated"), the Interop IFD
#: and its InteroperabilityIndex ("R98" = sRGB, "R03" = Adobe RGB).
EXIF_IFD, COLOR_SPACE, INTEROP_IFD, INTEROP_INDEX = 0x8769, 0xA001, 0xA005, 0x0001
UNCALIBRATED = 0xFFFF

#: Adobe RGB (1998) primaries adapted to the D50 profile connection space (Bradford), and its gamma.
ADOBE_RGB_COLORANTS = (
    (0.60974, 0.31111, 0.01947),
    (0.20528, 0.62567, 0.06087),
    (0.14919, 0.06322, 0.74457),
)
ADOBE_RGB_GAMMA = 563 / 256  # 2.19921875, as the specification writes it (u8Fixed8)
D50 = (0.9642, 1.0, 0.8249)


def _s15f16(*values: float) -> bytes:
    return b"".join(struct.pack(">i", round(v * 65536)) for v in values)


def _xyz_tag(xyz: tuple[float, float, float]) -> bytes:
    return b"XYZ \0\0\0\0" + _s15f16(*xyz)


def _text_description(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    body = b"desc\0\0\0\0" + struct.pack(">I", len(ascii_text)) + ascii_text
    return body + b"\0" * 8 + b"\0\0\0" + b"\0" * 67  # no Unicode or ScriptCode description


@functools.cache
def adobe_rgb_profile() -> bytes:
    """An ICC v2 matrix/TRC profile of Adobe RGB (1998), built from its published primaries and gamma.

    For photos that say "Adobe RGB" only through EXIF: they carry no profile to convert from.
    """
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(ADOBE_RGB_GAMMA * 256)) + b"\0\0"
    tags = [
        (b"desc", _text_description("Adobe RGB (1998) colorants, built by culler")),
        (b"cprt", b"text\0\0\0\0" + b"No copyright, use freely\0"),
        (b"wtpt", _xyz_tag(D50)),
        (b"rXYZ", _xyz_tag(ADOBE_RGB_COLORANTS[0])),
        (b"gXYZ", _xyz_tag(ADOBE_RGB_COLORANTS[1])),
        (b"bXYZ", _xyz_tag(ADOBE_RGB_COLORANTS[2])),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = [], b""
    for signature, body in tags:
        body += b"\0" * (-len(body) % 4)  # every tag starts on a 4-byte boundary
        table.append(struct.pack(">4sII", signature, offset + len(data), len(body)))
        data += body
    size = offset + len(data)
    header = (
        struct.pack(">I4sI4s4s4s", size, b"lcms", 0x02100000, b"mntr", b"RGB ", b"XYZ ")
        + b"\0" * 12  # creation date: none
        + b"acsp"
        + b"\0" * 24  # platform, flags, manufacturer, model, attributes
        + struct.pack(">I", 0)  # perceptual intent
        + _s15f16(*D50)
        + b"\0" * 48  # creator, profile id, reserved
    )
    return header + struct.pack(">I", len(tags)) + b"".join(table) + data


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def declared_profile(im: Image.Image) -> bytes | None:
    """The ICC profile the photo declares: embedded, or Adobe RGB from its EXIF tags; None for sRGB."""
    icc = im.info.get("icc_profile")
    if icc:
        return icc
    try:
        exif = im.getexif()
        space = exif.get_ifd(EXIF_IFD).get(COLOR_SPACE)
        index = exif.get_ifd(INTEROP_IFD).get(INTEROP_INDEX)
    except Exception:  # unreadable EXIF: nothing declared
        return None
    if space == UNCALIBRATED and str(index or "").strip("\0 ").upper() == "R03":
        return adobe_rgb_profile()
    return None


@functools.lru_cache(maxsize=32)
def _transform(icc: bytes, mode: str) -> Any:
    """A cached littlecms transform from ``icc`` to sRGB, or None when no conversion is needed."""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except (OSError, ImageCms.PyCMSError):
        return None  # a damaged profile: show the pixels as they are rather than fail the photo
    space = profile.profile.xcolor_space.strip()
    if (mode, space) not in {("RGB", "RGB"), ("CMYK", "CMYK")} or _is_srgb(profile):
        return None
    try:
        return ImageCms.buildTransform(
            profile, _SRGB, mode, "RGB", renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC
        )
    except ImageCms.PyCMSError:
        return None


def _is_srgb(profile: ImageCms.ImageCmsProfile) -> bool:
    """Whether a profile describes sRGB (its colorants are sRGB's), so converting would change nothing."""
    info = profile.profile
    if "srgb" in (info.profile_description or "").lower():
        return True
    try:
        mine = (info.red_colorant[0], info.green_colorant[0], info.blue_colorant[0])
        theirs = (
            _SRGB.profile.red_colorant[0],
            _SRGB.profile.green_colorant[0],
            _SRGB.profile.blue_colorant[0],
        )
    except (TypeError, IndexError):  # a LUT-based profile has no colorants: convert
        return False
    return all(abs(a - b) < 2e-3 for m, t in zip(mine, theirs) for a, b in zip(m, t))


def to_srgb(im: Image.Image, icc: bytes | None = None) -> Image.Image:
    """``im`` (RGB or CMYK) as sRGB. ``icc`` is the photo's declared profile when ``im`` no longer
    carries it (pass :func:`declared_profile` of the opened file); photos in sRGB come back as they are.
    """
    icc = icc if icc is not None else declared_profile(im)
    if not icc or im.mode not in ("RGB", "CMYK"):
        return im
    transform = _transform(icc, im.mode)
    if transform is None:
        return im
    out = ImageCms.applyTransform(im, transform)
    out.info = {k: v for k, v in im.info.items() if k != "icc_profile"}
    out.info["culler.colour_space"] = profile_name(icc)
    return out


@functools.lru_cache(maxsize=32)
def profile_name(icc: bytes) -> str:
    """A short, printable name for a profile ("Adobe RGB (1998)", "Display P3")."""
    try:
        name = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip()
    except (OSError, ImageCms.PyCMSError):
        name = ""
    return name or f"ICC {hashlib.sha256(icc).hexdigest()[:8]}"
