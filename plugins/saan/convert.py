"""Checkpoints in other key layouts → culler's SAAN state dict (``culler models import saan FILE``).

Accepted inputs (all read through :func:`culler.models.weights.load_state_dict`: safetensors or a plain
``torch.load(weights_only=True)`` checkpoint, never a pickle with code):

* the official repository's ``SAAN`` state dict (Dreemurr-T/BAID, ``models/model.py``; e.g. its released
  ``model_best.pth``), optionally with DataParallel's ``module.`` prefix;
* a ``culler train --model saan`` run's ``model.pt`` (keys under ``net.``);
* culler's own layout (what :func:`culler_plugins.saan.model.build_saan` produces).

Official → culler key mapping (prefixes; the rest of each key is unchanged):

===============================  ==============================
official                         culler
===============================  ==============================
``GenAes.model.``                ``generic.`` (ResNet-50 stem..layer3, torchvision names)
``StyAes.model.``                ``style.`` (ResNet-50 stem..layer2)
``StyAes.vgg.model.``            ``vgg.`` (torchvision VGG-19 feature indices 0..20)
``NLB.theta.``                   ``nonlocal_block.theta.``
``NLB.phi.0.``                   ``nonlocal_block.phi.`` (index 1 there is the parameter-free pool)
``NLB.g.0.``                     ``nonlocal_block.g.``
``NLB.W.0.``                     ``nonlocal_block.out_conv.``
``NLB.W.1.``                     ``nonlocal_block.out_norm.``
``bn.``                          ``pool_norm.``
``predictor.0.``                 ``head.fc1.``
``predictor.3.``                 ``head.fc2.``
===============================  ==============================

An older revision of the official code kept the pooled BatchNorm inside ``predictor`` (``predictor.1.``,
linears at ``predictor.3.``/``predictor.6.``) and average-pooled the style branch instead of max-pooling
it; its checkpoints are recognised and refused, because the network would not compute the same thing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from culler.api import WeightsError, load_state_dict, state_mismatch

WEIGHT_NAME = "saan.safetensors"

OFFICIAL_PREFIXES = (
    ("GenAes.model.", "generic."),
    ("StyAes.vgg.model.", "vgg."),
    ("StyAes.model.", "style."),
    ("NLB.theta.", "nonlocal_block.theta."),
    ("NLB.phi.0.", "nonlocal_block.phi."),
    ("NLB.g.0.", "nonlocal_block.g."),
    ("NLB.W.0.", "nonlocal_block.out_conv."),
    ("NLB.W.1.", "nonlocal_block.out_norm."),
    ("bn.", "pool_norm."),
    ("predictor.0.", "head.fc1."),
    ("predictor.3.", "head.fc2."),
)


def _strip(state: dict[str, Any], prefix: str) -> dict[str, Any]:
    if state and all(k.startswith(prefix) for k in state):
        return {k[len(prefix) :]: v for k, v in state.items()}
    return state


def layout(state: dict[str, Any]) -> str:
    """``official``, ``official-old``, ``culler`` or ``unknown``."""
    keys = set(state)
    if any(k.startswith("GenAes.") for k in keys):
        if "predictor.1.running_mean" in keys or "predictor.6.weight" in keys:
            return "official-old"
        return "official"
    if any(k.startswith("generic.") for k in keys) and "head.fc2.weight" in keys:
        return "culler"
    return "unknown"


def official_to_culler(state: dict[str, Any]) -> dict[str, Any]:
    """Rename an official SAAN state dict's keys to culler's (tensors are shared, not copied)."""
    out = {}
    for key, value in state.items():
        for old, new in OFFICIAL_PREFIXES:
            if key.startswith(old):
                out[new + key[len(old) :]] = value
                break
        else:
            raise WeightsError(f"unexpected key {key!r} in an official SAAN checkpoint")
    return out


def to_culler_layout(state: dict[str, Any]) -> dict[str, Any]:
    """Any accepted layout → culler's keys (not yet checked against the network; see :func:`check`)."""
    state = _strip(_strip(state, "module."), "net.")
    kind = layout(state)
    if kind == "official":
        return official_to_culler(state)
    if kind == "culler":
        return dict(state)
    if kind == "official-old":
        raise WeightsError(
            "this is a checkpoint of an older revision of the official SAAN code (BatchNorm inside "
            "`predictor`, average-pooled style branch); culler implements the released revision "
            "(Dreemurr-T/BAID models/model.py) and cannot score with it"
        )
    sample = ", ".join(sorted(state)[:5])
    raise WeightsError(
        f"not a SAAN checkpoint: expected the official keys (GenAes.…, StyAes.…, NLB.…, predictor.…) "
        f"or culler's (generic.…, style.…, head.…); found {sample}…"
    )


def norm_of(state: dict[str, Any]) -> str:
    """BatchNorm layers carry running statistics, GroupNorm ones do not: both norms BatchNorm is
    ``bn``, neither ``gn``, only the non-local block's ``mixed``."""
    block = "nonlocal_block.out_norm.running_mean" in state
    pooled = "pool_norm.running_mean" in state
    if block and pooled:
        return "bn"
    if block:
        return "mixed"
    if pooled and "nonlocal_block.out_norm.weight" not in state:
        return "bn"  # the block's norm is missing altogether: check() names what is missing
    if pooled:
        raise WeightsError(
            "this SAAN has GroupNorm in the non-local block and BatchNorm on the pooled features, a "
            "variant culler does not build (it offers bn, gn and mixed = BatchNorm block + GroupNorm)"
        )
    return "gn"


def check(state: dict[str, Any], model: Any) -> None:
    """Refuse a state dict that does not fit ``model`` exactly (names and shapes)."""
    problems = state_mismatch(state, model.state_dict())
    if problems:
        raise WeightsError(f"the checkpoint does not fit the SAAN network: {problems}")


def convert_file(src: Path, workdir: Path) -> dict[str, Path]:
    """Read ``src`` in any accepted layout, check it against the network, write ``saan.safetensors``."""
    import torch
    from culler_plugins.saan.model import SAAN
    from safetensors.torch import save_file

    state = to_culler_layout(load_state_dict(src))
    # num_batches_tracked is bookkeeping; keep it (int64) so a strict load round-trips exactly.
    state = {k: v.detach().contiguous() for k, v in state.items() if isinstance(v, torch.Tensor)}
    with torch.device("meta"):
        model = SAAN(norm_of(state))
    check(state, model)
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / WEIGHT_NAME
    save_file(state, str(out), metadata={"format": "culler-saan", "norm": norm_of(state)})
    return {WEIGHT_NAME: out}
