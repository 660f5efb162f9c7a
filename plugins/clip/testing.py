"""A tiny open_clip model for tests and demos of CLIP-based scorers, without downloaded weights.

``register_tiny_model()`` adds a real open_clip model config (two-layer ViT on 64 px, two-layer text
transformer, 768-d embeddings like ViT-L-14) so the scorers go through ``open_clip.create_model`` exactly as with
ViT-L-14; ``write_tiny_backbone(path)`` saves seeded weights for it as a real safetensors checkpoint, and
``install_tiny_backbone(scorer_id)`` installs that file the way ``culler models import`` does. Scores
from random weights mean nothing: these exist to test the plumbing (caching, storage, heads, import).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from culler_plugins.clip.common import backbone_spec

from culler.api import install_file

TINY_MODEL = "culler-tiny-clip"
TINY_TAG = "test"
TINY_CONFIG: dict[str, Any] = {
    "embed_dim": 768,  # the LAION head's input width, so its real code path runs on the tiny model
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "head_width": 32, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
TINY_SCORER_CONFIG = {"model": TINY_MODEL, "pretrained": TINY_TAG}


def register_tiny_model() -> str:
    """Register the tiny config with open_clip (idempotent); return its model name."""
    import open_clip

    if TINY_MODEL not in open_clip.list_models():
        folder = Path(tempfile.mkdtemp(prefix="culler-tiny-clip-"))
        path = folder / f"{TINY_MODEL}.json"
        path.write_text(json.dumps(TINY_CONFIG), encoding="utf-8")
        open_clip.add_model_config(path)
    return TINY_MODEL


def write_tiny_backbone(path: Path, seed: int = 0) -> Path:
    """Seeded tiny-model weights as a safetensors checkpoint (open_clip's key layout)."""
    import torch
    from culler_plugins.clip.backbone import build_model
    from safetensors.torch import save_file

    register_tiny_model()
    torch.manual_seed(seed)
    model = build_model(TINY_MODEL, TINY_TAG)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    return path


def install_tiny_backbone(scorer_id: str, workdir: Path, seed: int = 0) -> Path:
    """Write and install the tiny backbone for ``scorer_id`` (as its configured backbone file)."""
    src = write_tiny_backbone(Path(workdir) / f"tiny-{seed}.safetensors", seed)
    return install_file(scorer_id, backbone_spec(TINY_MODEL, TINY_TAG).name, src)


def laion_sequential(in_dim: int = 768, seed: int = 0) -> Any:
    """A LAION-layout aesthetic predictor as its public training script builds it: a plain
    ``nn.Sequential`` of Linear/Dropout layers (written independently of culler's MLPRegressor, so
    the converter is tested against the external format, not against itself)."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Linear(in_dim, 1024),
        nn.Dropout(0.2),
        nn.Linear(1024, 128),
        nn.Dropout(0.2),
        nn.Linear(128, 64),
        nn.Dropout(0.1),
        nn.Linear(64, 16),
        nn.Linear(16, 1),
    )
    with torch.no_grad():
        net[7].bias.fill_(5.0)  # centre outputs on the AVA scale like the real head
    return net.eval()


def write_laion_head(path: Path, in_dim: int = 768, seed: int = 0) -> Any:
    """Save a LAION-layout head with ``torch.save`` as LAION did (``layers.N.*`` keys); return the net."""
    import torch

    net = laion_sequential(in_dim, seed)
    torch.save({f"layers.{k}": v for k, v in net.state_dict().items()}, path)
    return net


def install_laion_head(workdir: Path, seed: int = 7) -> Path:
    """Write a LAION-layout head to ``workdir/laion.pth`` and install it for ``clip-aesthetic`` the
    way ``culler models import`` does (converted, the .pth as its origin); return the installed file."""
    from culler_plugins.clip import ClipAestheticScorer

    laion = workdir / "laion.pth"
    write_laion_head(laion, seed=seed)
    installed = [
        install_file("clip-aesthetic", name, path, origin=str(laion))
        for name, path in ClipAestheticScorer.convert_weights(laion, workdir).items()
    ]
    return installed[-1]
