"""Zero-shot emotion tags from CLIP text prompts.

Why not a softmax over the eight labels: that answers "which one emotion?", forcing probabilities to sum
to 1, so a photo that is both awe-inspiring and contented gets ~0.5 for each and a photo that evokes
nothing still gets 1.0 spread over the labels. Tags here are multi-label, so each label is its own
binary question: *does this photo match "a photo that evokes awe" better than the same sentence with a
neutral filler ("a photo that evokes no particular emotion")?*

Calibration: ``p(label) = sigmoid(s · (cos(image, label prompts) − cos(image, neutral prompts)) + b)``.
That is exactly CLIP's own two-way softmax between the two captions when ``s`` is the model's learned
logit scale (100 for OpenAI's models) and ``b = 0``, so the probability means what CLIP was trained to
mean: the chance that the label caption rather than the neutral one goes with the image. Comparing
against a neutral sentence of the same template cancels the template's own similarity (the "a photo
that …" part matches every photo), which raw cosine thresholds do not. 0.5 is then the natural
threshold ("more like the emotion than like nothing"). Each label's prompts average three templates
(prompt ensembling, as in CLIP's zero-shot ImageNet results). Users with labelled photos can refine
``s``/``b`` per label (Platt scaling) through the scorer config ``calibration: {label: [s, b]}``, or
train a proper head (``culler train --scorer emotion --model tags``).
"""

from __future__ import annotations

from typing import Any

import torch

#: The 8 Mikels emotions used by FI and EmoSet: label → (noun, adjective) for the templates.
MIKELS: dict[str, tuple[str, str]] = {
    "amusement": ("amusement", "amused"),
    "awe": ("awe", "awestruck"),
    "contentment": ("contentment", "content"),
    "excitement": ("excitement", "excited"),
    "anger": ("anger", "angry"),
    "disgust": ("disgust", "disgusted"),
    "fear": ("fear", "afraid"),
    "sadness": ("sadness", "sad"),
}
NEUTRAL = ("no particular emotion", "nothing in particular")
TEMPLATES = (
    "a photo that evokes {noun}.",
    "a photo that makes people feel {adj}.",
    "an image full of {noun}.",
)
THRESHOLD = 0.5


def prompts_for(words: tuple[str, str], templates: tuple[str, ...] = TEMPLATES) -> list[str]:
    noun, adj = words
    return [t.format(noun=noun, adj=adj) for t in templates]


def label_words(label: str, custom: dict[str, Any] | None = None) -> tuple[str, str]:
    """(noun, adjective) for a label: the config's, the Mikels table's, or the label itself."""
    if custom and label in custom:
        value = custom[label]
        return (value, value) if isinstance(value, str) else (str(value[0]), str(value[-1]))
    return MIKELS.get(label, (label, label))


class ZeroShotTagger:
    """Per-label binary probabilities from prompt similarities (see the module docstring)."""

    def __init__(
        self,
        backbone: Any,
        labels: list[str],
        words: dict[str, Any] | None = None,
        calibration: dict[str, Any] | None = None,
    ) -> None:
        self.labels = list(labels)
        sets = [prompts_for(label_words(lb, words)) for lb in self.labels]
        self.label_text = backbone.encode_prompt_sets(sets)  # (L, D)
        self.neutral_text = backbone.encode_prompt_sets([prompts_for(NEUTRAL)])  # (1, D)
        scale = backbone.logit_scale
        calibration = calibration or {}
        self.scale = torch.tensor(
            [float((calibration.get(lb) or [scale, 0.0])[0]) for lb in self.labels]
        )
        self.bias = torch.tensor(
            [float((calibration.get(lb) or [scale, 0.0])[1]) for lb in self.labels]
        )

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """(B, D) embeddings → (B, L) probabilities."""
        x = torch.nn.functional.normalize(x.float(), dim=-1)
        margin = x @ self.label_text.T - x @ self.neutral_text.T  # (B, L)
        return torch.sigmoid(self.scale * margin + self.bias)
