"""The decode worker: read a file once, hash it, decode it at reduced size, run in-worker scorers.

Runs in the processes of :mod:`culler.scan.decode_pool` (or in-process with ``--workers 0``). Only
small things travel back to the scan: metadata, the hash, a dHash, in-worker scores and an image
already shrunk for the model scorers. Every worker process imports this module, so it stays light.
"""

from __future__ import annotations

import io
import os
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xxhash
from PIL import Image

from culler.imaging import signatures
from culler.imaging.images import ImageError, PhotoInfo, open_photo
from culler.plugin.scorers import SHOOTING_KEY, SMALL_COPY_KEY, Scorer, ScoreResult
from culler.safe_files import MAX_PHOTO_BYTES, open_regular
from culler.scan.work import THUMB_DIR_NAME

#: Side of the cached thumbnails; files are decoded at least this large so the thumbnail is sharp.
#: The same small copy is the faces scorer's gate copy (its ``GATE_COPY_SIDE``), so one resize serves
#: both: see :func:`small_copy`. In-worker scorers whose ``small_copy_side`` is this find it in
#: ``image.info[SMALL_COPY_KEY]`` (an RGB uint8 array); a scorer checks its shape and makes its own
#: when it wants another size.
THUMB_SIDE = 400


@dataclass
class DecodeJob:
    path: str
    decode_side: int
    main_side: int  # 0 when no model scorer needs the image
    worker_scorers: tuple[str, ...] = ()
    thumb_dir: str | None = None


@dataclass
class Decoded:
    path: str
    error: str | None = None
    content_hash: str | None = None
    signature: bytes | None = None  # culler.imaging.signatures, for near-duplicate grouping
    info: PhotoInfo | None = None
    image: Image.Image | None = None
    worker_results: dict[str, ScoreResult | str] = field(default_factory=dict)
    #: Size and mtime of the file when it was read (it may have changed since discovery).
    size: int | None = None
    mtime_ns: int | None = None


_worker_scorers: dict[str, Scorer] = {}
#: Set in pool workers (:func:`use_one_opencv_thread`); the scan's own process keeps OpenCV's default.
_one_opencv_thread = False


def use_one_opencv_thread() -> None:
    """For pool workers: the pool already runs one worker per core, and OpenCV's own thread pool in
    each would only make them take turns. Applied when OpenCV is first used here (the small copy,
    made before any scorer that uses OpenCV runs), so a worker that never needs it never imports it."""
    global _one_opencv_thread
    _one_opencv_thread = True


_worker_scorer_errors: dict[str, str] = {}


def init_worker(
    scorer_specs: list[tuple[str, dict[str, Any]]], env: dict[str, str] | None = None
) -> None:
    """Pool initializer: load plugins and instantiate the in-worker scorers once per process."""
    if env is not None:
        # A worker forked from a fork server inherits the server's environment, which may be an
        # earlier scan's: take the scan's own, whole (a variable unset since must not linger).
        os.environ.clear()
        os.environ.update(env)
    from culler.plugin.scorers import get_scorer_classes

    classes = get_scorer_classes()
    _worker_scorers.clear()
    _worker_scorer_errors.clear()
    for scorer_id, config in scorer_specs:
        try:
            scorer = classes[scorer_id](config)
            scorer.load("cpu")
            _worker_scorers[scorer_id] = scorer
        except Exception as exc:
            _worker_scorer_errors[scorer_id] = f"{type(exc).__name__}: {exc}"


def thumb_dir(db_path: str | Path) -> Path:
    """The scan's thumbnail folder for the catalog at ``db_path``: next to it."""
    return Path(db_path).parent / THUMB_DIR_NAME


def thumb_path(thumb_dir: str | Path, content_hash: str) -> Path:
    """Where the cached thumbnail of a file with this content hash lives."""
    return Path(thumb_dir) / content_hash[:2] / f"{content_hash}.jpg"


def hash_bytes(data: bytes) -> str:
    return xxhash.xxh3_128_hexdigest(data)


def hash_file(path: str | Path) -> str:
    digest = xxhash.xxh3_128()
    with open_regular(path, MAX_PHOTO_BYTES) as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def hash_if_readable(path: str | Path) -> str | None:
    """The content hash, or None when the file cannot be read (it will get its error row later)."""
    try:
        return hash_file(path)
    except OSError:
        return None


def decode_one(job: DecodeJob) -> Decoded:
    """Never raises for a bad file: every failure comes back as ``Decoded.error``."""
    result = Decoded(path=job.path)
    try:
        with open_regular(job.path, MAX_PHOTO_BYTES) as fh:
            data = fh.read(MAX_PHOTO_BYTES + 1)
            st = os.fstat(fh.fileno())
    except OSError as exc:
        from culler.imaging.images import os_error_reason as _os_reason

        result.error = _os_reason(exc)
        return result
    if not data:
        result.error = "empty file (0 bytes)"
        return result
    if st.st_size == len(data):  # else it was being written while read: keep the discovery state
        result.size, result.mtime_ns = st.st_size, st.st_mtime_ns
    result.content_hash = hash_bytes(data)
    try:
        image, info = _decode_bytes(job.path, data, job.decode_side)
    except ImageError as exc:
        result.error = str(exc)
        return result
    except Exception as exc:  # a decoder bug must not kill the scan
        result.error = f"cannot decode image: {type(exc).__name__}: {exc}"
        return result
    del data
    result.info = info
    result.signature = signatures.compute_bytes(image)
    thumb = thumb_path(job.thumb_dir, result.content_hash) if job.thumb_dir else None
    _add_shooting(image, info)
    if _wants_small_copy(job):
        # Derived once from the decoded copy: the GUI's thumbnail and the face search both use it.
        image.info[SMALL_COPY_KEY] = small_copy(image, THUMB_SIDE)
    if thumb is not None:
        _write_thumb(image, thumb)
    _score_in_worker(job, image, result)
    # The small copy stays in this process: result.image (with its info) is pickled to the scan.
    image.info.pop(SMALL_COPY_KEY, None)
    image.info.pop(SHOOTING_KEY, None)
    if job.main_side:
        result.image = _fit(image, job.main_side)
    return result


def _add_shooting(image: Image.Image, info: PhotoInfo) -> None:
    """EXIF's shooting data, where in-worker scorers find it (:data:`SHOOTING_KEY`)."""
    image.info[SHOOTING_KEY] = {
        name: getattr(info, name, None)
        for name in ("exposure_time", "f_number", "iso", "focal_length")
    }


def details_on_demand(path: str | Path, scorer_ids: list[str]) -> dict[str, dict[str, Any]]:
    """What each named scorer's ``details_on_demand`` gives for the file at ``path`` (the GUI's
    overlay asks for the photo it shows), by scorer id; a scorer that offers none, is not
    installed or fails is left out.

    The image is the one the scan's decode worker hands the scorer: the file's bytes decoded by
    the same path (:func:`_decode_bytes`) at the scan's decode size, with its EXIF shooting data,
    then fitted to the scorer's ``input_size`` (:func:`_fit`), so the details are what the scan
    would have stored. The scan decodes at the largest ``input_size`` of all its scorers and the
    thumbnail's side; this takes the scorer's own and the thumbnail's, the same for every bundled
    scorer (the technical and faces scorers' 1024 px are the largest). Raises ``OSError`` or
    :class:`ImageError` when the file cannot be read or decoded.
    """
    from culler.plugin.scorers import get_scorer_classes

    classes = get_scorer_classes()
    wanted = [classes[s] for s in scorer_ids if s in classes and classes[s].details_on_demand_keys]
    found: dict[str, dict[str, Any]] = {}
    decoded: dict[int, Image.Image] = {}
    for cls in wanted:
        side = max(cls.input_size, THUMB_SIDE)
        if side not in decoded:
            with open_regular(str(path), MAX_PHOTO_BYTES) as fh:
                data = fh.read(MAX_PHOTO_BYTES + 1)
            if not data:
                raise ImageError("empty file (0 bytes)")
            image, info = _decode_bytes(str(path), data, side)
            _add_shooting(image, info)
            decoded[side] = image
        try:
            scorer = cls(None)
            scorer.load("cpu")
            details = scorer.details_on_demand(_fit(decoded[side], cls.input_size))
        except Exception:
            if os.environ.get("CULLER_DEBUG"):
                traceback.print_exc()
            continue
        if isinstance(details, dict) and details:
            found[cls.id] = details
    return found


def _wants_small_copy(job: DecodeJob) -> bool:
    """Whether an in-worker scorer of ``job`` asks for the :func:`small_copy` (its
    ``small_copy_side`` attribute is :data:`THUMB_SIDE`). Scans without one make their thumbnail
    with PIL as before and never import OpenCV (about 20 MB and 0.2 s per worker)."""
    return any(
        sid in _worker_scorers and _worker_scorers[sid].small_copy_side == THUMB_SIDE
        for sid in job.worker_scorers
    )


def _score_in_worker(job: DecodeJob, image: Image.Image, result: Decoded) -> None:
    """Each in-worker scorer's result (or its error message) into ``result.worker_results``."""
    for scorer_id in job.worker_scorers:
        if scorer_id in _worker_scorer_errors:
            result.worker_results[scorer_id] = f"failed to load: {_worker_scorer_errors[scorer_id]}"
            continue
        scorer = _worker_scorers[scorer_id]
        try:
            scored = scorer.score_batch([_fit(image, scorer.input_size)])
            if len(scored) != 1:
                raise ValueError(f"returned {len(scored)} results for 1 image")
            result.worker_results[scorer_id] = scored[0]
        except Exception as exc:
            result.worker_results[scorer_id] = f"{type(exc).__name__}: {exc}"
            if os.environ.get("CULLER_DEBUG"):
                traceback.print_exc()


def _decode_bytes(path: str, data: bytes, side: int) -> tuple[Image.Image, PhotoInfo]:
    """Decode from memory through the plugin hook when a plugin claims the format, else PIL directly."""
    from culler.imaging.images import PIL_EXTENSIONS, decode_pil
    from culler.plugin import manager as plugins

    ext = os.path.splitext(path)[1].lower()
    pm = plugins.load_plugins()
    if ext in PIL_EXTENSIONS and len(pm.hook.load_image.get_hookimpls()) == 1:
        return decode_pil(_NamedBytes(data, path), side)
    return open_photo(path, side)


class _NamedBytes(io.BytesIO):
    """Bytes PIL can open, with the file name kept for error messages."""

    def __init__(self, data: bytes, name: str) -> None:
        super().__init__(data)
        self.name = name


def _fit(image: Image.Image, side: int) -> Image.Image:
    if max(image.size) <= side:
        return image
    copy = image.copy()
    copy.thumbnail((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    copy.info.pop("culler.block_period", None)  # resampling moved the JPEG block grid
    copy.info.pop(SMALL_COPY_KEY, None)
    return copy


def small_copy(image: Image.Image, side: int) -> np.ndarray:
    """An RGB uint8 array of ``image`` with its longer side at most ``side``, area-averaged.

    Exactly what the faces scorer computes for its gate copy (OpenCV's INTER_AREA, sizes rounded
    the same way), so the scorer can take it instead of resizing the photo a second time.
    """
    import cv2

    if _one_opencv_thread:
        cv2.setNumThreads(1)
    rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    h, w = rgb.shape[:2]
    scale = min(1.0, side / max(h, w))
    if scale >= 1.0:
        return rgb
    return cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)


def _write_thumb(image: Image.Image, target: Path) -> None:
    if target.exists():
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        small = image.info.get(SMALL_COPY_KEY)
        thumb = Image.fromarray(small) if small is not None else _fit(image, THUMB_SIDE)
        thumb.save(tmp, "JPEG", quality=85)
        os.replace(tmp, target)
    except OSError:
        pass  # thumbnails are a cache: a full disk or read-only folder must not fail the scan
