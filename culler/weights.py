"""Model weights: declared by scorers, installed into a cache directory, verified by sha256.

This module holds the pieces every learned scorer needs (``WeightSpec``, ``WeightsMissing``, the cache
directory and ``installed_path``). ``culler models pull|import|list`` builds on them.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs


@dataclass(frozen=True)
class WeightSpec:
    """One weight file a scorer needs.

    ``source`` says where ``culler models pull`` gets it: ``hf://repo/path/in/repo`` (Hugging Face hub),
    ``open_clip://MODEL/PRETRAINED`` or an https URL. ``sha256`` and ``size`` are checked on every install.
    """

    name: str
    source: str
    sha256: str
    size: int | None = None
    licence: str = ""
    description: str = ""


class WeightsMissing(Exception):
    """A learned scorer's weights are not installed. The message says which command fixes it."""

    def __init__(self, scorer_id: str, detail: str = "") -> None:
        self.scorer_id = scorer_id
        message = (
            f"{scorer_id}: weights not installed — run `culler models pull {scorer_id}` "
            f"(or `culler models import {scorer_id} FILE`)"
        )
        if detail:
            message += f"; {detail}"
        super().__init__(message)


class WeightsError(Exception):
    """A weight file is damaged, unsafe or does not match its sha256."""


def culler_home() -> Path:
    """Where culler keeps models and other per-user data: ``CULLER_HOME`` or the platform cache dir."""
    home = os.environ.get("CULLER_HOME")
    return Path(home) if home else Path(platformdirs.user_cache_dir("culler"))


def models_dir() -> Path:
    return culler_home() / "models"


def scorer_dir(scorer_id: str) -> Path:
    return models_dir() / scorer_id


def installed_path(scorer_id: str, spec: WeightSpec) -> Path:
    """Where ``spec`` lives once installed (it may not exist yet)."""
    return scorer_dir(scorer_id) / spec.name


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()
