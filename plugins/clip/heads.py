"""Heads on CLIP image embeddings: the LAION-shaped MLP regressor, a 10-bin distribution head and
"logits per text" over score-level prompts.

The trainer builds its ``mlp`` and ``distribution`` heads from these classes
(the plugin declares them through ``register_trainable_models``), so a trained head file loads here
unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

from culler.api import mean_score

__all__ = ["DistributionHead", "MLPRegressor", "PromptHead", "mean_score", "score_prompts"]

BINS = 10


class MLPRegressor(nn.Module):
    """in_dim → 1024 → 128 → 64 → 16 → 1, dropout 0.2/0.2/0.1, no activations: the shape of LAION's
    improved aesthetic predictor, so its public checkpoint maps key for key (``layers.0`` … ``layers.7``).

    Without activations the stack is one affine map in training-friendly factors; LAION trained it that
    way and its checkpoint only reproduces with exactly this layout. Returns (B, 1): the score, on the
    AVA 1–10 scale for the LAION weights (scorers clamp to 0–10).
    """

    def __init__(self, in_dim: int = 768) -> None:
        super().__init__()
        self.in_dim = in_dim
        self.layers = nn.Sequential(
            nn.Linear(in_dim, 1024),
            nn.Dropout(0.2),
            nn.Linear(1024, 128),
            nn.Dropout(0.2),
            nn.Linear(128, 64),
            nn.Dropout(0.1),
            nn.Linear(64, 16),
            nn.Linear(16, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class DistributionHead(nn.Module):
    """NIMA-style 10-bin head: dropout then one linear layer to 10 logits (softmax → distribution).

    NIMA showed a single linear layer on a strong frozen embedding is enough for the AVA vote
    distribution; trained with EMD (r = 2) by the trainer. Returns (B, 10) logits.
    """

    def __init__(self, in_dim: int = 768, dropout: float = 0.5) -> None:
        super().__init__()
        self.in_dim = in_dim
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_dim, BINS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(x))


class PromptHead(nn.Module):
    """ "Logits per text": cosine similarity of the image with one text embedding per score level,
    times CLIP's logit scale, softmax → a 10-bin distribution (zero-shot, no training).

    ``text`` is (10, D), L2-normalised, level 1 first. Returns (B, 10) probabilities.
    """

    def __init__(self, text: torch.Tensor, logit_scale: float) -> None:
        super().__init__()
        if text.shape[0] != BINS:
            raise ValueError(f"a prompt head needs {BINS} score levels, got {text.shape[0]}")
        self.register_buffer("text", nn.functional.normalize(text.float(), dim=-1))
        self.logit_scale = float(logit_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.normalize(x.float(), dim=-1)
        return torch.softmax(self.logit_scale * x @ self.text.T, dim=-1)


class TrainablePromptHead(nn.Module):
    """ "Logits per text" fitted to ratings (seed 000's trained variant): the zero-shot
    :class:`PromptHead` with a learnable temperature, a learnable bias per score level and a learnable
    prompt context (an offset added to each level's text embedding before it is re-normalised).

    At initialisation (context 0, bias 0, temperature = CLIP's logit scale) it computes exactly the
    zero-shot head, so training starts from the prompts' own judgement and regresses it onto the
    user's ratings (MSE on the distribution's mean by default). ``text`` is a buffer saved with the
    head, so the scorer rebuilds it without the text tower. Returns (B, 10) probabilities.
    """

    def __init__(
        self, in_dim: int = 768, text: torch.Tensor | None = None, logit_scale: float = 100.0
    ) -> None:
        super().__init__()
        self.in_dim = in_dim
        start = torch.zeros(BINS, in_dim) if text is None else text.float()
        if start.shape != (BINS, in_dim):
            raise ValueError(f"prompt text must be ({BINS}, {in_dim}), got {tuple(start.shape)}")
        self.register_buffer("text", nn.functional.normalize(start, dim=-1))
        self.log_scale = nn.Parameter(torch.tensor(float(logit_scale)).log())
        self.bias = nn.Parameter(torch.zeros(BINS))
        self.context = nn.Parameter(torch.zeros(BINS, in_dim))

    def set_text(self, text: torch.Tensor, logit_scale: float) -> None:
        """The score-level text embeddings (10, D) and CLIP's logit scale to start from."""
        with torch.no_grad():
            self.text.copy_(nn.functional.normalize(text.float(), dim=-1))
            self.log_scale.fill_(float(torch.tensor(float(logit_scale)).log()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.normalize(x.float(), dim=-1)
        text = nn.functional.normalize(self.text + self.context, dim=-1)
        return torch.softmax(self.log_scale.exp() * x @ text.T + self.bias, dim=-1)


def prompt_text(scorer: object, device: str = "cpu") -> tuple[torch.Tensor, float]:
    """The score-level prompt embeddings and logit scale of a CLIP scorer's backbone (loaded here),
    for :meth:`TrainablePromptHead.set_text`."""
    scorer.load_backbone(device)  # type: ignore[attr-defined]
    backbone = scorer.backbone  # type: ignore[attr-defined]
    return backbone.encode_prompt_sets(score_prompts()).cpu(), float(backbone.logit_scale)


#: One phrase per score level 1..10 (level 1 first), each put into every template and averaged.
SCORE_LEVELS = (
    "an awful",
    "a very bad",
    "a bad",
    "a poor",
    "a mediocre",
    "an average",
    "a decent",
    "a good",
    "a very good",
    "an outstanding",
)
SCORE_TEMPLATES = (
    "{} photo.",
    "{} photograph, judged by a photographer.",
    "{} picture in terms of aesthetics.",
)


def score_prompts(
    levels: tuple[str, ...] | list[str] = SCORE_LEVELS,
    templates: tuple[str, ...] | list[str] = SCORE_TEMPLATES,
) -> list[list[str]]:
    """The prompt ensemble per score level: ``[[level 1 prompts], …, [level 10 prompts]]``."""
    return [[t.format(level) for t in templates] for level in levels]
