"""A small wedding-style shoot of real photographs for GUI and end-to-end tests.

A burst of three frames of one moment (one sharp, two out of focus; the same camera, 30 ms apart,
1/250 s at f/2.8, ISO 800, 85 mm),
an original with its half-size web copy, and three photos on their own. ``culler cull`` picks the
sharp frame, the original and the singles, and rejects the rest, each for a reason it can name.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, TiffImagePlugin

from culler.testing import blurred, sample_image

#: The burst's frames in capture order: name -> blur radius (0: sharp).
BURST = {"IMG_4051": 0.0, "IMG_4052": 3.0, "IMG_4053": 5.0}
SINGLES = ("astronaut", "rocket", "hubble_deep_field")


def write_shoot(folder: Path) -> dict[str, Path]:
    """Write the shoot into ``folder``; return {name without extension: path}."""
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    cat = sample_image("chelsea")
    for i, (name, radius) in enumerate(BURST.items()):
        frame = blurred(cat, radius) if radius else cat
        exif = Image.Exif()
        exif[0x010F] = "Canon"  # Make
        exif[0x0110] = "Canon EOS R5"  # Model
        sub = exif.get_ifd(0x8769)
        sub[0x9003] = "2024:06:01 14:00:00"  # DateTimeOriginal
        sub[0x9291] = str(10 + 30 * i)  # SubsecTimeOriginal: 30 ms apart
        sub[0x829A] = TiffImagePlugin.IFDRational(1, 250)  # ExposureTime
        sub[0x829D] = TiffImagePlugin.IFDRational(28, 10)  # FNumber
        sub[0x8827] = 800  # ISOSpeedRatings
        sub[0x920A] = TiffImagePlugin.IFDRational(85, 1)  # FocalLength
        sub[0xA434] = "RF85mm F1.2 L USM"  # LensModel
        written[name] = folder / f"{name}.jpg"
        frame.save(written[name], quality=92, exif=exif)
    coffee = sample_image("coffee")
    written["coffee"] = folder / "coffee.jpg"
    coffee.save(written["coffee"], quality=92)
    web = coffee.resize((coffee.width // 2, coffee.height // 2), Image.Resampling.LANCZOS)
    written["coffee-web"] = folder / "coffee-web.jpg"
    web.save(written["coffee-web"], quality=85)
    for name in SINGLES:
        written[name] = folder / f"{name}.jpg"
        sample_image(name).save(written[name], quality=92)
    return written
