"""A cheap stand-in backbone and photo variants, so the trainer can be tested (and demonstrated)
without CLIP weights.

``ColourStatsScorer`` is a real :class:`culler.api.EmbeddingScorer`: its "embedding" is a dozen
colour, brightness and sharpness statistics, stored in the catalog like CLIP vectors, and its head is
either a fixed generic prior (colourful, contrasty photos score higher: what a generic aesthetic model
rewards) or a personal head named in its config — exactly the path the CLIP scorer takes.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from culler.api import EmbeddingScorer, ScoreResult, hookimpl

COLOUR_STATS_KEY = "test/colour-stats-v1"
FEATURE_NAMES = (
    "mean_r",
    "mean_g",
    "mean_b",
    "std_r",
    "std_g",
    "std_b",
    "brightness",
    "warmth",
    "saturation",
    "contrast",
    "sharpness",
    "clipped",
)


def colour_stats(image: Image.Image) -> np.ndarray:
    """Twelve cheap statistics of an RGB image, each roughly on a 0–1 scale."""
    a = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    lap = (
        -4 * luma[1:-1, 1:-1] + luma[:-2, 1:-1] + luma[2:, 1:-1] + luma[1:-1, :-2] + luma[1:-1, 2:]
    )
    mx, mn = a.max(axis=-1), a.min(axis=-1)
    return np.array(
        [
            r.mean(),
            g.mean(),
            b.mean(),
            r.std(),
            g.std(),
            b.std(),
            luma.mean(),
            (r - b).mean() + 0.5,
            ((mx - mn) / (mx + 1e-3)).mean(),
            luma.std() * 2,
            np.log1p(lap.var() * 1e3) / 5,
            (luma > 0.98).mean() + (luma < 0.02).mean(),
        ],
        dtype=np.float32,
    )


class ColourStatsScorer(EmbeddingScorer):
    """Generic prior (saturation + contrast) on colour statistics, or a personal head from config."""

    id: ClassVar[str] = "test-colour-aesthetic"
    version: ClassVar[str] = "1"
    input_size: ClassVar[int] = 128
    batch_size: ClassVar[int] = 32
    default_enabled: ClassVar[bool] = False

    @property
    def embedding_key(self) -> str:
        return COLOUR_STATS_KEY

    def load(self, device: str = "cpu") -> None:
        from culler.api import load_personal_head  # imports torch

        self.device = device
        self.head = load_personal_head(self.config)
        self.weights_sha256 = self.config.get("head_sha256", "") if self.head else ""

    def embed_batch(self, images: list[Image.Image]) -> np.ndarray:
        return np.stack([colour_stats(im) for im in images])

    def score_embeddings(self, vectors: np.ndarray) -> list[ScoreResult]:
        if self.head is None:
            v = np.asarray(vectors)
            prior = 10 * np.clip(0.6 * v[:, 8] + 0.8 * v[:, 9], 0, 1)
            return [ScoreResult(score=float(s), reasons=["generic colour prior"]) for s in prior]
        import torch

        with torch.no_grad():
            scores = self.head(torch.from_numpy(np.array(vectors, dtype=np.float32)))["score"]
        return [ScoreResult(score=float(s), reasons=["personal model"]) for s in scores]


class ColourStatsPlugin:
    """Registers :class:`ColourStatsScorer` (``register_test_plugin(ColourStatsPlugin, "colour")``)."""

    @staticmethod
    @hookimpl
    def register_scorers(register: Any) -> None:
        register(ColourStatsScorer)


def variant(
    image: Image.Image,
    rng: np.random.Generator,
    side: int = 96,
) -> tuple[Image.Image, dict[str, float]]:
    """A random crop of ``image`` with known warmth, exposure and blur (the "truth" a simulated
    photographer judges by)."""
    w, h = image.size
    frac = rng.uniform(0.35, 0.9)
    cw, ch = int(w * frac), int(h * frac)
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    im = image.crop((x0, y0, x0 + cw, y0 + ch))
    im.thumbnail((side, side), Image.Resampling.BILINEAR)
    truth = {
        "warmth": float(rng.uniform(-0.3, 0.3)),
        "exposure": float(rng.uniform(0.55, 1.45)),
        "blur": float(rng.choice([0.0, 0.0, 0.7, 1.5, 2.5])),
    }
    a = np.asarray(im, dtype=np.float32)
    a = a * np.array([1 + truth["warmth"], 1.0, 1 - truth["warmth"]], dtype=np.float32)
    im = Image.fromarray(a.clip(0, 255).astype(np.uint8))
    im = ImageEnhance.Brightness(im).enhance(truth["exposure"])
    if truth["blur"]:
        im = im.filter(ImageFilter.GaussianBlur(truth["blur"]))
    return im, truth
