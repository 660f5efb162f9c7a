"""The ``emotion`` scorer: multi-label tags over the 8 Mikels emotions (amusement, awe, contentment,
excitement, anger, disgust, fear, sadness) from CLIP embeddings.

Zero-shot mode (default) needs only a CLIP backbone — the one clip-aesthetic uses, found in either
scorer's model folder — and scores from text prompts (see :mod:`culler_plugins.emotion.zeroshot` for the
calibration). Trained mode: a personal tag head from ``culler train --scorer emotion --model tags``
(BCE with logits on the cached embeddings), named by the scorer row's ``head_file``. Both share
clip-aesthetic's embedding key, so a scan with both runs one forward pass per photo.

Config keys: ``model``, ``pretrained`` (as clip-aesthetic), ``labels`` (list), ``words``
({label: [noun, adjective]} for labels outside the Mikels set), ``threshold`` (for the reasons line;
every label's probability is stored), ``calibration`` ({label: [scale, bias]}).
Tags go to the ``tags`` table: ``culler list --tag awe --min-prob 0.5`` finds them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from culler_plugins.clip import ClipEmbeddingScorer
from culler_plugins.clip.common import LAION_BACKBONE, backbone_config, backbone_spec

from culler.api import ScoreResult, WeightsError, WeightSpec, hookimpl

__version__ = "1.0"

MIKELS_LABELS = (
    "amusement",
    "awe",
    "contentment",
    "excitement",
    "anger",
    "disgust",
    "fear",
    "sadness",
)


class EmotionScorer(ClipEmbeddingScorer):
    id = "emotion"
    version = "1"
    kind = "tags"
    description = (
        "Emotion tags (8 Mikels emotions, multi-label) from CLIP: zero-shot prompts, or a personal "
        "head trained on your tagged photos"
    )
    weights: ClassVar[list[WeightSpec]] = [backbone_spec(*LAION_BACKBONE)]

    @classmethod
    def weight_specs(cls, config: dict[str, Any] | None = None) -> list[WeightSpec]:
        return [backbone_spec(*backbone_config(config))]

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(config)
        self.tagger: Any = None
        self.head: Any = None
        self.labels: list[str] = list(self.config.get("labels") or MIKELS_LABELS)
        self.threshold = float(self.config.get("threshold", 0.5))

    def load(self, device: str = "cpu") -> None:
        self.load_backbone(device)  # WeightsMissing when no CLIP scorer has the backbone
        if self.config.get("head_file"):
            self.head = self.load_personal_head()
            labels = self.head.meta.get("labels")
            if not labels:
                raise WeightsError("emotion: the personal head names no labels; train it again")
            self.labels = list(labels)
            return
        from culler_plugins.emotion.zeroshot import ZeroShotTagger

        self.tagger = ZeroShotTagger(
            self.backbone, self.labels, self.config.get("words"), self.config.get("calibration")
        )
        setup = repr((self.labels, self.config.get("words"), self.config.get("calibration")))
        self.weights_sha256 = hashlib.sha256(
            f"{self.backbone.sha256}:zero-shot:{setup}".encode()
        ).hexdigest()

    def score_embeddings(self, vectors: np.ndarray) -> list[ScoreResult]:
        import torch

        if self.tagger is None and self.head is None:
            raise RuntimeError("emotion: score_embeddings called before load()")
        x = torch.from_numpy(np.array(vectors, dtype=np.float32, copy=True))
        with torch.inference_mode():
            probs = self.tagger(x) if self.head is None else self.head(x)["probs"]
        mode = "zero-shot" if self.head is None else "personal head"
        results = []
        for row in probs.tolist():
            tags = {label: float(p) for label, p in zip(self.labels, row)}
            results.append(
                ScoreResult(
                    tags=tags,
                    reasons=[self._reason(tags, mode)],
                    extra={"mode": mode, "top": max(tags, key=tags.get)},
                )
            )
        return results

    def _reason(self, tags: dict[str, float], mode: str) -> str:
        ranked = sorted(tags.items(), key=lambda kv: kv[1], reverse=True)
        above = [f"{label} {p:.2f}" for label, p in ranked if p >= self.threshold]
        if above:
            return f"evokes {', '.join(above)} ({mode})"
        label, p = ranked[0]
        return f"no emotion above {self.threshold:.2f}; strongest {label} {p:.2f} ({mode})"

    @classmethod
    def convert_weights(
        cls, src: Path, workdir: Path, config: dict[str, Any] | None = None
    ) -> dict[str, Path] | None:
        """An open_clip backbone checkpoint (.bin or .safetensors) → checked safetensors."""
        from culler_plugins.clip.convert import convert_file

        return convert_file(Path(src), Path(workdir), config, accept_head=False)


@hookimpl
def register_scorers(register) -> None:
    register(EmotionScorer)
