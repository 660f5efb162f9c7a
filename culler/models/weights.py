"""Model weights: declared by scorers, installed into a cache directory, verified by sha256.

This module holds the pieces every learned scorer needs (``WeightSpec``, ``WeightsMissing``, the cache
directory and ``installed_path``). ``culler models pull|import|list`` builds on them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import struct
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import platformdirs

from culler.plugin.weight_spec import FetchedWeights, WeightSpec
from culler.safe_files import open_regular

__all__ = [
    "FetchedWeights",
    "WeightSpec",
]  # the scorer contract declares them; kept importable here


def torch_available() -> bool:
    """Whether PyTorch can be imported (the torch-free desktop bundle leaves it out); not imported."""
    return importlib.util.find_spec("torch") is not None


class WeightsMissing(Exception):
    """A learned scorer's weights are not installed. The message says which command fixes it.

    Without PyTorch (the torch-free bundle) no weights would help: the message says the learned
    scorers need the full install instead of sending the user to ``culler models pull``.
    """

    def __init__(self, scorer_id: str, detail: str = "") -> None:
        self.scorer_id = scorer_id
        if not torch_available():
            super().__init__(
                f"{scorer_id}: learned scorers need the full install of culler (this one has no "
                "PyTorch); the technical scorer works here — install culler with pip as the README "
                "says to use learned scorers"
            )
            return
        message = (
            f"{scorer_id}: weights not installed — run `culler models pull {scorer_id}` "
            f"(or `culler models import {scorer_id} FILE`)"
        )
        if detail:
            message += f"; {detail}"
        super().__init__(message)


class WeightsError(Exception):
    """A weight file is damaged, unsafe or does not match its sha256."""


class PullError(WeightsError):
    """A download failed or cannot be made; the message names the file and the way out."""


class NotOnHub(PullError):
    """The Hugging Face hub answered, but has no such repository or file (a scorer may try another)."""


def culler_home() -> Path:
    """Where culler keeps models and other per-user data: ``CULLER_HOME`` or the platform cache dir."""
    home = os.environ.get("CULLER_HOME")
    return Path(home) if home else Path(platformdirs.user_cache_dir("culler"))


def writable_home() -> Path:
    """:func:`culler_home`, created if needed; :class:`WeightsError` when it is not a folder culler can
    write to (a file, a read-only place), said before any work starts rather than as a traceback."""
    home = culler_home()
    where = f"CULLER_HOME={home}" if os.environ.get("CULLER_HOME") else str(home)
    fix = "set CULLER_HOME to a folder you can write to" + (
        " (or unset it)" if os.environ.get("CULLER_HOME") else ""
    )
    try:
        home.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise WeightsError(f"{where} is a file, not a folder; {fix}") from None
    except OSError as exc:
        raise WeightsError(f"{where} cannot be created ({exc.strerror or exc}); {fix}") from None
    if not home.is_dir():
        raise WeightsError(f"{where} is not a folder; {fix}")
    if not os.access(home, os.W_OK | os.X_OK):
        raise WeightsError(f"{where} is not writable; {fix}")
    return home


def models_dir() -> Path:
    return culler_home() / "models"


#: What a scorer id may look like wherever it names a folder: letters, digits, '.', '_', '-' and '+'
#: (personal versions), starting with a letter or digit. No separators, no "..", nothing absolute.
SCORER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")


def scorer_dir(scorer_id: str) -> Path:
    """The folder of a scorer's weights, inside :func:`models_dir` whatever the id says.

    Ids come from plugins, arguments and bundle manifests, so they are checked before any path is made
    from them: ``culler models remove ..`` or a bundle naming ``../../x`` must never reach outside.
    """
    if not isinstance(scorer_id, str) or not SCORER_ID.fullmatch(scorer_id) or ".." in scorer_id:
        raise WeightsError(
            f"{scorer_id!r} is not a valid scorer id (letters, digits, '.', '_', '-', '+'; "
            "run `culler models list` to see the installed ones)"
        )
    root = models_dir().resolve()
    folder = (root / scorer_id).resolve()
    if folder.parent != root:
        raise WeightsError(f"scorer id {scorer_id!r} resolves outside {root}; refused")
    return root / scorer_id


def installed_path(scorer_id: str, spec: WeightSpec) -> Path:
    """Where ``spec`` lives once installed (it may not exist yet)."""
    return scorer_dir(scorer_id) / spec.name


class EnabledWhenInstalled:
    """A ``default_enabled`` for import-only scorers: true once one of ``names`` is installed.

    Nothing can be pulled for such a scorer (SAAN, CharLeNet), so a plain ``culler scan`` of a user who
    never imported a file stays quiet about it; once imported, the scorer runs by default. One stat per
    name per scan; ``--scorer ID`` still runs it and reports what is missing.
    """

    def __init__(self, *names: str) -> None:
        self.names = names

    def __get__(self, obj: object, owner: type) -> bool:
        directory = scorer_dir(owner.id)
        return any((directory / name).is_file() for name in self.names)


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open_regular(path) as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


# -- installed files: a manifest per scorer, atomic installs, verified loads ---------------------
MANIFEST = "manifest.json"


def manifest(scorer_id: str) -> dict[str, dict[str, Any]]:
    """What is installed for ``scorer_id``: ``{file name: {sha256, size, source, origin, installed}}``.

    ``source`` is ``pull`` or ``import``; imported files may be converted (their sha256 is then the
    converted file's, and ``origin_sha256`` the user's file's).
    """
    path = scorer_dir(scorer_id) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_manifest(scorer_id: str, data: dict[str, dict[str, Any]]) -> None:
    directory = scorer_dir(scorer_id)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{MANIFEST}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, directory / MANIFEST)


def _safe_name(name: str) -> str:
    """Weight file names are plain names inside the scorer's folder: no separators, no ``..``."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        raise WeightsError(f"refusing weight file name {name!r}: it must be a plain file name")
    return name


def install_file(
    scorer_id: str,
    name: str,
    src: str | os.PathLike,
    expected_sha256: str | None = None,
    source: str = "import",
    origin: str = "",
    origin_sha256: str = "",
) -> Path:
    """Copy ``src`` into the scorer's folder as ``name``, atomically, and record it in the manifest.

    When ``expected_sha256`` is given and the copy does not match, nothing is installed and the file
    already there (if any) stays as it was. Returns the installed path.
    """
    directory = scorer_dir(scorer_id)
    directory.mkdir(parents=True, exist_ok=True)
    dest = directory / _safe_name(name)
    tmp = directory / f".{name}.{os.getpid()}.partial"
    digest = hashlib.sha256()
    size = 0
    try:
        with open_regular(src) as fin, open(tmp, "wb") as fout:
            while block := fin.read(1 << 20):
                digest.update(block)
                fout.write(block)
                size += len(block)
            fout.flush()
            os.fsync(fout.fileno())
        sha = digest.hexdigest()
        if expected_sha256 and sha != expected_sha256.lower():
            raise WeightsError(
                f"{scorer_id}: {name} does not match its published sha256 "
                f"(expected {expected_sha256[:12]}…, got {sha[:12]}…); nothing was installed — "
                "the download may be damaged or the file is not the one this scorer needs"
            )
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    data = manifest(scorer_id)
    stat = dest.stat()
    data[name] = {
        "sha256": sha,
        "size": size,
        "source": source,
        "origin": origin or os.fspath(src),
        "origin_sha256": origin_sha256 or sha,
        "installed": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "verified_stat": [stat.st_size, stat.st_mtime_ns],
    }
    _write_manifest(scorer_id, data)
    return dest


def expected_sha256(scorer_id: str, spec: WeightSpec) -> str:
    """The sha256 an installed file must have: the manifest's (imports may be converted), else the spec's."""
    entry = manifest(scorer_id).get(spec.name)
    return (entry or {}).get("sha256") or spec.sha256


def resolve(scorer_id: str, spec: WeightSpec) -> Path:
    """The verified, installed path of ``spec``, for a scorer's ``load()``.

    Raises :class:`WeightsMissing` when the file is not installed, :class:`WeightsError` when it no
    longer matches its sha256. The full hash runs once per change of the file (size, mtime_ns): a
    ViT-L-14 checkpoint is not re-hashed on every scan.
    """
    path = installed_path(scorer_id, spec)
    if not path.is_file():
        raise WeightsMissing(scorer_id, f"{spec.name} is not in {path.parent}")
    data = manifest(scorer_id)
    entry = data.get(spec.name)
    stat = path.stat()
    want = expected_sha256(scorer_id, spec)
    if (
        entry
        and entry.get("verified_stat") == [stat.st_size, stat.st_mtime_ns]
        and entry.get("sha256") == want
    ):
        return path
    got = sha256_file(path)
    if want and got != want:
        raise WeightsError(
            f"{scorer_id}: {path} does not match its sha256 (expected {want[:12]}…, got {got[:12]}…); "
            f"reinstall it with `culler models pull {scorer_id}` or `culler models import {scorer_id} FILE`"
        )
    entry = dict(entry or {"source": "unknown", "origin": str(path)})
    entry.update(sha256=got, size=stat.st_size, verified_stat=[stat.st_size, stat.st_mtime_ns])
    data[spec.name] = entry
    _write_manifest(scorer_id, data)
    return path


def is_safetensors(path: str | os.PathLike) -> bool:
    """Whether ``path`` holds safetensors (an 8-byte header length, then a JSON header), whatever
    its name says. Only a regular file is opened (a FIFO would block)."""
    with open_regular(path) as fh:
        head = fh.read(9)
    return len(head) == 9 and head[8:9] == b"{"


#: A safetensors header is a JSON table of tensor names, dtypes, shapes and offsets: a few hundred
#: kilobytes for the largest CLIP backbones. Larger headers, or more tensors, are not weights culler
#: uses, and parsing one would take seconds and gigabytes.
MAX_HEADER_BYTES = 16 << 20
MAX_TENSORS = 100_000
#: Bytes per element of the dtypes safetensors defines.
_DTYPE_BYTES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
    "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}  # fmt: skip


def check_safetensors(path: str | os.PathLike) -> None:
    """Refuse, quickly and with :class:`WeightsError`, a safetensors file whose header does not fit
    the file: a header length or tensor offsets beyond its size, too many tensors, a tensor whose
    size is not its shape's. Reads only the header, with the size known before reading it."""
    path = Path(path)
    with open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        head = fh.read(8)
        (length,) = struct.unpack("<Q", head) if len(head) == 8 else (0,)
        if not 2 <= length <= size - 8:
            raise WeightsError(
                f"{path.name}: safetensors header claims {length} bytes, but the file has {size}; "
                "the file is damaged or not weights — nothing was loaded"
            )
        if length > MAX_HEADER_BYTES:
            raise WeightsError(
                f"{path.name}: safetensors header of {length >> 20} MB is larger than any weights' "
                f"(limit {MAX_HEADER_BYTES >> 20} MB); the file is not weights culler uses — "
                "nothing was loaded"
            )
        raw = fh.read(length)
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise WeightsError(f"{path.name}: safetensors header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise WeightsError(f"{path.name}: safetensors header is not a table of tensors")
    header.pop("__metadata__", None)
    if len(header) > MAX_TENSORS:
        raise WeightsError(
            f"{path.name}: {len(header)} tensors is more than culler loads ({MAX_TENSORS}); "
            "the file is damaged or not weights — nothing was loaded"
        )
    data_size = size - 8 - length
    for name, entry in header.items():
        problem = _tensor_problem(entry, data_size)
        if problem:
            raise WeightsError(
                f"{path.name}: tensor {str(name)[:80]!r} {problem}; the file is damaged or not "
                "weights — nothing was loaded"
            )


def _tensor_problem(entry: Any, data_size: int) -> str:
    """What is wrong with one header entry ("" when nothing)."""
    if not isinstance(entry, dict):
        return "is not described by a table"
    itemsize = _DTYPE_BYTES.get(entry.get("dtype"))  # type: ignore[arg-type]
    shape, offsets = entry.get("shape"), entry.get("data_offsets")
    if itemsize is None:
        return f"has an unknown dtype {str(entry.get('dtype'))[:20]!r}"
    if not isinstance(shape, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2**48 for n in shape
    ):
        return "has an invalid shape"
    if not (
        isinstance(offsets, list)
        and len(offsets) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) for n in offsets)
        and 0 <= offsets[0] <= offsets[1] <= data_size
    ):
        return f"lies outside the file's {data_size} data bytes"
    count = 1
    for n in shape:
        count *= n
    if count * itemsize != offsets[1] - offsets[0]:
        return f"has {offsets[1] - offsets[0]} bytes for a shape of {count} elements"
    return ""


#: What a zip container (a weights archive, a bundle, an ``.npz``, a torch zip checkpoint) may unpack
#: to, checked from its table of contents before anything is inflated (a few kilobytes of zeros
#: compress into gigabytes). Weights barely compress (floats), so a container may unpack to at most
#: ZIP_MAX_RATIO times its own size, ZIP_MIN_ALLOWANCE for small ones. ``culler.models.archives``
#: applies the same limits to .zip/.tar archives.
ZIP_MAX_MEMBERS = 1000
ZIP_MAX_TOTAL_BYTES = 64 << 30
ZIP_MAX_RATIO = 20
ZIP_MIN_ALLOWANCE = 256 << 20


def zip_allowance(size: int) -> int:
    """The most bytes a container of ``size`` bytes may unpack to."""
    return min(ZIP_MAX_TOTAL_BYTES, max(ZIP_MIN_ALLOWANCE, ZIP_MAX_RATIO * size))


def check_zip_members(path: str | os.PathLike, what: str = "file") -> None:
    """Refuse with WeightsError, from its table of contents and before anything is decompressed, a
    zip container (a bundle, a numpy ``.npz``, a torch zip checkpoint) with more members or more
    unpacked bytes than a weights archive may have; a file that is not a zip passes unchanged."""
    import zipfile

    path = Path(path)
    with open_regular(path) as fh:  # a FIFO named model.pth must not block
        if not zipfile.is_zipfile(fh):
            return
        size = os.fstat(fh.fileno()).st_size
        limit = zip_allowance(size)
        try:
            with zipfile.ZipFile(fh) as zf:
                infos = [i for i in zf.infolist() if not i.is_dir()]
        except (zipfile.BadZipFile, EOFError, ValueError) as exc:
            raise WeightsError(f"{path.name} is not a readable {what}: {exc}") from None
    if len(infos) > ZIP_MAX_MEMBERS:
        raise WeightsError(
            f"{path.name}: more than {ZIP_MAX_MEMBERS} members, more than any {what} holds; "
            "nothing was loaded"
        )
    total = 0
    for info in infos:
        total += max(0, info.file_size)
        if total > limit:
            raise WeightsError(
                f"{path.name}: unpacks to more than {_size_text(limit)} (member "
                f"{info.filename[:80]!r} brings it to {_size_text(total)}; the file is "
                f"{_size_text(size)}) — a decompression bomb or not a {what}; nothing was loaded"
            )


def _size_text(n: int) -> str:
    return f"{n / (1 << 20):.0f} MB" if n >= 1 << 20 else f"{n / 1024:.0f} KB"


def load_state_dict(path: str | os.PathLike, sha256: str | None = None) -> dict[str, Any]:
    """Load tensors safely, by content rather than name: safetensors, else a plain torch checkpoint
    through ``torch.load(weights_only=True)`` (``.pt``/``.pth``/``.bin``, or a renamed file).

    A pickle that would run code or build arbitrary objects is refused with :class:`WeightsError`.
    """
    path = Path(path)
    if sha256 and sha256_file(path) != sha256.lower():
        raise WeightsError(f"{path} does not match its sha256 {sha256[:12]}…; refusing to load it")
    # By content, and by name too: torch hands a ``.safetensors`` file to safetensors whatever its
    # header starts with, so such a file always passes culler's header check first.
    if is_safetensors(path) or path.suffix.lower() == ".safetensors":
        from safetensors.torch import load_file

        check_safetensors(path)
        try:
            return load_file(str(path))
        except Exception as exc:  # safetensors raises its own error types across versions
            raise WeightsError(f"{path} is not a valid safetensors file: {exc}") from exc
    import pickle

    import torch

    check_zip_members(path, "checkpoint")  # a zip checkpoint's members, before torch inflates them
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, AttributeError) as exc:
        raise WeightsError(
            f"refused to load {path}: it is not a plain tensor checkpoint (it may contain code or "
            f"objects that torch.load(weights_only=True) will not run): {exc}"
        ) from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise WeightsError(f"{path} holds a {type(state).__name__}, not a dict of tensors")
    return state


def state_mismatch(state: dict[str, Any], expected: dict[str, Any]) -> str:
    """ "" when ``state`` has exactly the tensor names and shapes of ``expected`` (a model's
    ``state_dict()``), else a short description for an error message ("3 tensors missing, e.g. …")."""
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    shapes = [
        f"{k} {tuple(state[k].shape)} ≠ {tuple(expected[k].shape)}"
        for k in expected
        if k in state and tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    parts = []
    if missing:
        parts.append(f"{len(missing)} tensors missing, e.g. {missing[0]}")
    if extra:
        parts.append(f"{len(extra)} unexpected, e.g. {extra[0]}")
    if shapes:
        parts.append(f"{len(shapes)} of another shape, e.g. {shapes[0]}")
    return "; ".join(parts)
