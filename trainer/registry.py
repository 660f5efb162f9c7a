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
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from culler.api import (
    WeightsError,
    WeightsMissing,
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
def export_model(
    catalog: Any, scorer_id: str, out: Path, pk: int | None = None, force: bool = False
) -> dict[str, Any]:
    """Write the active (or ``pk``) personal version of ``scorer_id`` to a bundle; return its manifest.

    An existing ``out`` is never overwritten, except an earlier culler bundle with ``force``: the
    bundle is written beside it and renamed into place only once complete.
    """
    row = catalog.active_scorer(scorer_id) if pk is None else catalog.scorer_row(pk)
    if row is not None and row["scorer_id"] != scorer_id:
        raise ValueError(
            f"scorer version #{pk} belongs to {row['scorer_id']}, not {scorer_id}; run "
            f"`culler models export {row['scorer_id']} --version-id {pk}`, or give {scorer_id}'s own "
            "version id"
        )
    if row is None or not row["config"].get("head_file"):
        raise ValueError(
            f"{scorer_id} has no personal model in this catalog; train one with "
            f"`culler train --db CATALOG --scorer {scorer_id}` first"
        )
    config = row["config"]
    head = Path(config["head_file"])
    if not head.exists() or sha256_file(head) != config["head_sha256"]:
        raise WeightsError(f"the head file {head} is missing or changed; train the model again")
    _check_output(out, force)
    manifest = {
        "format": BUNDLE_FORMAT,
        "scorer_id": scorer_id,
        "version": row["version"],
        "weights_sha256": config["head_sha256"],
        "config": {k: v for k, v in config.items() if k not in ("head_file", "parent")},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(tmp, "x", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True))
            zf.write(head, "head.safetensors")
        if force:
            os.replace(tmp, out)  # only ever over a bundle (_check_output)
        else:
            os.link(tmp, out)  # fails if a file appeared at ``out`` meanwhile: nothing replaced
    except FileExistsError:
        raise ValueError(
            f"{out} already exists; choose another -o name, or delete it first"
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
    return manifest


def _check_output(out: Path, force: bool) -> None:
    """Refuse an ``-o`` that names anything culler did not make as a bundle (a catalog, a photo, the
    head file itself); with ``force``, an earlier bundle may be replaced."""
    if not os.path.lexists(out):
        return
    if force and out.is_file() and not out.is_symlink() and _is_bundle(out):
        return
    why = "" if not force else " and is not a culler model bundle (--force replaces only bundles)"
    raise ValueError(
        f"{out} already exists{why}; nothing was written. Choose another -o name"
        + ("" if force else ", or pass --force to replace an earlier bundle")
    )


def _is_bundle(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (OSError, zipfile.BadZipFile, ValueError):
        return False
    return names == {"manifest.json", "head.safetensors"}


#: A bundle's manifest is a few hundred bytes; anything much larger is not one.
MAX_MANIFEST_BYTES = 1 << 20
#: Settings a bundle may not carry: they name files on the machine that made it (or any file).
_PATH_SETTINGS = ("pretrained", "checkpoint", "weights", "model_file", "weights_file")


def read_manifest(bundle: Path, path: Path) -> dict[str, Any]:
    """The bundle's manifest, checked for every field an import uses (ValueError names what is wrong)."""
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise ValueError(f"{bundle}: its manifest.json is larger than any bundle's; not imported")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:
        raise ValueError(
            f"{bundle}: its manifest.json is not valid JSON ({exc}); export the model again"
        ) from None
    if not isinstance(manifest, dict):
        raise ValueError(
            f"{bundle}: its manifest.json holds a {type(manifest).__name__}, not a table; export "
            "the model again"
        )
    if manifest.get("format") != BUNDLE_FORMAT:
        raise ValueError(f"{bundle}: unknown bundle format {manifest.get('format')!r}")
    expected = {"scorer_id": str, "version": str, "weights_sha256": str, "config": dict}
    for key, kind in expected.items():
        if not isinstance(manifest.get(key), kind):
            found = "missing" if key not in manifest else f"a {type(manifest[key]).__name__}"
            raise ValueError(
                f"{bundle}: the manifest's {key!r} is {found}, not a {kind.__name__}; the bundle "
                "is damaged or not culler's — export the model again"
            )
    if not re.fullmatch(r"[0-9a-f]{64}", manifest["weights_sha256"]):
        raise ValueError(f"{bundle}: the manifest's weights_sha256 is not a sha256; not imported")
    return manifest


def _check_settings(bundle: Path, scorer_id: str, config: dict[str, Any]) -> None:
    for key in _PATH_SETTINGS:
        value = config.get(key)
        if isinstance(value, str) and (
            os.sep in value or "/" in value or "\\" in value or value.startswith(("~", "."))
        ):
            raise ValueError(
                f"{bundle}: its {scorer_id} setting {key}={value!r} names a file; a bundle carries "
                "its head only — nothing was imported"
            )


def _trial_load(bundle: Path, scorer_id: str, config: dict[str, Any]) -> None:
    """Load the scorer with the bundle's head and settings, as the next scan would, before anything
    is installed: a head of the wrong shape or kind, or settings the scorer refuses, stop here."""
    cls = get_scorer_class(scorer_id)
    try:
        scorer = cls(config)
        scorer.load("cpu")
    except WeightsMissing as exc:
        raise WeightsError(
            f"{bundle}: {scorer_id}'s own weights are not installed here, so the bundle cannot be "
            f"checked ({exc}); install them (`culler models list` says how), then import it again"
        ) from None
    except Exception as exc:  # a plugin's load() raises its own errors: all mean "does not fit"
        raise WeightsError(
            f"{bundle}: {scorer_id} cannot use this personal model ({str(exc).strip() or exc!r}); "
            "nothing was imported"
        ) from None
    finally:
        close = getattr(locals().get("scorer"), "close", None)
        if callable(close):
            close()


def import_model(catalog: Any, bundle: Path, activate: bool = True) -> int:
    """Register a bundle's head in this catalog (parent = this catalog's base row); return its pk.

    Every member's size is checked before anything is unpacked, the manifest's fields and the head
    are checked, and the installed scorer loads the head with the bundle's settings: only then is it
    installed (and activated).
    """
    from culler.api import RefusedFile, models_dir, open_regular, unpack_members

    try:
        open_regular(bundle).close()  # a FIFO or a device named *.cullermodel would block
    except RefusedFile as exc:
        raise ValueError(f"{bundle}: {exc}") from None
    staging_root = models_dir()
    staging_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".import-", dir=staging_root) as tmp:
        try:
            files = unpack_members(
                bundle, ("manifest.json", "head.safetensors"), Path(tmp), "culler model bundle"
            )
        except WeightsError as exc:
            if "is not a" in str(exc):
                raise ValueError(f"{bundle} is not a culler model bundle ({exc})") from None
            raise
        manifest = read_manifest(bundle, files["manifest.json"])
        scorer_id = manifest["scorer_id"]
        scorer_dir(scorer_id)  # a scorer id that is a path is refused before anything else
        try:
            get_scorer_class(scorer_id)
        except KeyError as exc:
            raise ValueError(
                f"{bundle}: {str(exc).strip(chr(39) + chr(34))}; install the plugin that provides "
                f"{scorer_id!r}, then import the bundle again"
            ) from None
        staging = files["head.safetensors"]
        if sha256_file(staging) != manifest["weights_sha256"]:
            raise WeightsError(f"{bundle}: the head does not match its sha256 (damaged copy?)")
        meta = read_head_meta(staging)
        details = {
            k: v
            for k, v in manifest["config"].items()
            if k not in PERSONAL_KEYS and k != "head_kind"
        }
        _check_settings(bundle, scorer_id, details)
        row = base_row(catalog, scorer_id)
        trial = {k: v for k, v in (row["config"] if row else {}).items() if k not in PERSONAL_KEYS}
        trial.update(details)
        trial.update(
            version_tag="personal-import-check",
            head_file=str(staging),
            head_sha256=manifest["weights_sha256"],
            head_kind=meta["kind"],
        )
        _trial_load(bundle, scorer_id, trial)
        details["imported_from"] = manifest["version"]
        return register_head(catalog, scorer_id, staging, details, activate=activate)
