"""The "why" panel: every scorer's score with its distribution and reasons, tags, errors and EXIF basics.

It answers the photographer's question "why is this one ranked low?" with the scorers' own words.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
from PIL import Image
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from culler.catalog import Catalog
from culler.catalog.queries import shooting_text
from culler.gui.delegates import score_color
from culler.gui.histogram import Histogram, HistogramWidget, histogram
from culler.gui.overlay import Overlay, overlay_from_scores
from culler.gui.overlay_details import wanted_scorers


class ScoreBar(QWidget):
    """A 0–10 bar, coloured by value."""

    def __init__(self, score: float | None, parent=None) -> None:
        super().__init__(parent)
        self.score = score
        self.setFixedHeight(8)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(60, 62, 68))
        painter.drawRoundedRect(QRectF(self.rect()), 4, 4)
        if self.score is not None:
            width = self.width() * max(0.0, min(1.0, self.score / 10.0))
            painter.setBrush(score_color(self.score))
            painter.drawRoundedRect(QRectF(0, 0, width, self.height()), 4, 4)


class DistributionBars(QWidget):
    """The scorer's 10-bin score distribution as a small histogram (bins 1..10)."""

    def __init__(self, distribution: list[float], parent=None) -> None:
        super().__init__(parent)
        self.distribution = list(distribution)
        self.setFixedHeight(44)
        self.setToolTip(
            "score distribution: "
            + ", ".join(f"{i + 1}: {p:.2f}" for i, p in enumerate(self.distribution))
        )

    def sizeHint(self) -> QSize:
        return QSize(200, 44)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        n = len(self.distribution) or 1
        top = max(self.distribution or [1.0]) or 1.0
        gap = 2.0
        label_h = 12
        width = (self.width() - gap * (n - 1)) / n
        font = painter.font()
        font.setPointSizeF(7)
        painter.setFont(font)
        for i, p in enumerate(self.distribution):
            h = (self.height() - label_h - 2) * (p / top)
            x = i * (width + gap)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(score_color(i + 1.0))
            painter.drawRect(QRectF(x, self.height() - label_h - h, width, h))
            painter.setPen(QColor(150, 150, 150))
            painter.drawText(
                QRectF(x, self.height() - label_h, width, label_h),
                Qt.AlignmentFlag.AlignCenter,
                str(i + 1),
            )


def _label(text: str, style: str = "", wrap: bool = True) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if style:
        label.setStyleSheet(style)
    return label


class WhyPanel(QScrollArea):
    """Rebuilt for each photo from the catalog (a handful of indexed queries)."""

    #: The "show on the photo" link: the window shows the loupe with the scorers' overlay.
    overlayRequested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.overlay_shown = False
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.photo_id: int | None = None
        self.show_details(None, None)

    def show_details(self, catalog: Catalog | None, photo_id: int | None, record=None) -> None:
        """Rebuild for ``photo_id``; ``record`` is the grid's row for it (its rating and who
        decided it, its file state), when the window has one."""
        self.photo_id = photo_id
        self.decision_text = ""
        self.overlay_link: QLabel | None = None
        self.histogram = None
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(6)
        if catalog is None or photo_id is None or (photo := catalog.photo(photo_id)) is None:
            layout.addWidget(
                _label("Select a photo to see why it scored as it did.", "color: #999")
            )
            layout.addStretch(1)
            self.setWidget(content)
            return
        name = photo["path"].rsplit("/", 1)[-1]
        layout.addWidget(_label(f"<b>{html.escape(name)}</b>", "font-size: 13pt"))
        status = record.status if record is not None else photo["status"]
        error = (record.error if record is not None else None) or photo["error"] or ""
        if status == "missing":
            layout.addWidget(
                _label(
                    "⚠ missing: the file is not where the scan found it (moved or deleted). "
                    "It cannot be rated until a rescan (F5) finds it.",
                    "color: #e88",
                )
            )
        elif status != "ok":
            layout.addWidget(_label(f"⚠ {status}: {html.escape(error)}", "color: #e88"))
        self._decision(layout, catalog, photo_id, record)
        scores = catalog.scores_for(photo_id)
        overlay = overlay_from_scores(scores, photo["width"], photo["height"])
        self._overlay_link(layout, overlay, bool(wanted_scorers(scores)))
        self._scores(layout, scores)
        for err in catalog.score_errors_for(photo_id):
            layout.addWidget(
                _label(f"⚠ {err['scorer_id']} failed: {html.escape(err['error'])}", "color: #e88")
            )
        tags = catalog.tag_details([photo_id]).get(photo_id, {})
        if tags:
            layout.addWidget(_section("Tags"))
            # A hand tag (typed in culler or a keyword from a sidecar) is shown with its source and
            # no percentage; a scorer's tag with its probability and the scorer's id.
            chips = " ".join(
                f"<span style='background:{'#4a633b' if i['source'] in ('hand', 'xmp') else '#3b4a63'};"
                f" color:#dde;'>&nbsp;{html.escape(t)} "
                + (
                    f"({html.escape(i['source'])})"
                    if i["source"] in ("hand", "xmp")
                    else f"{i['probability']:.0%} ({html.escape(i['source'])})"
                )
                + "&nbsp;</span>"
                for t, i in list(tags.items())[:12]
            )
            layout.addWidget(_label(chips))
        self._histogram(layout, catalog, photo, scores)
        self._exif(layout, photo, catalog)
        layout.addStretch(1)
        self.setWidget(content)

    def set_overlay_shown(self, shown: bool) -> None:
        self.overlay_shown = shown

    def _overlay_link(self, layout: QVBoxLayout, overlay: Overlay, on_demand: bool) -> None:
        """A link to the overlay when a scorer stored where it looked (blur, faces) or can compute
        it for the photo shown (sharpness tiles: ``on_demand``)."""
        if overlay.empty and not on_demand:
            return
        link = QLabel("<a href='overlay' style='color:#8ab4f8'>Show where on the photo (O)</a>")
        link.setToolTip(
            "Overlay the sharpness measured per tile, any motion blur direction, and the faces "
            "judged with their eye state"
        )
        link.linkActivated.connect(lambda _href: self.overlayRequested.emit())
        self.overlay_link = link
        layout.addWidget(link)

    def _scores(self, layout: QVBoxLayout, scores: list[dict[str, Any]]) -> None:
        layout.addWidget(_section("Scores"))
        if not scores:
            layout.addWidget(_label("Not scored yet.", "color: #999"))
        seen = set()
        for row in scores:
            if row["scorer_id"] in seen:  # older versions of the same scorer: the current one only
                continue
            seen.add(row["scorer_id"])
            value = "–" if row["score"] is None else f"{row['score']:.2f}"
            layout.addWidget(
                _label(
                    f"<b>{html.escape(row['scorer_id'])}</b> "
                    f"<span style='color:#999'>v{html.escape(str(row['version']))}</span>"
                    f"&nbsp;&nbsp;<b>{value}</b><span style='color:#999'> / 10</span>"
                )
            )
            layout.addWidget(ScoreBar(row["score"]))
            if row["distribution"]:
                layout.addWidget(DistributionBars(row["distribution"]))
            for reason in row["reasons"] or []:
                layout.addWidget(_label(f"• {html.escape(str(reason))}", "color: #ccc"))

    def _decision(self, layout: QVBoxLayout, catalog: Catalog, photo_id: int, record) -> None:
        """The decision, who made it, and the reason the cull gave, in the words ``culler cull``
        prints."""
        state = catalog.current_rating(photo_id)
        flag = state.get("decision") if state.get("decision") in ("pick", "reject") else None
        source = catalog.decision_sources([photo_id]).get(photo_id)
        reason = catalog.cull_reason(photo_id)
        if flag is None and reason is None:
            return
        layout.addWidget(_section("Decision"))
        colour = "#5c5" if flag == "pick" else "#e66"
        if flag is None:
            head = "<b>Unflagged</b>"
        elif source == "auto":
            head = (
                f"<b style='color:{colour}'>{flag.capitalize()}</b> proposed by the cull "
                "<span style='color:#999'>(A accepts, P / X / U overrides)</span>"
            )
        else:
            who = {"gui": "by you", "cli": "with culler rate", "xmp": "from the XMP sidecar"}
            head = (
                f"<b style='color:{colour}'>{flag.capitalize()}</b> "
                f"{who.get(source or '', 'by hand')}"
            )
        texts = [head]
        if reason:
            texts.append(f"Cull: {html.escape(reason)}")
        proposed = " (proposed)" if flag and source == "auto" else ""
        self.decision_text = f"{flag or 'unflagged'}{proposed}" + (f": {reason}" if reason else "")
        for text in texts:
            layout.addWidget(_label(text))

    def _histogram(
        self, layout: QVBoxLayout, catalog: Catalog, photo: dict[str, Any], scores: list
    ) -> None:
        pixels = thumbnail_pixels(catalog, photo)
        self.histogram: Histogram | None = (
            None if pixels is None else histogram(pixels).with_scorer_figures(scores)
        )
        if self.histogram is None:
            return
        layout.addWidget(_section("Histogram"))
        layout.addWidget(HistogramWidget(self.histogram))
        for warning in self.histogram.warnings():
            layout.addWidget(_label(f"⚠ {warning}", "color: #e8b060"))

    def _exif(self, layout: QVBoxLayout, photo: dict[str, Any], catalog: Catalog) -> None:
        layout.addWidget(_section("Photo"))
        form = QFormLayout()
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(3)
        rows = [
            ("Taken", photo.get("taken_at")),
            ("Camera", photo.get("camera")),
            ("Lens", photo.get("lens")),
            ("Shooting", shooting_text(photo)),
            ("Size", f"{photo['width']} × {photo['height']}" if photo.get("width") else None),
            ("File", f"{photo['size'] / 1e6:.1f} MB" if photo.get("size") else None),
        ]
        for g in catalog.photo_groups(photo["id"]):
            rank = "" if g["rank"] is None else f"#{g['rank'] + 1} of "
            rows.append((g["kind"].capitalize(), f"{rank}{g['size']} photos"))
        for key, value in rows:
            if value:
                form.addRow(_label(key, "color: #999", wrap=False), _label(html.escape(str(value))))
        path = _label(html.escape(photo["path"]), "color: #888; font-size: 8pt")
        layout.addLayout(form)
        layout.addWidget(path)


def thumbnail_pixels(catalog: Catalog, photo: dict[str, Any]) -> np.ndarray | None:
    """The photo's pixels at thumbnail size: the catalog's cached thumbnail, else a reduced decode."""
    from culler.gui.pixels import srgb
    from culler.gui.thumbnails import thumb_dir_for
    from culler.imaging.images import ImageError, decode_pil
    from culler.scan.decode import thumb_path

    cached = (
        thumb_path(thumb_dir_for(catalog.path), photo["content_hash"])
        if photo.get("content_hash")
        else None
    )
    try:
        if cached is not None and cached.exists():
            with Image.open(cached) as im:
                return np.asarray(im.convert("RGB"))
        if photo["status"] != "ok":
            return None
        im, _info = decode_pil(photo["path"], 256)
        return np.asarray(srgb(im).convert("RGB"))
    except (ImageError, OSError):
        return None


def _section(title: str) -> QLabel:
    label = QLabel(title.upper())
    label.setStyleSheet("color: #7fa7e0; font-size: 8pt; font-weight: bold; margin-top: 8px;")
    return label
