"""What a scorer needs and what of it is installed: the status ``culler models list`` prints and the
GUI's models panel shows (both call :func:`scorer_status`, so they always agree)."""

from __future__ import annotations

from typing import Any

from culler.models.weights import (
    WeightsError,
    WeightsMissing,
    WeightSpec,
    installed_path,
    manifest,
    resolve,
)
from culler.plugin.scorers import Scorer


def specs_of(cls: type[Scorer], config: dict[str, Any] | None = None) -> list[WeightSpec]:
    """The weight files ``cls`` needs with ``config`` (its ``weight_specs`` classmethod)."""
    return list(cls.weight_specs(dict(config or {})))


def holders(cls: type[Scorer], spec: WeightSpec) -> list[str]:
    """Scorer folders where an installed ``spec`` counts for ``cls``: its own first, then those its
    ``weight_holders`` names (one ViT-L-14 download serves clip-aesthetic and emotion)."""
    return [cls.id] + [s for s in cls.weight_holders(spec) if s != cls.id]


def file_status(cls: type[Scorer], spec: WeightSpec) -> dict[str, Any]:
    """One file's status: ``installed`` (verified), ``missing`` or ``damaged`` (sha256 mismatch).

    Verification is :func:`~culler.models.weights.resolve`'s: a file unchanged since its last check (same size
    and mtime) is not hashed again.
    """
    info: dict[str, Any] = {
        "name": spec.name,
        "source": spec.source,
        "size": spec.size,
        "licence": spec.licence,
        "description": spec.description,
        "published_sha256": spec.sha256,
        "sha256": spec.sha256,
        "status": "missing",
        "installed_by": "",
        "installed": "",
        "origin": "",
        "holder": "",
        "detail": "",
    }
    for holder in holders(cls, spec):
        if not installed_path(holder, spec).is_file():
            continue
        try:
            path = resolve(holder, spec)
            info["status"] = "installed"
        except WeightsMissing:
            continue
        except WeightsError as exc:
            info.update(status="damaged", detail=str(exc))
            path = installed_path(holder, spec)
        entry = manifest(holder).get(spec.name) or {}
        info.update(
            holder=holder,
            path=str(path),
            size=entry.get("size", spec.size),
            installed_by=entry.get("source", ""),
            installed=entry.get("installed", ""),
            origin=entry.get("origin", ""),
        )
        if info["status"] == "installed":
            info["sha256"] = entry.get("sha256", spec.sha256)
        return info
    return info


def scorer_status(cls: type[Scorer], config: dict[str, Any] | None = None) -> dict[str, Any]:
    """A scorer's weights as ``culler models list`` shows them: files, overall status, fix command."""
    specs = specs_of(cls, config)
    files = [file_status(cls, spec) for spec in specs]
    statuses = {f["status"] for f in files}
    if not files:
        status = "none needed"
    elif statuses == {"installed"}:
        status = "installed"
    elif "damaged" in statuses:
        status = "damaged"
    else:
        status = "missing"
    pullable = bool(specs) and all(spec.source for spec in specs)
    command = ""
    if status in ("missing", "damaged"):
        command = (
            f"culler models pull {cls.id}" if pullable else f"culler models import {cls.id} FILE"
        )
    return {
        "scorer": cls.id,
        "plugin": cls.plugin_name or "",
        "status": status,
        "pullable": pullable,
        "command": command,
        "files": files,
    }


def weights_status(cls: type[Scorer]) -> tuple[str, str]:
    """(``none needed`` | ``installed`` | ``missing`` | ``damaged``, the command that fixes it), with the
    scorer's default config: what the GUI's models panel shows, identical to ``culler models list``."""
    info = scorer_status(cls)
    return info["status"], info["command"]
