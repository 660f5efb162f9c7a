"""Draw culler's application icon (PNG at several sizes) so no binary image lives in the repository.

The motif is a stack of three photo frames with the top one ticked: culling is choosing the keeper.
Run: ``python packaging/make_icon.py OUT_DIR`` (the bundle build script does this for you).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

SIZES = (16, 32, 48, 64, 128, 256, 512)
BACKGROUND = (28, 36, 48, 255)
FRAME = (236, 239, 244, 255)
SHADOW = (120, 132, 150, 255)
ACCENT = (72, 190, 120, 255)


def draw_icon(size: int = 512) -> Image.Image:
    """The icon at ``size`` px, drawn at 4× and downsampled for smooth edges."""
    s = size * 4
    image = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, s - 1, s - 1), radius=s // 6, fill=BACKGROUND)
    w, h = int(s * 0.56), int(s * 0.42)
    for i, colour in enumerate((SHADOW, SHADOW, FRAME)):
        x0 = int(s * 0.14) + i * int(s * 0.05)
        y0 = int(s * 0.34) - i * int(s * 0.07)
        draw.rounded_rectangle((x0, y0, x0 + w, y0 + h), radius=s // 40, fill=colour)
    x0, y0 = int(s * 0.24), int(s * 0.20)
    inner = (x0 + s // 40, y0 + s // 40, x0 + w - s // 40, y0 + h - s // 40)
    draw.rectangle(inner, fill=(98, 140, 190, 255))
    draw.polygon(  # a mountain, the universal "photo" glyph
        [(inner[0], inner[3]), (inner[0] + w * 0.35, inner[1] + h * 0.35), (inner[2], inner[3])],
        fill=(60, 90, 70, 255),
    )
    cx, cy, r = int(s * 0.74), int(s * 0.72), int(s * 0.17)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=ACCENT, outline=BACKGROUND, width=s // 60)
    tick = [(cx - r * 0.5, cy), (cx - r * 0.12, cy + r * 0.4), (cx + r * 0.55, cy - r * 0.38)]
    draw.line(tick, fill=(255, 255, 255, 255), width=max(1, s // 28), joint="curve")
    return image.resize((size, size), Image.Resampling.LANCZOS)


def write_icons(out_dir: Path) -> list[Path]:
    """Write culler.png (256 px), culler-<n>.png for every size, and culler.ico; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    big = draw_icon(512)
    paths = []
    for size in SIZES:
        path = out_dir / f"culler-{size}.png"
        (big if size == 512 else draw_icon(size)).save(path)
        paths.append(path)
    main = out_dir / "culler.png"
    draw_icon(256).save(main)
    ico = out_dir / "culler.ico"
    big.save(ico, sizes=[(n, n) for n in SIZES if n <= 256])
    return [main, ico, *paths]


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "build" / "icons"
    for written in write_icons(target):
        print(written)
