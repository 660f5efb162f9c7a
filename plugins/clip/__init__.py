"""The ``clip-aesthetic`` scorer: an open_clip backbone (default ViT-L-14, OpenAI weights) whose
L2-normalised image embedding is computed once per photo, stored in the catalog and shared with every
CLIP-based scorer (``emotion``) and with the trainer, plus a head on that embedding.

Config keys (a scorer row's config): ``model`` and ``pretrained`` (any open_clip model and tag),
``head``: ``mlp`` (default: LAION's improved aesthetic predictor, ViT-L-14 only), ``distribution``
(10 bins; no published weights, so a personal head from ``culler train --model distribution``) or
``prompts`` (zero-shot "logits per text" over score-level prompts: needs only the backbone). A personal
head (``head_file``, registered by the trainer) always wins over the published one.

torch and open_clip are imported only inside ``load()``: every culler command and every decode worker
imports this module.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from culler_plugins.clip.common import (
    CLIP_SCORERS,
    LAION_BACKBONE,
    LAION_HEAD,
    backbone_config,
    backbone_spec,
    embedding_key,
    find_backbone,
    installed_backbone_sha,
)

from culler.api import (
    EmbeddingScorer,
    FetchedWeights,
    ScoreResult,
    TrainableModel,
    WeightsError,
    WeightSpec,
    expected_sha256,
    hookimpl,
    load_state_dict,
    resolve,
)

__version__ = "1.0"

HEADS = ("mlp", "distribution", "prompts")


class ClipEmbeddingScorer(EmbeddingScorer):
    """What clip-aesthetic and emotion share: the backbone, the embedding key, fine-tuning access."""

    input_size: ClassVar[int] = 336  # shortest side ≥ 224 after a 3:2 reduced decode
    batch_size: ClassVar[int] = 16

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(config)
        self.backbone: Any = None
        self._key: str | None = None

    @property
    def backbone_spec(self) -> WeightSpec:
        return backbone_spec(*backbone_config(self.config))

    @property
    def embedding_key(self) -> str:
        """``open_clip/MODEL/TAG@sha12``: the sha comes from the installed file's manifest entry."""
        if self._key is None:
            from culler_plugins.clip.tuned import tuned_key

            model, tag = backbone_config(self.config)
            key = embedding_key(model, tag, installed_backbone_sha(self.id, self.backbone_spec))
            return tuned_key(key, self.config)
        return self._key

    @classmethod
    def weight_holders(cls, spec: WeightSpec) -> list[str]:
        """A CLIP backbone installed for any CLIP scorer serves them all (one ViT-L-14 download)."""
        return list(CLIP_SCORERS) if spec.source.startswith("open_clip://") else []

    @classmethod
    def fetch_weights(
        cls, spec: WeightSpec, downloads: Any, config: dict[str, Any] | None = None
    ) -> FetchedWeights | None:
        """``open_clip://MODEL/TAG`` backbones come through open_clip's pretrained config."""
        from culler_plugins.clip.fetch import SCHEME, fetch_open_clip

        if not spec.source.startswith(SCHEME):
            return None
        return fetch_open_clip(cls, spec, downloads, config)

    def load_backbone(self, device: str) -> None:
        """Resolve (WeightsMissing when absent) and load the shared backbone; size batches for
        ``device``."""
        model, tag = backbone_config(self.config)
        path, sha = find_backbone(self.id, self.backbone_spec)
        from culler_plugins.clip.backbone import batch_size_for, get_backbone
        from culler_plugins.clip.tuned import is_tuned, tuned_backbone, tuned_key

        self.backbone = get_backbone(model, tag, path, sha, device)
        if is_tuned(self.config):  # a personal fine-tune (AnB+): its own tower and embeddings
            self.backbone = tuned_backbone(self.backbone, self.config, device)
        self.device = device
        self.batch_size = batch_size_for(device)  # type: ignore[misc]
        self._key = tuned_key(embedding_key(model, tag, sha), self.config)

    def embed_batch(self, images: list[Any]) -> np.ndarray:
        if self.backbone is None:
            raise RuntimeError(f"{self.id}: embed_batch called before load()")
        return self.backbone.embed(images)

    def trainable_backbone(self, device: str) -> dict[str, Any]:
        """The image tower (a fresh copy with the installed weights) for AnB+ fine-tuning."""
        from culler_plugins.clip.backbone import trainable

        model, tag = backbone_config(self.config)
        path, _ = find_backbone(self.id, self.backbone_spec)
        return trainable(model, tag, path)

    def prompt_text(self, device: str = "cpu") -> tuple[Any, float]:
        """The score-level prompt embeddings (10, D) and logit scale of this backbone: what
        ``culler train --model prompts`` starts its head from (the trainer imports no plugin)."""
        from culler_plugins.clip.heads import prompt_text

        return prompt_text(self, device)

    def load_personal_head(self) -> Any:
        """The personal head the config names (``culler train``), checked to sit on this backbone's
        embeddings; the scorer version's weights hash becomes the head's."""
        from culler_plugins.clip.tuned import is_tuned, tuned_head

        from culler.api import load_personal_head  # imports torch: only for a personal head

        head = tuned_head(self.config) if is_tuned(self.config) else load_personal_head(self.config)
        trained_on = str(head.meta.get("embedding_key") or "")
        if trained_on and trained_on.split("@")[0] != self.embedding_key.split("@")[0]:
            raise WeightsError(
                f"{self.id}: the personal head was trained on {trained_on} embeddings but the scorer "
                f"uses {self.embedding_key}; train it again on this backbone"
            )
        if int(head.meta.get("in_dim", self.backbone.dim)) != self.backbone.dim:
            raise WeightsError(
                f"{self.id}: the personal head expects {head.meta['in_dim']}-d embeddings, the "
                f"backbone gives {self.backbone.dim}-d"
            )
        self.weights_sha256 = str(self.config.get("head_sha256") or "")
        return head


class ClipAestheticScorer(ClipEmbeddingScorer):
    id = "clip-aesthetic"
    version = "1"
    kind = "score"
    description = (
        "Aesthetic score 0–10 from a CLIP embedding (open_clip ViT-L-14 + LAION's aesthetic MLP, a "
        "10-bin distribution head or score-level prompts); embeddings cached for every CLIP scorer"
    )
    weights: ClassVar[list[WeightSpec]] = [backbone_spec(*LAION_BACKBONE), LAION_HEAD]

    @classmethod
    def weight_specs(cls, config: dict[str, Any] | None = None) -> list[WeightSpec]:
        """The backbone the config names, plus LAION's head when the config uses it."""
        config = config or {}
        model, tag = backbone_config(config)
        specs = [backbone_spec(model, tag)]
        if (
            config.get("head", "mlp") == "mlp"
            and (model, tag) == LAION_BACKBONE
            and not config.get("head_file")
        ):
            specs.append(LAION_HEAD)
        return specs

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(config)
        self.head: Any = None
        self.head_kind = ""

    def load(self, device: str = "cpu") -> None:
        head_kind = str(self.config.get("head") or "mlp")
        if head_kind not in HEADS:
            raise ValueError(
                f"clip-aesthetic: head must be one of {', '.join(HEADS)}, not {head_kind!r}"
            )
        model, tag = backbone_config(self.config)
        personal = bool(self.config.get("head_file"))
        if not personal and head_kind == "mlp" and (model, tag) != LAION_BACKBONE:
            raise ValueError(
                f"clip-aesthetic: LAION's aesthetic head fits ViT-L-14 (openai) embeddings, not "
                f"{model} ({tag}); set head=prompts or train a personal head with "
                "`culler train --scorer clip-aesthetic --model mlp`"
            )
        if not personal and head_kind == "distribution":
            raise ValueError(
                "clip-aesthetic: no distribution head is published; train one with "
                "`culler train --scorer clip-aesthetic --model distribution` or set head=mlp"
            )
        head_path = None
        if not personal and head_kind == "mlp":
            head_path = resolve(self.id, LAION_HEAD)  # WeightsMissing before loading the backbone
        self.load_backbone(device)
        from culler_plugins.clip import heads

        if personal:
            self.head = self.load_personal_head()
            self.head_kind = f"personal {self.head.meta.get('kind', 'head')}"
            return
        if head_kind == "mlp":
            from culler_plugins.clip.convert import convert_laion

            mlp = heads.MLPRegressor(self.backbone.dim)
            mlp.load_state_dict(convert_laion(load_state_dict(head_path)), strict=True)
            self.head = mlp.eval()
            head_sha = expected_sha256(self.id, LAION_HEAD)
        else:
            prompts = heads.score_prompts()
            text = self.backbone.encode_prompt_sets(prompts)
            self.head = heads.PromptHead(text, self.backbone.logit_scale).eval()
            head_sha = hashlib.sha256(repr(prompts).encode()).hexdigest()
        self.head_kind = head_kind
        self.weights_sha256 = hashlib.sha256(
            f"{self.backbone.sha256}:{head_kind}:{head_sha}".encode()
        ).hexdigest()

    def score_embeddings(self, vectors: np.ndarray) -> list[ScoreResult]:
        import torch
        from culler_plugins.clip import heads

        if self.head is None:
            raise RuntimeError("clip-aesthetic: score_embeddings called before load()")
        x = torch.from_numpy(np.array(vectors, dtype=np.float32, copy=True))
        probs = None
        with torch.inference_mode():
            if self.head_kind.startswith("personal"):
                out = self.head(x)
                raw = out["score"].reshape(-1)
                probs = out.get("distribution")
            elif self.head_kind == "mlp":
                raw = self.head(x).reshape(-1)
            else:
                probs = self.head(x)
                raw = heads.mean_score(probs)
        results = []
        for i, value in enumerate(raw.tolist()):
            score = min(10.0, max(0.0, value))
            dist = None if probs is None else [float(p) for p in probs[i]]
            results.append(
                ScoreResult(
                    score=score,
                    distribution=dist,
                    reasons=[self._reason(value, score, dist)],
                    extra={"head": self.head_kind, "raw": round(value, 4)},
                )
            )
        return results

    def _reason(self, raw: float, score: float, dist: list[float] | None) -> str:
        clamped = " (clamped to 0–10)" if raw != score else ""
        if self.head_kind == "mlp":
            return f"LAION aesthetic predictor: {raw:.2f} on the AVA 1–10 scale{clamped}"
        if self.head_kind == "prompts" and dist is not None:
            from culler_plugins.clip.heads import SCORE_LEVELS

            k = int(np.argmax(dist))
            return (
                f"zero-shot: closest to '{SCORE_LEVELS[k]} photo' (p {dist[k]:.2f}); "
                f"mean of the 10 levels {score:.2f}"
            )
        tag = self.config.get("version_tag", "")
        return f"{self.head_kind} head {tag}: {raw:.2f}{clamped}".replace("  ", " ")

    @classmethod
    def convert_weights(
        cls, src: Path, workdir: Path, config: dict[str, Any] | None = None
    ) -> dict[str, Path] | None:
        """LAION's head (.pth, any LAION-layout copy) → safetensors; an open_clip backbone checkpoint
        (.bin or .safetensors) → checked safetensors; the published LAION file → None (unchanged)."""
        from culler_plugins.clip.convert import convert_file

        return convert_file(Path(src), Path(workdir), config, accept_head=True)


@hookimpl
def register_scorers(register) -> None:
    register(ClipAestheticScorer)


def _mlp_head(in_dim: int, outputs: int = 1) -> Any:
    from culler_plugins.clip import heads

    return heads.MLPRegressor(in_dim)


def _distribution_head(in_dim: int, outputs: int = 10) -> Any:
    from culler_plugins.clip import heads

    return heads.DistributionHead(in_dim)


def _prompts_head(in_dim: int, outputs: int = 10) -> Any:
    from culler_plugins.clip import heads

    return heads.TrainablePromptHead(in_dim)


@hookimpl
def register_trainable_models(register) -> None:
    """The heads clip-aesthetic loads as personal heads: trained on its cached embeddings, their
    files load here unchanged (torch is imported only when the trainer builds one)."""
    register(
        TrainableModel(
            "mlp",
            "head",
            _mlp_head,
            scorer="clip-aesthetic",
            description="LAION-shaped MLP regressor on CLIP embeddings (score 0–10)",
        )
    )
    register(
        TrainableModel(
            "distribution",
            "head",
            _distribution_head,
            scorer="clip-aesthetic",
            description="NIMA-style 10-bin distribution head on CLIP embeddings",
        )
    )
    register(
        TrainableModel(
            "prompts",
            "head",
            _prompts_head,
            scorer="clip-aesthetic",
            description="zero-shot score-level prompts with learnable temperature, biases and context",
        )
    )
