"""What colour management costs the GUI: sRGB conversion per image at the sizes the loupe decodes.

Real photos (Debian/Ubuntu wallpapers when installed, skimage and sklearn samples otherwise) are saved
as JPEGs carrying an Adobe RGB (1998) profile, then decoded the way the loupe does (preview at 2048 px
and full resolution) with and without the conversion. Prints milliseconds per image.

    .venv/bin/python benchmarks/gui_colour.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from culler.imaging import colour

ADOBE = Path("/usr/share/color/icc/compatibleWithAdobeRGB1998.icc")


def sample_photos(limit: int = 6) -> list[np.ndarray]:
    found = sorted(Path("/usr/share/backgrounds").glob("*.jpg"))[:limit]
    if found:
        return [np.asarray(Image.open(p).convert("RGB")) for p in found]
    from skimage import data

    return [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]


def timed(fn, repeat: int = 3) -> float:
    best = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best.append(time.perf_counter() - start)
    return min(best) * 1000


def main() -> int:
    from culler.gui.pixels import FULL_SIDE
    from culler.imaging.images import open_photo

    icc = ADOBE.read_bytes() if ADOBE.exists() else colour.adobe_rgb_profile()
    photos = sample_photos()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, pixels in enumerate(photos):
            path = Path(tmp) / f"adobe_{i}.jpg"
            Image.fromarray(pixels).save(path, quality=92, icc_profile=icc)
            for side in (2048, FULL_SIDE):
                im, _ = open_photo(path, side)
                decode = timed(lambda side=side, path=path: open_photo(path, side))
                convert = timed(lambda im=im: colour.to_srgb(im, icc))
                rows.append((side, im.width * im.height / 1e6, decode, convert))
    for side in (2048, FULL_SIDE):
        mine = [r for r in rows if r[0] == side]
        mp = statistics.median(r[1] for r in mine)
        decode = statistics.median(r[2] for r in mine)
        convert = statistics.median(r[3] for r in mine)
        print(
            f"side {side:>5}: {len(mine)} photos, median {mp:.1f} MP: decode {decode:.0f} ms, "
            f"sRGB conversion {convert:.0f} ms ({convert / decode:.0%} of the decode, "
            f"{convert / mp:.0f} ms/MP)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
