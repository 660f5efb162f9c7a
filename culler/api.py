"""The public plugin API: everything a plugin (and the trainer) needs, importable from one module.

A plugin writes ``from culler.api import hookimpl, Scorer, ScoreResult`` and never imports other core
modules, so core can be reorganised without breaking plugins (tests/test_plugin_api.py fails when a
first-party plugin or example imports anything else). Each name is documented in docs/plugins.md.

Importing this module stays cheap (no torch): decode workers and every ``culler`` command import the
plugins, which import it. The personal-head names (:data:`_TORCH_NAMES`) import torch on first use, ``Downloads`` the network stack.
"""

from __future__ import annotations

import importlib
from typing import Any

from culler.devices import place_conv_net
from culler.imaging.clipping import (
    HIGHLIGHT_LEVEL,
    SHADOW_LEVEL,
    clipping,
    clipping_from_histogram,
    luminance_histogram,
)
from culler.imaging.images import (
    ImageError,
    PhotoInfo,
    decode_pil,
    open_photo,
    os_error_reason,
    read_metadata,
)
from culler.models.archives import unpack_members
from culler.models.weights import (
    EnabledWhenInstalled,
    FetchedWeights,
    NotOnHub,
    PullError,
    WeightsError,
    WeightsMissing,
    WeightSpec,
    check_zip_members,
    culler_home,
    expected_sha256,
    install_file,
    installed_path,
    load_state_dict,
    manifest,
    models_dir,
    resolve,
    scorer_dir,
    sha256_file,
    state_mismatch,
)
from culler.plugin.hookspecs import hookimpl
from culler.plugin.scorers import (
    ROLES,
    SHOOTING_KEY,
    SMALL_COPY_KEY,
    EmbeddingScorer,
    Scorer,
    ScoreResult,
    get_scorer_class,
    get_scorer_classes,
)
from culler.plugin.trainable import TrainableModel, trainable_models
from culler.safe_files import RefusedFile, open_regular, read_regular

#: Names that need torch (or the network stack): resolved from their module when first used.
_LAZY_NAMES = {
    "Downloads": "culler.models.pull",
    # Regrouping reads and writes the whole catalog: the grouping plugin runs it after each scan.
    "update_groups": "culler.decide.cull",
    "backfill_signatures": "culler.decide.frames",
    # Clusters the catalog's new faces into people: the faces plugin runs it after each scan.
    "update_people": "culler.decide.people",
    # The personal ranker (culler train --model ranker): learned and measured on held-out shoots.
    "train_personal_ranker": "culler.decide.ranker_training",
    "ranker_marks": "culler.decide.agreement",
}
_TORCH_NAMES = (
    "Head",
    "Standardize",
    "build_head",
    "fit_inputs",
    "head_output",
    "load_head",
    "load_personal_head",
    "mean_score",
    "personal_state",
    "read_head_meta",
    "save_head",
)


def __getattr__(name: str) -> Any:
    if name in _TORCH_NAMES:
        return getattr(importlib.import_module("culler.models.personal_heads"), name)
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(_LAZY_NAMES[name]), name)
    raise AttributeError(f"module 'culler.api' has no attribute {name!r}")


__all__ = [
    "HIGHLIGHT_LEVEL",
    "ROLES",
    "SHOOTING_KEY",
    "SHADOW_LEVEL",
    "SMALL_COPY_KEY",
    "EmbeddingScorer",
    "EnabledWhenInstalled",
    "FetchedWeights",
    "ImageError",
    "NotOnHub",
    "PhotoInfo",
    "PullError",
    "RefusedFile",
    "ScoreResult",
    "Scorer",
    "TrainableModel",
    "WeightSpec",
    "WeightsError",
    "WeightsMissing",
    "check_zip_members",
    "clipping",
    "clipping_from_histogram",
    "culler_home",
    "decode_pil",
    "expected_sha256",
    "get_scorer_class",
    "get_scorer_classes",
    "hookimpl",
    "install_file",
    "installed_path",
    "load_state_dict",
    "luminance_histogram",
    "manifest",
    "models_dir",
    "open_photo",
    "open_regular",
    "os_error_reason",
    "place_conv_net",
    "read_metadata",
    "read_regular",
    "resolve",
    "scorer_dir",
    "sha256_file",
    "state_mismatch",
    "trainable_models",
    "unpack_members",
    *_TORCH_NAMES,
    *_LAZY_NAMES,
]
