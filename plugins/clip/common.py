"""What every CLIP-based scorer shares, without importing torch: backbone names, weight specs,
embedding keys and where an installed backbone is found.

Imported by ``culler_plugins.clip`` and ``culler_plugins.emotion`` at module level, which every culler
command and every decode worker imports: keep it light (no torch, no open_clip).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from culler.api import (
    WeightsMissing,
    WeightSpec,
    installed_path,
    manifest,
    resolve,
)

DEFAULT_MODEL = "ViT-L-14"
DEFAULT_PRETRAINED = "openai"

#: Scorers whose folders may hold a CLIP backbone: pulling either one makes both work.
CLIP_SCORERS = ("clip-aesthetic", "emotion")

#: Published sha256 of backbone files, where known. OpenAI's ViT-L-14 is published on the Hugging Face
#: hub as ``timm/vit_large_patch14_clip_224.openai/open_clip_model.safetensors``; its sha256 is not
#: in any source culler could verify offline, so the first ``culler models pull`` records it in the
#: scorer's manifest (trust on first use) and every later load is checked against that record.
KNOWN_BACKBONE_SHA256: dict[tuple[str, str], tuple[str, int | None]] = {}

#: The public LAION "improved aesthetic predictor" head (sac+logos+ava1, ViT-L-14, linear MLP trained
#: with MSE). sha256 and size computed from the file in christophschuhmann/improved-aesthetic-predictor
#: (its md5 b1047fd767a00134b8fd6529bf19521a matches the md5 other projects publish for it).
LAION_HEAD = WeightSpec(
    name="sac+logos+ava1-l14-linearMSE.pth",
    source=(
        "https://github.com/christophschuhmann/improved-aesthetic-predictor/raw/main/"
        "sac%2Blogos%2Bava1-l14-linearMSE.pth"
    ),
    sha256="21dd590f3ccdc646f0d53120778b296013b096a035a2718c9cb0d511bff0f1e0",
    size=3714759,
    licence="Apache-2.0",
    description=(
        "LAION improved aesthetic predictor (MLP on L2-normalised ViT-L-14 embeddings, trained on "
        "SAC + LAION-Logos + AVA; outputs the AVA 1–10 scale)"
    ),
)
#: The LAION head was trained on this backbone's embeddings and fits no other.
LAION_BACKBONE = ("ViT-L-14", "openai")


def backbone_config(config: dict[str, Any] | None) -> tuple[str, str]:
    """(open_clip model name, pretrained tag) a scorer's config asks for."""
    config = config or {}
    return str(config.get("model") or DEFAULT_MODEL), str(
        config.get("pretrained") or DEFAULT_PRETRAINED
    )


def backbone_spec(model: str, pretrained: str) -> WeightSpec:
    """The weight file of one open_clip backbone (image and text towers, safetensors)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{model}-{pretrained}")
    sha, size = KNOWN_BACKBONE_SHA256.get((model, pretrained), ("", None))
    return WeightSpec(
        name=f"{safe}.safetensors",
        source=f"open_clip://{model}/{pretrained}",
        sha256=sha,
        size=size,
        licence="as published by the checkpoint's authors (OpenAI CLIP: MIT)",
        description=(
            f"open_clip {model} ({pretrained}) image and text towers; shared by every CLIP-based "
            "scorer (clip-aesthetic, emotion)"
        ),
    )


def _holders(scorer_id: str) -> list[str]:
    return [scorer_id] + [s for s in CLIP_SCORERS if s != scorer_id]


def find_backbone(scorer_id: str, spec: WeightSpec) -> tuple[Path, str]:
    """The verified backbone file and its sha256, from this scorer's folder or another CLIP scorer's.

    One ViT-L-14 download serves clip-aesthetic and emotion. Raises :class:`WeightsMissing` for
    ``scorer_id`` when no CLIP scorer has it.
    """
    for holder in _holders(scorer_id):
        if holder == scorer_id or installed_path(holder, spec).is_file():
            try:
                path = resolve(holder, spec)
            except WeightsMissing:
                continue
            return path, manifest(holder).get(spec.name, {}).get("sha256", "")
    model, _, tag = spec.source.removeprefix("open_clip://").partition("/")
    if (model, tag) != (DEFAULT_MODEL, DEFAULT_PRETRAINED):
        raise WeightsMissing(
            scorer_id,
            f"this catalog's settings use the {model} ({tag}) backbone: "
            f"`culler models pull {scorer_id} --config model={model} --config pretrained={tag}`",
        )
    others = " or ".join(f"`culler models pull {s}`" for s in CLIP_SCORERS if s != scorer_id)
    raise WeightsMissing(
        scorer_id, f"{spec.name} (the CLIP backbone) is not installed; {others} installs it too"
    )


def installed_backbone_sha(scorer_id: str, spec: WeightSpec) -> str:
    """The recorded sha256 of an installed backbone (from the manifests; no hashing), or ""."""
    for holder in _holders(scorer_id):
        entry = manifest(holder).get(spec.name)
        if entry and installed_path(holder, spec).is_file():
            return str(entry.get("sha256", ""))
    return ""


def embedding_key(model: str, pretrained: str, sha256: str = "") -> str:
    """``open_clip/MODEL/TAG`` plus the first 12 hex digits of the weights' sha256 when known.

    The key names the vectors in the catalog's ``embeddings`` table; every scorer with the same key
    shares one forward pass per photo, and different weights never mix.
    """
    key = f"open_clip/{model}/{pretrained}"
    return f"{key}@{sha256[:12]}" if sha256 else key
