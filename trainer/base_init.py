"""``--init``: the weights a new head starts from, and which file (sha256) they came from.

``--init base`` tries, in order, the catalog's active personal head and then every head file installed
for the base scorer, in whatever format the scorer's own ``convert_weights`` accepts (LAION's head is
installed as a ``.pth`` and is read through the CLIP plugin's converter). ``--init FILE`` takes one file
in any such format. Only a state whose tensor names and shapes match the new head is used; otherwise a
``base`` run starts from scratch and says so, while an explicit file that does not fit is an error.
"""

from __future__ import annotations

import argparse
import inspect
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from culler_trainer.models import Head

from culler.api import (
    WeightsError,
    get_scorer_class,
    installed_path,
    load_state_dict,
    sha256_file,
)


@dataclass
class InitSource:
    """Where a run's starting weights came from; ``describe()`` is what metrics and the run record."""

    label: str
    file: str = ""
    sha256: str = ""

    def describe(self) -> str:
        return f"{self.label} (sha256 {self.sha256})" if self.sha256 else self.label

    def as_dict(self) -> dict[str, str]:
        return {"from": self.label, "file": self.file, "sha256": self.sha256}


SCRATCH = InitSource("scratch")


def _compatible(state: dict[str, Any], head: Head) -> bool:
    own = head.net.state_dict()
    return set(state) == set(own) and all(
        hasattr(state[k], "shape") and tuple(state[k].shape) == tuple(own[k].shape) for k in own
    )


def _convert(scorer_cls: Any, path: Path, workdir: Path, config: dict[str, Any]) -> list[Path]:
    """The files ``path`` turns into through the scorer's converter (``path`` itself when it is a
    published file, installed unchanged); [] when the converter refuses it."""
    convert = getattr(scorer_cls, "convert_weights", None)
    if convert is None:
        return [path]
    try:
        takes_config = "config" in inspect.signature(convert).parameters
        out = convert(path, workdir, config) if takes_config else convert(path, workdir)
    except (WeightsError, ValueError, OSError):
        return []
    return [path] if out is None else [Path(p) for p in out.values()]


def _states(scorer_cls: Any, path: Path, config: dict[str, Any], workdir: Path):
    """Candidate states of one file: as it is, then as the scorer's converter reads it."""
    try:
        yield load_state_dict(path)
    except WeightsError:
        pass
    if scorer_cls is None:
        return
    for converted in _convert(scorer_cls, path, workdir, config):
        if converted != path:
            try:
                yield load_state_dict(converted)
            except WeightsError:
                continue


def _installed_heads(scorer_id: str, config: dict[str, Any]) -> tuple[Any, list[tuple[Path, str]]]:
    """The scorer class and its installed weight files that could be a head.

    Files shared with other scorers (``weight_holders``: the CLIP backbone) are backbones, never a head,
    and loading a 1.7 GB checkpoint to find that out would cost more than the training.
    """
    try:
        cls = get_scorer_class(scorer_id)
    except KeyError:
        return None, []
    specs = cls.weight_specs(config) if hasattr(cls, "weight_specs") else list(cls.weights)
    files = []
    for spec in specs:
        if cls.weight_holders(spec):
            continue
        path = installed_path(scorer_id, spec)
        if path.is_file():
            files.append((path, f"{scorer_id} {spec.name}"))
    return cls, files


def base_head_state(
    args: argparse.Namespace, head: Head, catalog: Any
) -> tuple[dict | None, InitSource]:
    """Weights to start ``head`` from, and their source; (None, SCRATCH) when nothing fits."""
    explicit = args.init not in ("base", "scratch")
    if args.init == "scratch":
        return None, SCRATCH
    row = catalog.active_scorer(args.scorer) if catalog is not None else None
    config = {k: v for k, v in (row["config"] if row else {}).items() if k != "head_file"}
    scorer_cls, installed = _installed_heads(args.scorer, config)
    candidates: list[tuple[Path, str]] = []
    if explicit:
        path = Path(args.init)
        if not path.is_file():
            raise FileNotFoundError(f"--init {path}: no such file")
        candidates.append((path, f"file {path.name}"))
    else:
        if row and row["config"].get("head_file"):
            candidates.append((Path(row["config"]["head_file"]), row["version"]))
        candidates.extend(installed)
    with tempfile.TemporaryDirectory(prefix="culler-init-") as tmp:
        for path, label in candidates:
            if not path.is_file():
                continue
            for state in _states(scorer_cls, path, config, Path(tmp)):
                if _compatible(state, head):
                    return state, InitSource(label, path.name, sha256_file(path))
    if explicit:
        raise ValueError(
            f"--init {args.init} does not fit a {head.kind} head on {head.meta['in_dim']} features "
            f"(neither as it is nor through {args.scorer}'s converter)"
        )
    return None, SCRATCH
