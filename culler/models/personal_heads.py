"""Personal heads: the head networks ``culler train`` fits on cached embeddings, and their files.

Both sides meet here: the trainer builds and saves heads, a scorer's ``load()`` rebuilds the one its
config names (``culler.api.load_personal_head``). A head file is safetensors with the head's
architecture in its metadata (``kind``, ``in_dim``, ``outputs``, ``labels``, ``embedding_key``), so it
rebuilds without the run that made it. Architectures a plugin declares (the CLIP plugin's ``mlp`` and
``distribution``) come from the ``register_trainable_models`` hook; the rest are built here.

This module imports torch: reach it through :mod:`culler.api`, which imports it on first use only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from culler.models.weights import WeightsError, check_safetensors, load_state_dict, sha256_file
from culler.plugin.trainable import trainable_models

#: Score bins of a distribution head (1..10).
BINS = 10
#: Head kinds on features: ``mlp`` and ``prompts`` need a plugin's architecture, the others are built in.
HEAD_KINDS = ("mlp", "linear", "distribution", "prompts", "tags", "classes")


def mean_score(distribution: torch.Tensor) -> torch.Tensor:
    """Σ k·p_k over bins k = 1..10: the mean score of a 10-bin distribution."""
    centres = torch.arange(1, BINS + 1, dtype=distribution.dtype, device=distribution.device)
    return (distribution * centres).sum(-1)


class Head(nn.Module):
    """A head on (B, D) features, returning the output dict its kind promises."""

    def __init__(self, kind: str, net: nn.Module, meta: dict[str, Any]) -> None:
        super().__init__()
        self.kind = kind
        self.net = net
        self.meta = meta

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return head_output(self.kind, self.net(x))


def head_output(kind: str, out: torch.Tensor) -> dict[str, torch.Tensor]:
    """Turn a network's raw tensor into the output dict: ``score`` (B,) on 0–10 for aesthetic models,
    plus ``distribution`` (B, 10), or ``logits`` (and ``probs``) for taggers and classifiers."""
    if kind in ("mlp", "linear", "saan"):
        return {"score": out.reshape(-1)}
    if kind in ("distribution", "prompts"):
        # A head may return probabilities already (a softmax module) or logits.
        probs = out if _is_distribution(out) else torch.softmax(out, dim=-1)
        return {"distribution": probs, "score": mean_score(probs)}
    if kind == "tags":
        return {"logits": out, "probs": torch.sigmoid(out)}
    if kind in ("classes", "charlenet"):
        probs = torch.softmax(out, dim=-1)
        # The "good" class is the last one: its probability on the 0–10 scale ranks photos.
        return {"logits": out, "score": 10.0 * probs[:, -1]}
    raise ValueError(f"unknown model kind {kind!r}")


def _is_distribution(out: torch.Tensor) -> bool:
    with torch.no_grad():
        return bool(
            (out >= 0).all()
            and torch.allclose(out.sum(-1), torch.ones_like(out[..., 0]), atol=1e-4)
        )


class Standardize(nn.Module):
    """(x − mean) / std with statistics of the training features, saved with the head.

    Heads built here may sit on any features (colour statistics, a new backbone) whose dimensions differ
    in scale by orders of magnitude; standardising makes a few hundred Adam steps enough. Plugin heads
    keep their exact architecture (CLIP embeddings are L2-normalised already).
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def fit(self, x: torch.Tensor) -> None:
        self.mean.copy_(x.mean(0))
        self.std.copy_(x.std(0).clamp_min(1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def build_head(kind: str, in_dim: int, outputs: int = 1, labels: list[str] | None = None) -> Head:
    """A fresh head; ``outputs`` is the tag or class count for ``tags`` / ``classes``.

    A plugin's declared head of that name wins; heads built here start with a :class:`Standardize`
    layer: call :func:`fit_inputs` with the training features.
    """
    meta: dict[str, Any] = {"kind": kind, "in_dim": in_dim, "outputs": outputs}
    if labels:
        meta["labels"] = list(labels)
    declared = trainable_models().get(kind)
    if declared is not None and declared.kind == "head":
        return Head(kind, declared.build(in_dim, outputs), meta)
    if kind == "mlp":
        raise RuntimeError(
            "the mlp head is declared by the CLIP plugin (culler_plugins.clip), which is not loaded; "
            "use --model linear"
        )
    if kind == "prompts":
        raise RuntimeError(
            "the prompts head is declared by the CLIP plugin (culler_plugins.clip), which is not "
            "loaded"
        )
    if kind == "distribution":
        net: nn.Module = nn.Sequential(Standardize(in_dim), nn.Linear(in_dim, BINS))
    elif kind == "linear":
        net = nn.Sequential(Standardize(in_dim), nn.Linear(in_dim, 1))
    elif kind in ("tags", "classes"):
        if outputs < 2:
            raise ValueError(f"a {kind} head needs at least 2 outputs, got {outputs}")
        net = nn.Sequential(Standardize(in_dim), nn.Linear(in_dim, outputs))
    else:
        raise ValueError(f"{kind!r} is not a head on features; choose from {HEAD_KINDS}")
    return Head(kind, net, meta)


def fit_inputs(head: nn.Module, features: torch.Tensor) -> None:
    """Set the head's input standardisation (if it has one) from the training features."""
    for module in head.modules():
        if isinstance(module, Standardize):
            module.fit(features)


def save_head(head: Head, path: Path, extra: dict[str, Any] | None = None) -> str:
    """Write ``head`` as safetensors with its architecture in the metadata; return the sha256."""
    from safetensors.torch import save_file

    meta = {**head.meta, **(extra or {})}
    state = {k: v.detach().cpu().contiguous() for k, v in head.net.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(state, str(tmp), metadata={"culler_head": json.dumps(meta, sort_keys=True)})
    tmp.replace(path)
    return sha256_file(path)


def read_head_meta(path: str | Path) -> dict[str, Any]:
    """The architecture a head file records (raises WeightsError for any other safetensors file)."""
    from safetensors import safe_open

    check_safetensors(path)  # a bundle is untrusted: its header is checked before it is parsed
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = (fh.metadata() or {}).get("culler_head")
        found = json.loads(meta) if meta else None
    except Exception as exc:  # safetensors raises its own error types across versions
        raise WeightsError(f"{path} is not a valid safetensors file: {exc}") from None
    if not isinstance(found, dict):
        raise WeightsError(f"{path} is not a culler head file (no culler_head metadata)")
    return found


#: Largest input or output size of a head (CLIP embeddings are 512–1280 wide): a bundle's metadata
#: is untrusted, and a head is allocated from it before its tensors are loaded.
MAX_HEAD_DIM = 1 << 16


def load_head(path: str | Path, sha256: str | None = None) -> Head:
    """Rebuild a head from its file, checking the sha256 first when one is given."""
    from safetensors.torch import load_file

    if sha256 and sha256_file(path) != sha256:
        raise WeightsError(f"{path} does not match its sha256; export and import the model again")
    meta = read_head_meta(path)
    try:
        in_dim, outputs = int(meta["in_dim"]), int(meta.get("outputs", 1))
        if not (0 < in_dim <= MAX_HEAD_DIM and 0 < outputs <= MAX_HEAD_DIM):
            raise ValueError(f"sizes {in_dim}→{outputs} are beyond any head culler trains")
        head = build_head(meta["kind"], in_dim, outputs, meta.get("labels"))
        head.net.load_state_dict(load_file(str(path)))
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise WeightsError(
            f"{path} does not hold the head its metadata describes ({exc}); export and import "
            "the model again"
        ) from None
    head.meta = meta
    head.eval()
    return head


def load_personal_head(config: dict[str, Any]) -> Head | None:
    """The head a scorer row's config names (``head_file``, ``head_sha256``; None when it names
    none): for scorers to call in ``load()``."""
    if not config.get("head_file"):
        return None
    return load_head(config["head_file"], config.get("head_sha256"))


def personal_state(config: dict[str, Any]) -> dict[str, Any] | None:
    """For a scorer's ``load()``: the state dict of the personal network (a fine-tuned SAAN,
    CharLeNet or CLIP tower with its head) its config names, checked against the recorded sha256;
    None when the config names none."""
    path = config.get("head_file")
    if not path:
        return None
    if not Path(path).is_file():
        raise WeightsError(
            f"the personal network {path} is missing; import its bundle again with "
            "`culler models import-personal FILE`"
        )
    return load_state_dict(path, sha256=config.get("head_sha256") or None)
