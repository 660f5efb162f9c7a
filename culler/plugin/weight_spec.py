"""What a scorer declares about its weight files: part of the Scorer contract (:mod:`culler.api`).

:mod:`culler.models.weights` installs and verifies the files these describe.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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


@dataclass(frozen=True)
class FetchedWeights:
    """What a scorer's :meth:`~culler.api.Scorer.fetch_weights` downloaded for one spec.

    ``files`` maps weight file names to downloaded (or converted) files, and must hold ``spec.name``.
    ``origin`` is where they came from (recorded in the manifest). ``origin_sha256`` is empty when the
    file is the published one, which is then checked against ``spec.sha256``; when the files were
    converted from another download, it is that download's sha256 and the files are recorded as they are.
    """

    files: dict[str, Path]
    origin: str
    origin_sha256: str = ""
