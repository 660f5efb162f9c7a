"""Getting weight files into culler's cache: what is installed (``culler models list``), downloads
(``culler models pull``) and local files or archives (``culler models import``).

No click here: :mod:`culler.commands.models` parses arguments and prints; this module does the work
(status in :mod:`culler.models.weight_status`, archives in :mod:`culler.models.archives`) and
raises :class:`~culler.models.weights.WeightsError` (or its :class:`~culler.models.weights.PullError`) with messages meant for users.
Every file goes through :func:`culler.models.weights.install_file`, so it is verified and written atomically.
Downloads stream into a temporary folder inside the scorer's folder, which is removed whatever happens:
a failed or interrupted pull leaves nothing behind and the file already installed (if any) untouched.
"""

from __future__ import annotations

import contextlib
import http.client
import inspect
import os
import socket
import ssl
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from culler.models.archives import extract_weights, is_archive
from culler.models.weight_status import file_status, specs_of
from culler.models.weights import (
    FetchedWeights,
    NotOnHub,
    PullError,
    WeightsError,
    WeightSpec,
    check_safetensors,
    install_file,
    is_safetensors,
    manifest,
    scorer_dir,
    sha256_file,
)
from culler.plugin.scorers import Scorer, get_scorer_class

Echo = Callable[[str], None]
#: ``progress(label, total_bytes_or_None)`` → context manager whose value has ``update(n_bytes)``
#: (the shape of ``click.progressbar``).
Progress = Callable[[str, "int | None"], Any]

DEFAULT_TIMEOUT = 10.0
OFFLINE_ENV = "CULLER_OFFLINE"


class _Unreachable(Exception):
    """The network failed (DNS, refused, timeout, TLS): ``host`` and ``reason`` for the message."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"{host}: {reason}")
        self.host, self.reason = host, reason


def _quiet(_message: str) -> None:
    pass


@contextlib.contextmanager
def _no_progress(_label: str, _total: int | None) -> Iterator[Any]:
    class Bar:
        def update(self, _n: int) -> None:
            pass

    yield Bar()


# -- pull --------------------------------------------------------------------------------------------
def is_offline(flag: bool = False) -> bool:
    """``--offline`` or ``CULLER_OFFLINE=1``; offline also sets ``HF_HUB_OFFLINE`` for the hub client."""
    offline = flag or os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes", "on")
    if offline:
        os.environ["HF_HUB_OFFLINE"] = "1"
    return offline


def pull(
    scorer_id: str,
    config: dict[str, Any] | None = None,
    *,
    offline: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    echo: Echo = _quiet,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Download and install every file ``scorer_id`` needs that is not installed and verified yet.

    Returns one ``{name, status: already|pulled, sha256, tofu}`` per file. Raises :class:`PullError`
    (import-only file, offline, network failure) or :class:`WeightsError` (sha256 mismatch).
    """
    cls = get_scorer_class(scorer_id)
    specs = specs_of(cls, config)
    if not specs:
        echo(f"{scorer_id} needs no weight files")
        return []
    offline = is_offline(offline)
    settings = "".join(f" --config {k}={v}" for k, v in sorted((config or {}).items()))
    import_cmd = f"`culler models import {scorer_id} FILE{settings}`"
    done = []
    for spec in specs:
        status = file_status(cls, spec)
        if status["status"] == "installed":
            where = "" if status["holder"] == scorer_id else f" (shared, in {status['holder']})"
            echo(f"{spec.name}: already installed{where}")
            done.append({"name": spec.name, "status": "already", "sha256": status["sha256"]})
            continue
        if not spec.source:
            raise PullError(
                f"{scorer_id}'s weights cannot be downloaded (no published file: {spec.name}); "
                f"import a checkpoint with {import_cmd} "
                "(docs/models.md lists what each scorer accepts)"
            )
        if offline:
            raise PullError(
                f"offline ({OFFLINE_ENV}=1 or --offline): {spec.name} for {scorer_id} was not "
                f"downloaded; get it elsewhere ({spec.source}) and run {import_cmd}"
            )
        try:
            done.append(_pull_one(cls, spec, config, timeout, echo, progress or _no_progress))
        except _Unreachable as exc:
            raise PullError(
                f"could not reach {exc.host}: {exc.reason} — check the connection or proxy, or "
                f"download {spec.name} elsewhere ({spec.source}) and run {import_cmd}"
            ) from None
    return done


def _pull_one(
    cls: type[Scorer],
    spec: WeightSpec,
    config: dict[str, Any] | None,
    timeout: float,
    echo: Echo,
    progress: Progress,
) -> dict[str, Any]:
    directory = scorer_dir(cls.id)
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory, prefix=".pull-") as tmp:
        work = Path(tmp)
        downloads = Downloads(work, timeout, progress)
        fetched = cls.fetch_weights(spec, downloads, config) or _fetch(cls, spec, downloads)
        files, origin, origin_sha = fetched.files, fetched.origin, fetched.origin_sha256
        size = files[spec.name].stat().st_size if spec.name in files else None
        if not origin_sha and spec.size and size is not None and size != spec.size:
            raise PullError(
                f"{cls.id}: {spec.name} from {origin} has {size} bytes, "
                f"not the published {spec.size}; nothing was installed — try again, or import a "
                "good copy"
            )
        result = {"name": spec.name, "status": "pulled", "sha256": "", "tofu": False}
        for name, path in files.items():
            check = spec.sha256 if name == spec.name and not origin_sha else None
            dest = install_file(
                cls.id,
                name,
                path,
                expected_sha256=check or None,
                source="pull",
                origin=origin,
                origin_sha256=origin_sha,
            )
            sha = manifest(cls.id)[name]["sha256"]
            if name == spec.name:
                result["sha256"] = sha
            if not check:
                result["tofu"] = True
                echo(
                    f"{name}: recorded sha256 {sha[:12]}… (trust on first use: no published "
                    "digest; every later load is checked against this record)"
                )
            echo(f"{name}: installed {dest} (sha256 {sha[:12]}…)")
        return result


def _fetch(cls: type[Scorer], spec: WeightSpec, downloads: Downloads) -> FetchedWeights:
    """The sources core knows: ``hf://OWNER/REPO/PATH`` and https URLs."""
    if spec.source.startswith("hf://"):
        repo, filename = _split_hf(spec.source)
        return FetchedWeights({spec.name: downloads.hub(repo, filename)}, spec.source)
    if spec.source.startswith(("https://", "http://")):
        path = downloads.url(spec.source, "download", spec.size)
        return FetchedWeights({spec.name: path}, spec.source)
    raise PullError(f"{cls.id}: unknown source {spec.source!r} for {spec.name}")


class Downloads:
    """The downloads a scorer's ``fetch_weights`` may make, into one temporary folder that is removed
    after the pull, with the user's timeout and progress display.

    Network failures propagate as they are: ``culler models pull`` turns them into one message naming
    the host and the way out. :class:`NotOnHub` may be caught to try another file.
    """

    def __init__(self, workdir: Path, timeout: float, progress: Progress) -> None:
        #: A folder for converted files (downloads land in it too).
        self.workdir = workdir
        self.timeout = timeout
        self._progress = progress

    def hub(self, repo: str, filename: str) -> Path:
        """One file of a Hugging Face hub repository (``OWNER/NAME``); raises :class:`NotOnHub`."""
        return _hf_download(repo, filename, self.workdir, self.timeout)

    def url(self, url: str, name: str = "", expected_size: int | None = None) -> Path:
        """Stream an http(s) URL into the work folder as ``name`` (default: the URL's file name)."""
        name = name or Path(urllib.parse.urlsplit(url).path).name or "download"
        return download_url(url, self.workdir / name, self.timeout, self._progress, expected_size)


def _resolve_host(host: str, port: int, timeout: float) -> None:
    """getaddrinfo has no timeout of its own: run it in a daemon thread and give up after ``timeout``."""
    outcome: list[BaseException | None] = []

    def lookup() -> None:
        try:
            socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            outcome.append(None)
        except OSError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=lookup, daemon=True, name=f"resolve {host}")
    thread.start()
    thread.join(timeout)
    if not outcome:
        raise _Unreachable(host, f"name lookup took longer than {timeout:g} s")
    if outcome[0] is not None:
        raise _Unreachable(host, f"name lookup failed ({outcome[0]})")


def download_url(
    url: str,
    dest: Path,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Progress = _no_progress,
    expected_size: int | None = None,
) -> Path:
    """Stream ``url`` to ``dest``; every connect and read waits at most ``timeout`` seconds.

    Network failures raise :class:`_Unreachable`; an HTTP error status raises :class:`PullError`.
    """
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or url
    _resolve_host(host, parts.port or (443 if parts.scheme == "https" else 80), timeout)
    request = urllib.request.Request(url, headers={"User-Agent": "culler (models pull)"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, open(dest, "wb") as out:
            total = _content_length(response.headers) or expected_size
            with progress(Path(parts.path).name or host, total) as bar:
                while block := response.read(1 << 20):
                    out.write(block)
                    bar.update(len(block))
    except urllib.error.HTTPError as exc:
        raise PullError(
            f"{host} answered HTTP {exc.code} ({exc.reason}) for {url}; the file may have moved — "
            "download it elsewhere and use `culler models import`"
        ) from None
    except (urllib.error.URLError, http.client.HTTPException, ssl.SSLError, TimeoutError) as exc:
        raise _Unreachable(host, str(getattr(exc, "reason", None) or exc or "timed out")) from None
    except ConnectionError as exc:
        raise _Unreachable(host, str(exc)) from None
    return dest


def _split_hf(source: str) -> tuple[str, str]:
    parts = source[len("hf://") :].split("/")
    if len(parts) < 3 or not all(parts):
        raise PullError(f"{source!r} is not hf://OWNER/REPO/PATH/IN/REPO")
    return "/".join(parts[:2]), "/".join(parts[2:])


def _hf_download(repo: str, filename: str, workdir: Path, timeout: float) -> Path:
    """One file from the Hugging Face hub into ``workdir`` (not the hub's own cache: no second copy)."""
    try:
        import huggingface_hub
        from huggingface_hub import errors as hf_errors
    except ImportError:
        raise PullError(
            f"downloading {filename} from the Hugging Face hub needs huggingface_hub: "
            "run `pip install huggingface_hub`, or download the file yourself and use "
            "`culler models import`"
        ) from None
    # The hub client retries a failed request with back-off for half a minute: find out first, within
    # ``timeout``, whether its host answers at all.
    endpoint = urllib.parse.urlsplit(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    _resolve_host(host, port, timeout)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise _Unreachable(host, str(exc) or type(exc).__name__) from None
    try:
        path = huggingface_hub.hf_hub_download(
            repo, filename, cache_dir=workdir / "hub", etag_timeout=timeout
        )
    except hf_errors.LocalEntryNotFoundError as exc:  # the hub's "could not connect"
        raise _Unreachable(host, str(exc).split(". ")[0]) from None
    except (hf_errors.EntryNotFoundError, hf_errors.RepositoryNotFoundError) as exc:
        raise NotOnHub(f"{repo}/{filename}: {exc}") from None
    except hf_errors.OfflineModeIsEnabled:
        raise PullError(
            f"offline (HF_HUB_OFFLINE is set): {repo}/{filename} was not downloaded; get it "
            "elsewhere and use `culler models import`"
        ) from None
    except Exception as exc:  # requests/httpx errors differ across hub versions: all are network
        raise _Unreachable(host, f"{type(exc).__name__}: {exc}") from None
    return Path(path)


def _content_length(headers: Any) -> int | None:
    """The size a server announces, None when it announces none or nonsense."""
    text = str(headers.get("Content-Length") or "")[:20]
    return int(text) if text.isdigit() and int(text) > 0 else None


# -- import ------------------------------------------------------------------------------------------
def convert(
    cls: type[Scorer], src: Path, workdir: Path, config: dict[str, Any] | None
) -> dict[str, Path] | None:
    """``cls.convert_weights(src, workdir[, config])``: config only if the scorer accepts it."""
    workdir.mkdir(parents=True, exist_ok=True)
    params = inspect.signature(cls.convert_weights).parameters
    takes_config = "config" in params or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
    )
    if takes_config:
        return cls.convert_weights(src, workdir, config=dict(config or {}))
    return cls.convert_weights(src, workdir)


def import_weights(
    scorer_id: str, src: str | os.PathLike, config: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Install a local file (or the weight files in a .zip/.tar archive) for ``scorer_id``.

    Each file goes through the scorer's ``convert_weights``; the manifest records the file's name (never
    the machine's path) as origin and its sha256. Returns ``{name, sha256, origin, converted}`` per
    installed file.
    """
    cls = get_scorer_class(scorer_id)
    src = Path(src)
    if not src.is_file():
        raise WeightsError(f"{src} is not a file; give the checkpoint (or an archive holding it)")
    directory = scorer_dir(scorer_id)
    directory.mkdir(parents=True, exist_ok=True)
    installed: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(dir=directory, prefix=".import-") as tmp:
        work = Path(tmp)
        if is_archive(src):
            root = work / "archive"
            members = extract_weights(src, root)
            files = [(path, f"{src.name}:{path.relative_to(root).as_posix()}") for path in members]
        else:
            files = [(src, src.name)]
        for i, (path, origin) in enumerate(files):
            installed += _import_one(cls, path, origin, work / f"convert-{i}", config)
    return installed


def _import_one(
    cls: type[Scorer], src: Path, origin: str, workdir: Path, config: dict[str, Any] | None
) -> list[dict[str, Any]]:
    if is_safetensors(src):
        check_safetensors(src)  # before any plugin parses it: a hostile header is refused here
    origin_sha = sha256_file(src)
    converted = convert(cls, src, workdir, config)
    if converted is None:
        spec = _published_match(cls, src, origin_sha, config)
        install_file(
            cls.id,
            spec.name,
            src,
            expected_sha256=spec.sha256 or None,
            source="import",
            origin=origin,
            origin_sha256=origin_sha,
        )
        sha = manifest(cls.id)[spec.name]["sha256"]
        return [{"name": spec.name, "sha256": sha, "origin": origin, "converted": False}]
    if not converted:
        raise WeightsError(f"{cls.id}: nothing in {origin} could be used; nothing was installed")
    out = []
    for name, path in converted.items():
        install_file(cls.id, name, path, source="import", origin=origin, origin_sha256=origin_sha)
        sha = manifest(cls.id)[name]["sha256"]
        out.append({"name": name, "sha256": sha, "origin": origin, "converted": True})
    return out


def _published_match(
    cls: type[Scorer], src: Path, sha: str, config: dict[str, Any] | None
) -> WeightSpec:
    """The spec ``src`` is (same sha256; or, for a spec without a published sha256, same name)."""
    specs = {s.name: s for s in [*specs_of(cls, config), *cls.weights]}
    for spec in specs.values():
        if spec.sha256 and spec.sha256.lower() == sha:
            return spec
    for spec in specs.values():
        if not spec.sha256 and spec.name == src.name:
            return spec
    expected = "; ".join(
        f"{s.name} (sha256 {s.sha256[:12]}…)" if s.sha256 else s.name for s in specs.values()
    )
    raise WeightsError(
        f"{src.name} (sha256 {sha[:12]}…) is not a file {cls.id} uses; expected: "
        f"{expected or 'none declared'}. Nothing was installed"
    )
