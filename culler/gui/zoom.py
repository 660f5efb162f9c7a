"""The loupe's geometry without Qt: where a frame lies in its pane at fit or at a zoom, and how frames
of a burst are registered so that compare shows the same scene point in every pane.

Coordinates: a frame is ``(W, H)`` pixels at full resolution; a scene point is ``(u, v)`` in [0, 1]
of the reference frame (the first compared); a frame's registration offset says where that point is
in its own [0, 1] coordinates (``u + du, v + dv``). ``scale`` is screen pixels per full-resolution
pixel (1.0 = 100 %); ``None`` is "fit to the pane".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Rect = tuple[float, float, float, float]  # x, y, width, height
MAX_SCALE = 8.0
WHEEL_STEP = 1.25
#: Side of the grey copies registered against each other: enough for a coarse shift, fast in numpy.
REGISTER_SIDE = 128


@dataclass
class ZoomState:
    """What every pane shows: shared by the compared frames, so zoom and pan move them together."""

    scale: float | None = None
    center: tuple[float, float] = (0.5, 0.5)

    @property
    def fitted(self) -> bool:
        return self.scale is None

    def fit(self) -> None:
        self.scale, self.center = None, (0.5, 0.5)


def fit_scale(size: tuple[float, float], area: Rect) -> float:
    """The scale at which a frame of ``size`` fits ``area`` whole."""
    w, h = size
    return min(area[2] / max(w, 1.0), area[3] / max(h, 1.0))


def frame_rect(
    size: tuple[float, float],
    area: Rect,
    zoom: ZoomState,
    offset: tuple[float, float] = (0.0, 0.0),
) -> Rect:
    """Where the whole frame lies on screen: centred at fit, else with the scene point at the centre."""
    scale = fit_scale(size, area) if zoom.scale is None else zoom.scale
    w, h = size[0] * scale, size[1] * scale
    cx, cy = area[0] + area[2] / 2, area[1] + area[3] / 2
    if zoom.scale is None:
        return (cx - w / 2, cy - h / 2, w, h)
    u, v = zoom.center[0] + offset[0], zoom.center[1] + offset[1]
    return (cx - u * w, cy - v * h, w, h)


def visible_part(frame: Rect, area: Rect) -> Rect | None:
    """The part of the frame the pane shows, in the frame's [0, 1] coordinates (u, v, width,
    height) — what the navigator outlines at 100 %; None when the whole frame is in view."""
    fx, fy, fw, fh = frame
    ax, ay, aw, ah = area
    if fw <= 0 or fh <= 0:
        return None
    left, top = max(fx, ax), max(fy, ay)
    right, bottom = min(fx + fw, ax + aw), min(fy + fh, ay + ah)
    if right <= left or bottom <= top:
        return None
    part = ((left - fx) / fw, (top - fy) / fh, (right - left) / fw, (bottom - top) / fh)
    if part[2] >= 0.999 and part[3] >= 0.999:
        return None
    return part


def point_in_frame(rect: Rect, x: float, y: float) -> tuple[float, float]:
    """The frame's own [0, 1] coordinates of screen point (x, y), clamped to the frame."""
    u = (x - rect[0]) / rect[2] if rect[2] else 0.5
    v = (y - rect[1]) / rect[3] if rect[3] else 0.5
    return (min(1.0, max(0.0, u)), min(1.0, max(0.0, v)))


def zoom_to(
    zoom: ZoomState,
    scale: float | None,
    size: tuple[float, float],
    area: Rect,
    anchor: tuple[float, float] | None = None,
    offset: tuple[float, float] = (0.0, 0.0),
) -> None:
    """Change the scale keeping the frame point under screen point ``anchor`` (default: the pane's
    centre) where it is, so Z and the wheel zoom "into what the cursor points at"."""
    cx, cy = area[0] + area[2] / 2, area[1] + area[3] / 2
    ax, ay = anchor if anchor is not None else (cx, cy)
    u, v = point_in_frame(frame_rect(size, area, zoom, offset), ax, ay)
    # 100 % is always reachable, even for a frame smaller than the pane; below both, the wheel fits.
    if scale is None or scale < min(fit_scale(size, area), 1.0) * 0.999:
        zoom.fit()
        return
    scale = min(scale, MAX_SCALE)
    zoom.scale = scale
    centre = (u - (ax - cx) / (size[0] * scale), v - (ay - cy) / (size[1] * scale))
    zoom.center = clamp_center((centre[0] - offset[0], centre[1] - offset[1]))


def pan(zoom: ZoomState, dx: float, dy: float, size: tuple[float, float]) -> None:
    """Drag by (dx, dy) screen pixels: the frame follows the mouse."""
    if zoom.scale is None:
        return
    u = zoom.center[0] - dx / (size[0] * zoom.scale)
    v = zoom.center[1] - dy / (size[1] * zoom.scale)
    zoom.center = clamp_center((u, v))


def clamp_center(center: tuple[float, float]) -> tuple[float, float]:
    return (min(1.0, max(0.0, center[0])), min(1.0, max(0.0, center[1])))


def grey_copy(rgb: np.ndarray, side: int = REGISTER_SIDE) -> np.ndarray:
    """A side × side float grey copy (nearest sampling; the shift it finds is coarse by design)."""
    grey = rgb[..., :3].astype(np.float32).mean(axis=2) if rgb.ndim == 3 else rgb.astype(np.float32)
    ys = (np.arange(side) * grey.shape[0] / side).astype(int)
    xs = (np.arange(side) * grey.shape[1] / side).astype(int)
    return grey[np.ix_(ys, xs)]


def register(reference: np.ndarray, frame: np.ndarray) -> tuple[float, float]:
    """Phase correlation of two grey copies of equal shape: ``(du, dv)``, how far (in [0, 1] of the
    frame) the scene moved from ``reference`` to ``frame``. A hand-held burst drifts by a few percent;
    a window (Hann) keeps the frame borders from dominating the correlation."""
    h, w = reference.shape
    window = np.outer(np.hanning(h), np.hanning(w)).astype(np.float32)
    a = np.fft.fft2((reference - reference.mean()) * window)
    b = np.fft.fft2((frame - frame.mean()) * window)
    cross = b * np.conj(a)
    cross /= np.abs(cross) + 1e-9
    peak = np.fft.ifft2(cross).real
    y, x = np.unravel_index(int(np.argmax(peak)), peak.shape)
    dy = y - h if y > h // 2 else y
    dx = x - w if x > w // 2 else x
    return (dx / w, dy / h)
