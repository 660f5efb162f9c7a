"""Networks ``culler train`` can build, declared by the plugins whose scorers load the result.

The trainer never imports a plugin: it asks the ``register_trainable_models`` hook. The CLIP plugin
offers its ``mlp``, ``distribution`` and ``prompts`` heads (so a trained head file loads in its scorer unchanged),
SAAN and CharLeNet offer their whole networks and the preprocessing their scorers use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from culler.plugin import manager as plugin_manager

#: What a trainable model is trained on: cached embeddings (a head) or the images themselves.
TRAINABLE_KINDS = ("head", "image")


@dataclass(frozen=True)
class TrainableModel:
    """A network ``culler train --model NAME`` builds.

    ``build`` makes a fresh ``torch.nn.Module``: for a ``head``, ``build(in_dim, outputs)`` returns a
    module from (B, in_dim) features; for an ``image`` network, ``build(outputs, settings)`` (settings:
    the trainer's options as a dict, e.g. ``settings["norm"]`` for SAAN) returns a module from image
    tensors. ``preprocess`` (image networks) turns an RGB ``PIL.Image`` into the tensor the scorer feeds
    the network, so training and scoring see the same pixels; ``train_preprocess`` does the same for
    training images when the network's paper augments them (SAAN's flips). ``start(net, init)``
    (image networks) loads the weights training starts from into a fresh network (``init`` is
    ``--init``: ``base``, ``scratch`` or a file) and returns where they came from (``from``, ``file``,
    ``sha256``), or raises when the network must not train from random weights. ``scorer`` is the
    scorer id that loads what is trained.
    """

    name: str
    kind: str
    build: Callable[..., Any]
    scorer: str = ""
    preprocess: Callable[[Any], Any] | None = None
    description: str = ""
    train_preprocess: Callable[[Any], Any] | None = None
    start: Callable[[Any, str], dict[str, str]] | None = None

    def problems(self) -> list[str]:
        """Why this declaration cannot be used (empty when it is fine)."""
        problems = []
        if not self.name or not isinstance(self.name, str):
            problems.append("a trainable model needs a string name")
        if self.kind not in TRAINABLE_KINDS:
            problems.append(f"kind must be one of {TRAINABLE_KINDS}, not {self.kind!r}")
        if not callable(self.build):
            problems.append("build must be callable")
        return problems


def trainable_models() -> dict[str, TrainableModel]:
    """Every trainable model the loaded plugins declare, by name (the first plugin to claim a name
    keeps it; a broken declaration marks its plugin failed, as for scorers)."""
    found: dict[str, TrainableModel] = {}

    def register(model: TrainableModel) -> None:
        if not isinstance(model, TrainableModel):
            raise TypeError(f"register() takes a culler.api.TrainableModel, got {model!r}")
        problems = model.problems()
        if problems:
            raise ValueError(f"trainable model {model.name!r}: {'; '.join(problems)}")
        found.setdefault(model.name, model)

    plugin_manager.call_safely("register_trainable_models", register=register)
    return found
