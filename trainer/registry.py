"""Trained heads registered as new scorer versions, and moved between machines.

Head files (safetensors with the head's architecture in the metadata) are written and read by core
(``culler.api.save_head`` / ``load_head``), which scorers load them through too.
Registering a run adds a ``scorers`` row — version ``<base version>+personal-<sha8>``, weights sha256 =
the head file's, parent = the base row — and activates it; ``culler scan`` then instantiates the scorer
with that row's config, whose ``head_file`` / ``head_sha256`` name the head to load.
An export bundle is a zip of ``manifest.json`` and ``head.safetensors``.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

from culler.api import (
    WeightsError,
    get_scorer_class,
    load_head,
    load_personal_head,
    read_head_meta,
    save_head,
    scorer_dir,
    sha256_file,
)

__all__ = [
    "base_row",
    "export_model",
    "import_model",
    "register_head",
    # Head files are core's (culler.api); re-exported for the trainer's callers.
    "load_head",
    "load_personal_head",
    "read_head_meta",
    "save_head",
]

BUNDLE_FORMAT = "culler-personal-model/1"
#: Config keys that describe one personal head; stripped when a new head is trained on top.
PERSONAL_KEYS = ("version_tag", "head_file", "head_sha256", "head_kind", "parent", "trained")


#: The tag a personal version adds to its base version: ``+personal-`` and 8 hex digits of its sha256.
PERSONAL_TAG = re.compile(r"\+personal-[0-9a-f]+$")


def base_row(catalog: Any, scorer_id: str) -> dict[str, Any] | None:
    """The scorer row a new personal version descends from: the active one, when there is one."""
    return catalog.active_scorer(scorer_id)


def _base_version(catalog: Any, scorer_id: str, row: dict | None) -> str:
    """The version a personal one is built on: the installed plugin's, else the catalog's row less
    its personal tag (a plugin's own local tag, as in ``2.0+cu121``, stays part of it)."""
    try:
        return get_scorer_class(scorer_id).version
    except KeyError:
        return PERSONAL_TAG.sub("", row["version"]) if row else "1"


def register_head(
    catalog: Any,
    scorer_id: str,
    head_file: Path,
    details: dict[str, Any] | None = None,
    parent: int | None = None,
    activate: bool = True,
) -> int:
    """Install ``head_file`` under the scorer's model folder and add (and activate) its scorer row."""
    sha = sha256_file(head_file)
    meta = read_head_meta(head_file)
    dest = scorer_dir(scorer_id) / "personal" / f"{sha[:16]}.safetensors"
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(head_file, dest)
    row = base_row(catalog, scorer_id)
    if parent is None and row is not None:
        parent = row["id"]
    config = {k: v for k, v in (row["config"] if row else {}).items() if k not in PERSONAL_KEYS}
    tag = f"personal-{sha[:8]}"
    config.update(
        version_tag=tag,
        head_file=str(dest.resolve()),
        head_sha256=sha,
        head_kind=meta["kind"],
        parent=parent,
        **(details or {}),
    )
    version = f"{_base_version(catalog, scorer_id, row)}+{tag}"
    pk = catalog.scorer_pk(scorer_id, version, sha, config, parent=parent)
    if activate:
        catalog.activate_scorer(pk)
    return pk


# -- moving a personal model between machines ----------------------------------------------------
def export_model(catalog: Any, scorer_id: str, out: Path, pk: int | None = None) -> dict[str, Any]:
    """Write the active (or ``pk``) personal version of ``scorer_id`` to a bundle; return its manifest."""
    row = catalog.active_scorer(scorer_id) if pk is None else catalog.scorer_row(pk)
    if row is None or not row["config"].get("head_file"):
        raise ValueError(
            f"{scorer_id} has no personal model in this catalog; train one with "
            f"`culler train --db CATALOG --scorer {scorer_id}` first"
        )
    config = row["config"]
    head = Path(config["head_file"])
    if not head.exists() or sha256_file(head) != config["head_sha256"]:
        raise WeightsError(f"the head file {head} is missing or changed; train the model again")
    manifest = {
        "format": BUNDLE_FORMAT,
        "scorer_id": scorer_id,
        "version": row["version"],
        "weights_sha256": config["head_sha256"],
        "config": {k: v for k, v in config.items() if k not in ("head_file", "parent")},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True))
        zf.write(head, "head.safetensors")
    return manifest


def import_model(catalog: Any, bundle: Path, activate: bool = True) -> int:
    """Register a bundle's head in this catalog (parent = this catalog's base row); return its pk."""
    try:
        with zipfile.ZipFile(bundle) as zf:
            manifest = json.loads(zf.read("manifest.json"))
            data = zf.read("head.safetensors")
    except (zipfile.BadZipFile, KeyError) as exc:
        raise ValueError(f"{bundle} is not a culler model bundle ({exc})") from exc
    if manifest.get("format") != BUNDLE_FORMAT:
        raise ValueError(f"{bundle}: unknown bundle format {manifest.get('format')!r}")
    scorer_id = manifest["scorer_id"]
    staging = scorer_dir(scorer_id) / "personal" / "import.tmp"
    staging.parent.mkdir(parents=True, exist_ok=True)
    staging.write_bytes(data)  # safetensors only: nothing in a bundle is ever unpickled
    try:
        if sha256_file(staging) != manifest["weights_sha256"]:
            raise WeightsError(f"{bundle}: the head does not match its sha256 (damaged copy?)")
        read_head_meta(staging)
        details = {
            k: v
            for k, v in manifest["config"].items()
            if k not in PERSONAL_KEYS and k != "head_kind"
        }
        details["imported_from"] = manifest["version"]
        return register_head(catalog, scorer_id, staging, details, activate=activate)
    finally:
        staging.unlink(missing_ok=True)
