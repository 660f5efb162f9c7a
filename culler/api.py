"""The public plugin API: everything a plugin needs, importable from one module.

A plugin writes ``from culler.api import hookimpl, Scorer, ScoreResult`` and never imports other core
modules, so core can be reorganised without breaking plugins. Each name is documented in docs/plugins.md.
"""

from culler.hookspecs import hookimpl
from culler.scorers import ROLES, EmbeddingScorer, Scorer, ScoreResult
from culler.weights import (
    EnabledWhenInstalled,
    WeightsError,
    WeightsMissing,
    WeightSpec,
    load_state_dict,
    scorer_dir,
    sha256_file,
    state_mismatch,
)

__all__ = [
    "ROLES",
    "EmbeddingScorer",
    "EnabledWhenInstalled",
    "ScoreResult",
    "Scorer",
    "WeightSpec",
    "WeightsError",
    "WeightsMissing",
    "hookimpl",
    "load_state_dict",
    "scorer_dir",
    "sha256_file",
    "state_mismatch",
]
