"""``culler agreement --html DIR``: a contact sheet of the largest disagreements, for a browser.

One self-contained folder: ``index.html`` and ``thumbs/<photo id>.jpg``. Every file written is named
by culler (never after a photo's name) and checked to resolve inside DIR, so a hostile file name in
the catalog cannot make it write elsewhere. Photos link to their originals with ``file://`` URLs.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

THUMB_SIDE = 320


def _inside(folder: Path, name: str) -> Path:
    path = (folder / name).resolve()
    if not path.is_relative_to(folder):
        raise ValueError(f"{name!r} would be written outside {folder}")
    return path


def _thumbnail(photo: str, out: Path) -> bool:
    from culler.imaging.images import ImageError, open_photo

    try:
        image, _ = open_photo(photo, THUMB_SIDE)
        image = image.convert("RGB")
        image.thumbnail((THUMB_SIDE, THUMB_SIDE))
        tmp = out.with_name(out.name + ".part")
        image.save(tmp, "JPEG", quality=85)
        os.replace(tmp, out)
        return True
    except (ImageError, OSError):
        return False


def _figure(name: str, value: Any, interval: list[float] | None = None) -> str:
    if value is None:
        shown = "–"
    elif name == "mean rank":
        shown = f"{value:.2f}"
    else:
        shown = f"{100 * value:.0f} %"
    if interval:
        shown += f" <small>[{100 * interval[0]:.0f}–{100 * interval[1]:.0f}]</small>"
    return f"<div class=fig><b>{shown}</b><span>{html.escape(name)}</span></div>"


_STYLE = """
body{font:14px system-ui,sans-serif;background:#1c1c1c;color:#ddd;margin:24px}
h1{font-size:20px} .figs{display:flex;gap:18px;flex-wrap:wrap;margin:12px 0 24px}
.fig{background:#2a2a2a;padding:10px 14px;border-radius:6px} .fig b{display:block;font-size:20px}
.fig span{color:#999} .sheet{display:grid;grid-template-columns:repeat(auto-fill,340px);gap:14px}
.card{background:#2a2a2a;border-radius:6px;padding:10px} .card img{max-width:320px;max-height:320px}
.you{color:#8fd18f} .culler{color:#f0a070} .reason{color:#bbb} .path{color:#777;font-size:12px;
word-break:break-all} a{color:inherit}
"""


def write_contact_sheet(folder: Path, report: Any) -> Path:
    """Write the sheet for an :class:`culler.decide.agreement.AgreementReport`; returns index.html."""
    folder = Path(folder).expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file: give --html a folder")
    thumbs = _inside(folder, "thumbs")
    thumbs.mkdir(parents=True, exist_ok=True)
    o, iv = report.overall, report.intervals
    figures = "".join(
        [
            _figure("top-1 in groups", o["top1"], iv.get("top1")),
            _figure("mean rank", o["mean_rank"]),
            _figure("pick precision", o["pick_precision"], iv.get("pick_precision")),
            _figure("pick recall", o["pick_recall"], iv.get("pick_recall")),
            _figure("reject precision", o["reject_precision"], iv.get("reject_precision")),
            _figure("reject recall", o["reject_recall"], iv.get("reject_recall")),
        ]
    )
    cards = []
    for d in report.disagreements:
        name = f"{int(d['photo_id'])}.jpg"
        ok = _thumbnail(d["path"], _inside(thumbs, name))
        uri = Path(d["path"]).as_uri()
        image = (
            f'<a href="{html.escape(uri)}"><img src="thumbs/{name}" alt=""></a>'
            if ok
            else "<div>(no preview)</div>"
        )
        cards.append(
            f"<div class=card>{image}"
            f"<div class=you>you: {html.escape(d['photographer'])}</div>"
            f"<div class=culler>culler: {html.escape(d['culler'])}</div>"
            f"<div class=reason>{html.escape(d['reason'] or '')}</div>"
            f"<div class=path>{html.escape(d['path'])}</div></div>"
        )
    body = (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>culler agreement</title><style>{_STYLE}</style></head><body>"
        f"<h1>culler vs you: {o['shoots']} shoots, {o['photos_judged']} photos judged "
        f"({html.escape(report.ranking)} ranking)</h1><div class=figs>{figures}</div>"
        f"<h2>Largest disagreements ({len(cards)})</h2><div class=sheet>{''.join(cards)}</div>"
        "</body></html>"
    )
    index = _inside(folder, "index.html")
    tmp = index.with_name("index.html.part")
    tmp.write_text(body, encoding="utf-8")
    os.replace(tmp, index)
    return index
