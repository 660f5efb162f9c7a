"""Whole fine-tuned networks as personal scorer versions (SAAN, CharLeNet).

A run that trains a whole network ends with ``model.pt``. For a personal run (``--db``) that file goes
through the scorer's own ``convert_weights`` — the check ``culler models import`` makes, so nothing is
registered that the scorer could not load — and is written as ``network.safetensors`` with a
``culler_head`` metadata entry (``kind``, ``network: true``, the scorer id). The registry then treats it
like a trained head: a new scorer version (``+personal-<sha8>``, weights sha256 = the file's, parent =
the base row) that the next ``culler scan`` loads instead of the installed weights, and that
``culler models export`` / ``import-personal`` carry to another catalog.
"""

from __future__ import annotations

import argparse
import inspect
import json
import tempfile
from pathlib import Path
from typing import Any

from culler.api import WeightsError, get_scorer_class, load_state_dict


def _convert(cls: Any, src: Path, workdir: Path) -> dict[str, Path] | None:
    params = inspect.signature(cls.convert_weights).parameters
    if "config" in params:
        return cls.convert_weights(src, workdir, config={})
    return cls.convert_weights(src, workdir)


def network_file(args: argparse.Namespace, run_dir: Path, model: Any, prepared: Any) -> Path:
    """The trained network as one safetensors file with culler's personal metadata: a CLIP tower
    with its head (AnB+), or ``run_dir/model.pt`` through the scorer's converter (SAAN, CharLeNet)."""
    if prepared.backbone is not None:
        return _tuned_clip_file(args, run_dir, model, prepared)
    return _converted_file(args, run_dir)


def _save(state: dict[str, Any], meta: dict[str, Any], out: Path) -> Path:
    from safetensors.torch import save_file

    tmp = out.with_name(out.name + ".tmp")
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    save_file(tensors, str(tmp), metadata={"culler_head": json.dumps(meta, sort_keys=True)})
    tmp.replace(out)
    return out


def _tuned_clip_file(args: argparse.Namespace, run_dir: Path, model: Any, prepared: Any) -> Path:
    """Image tower (``visual.*``) and head (``head.*``) in one file; the head's architecture in the
    metadata (see :mod:`culler_plugins.clip.tuned`)."""
    from culler_trainer.prepare import outputs_for

    net = model.net
    state = {f"visual.{k}": v for k, v in net.backbone.state_dict().items()}
    state.update({f"head.{k}": v for k, v in net.head.state_dict().items()})
    meta: dict[str, Any] = {
        "kind": args.model,
        "network": True,
        "backbone_tuned": args.unfreeze,
        "in_dim": int(prepared.in_dim),
        "outputs": outputs_for(args, prepared.dataset),
        "trained": run_dir.name,
    }
    if prepared.dataset.label_names:
        meta["labels"] = list(prepared.dataset.label_names)
    return _save(state, meta, run_dir / "network.safetensors")


def _converted_file(args: argparse.Namespace, run_dir: Path) -> Path:
    try:
        cls = get_scorer_class(args.scorer)
    except KeyError:
        raise ValueError(
            f"cannot register the run: scorer {args.scorer!r} is not installed"
        ) from None
    with tempfile.TemporaryDirectory(prefix="culler-network-") as tmp:
        try:
            converted = _convert(cls, run_dir / "model.pt", Path(tmp))
        except WeightsError as exc:
            raise ValueError(f"{args.scorer} cannot load the trained network: {exc}") from exc
        if not converted or len(converted) != 1:
            raise ValueError(f"{args.scorer} did not turn the trained network into one weight file")
        state = load_state_dict(next(iter(converted.values())))
    meta = {"kind": args.model, "network": True, "scorer": args.scorer, "trained": run_dir.name}
    return _save(state, meta, run_dir / "network.safetensors")
