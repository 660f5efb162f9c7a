"""Is a face motion-blurred? The technical scorer's blur-direction analysis on the face, weighed by
the shutter speed when EXIF has it.

A face smeared by subject or camera motion keeps its edges *across* the motion and loses those
*along* it; a face out of focus loses both. The technical scorer measures exactly that per direction
(``culler_plugins.technical.metrics``: fine-over-coarse gradient energy, ≈1 sharp, ≈0.25 smeared over
4 px or more), so the face is measured with the same code, on its own pixels, not on the whole
photo (a dancer can be smeared in a sharp room).

The shutter speed only moves the verdict, never makes it: a long exposure relative to the focal
length (slower than 1/focal-length, and slower than 1/60 s for people whatever the lens) makes a
smear-shaped face more surely motion; a fast one (1/500 s at 50 mm) makes it less so. A sharp face
at 1/4 s stays sharp.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from culler_plugins.technical import metrics
from culler_plugins.technical.sharpness import direction_name, ramp

# One definition of the shutter's weight, shared with the technical scorer (the whole frame).
from culler_plugins.technical.shutter import SHUTTER_WEIGHT, SUBJECT_MOTION_LIMIT, shutter_risk

__all__ = ["SHUTTER_WEIGHT", "SUBJECT_MOTION_LIMIT", "Motion", "face_motion", "shutter_risk"]
#: A face is "motion" when its evidence plus the shutter's weight reaches this.
MOTION_THRESHOLD = 0.5
#: Along the motion the face is smooth (ratio at or below the second value gives full evidence) …
ALONG = (0.6, 0.42)
#: … across it crisp (an out-of-focus face reads ≈0.35 every way) …
ACROSS = (0.38, 0.5)
#: … and clearly crisper across than along (defocus: 1.0–1.2).
ANISOTROPY = (1.15, 1.6)


@dataclass
class Motion:
    """What the direction analysis found on one face."""

    #: 0–1 from the face's pixels alone: smooth along one direction, crisp across it.
    evidence: float = 0.0
    #: −1 (4× faster than the hand-holding limit) … 0 (at it, or unknown) … 1 (4× slower).
    shutter: float = 0.0
    #: Direction of the smear, degrees counter-clockwise from horizontal.
    angle: int = 0
    along: float = 0.0
    across: float = 0.0

    @property
    def likelihood(self) -> float:
        return self.evidence + SHUTTER_WEIGHT * self.shutter

    @property
    def is_motion(self) -> bool:
        return self.likelihood >= MOTION_THRESHOLD

    @property
    def confidence(self) -> float:
        """How sure "motion" is: grows with the evidence and with a slower shutter."""
        return round(min(1.0, max(0.0, 0.35 + 0.5 * self.evidence + 0.15 * self.shutter)), 3)

    @property
    def direction(self) -> str:
        return direction_name(self.angle)


def face_motion(patch: np.ndarray, shooting: dict[str, Any] | None = None) -> Motion:
    """The direction analysis of a face's grey ``patch`` (its inner part: eyes, nose, mouth), with
    the shutter speed from ``shooting`` (the scan's ``SHOOTING_KEY`` data) when given."""
    motion = Motion(shutter=shutter_risk(shooting))
    y = patch.astype(np.float32)
    if min(y.shape) < 2 * metrics.COARSE + 1:
        return motion
    tiles = metrics.gradient_tiles(y, metrics.noise_sigma(y), target=4)
    if tiles is None:
        return motion
    dirs, support = tiles.directional_ratio(np.arange(tiles.shape[0] * tiles.shape[1]))
    if not (support >= metrics.INFORMATIVE).any():
        return motion
    lo = int(np.argmin(np.where(support >= metrics.INFORMATIVE_BLUR, dirs, np.inf)))
    hi = int(np.argmax(np.where(support >= metrics.INFORMATIVE, dirs, -np.inf)))
    motion.angle = int(metrics.ANGLES[lo])
    motion.along, motion.across = float(dirs[lo]), float(dirs[hi])
    motion.evidence = min(
        ramp(motion.along, *ALONG),
        ramp(motion.across, *ACROSS),
        ramp(motion.across / max(motion.along, 1e-3), *ANISOTROPY),
    )
    return motion
