"""Where an ``open_clip://MODEL/TAG`` backbone is downloaded from: open_clip's pretrained config
names a Hugging Face hub repository (safetensors, else the pickled ``.bin`` converted by the scorer)
or a URL (converted). Core's ``culler models pull`` knows nothing of open_clip; it calls
:meth:`culler_plugins.clip.ClipEmbeddingScorer.fetch_weights`, which lands here.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

from culler.api import (
    Downloads,
    FetchedWeights,
    NotOnHub,
    PullError,
    Scorer,
    WeightSpec,
    sha256_file,
)

SCHEME = "open_clip://"
#: The file names open_clip publishes on the hub: safetensors first, the pickled checkpoint as a
#: fallback (converted before it is installed: culler never installs a pickle).
HF_SAFETENSORS = "open_clip_model.safetensors"
HF_PICKLE = "open_clip_pytorch_model.bin"


def fetch_open_clip(
    cls: type[Scorer], spec: WeightSpec, downloads: Downloads, config: dict[str, Any] | None
) -> FetchedWeights:
    """Download the backbone ``spec.source`` names through open_clip's pretrained config."""
    import open_clip

    model, _, tag = spec.source[len(SCHEME) :].rpartition("/")
    cfg = open_clip.get_pretrained_cfg(model, tag)
    if not cfg:
        tags = list(open_clip.list_pretrained_tags_by_model(model))
        known = ", ".join(tags[:8]) + (" …" if len(tags) > 8 else "") if tags else "none"
        raise PullError(
            f"open_clip knows no pretrained weights {tag!r} for {model} (valid tags: {known}); set "
            f"the scorer's pretrained tag, or import a checkpoint with "
            f"`culler models import {cls.id} FILE --config model={model} --config pretrained={tag}`"
        )
    hub = str(cfg.get("hf_hub") or "")
    if hub:
        repo, filename = (hub.strip("/"), "") if hub.endswith("/") else hub.rsplit("/", 1)
        if filename.endswith(".safetensors") or not filename:
            try:
                path = downloads.hub(repo, filename or HF_SAFETENSORS)
                return FetchedWeights(
                    {spec.name: path}, f"hf://{repo}/{filename or HF_SAFETENSORS}"
                )
            except NotOnHub:
                if filename:
                    raise PullError(f"{repo}/{filename} is not on the Hugging Face hub") from None
        path = downloads.hub(repo, filename or HF_PICKLE)
        origin = f"hf://{repo}/{filename or HF_PICKLE}"
    elif cfg.get("url"):
        origin = str(cfg["url"])
        path = downloads.url(origin, Path(urllib.parse.urlsplit(origin).path).name)
    else:
        raise PullError(f"open_clip gives no download location for {model} ({tag})")
    workdir = downloads.workdir / "converted"
    workdir.mkdir(parents=True, exist_ok=True)
    converted = cls.convert_weights(path, workdir, config=dict(config or {}))
    return FetchedWeights(converted, origin, sha256_file(path))
