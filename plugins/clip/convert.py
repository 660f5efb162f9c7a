"""Reading CLIP weight files safely, and converting what users have into culler's layout.

Two kinds of file reach ``culler models import clip-aesthetic FILE``:

* a LAION "improved aesthetic predictor" head: ``torch.save`` of an ``nn.Sequential`` state dict whose
  Linear layers sit at indices 0, 2, 4, 6 and 7 (dropouts between them hold no tensors), keys
  ``layers.N.weight`` / ``layers.N.bias``. :class:`~culler_plugins.clip.heads.MLPRegressor` uses the
  same layout, so converting means checking every shape and rewriting as float32 safetensors;
* an open_clip backbone (``open_clip_pytorch_model.bin`` or ``open_clip_model.safetensors``), checked
  tensor by tensor against the configured architecture (built on the meta device: no memory).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from culler_plugins.clip import common
from culler_plugins.clip.backbone import backbone_mismatch, backbone_state, build_model
from culler_plugins.clip.heads import MLPRegressor

from culler.api import WeightsError, load_state_dict, sha256_file

#: (out, in) of the LAION head's Linear layers by index; ``None`` is the embedding width.
LAION_LAYERS = {0: (1024, None), 2: (128, 1024), 4: (64, 128), 6: (16, 64), 7: (1, 16)}


# -- LAION aesthetic head ---------------------------------------------------------------------------
def laion_in_dim(state: dict[str, Any]) -> int | None:
    """The embedding width of a LAION-layout head, or None when ``state`` is not one."""
    want = {f"layers.{i}.{p}" for i in LAION_LAYERS for p in ("weight", "bias")}
    if set(state) != want:
        return None
    in_dim = int(state["layers.0.weight"].shape[1])
    for i, (out, inp) in LAION_LAYERS.items():
        if tuple(state[f"layers.{i}.weight"].shape) != (out, inp or in_dim):
            return None
        if tuple(state[f"layers.{i}.bias"].shape) != (out,):
            return None
    return in_dim


def convert_laion(state: dict[str, Any]) -> dict[str, torch.Tensor]:
    """A LAION head's tensors as :class:`MLPRegressor` weights (float32, contiguous), checked by a
    strict load."""
    in_dim = laion_in_dim(state)
    if in_dim is None:
        raise WeightsError("not a LAION aesthetic-predictor head (expected layers.0 … layers.7)")
    out = {k: v.detach().to(torch.float32).contiguous() for k, v in state.items()}
    MLPRegressor(in_dim).load_state_dict(out, strict=True)
    return out


# -- open_clip backbone -----------------------------------------------------------------------------
def is_backbone(state: dict[str, Any]) -> bool:
    return any(k.startswith("visual.") for k in state)


def check_backbone(state: dict[str, Any], model_name: str, pretrained: str) -> dict[str, Any]:
    state = backbone_state(state)
    with torch.device("meta"):
        expected = build_model(model_name, pretrained, device="meta").state_dict()
    problems = backbone_mismatch(state, expected)
    if problems:
        raise WeightsError(
            f"this open_clip checkpoint does not fit {model_name} ({pretrained}): {problems}; pass "
            "the model it was made for, e.g. `--config model=ViT-B-32 --config pretrained=openai`"
        )
    return state


def save(state: dict[str, torch.Tensor], out: Path, meta: dict[str, Any]) -> Path:
    from safetensors.torch import save_file

    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out), metadata={"culler": json.dumps(meta, sort_keys=True)})
    return out


def convert_file(
    src: Path,
    workdir: Path,
    config: dict[str, Any] | None,
    accept_head: bool,
) -> dict[str, Path] | None:
    """``culler models import`` for CLIP scorers: {spec name: converted file} or None when ``src``
    is the published LAION head itself (installed unchanged)."""
    src, workdir = Path(src), Path(workdir)
    sha = sha256_file(src)
    if accept_head and sha == common.LAION_HEAD.sha256:
        return None
    try:
        state = load_state_dict(src)
    except WeightsError as exc:
        raise WeightsError(
            f"{src.name}: {exc}. OpenAI's own ViT-*.pt files are TorchScript archives, which culler "
            "does not load; use open_clip_model.safetensors from the Hugging Face hub instead"
        ) from exc
    in_dim = laion_in_dim(state)
    if in_dim is not None:
        if not accept_head:
            raise WeightsError(
                f"{src.name} is an aesthetic head; import it into clip-aesthetic, not this scorer"
            )
        if in_dim != 768:
            raise WeightsError(
                f"{src.name} is a LAION-format head for {in_dim}-d embeddings; clip-aesthetic's "
                "published head slot is for ViT-L-14 (768-d). Train a personal head for other "
                "backbones with `culler train --scorer clip-aesthetic --model mlp`"
            )
        out = workdir / "laion-head.safetensors"
        save(convert_laion(state), out, {"format": "laion-aesthetic-mlp", "origin_sha256": sha})
        return {common.LAION_HEAD.name: out}
    if is_backbone(backbone_state(state)):
        model_name, pretrained = common.backbone_config(config)
        state = check_backbone(state, model_name, pretrained)
        out = workdir / common.backbone_spec(model_name, pretrained).name
        save(state, out, {"format": "open_clip", "model": model_name, "pretrained": pretrained})
        return {common.backbone_spec(model_name, pretrained).name: out}
    raise WeightsError(
        f"{src.name} is neither a LAION aesthetic-predictor head (layers.0 … layers.7) nor an "
        "open_clip checkpoint (visual.* tensors); nothing was installed"
    )
