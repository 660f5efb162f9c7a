"""A CLIP backbone fine-tuned with its head (AnB+, ``culler train --unfreeze all|last:N``) as a
personal scorer version.

The trainer writes one safetensors file: the image tower's tensors under ``visual.`` and the head's
under ``head.``, with the head's architecture in the ``culler_head`` metadata; the scorer row's config
carries ``backbone_tuned: true`` with that file's path and sha256. Its embeddings differ from the base
backbone's, so they are stored under the base key plus ``+ft-<sha12>``: the catalog never mixes them
with (or serves them in place of) the base backbone's cached vectors.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

_TUNED: dict[tuple[str, str], Any] = {}
_LOCK = threading.Lock()


def is_tuned(config: dict[str, Any]) -> bool:
    return bool(config.get("backbone_tuned") and config.get("head_file"))


def tuned_key(key: str, config: dict[str, Any]) -> str:
    """The embedding key of a fine-tuned backbone: the base key plus the personal file's sha."""
    if not is_tuned(config):
        return key
    return f"{key}+ft-{str(config.get('head_sha256') or '')[:12]}"


def _state(config: dict[str, Any]) -> dict[str, Any]:
    from culler.api import personal_state

    state = personal_state(config)
    assert state is not None  # is_tuned() checked the config names a file
    return state


def tuned_backbone(base: Any, config: dict[str, Any], device: str) -> Any:
    """``base`` (a loaded :class:`~culler_plugins.clip.backbone.Backbone`) with the personal image
    tower; one copy per file and device, shared by every scorer that uses it."""
    from culler_plugins.clip.backbone import Backbone

    sha = str(config.get("head_sha256") or "")
    with _LOCK:
        if (sha, device) not in _TUNED:
            prefix = "visual."
            visual = {
                k[len(prefix) :]: v for k, v in _state(config).items() if k.startswith(prefix)
            }
            model = copy.deepcopy(base.model)
            model.visual.load_state_dict(visual, strict=True)
            _TUNED[(sha, device)] = Backbone.from_model(
                model, base.model_name, base.pretrained, device, sha256=sha
            )
        return _TUNED[(sha, device)]


def tuned_head(config: dict[str, Any]) -> Any:
    """The head trained with the backbone, rebuilt from the file's metadata."""
    from culler.api import build_head, read_head_meta

    meta = read_head_meta(config["head_file"])
    head = build_head(
        meta["kind"], int(meta["in_dim"]), int(meta.get("outputs", 1)), meta.get("labels")
    )
    prefix = "head."
    state = {k[len(prefix) :]: v for k, v in _state(config).items() if k.startswith(prefix)}
    head.net.load_state_dict(state, strict=True)
    head.meta = meta
    return head.eval()
