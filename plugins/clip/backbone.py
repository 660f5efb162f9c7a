"""The open_clip backbone: built without downloading anything, weights loaded from culler's verified
file, one loaded copy per process shared by every CLIP-based scorer.

``open_clip.create_model(name, pretrained=None)`` builds the architecture with random values; the
weights then come only from :func:`culler.api.load_state_dict` (safetensors or
``torch.load(weights_only=True)``) of a file ``culler.api.resolve`` has checked against its sha256.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import open_clip
import torch
from torch import nn

from culler.api import WeightsError, load_state_dict, state_mismatch

#: Images per forward pass by device: a ViT-L-14 batch of 64 fits an 8 GB GPU in fp16; on CPU larger
#: batches gain nothing (measured with benchmarks/clip_throughput.py) and only delay the first results.
BATCH_SIZES = {"cuda": 64, "mps": 32, "cpu": 16}


def batch_size_for(device: str) -> int:
    return BATCH_SIZES.get(device.split(":", 1)[0], 16)


@contextlib.contextmanager
def _quiet_open_clip() -> Iterator[None]:
    """open_clip warns "initialized randomly" for ``pretrained=None``; the weights follow right after."""
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def build_model(model_name: str, pretrained: str, device: str | torch.device = "cpu") -> nn.Module:
    """The open_clip architecture of ``model_name`` as trained under ``pretrained`` (random values).

    The tag matters even without its weights: OpenAI's models use QuickGELU, which a plain config
    does not, and loading their weights into GELU layers gives subtly wrong embeddings.
    """
    tag_cfg = open_clip.get_pretrained_cfg(model_name, pretrained) or {}
    if model_name not in open_clip.list_models():
        raise ValueError(
            f"open_clip has no model called {model_name!r}; choose one of `open_clip.list_models()` "
            "(e.g. ViT-L-14, ViT-B-32)"
        )
    with _quiet_open_clip():
        return open_clip.create_model(
            model_name,
            pretrained=None,
            force_quick_gelu=bool(tag_cfg.get("quick_gelu", False)),
            pretrained_image=False,
            pretrained_text=False,
            device=device,
        )


def build_transform(model: nn.Module, model_name: str, pretrained: str) -> Any:
    """open_clip's evaluation transform (resize shortest side, centre crop, normalise) for the tag."""
    from open_clip.transform import PreprocessCfg, image_transform_v2, merge_preprocess_dict

    base = dict(getattr(model.visual, "preprocess_cfg", None) or {})
    if not base:
        base = {"size": model.visual.image_size}
    cfg = merge_preprocess_dict(base, open_clip.get_pretrained_cfg(model_name, pretrained) or {})
    return image_transform_v2(PreprocessCfg(**cfg), is_train=False)


def backbone_state(state: dict[str, Any]) -> dict[str, Any]:
    """open_clip's small fix-ups of saved checkpoints: DataParallel ``module.`` prefixes and the text
    position ids some exporters add."""
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    state = dict(state)
    state.pop("text.transformer.embeddings.position_ids", None)
    return state


def backbone_mismatch(state: dict[str, Any], expected: dict[str, Any]) -> str:
    """:func:`~culler.api.state_mismatch` for open_clip, after giving ``logit_scale`` and
    ``logit_bias`` the model's rank in ``state`` (checkpoints save them 0-d or 1-d; both are fine)."""
    for key in ("logit_scale", "logit_bias"):
        if key in state and key in expected and state[key].ndim != expected[key].ndim:
            state[key] = state[key].reshape(expected[key].shape)
    return state_mismatch(state, expected)


def load_weights(model: nn.Module, path: Path) -> None:
    """Load a verified checkpoint into ``model`` (strict: every tensor must match)."""
    expected = model.state_dict()
    state = backbone_state(load_state_dict(path))
    problems = backbone_mismatch(state, expected)
    if problems:
        raise WeightsError(
            f"{path.name} does not fit this open_clip architecture ({problems}); it was probably "
            "made for another model or tag — set the scorer's `model`/`pretrained` to match, or "
            "import the right file"
        )
    model.load_state_dict(state, strict=True)


class Backbone:
    """One loaded open_clip model with its transform and tokenizer; thread-safe to call."""

    def __init__(self, model_name: str, pretrained: str, path: Path, sha256: str, device: str):
        model = build_model(model_name, pretrained)
        load_weights(model, path)
        self._setup(model, model_name, pretrained, sha256, device)

    @classmethod
    def from_model(
        cls, model: nn.Module, model_name: str, pretrained: str, device: str, sha256: str = ""
    ) -> Backbone:
        """Wrap an already-built open_clip model (benchmarks time ViT-L-14 without its 1.7 GB file)."""
        self = cls.__new__(cls)
        self._setup(model, model_name, pretrained, sha256, device)
        return self

    def _setup(
        self, model: nn.Module, model_name: str, pretrained: str, sha256: str, device: str
    ) -> None:
        self.model_name, self.pretrained, self.sha256, self.device = (
            model_name,
            pretrained,
            sha256,
            device,
        )
        self.model = model.to(device).eval()
        self.transform = build_transform(model, model_name, pretrained)
        self.tokenizer = open_clip.get_tokenizer(model_name)
        self.dim = int(model.visual.output_dim)
        #: CLIP's learned softmax temperature (100 for OpenAI's models).
        self.logit_scale = float(model.logit_scale.detach().exp().clamp(max=100.0))
        self.lock = threading.Lock()
        self._texts: dict[tuple[str, ...], torch.Tensor] = {}
        #: Forward passes of the image tower so far (the rescan test counts them).
        self.image_batches = 0

    def _autocast(self) -> contextlib.AbstractContextManager:
        # fp16 on CUDA halves memory and doubles speed with no visible change in scores; CPU autocast
        # (bf16) was slower than fp32 on the machine we measured, and MPS autocast is not reliable.
        if self.device.startswith("cuda"):
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def pixels(self, images: list[Any]) -> torch.Tensor:
        return torch.stack([self.transform(im.convert("RGB")) for im in images])

    def embed(self, images: list[Any]) -> np.ndarray:
        """(N, D) float32 L2-normalised image embeddings."""
        x = self.pixels(images).to(self.device)
        with self.lock, torch.inference_mode(), self._autocast():
            features = self.model.encode_image(x)
            self.image_batches += 1
        features = nn.functional.normalize(features.float(), dim=-1)
        return features.cpu().numpy().astype(np.float32, copy=False)

    def encode_texts(self, prompts: list[str]) -> torch.Tensor:
        """(N, D) float32 L2-normalised text embeddings on the CPU, cached per prompt list."""
        key = tuple(prompts)
        if key not in self._texts:
            tokens = self.tokenizer(list(prompts)).to(self.device)
            with self.lock, torch.inference_mode(), self._autocast():
                features = self.model.encode_text(tokens)
            self._texts[key] = nn.functional.normalize(features.float(), dim=-1).cpu()
        return self._texts[key]

    def encode_prompt_sets(self, sets: list[list[str]]) -> torch.Tensor:
        """One embedding per set of prompts: the normalised mean of its members (prompt ensembling)."""
        flat = [p for s in sets for p in s]
        texts = self.encode_texts(flat)
        out, start = [], 0
        for s in sets:
            out.append(texts[start : start + len(s)].mean(0))
            start += len(s)
        return nn.functional.normalize(torch.stack(out), dim=-1)


_BACKBONES: dict[tuple[str, str, str, str], Backbone] = {}
_BACKBONES_LOCK = threading.Lock()


def get_backbone(
    model_name: str, pretrained: str, path: Path, sha256: str, device: str
) -> Backbone:
    """The process-wide backbone for (model, tag, weights, device): clip-aesthetic and emotion load
    ViT-L-14 once between them."""
    key = (model_name, pretrained, sha256 or str(path), device)
    with _BACKBONES_LOCK:
        if key not in _BACKBONES:
            _BACKBONES[key] = Backbone(model_name, pretrained, path, sha256, device)
        return _BACKBONES[key]


def trainable(model_name: str, pretrained: str, path: Path) -> dict[str, Any]:
    """A fresh copy of the image tower for fine-tuning (AnB+), in the trainer's contract shape."""
    model = build_model(model_name, pretrained)
    load_weights(model, path)
    return {
        "module": model.visual.train(),
        "transform": build_transform(model, model_name, pretrained),
        "dim": int(model.visual.output_dim),
        "normalize": True,
    }
