"""How much the shutter speed says about motion blur: one definition for every scorer.

EXIF's exposure time (seconds) and focal length (mm) reach in-worker scorers as
``image.info[culler.api.SHOOTING_KEY]``. A long exposure relative to the hand-holding limit (the slower
of 1/focal-length and 1/60 s, below which people move whatever the lens) makes a smear-shaped blur
more surely motion; a fast one (1/2000 s) makes it less so — a directional softness there is more
likely a lens, a focus miss along an edge or a texture. The shutter speed only moves a verdict the
pixels already lean to, it never makes one: a sharp frame at 1/4 s stays sharp.

Used by the technical scorer (the whole frame) and the faces scorer (each face).
"""

from __future__ import annotations

import math
from typing import Any

#: People move: below this shutter speed (1/60 s) a subject can smear whatever the lens.
SUBJECT_MOTION_LIMIT = 1.0 / 60.0
#: How far the shutter speed moves a 0–1 motion evidence either way: ±0.3 at 4× slower or faster
#: than the hand-holding limit.
SHUTTER_WEIGHT = 0.3


def hand_holding_limit(shooting: dict[str, Any] | None) -> float:
    """The longest exposure (s) at which neither camera shake nor a moving person is expected: the
    shorter of 1/focal-length and 1/60 s (1/60 s when the focal length is unknown)."""
    focal = (shooting or {}).get("focal_length")
    limit = SUBJECT_MOTION_LIMIT
    if isinstance(focal, int | float) and focal > 0:
        limit = min(limit, 1.0 / focal)
    return limit


def shutter_risk(shooting: dict[str, Any] | None) -> float:
    """−1…1 from EXIF's exposure time (s) and focal length (mm): 0 at the hand-holding limit
    (:func:`hand_holding_limit`), +1 at 4× longer, −1 at 4× shorter; 0 when the exposure time is
    unknown."""
    t = (shooting or {}).get("exposure_time")
    if not isinstance(t, int | float) or not t > 0 or not math.isfinite(t):
        return 0.0
    return float(min(1.0, max(-1.0, math.log2(t / hand_holding_limit(shooting)) / 2.0)))


def weigh(evidence: float, shooting: dict[str, Any] | None) -> float:
    """A 0–1 motion evidence from the pixels, moved by the shutter speed: ``evidence`` plus
    :data:`SHUTTER_WEIGHT` × :func:`shutter_risk`, kept in 0–1; no evidence stays none."""
    if evidence <= 0.0:
        return 0.0
    return float(min(1.0, max(0.0, evidence + SHUTTER_WEIGHT * shutter_risk(shooting))))


def exposure_text(seconds: float) -> str:
    """An exposure time as a photographer writes it: "1/15 s", "0.5 s", "2 s"."""
    if seconds >= 0.3:
        return f"{seconds:g} s"
    return f"1/{round(1.0 / seconds)} s"
