"""What a personal ranker reads of a photo: stored scores and sub-scores, per-face verdicts, capture
facts from EXIF, the frame's colour from the stored signature, and (when cached) CLIP embeddings.
"""

from __future__ import annotations

import functools
import math
import os
from typing import Any

import numpy as np

from culler.catalog import Catalog

#: Principal components of the CLIP embeddings added as features, when embeddings are cached.
EMBEDDING_COMPONENTS = 8


def face_features(faces: list[dict[str, Any]], frame_area: float) -> dict[str, float]:
    """What the per-face verdicts say of a photo: how many faces, how large the largest is (share
    of the frame), the share of open eyes among the main faces, the softest main face's sharpness.

    Takes the faces scorer's ``extra["faces"]`` list today; the per-face rows of a ``faces`` table
    have the same fields (box, eyes, sharpness), so they plug in here unchanged.
    """
    if not faces:
        return {"faces.count": 0.0}
    areas = [float(f["box"][2]) * float(f["box"][3]) for f in faces if len(f.get("box", [])) == 4]
    largest = max(areas, default=0.0)
    main = [f for f, a in zip(faces, areas) if a >= 0.25 * largest] or faces
    eyes = [f.get("eyes") for f in main if f.get("eyes") in ("open", "closed")]
    sharp = [float(f["sharpness"]) for f in main if isinstance(f.get("sharpness"), int | float)]
    found = {
        "faces.count": float(len(main)),
        "faces.largest": math.sqrt(largest / frame_area) if frame_area > 0 else 0.0,
    }
    if eyes:
        found["faces.eyes_open"] = sum(e == "open" for e in eyes) / len(eyes)
    if sharp:
        found["faces.sharpness"] = min(sharp)
    return found


def colour_features(signature: bytes | None) -> dict[str, float]:
    """Brightness, warmth (red minus blue chroma), saturation and contrast of the frame, from the
    4×4 YCbCr layout the scan stores with the near-duplicate signature."""
    from culler.imaging.signatures import Signature

    sig = Signature.from_bytes(signature) if signature else None
    if sig is None:
        return {}
    layout = sig.layout.astype(np.float64)
    ycc = layout.reshape(-1, 3)
    cb, cr = ycc[:, 1] - 128.0, ycc[:, 2] - 128.0
    centre = layout[1:3, 1:3].reshape(-1, 3)  # the part every framing of a moment shares
    return {
        "colour.luma": float(ycc[:, 0].mean()),
        "colour.warmth": float((cr - cb).mean()),
        "colour.warmth_centre": float((centre[:, 2] - centre[:, 1]).mean()),
        "colour.saturation": float(np.hypot(cb, cr).mean()),
        "colour.contrast": float(ycc[:, 0].std()),
    }


#: EXIF tags of the exposure read as capture features: (IFD tag, feature).
EXPOSURE_TAGS = (
    (0x920A, "capture.focal_length"),
    (0xA405, "capture.focal_length_35mm"),
    (0x829D, "capture.f_number"),
    (0x829A, "capture.exposure_time"),
    (0x8827, "capture.iso"),
    (0x9204, "capture.exposure_bias"),
)


@functools.lru_cache(maxsize=65536)
def _exposure(path: str, size: int, mtime_ns: int) -> tuple[tuple[str, float], ...]:
    from PIL import Image

    try:
        with Image.open(path) as image:
            ifd = image.getexif().get_ifd(0x8769)
    except Exception:  # a RAW file PIL cannot open, a vanished file: no exposure facts
        return ()
    found = []
    for tag, name in EXPOSURE_TAGS:
        try:
            value = float(ifd[tag])
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            continue
        if math.isfinite(value):
            found.append(
                (name, math.log2(value) if name == "capture.exposure_time" and value > 0 else value)
            )
    return tuple(found)


def exposure_features(path: str | None) -> dict[str, float]:
    """Focal length, aperture, shutter (log2 seconds), ISO and exposure bias from the file's EXIF
    (read once per file version; only the header is parsed)."""
    if not path:
        return {}
    try:
        st = os.stat(path)
    except OSError:
        return {}
    return dict(_exposure(path, st.st_size, st.st_mtime_ns))


def _numbers(prefix: str, extra: dict[str, Any]) -> dict[str, float]:
    found = {}
    for key, value in extra.items():
        if isinstance(value, int | float) and math.isfinite(value):  # bools count as 0/1
            found[f"{prefix}.{key}"] = float(value)
    return found


def photo_features(ps: Any, facts: dict[str, Any]) -> dict[str, float]:
    """Every feature of one photo (a :class:`culler.decide.cull.PhotoScores`) and its facts."""
    found: dict[str, float] = {}
    for sid, score in ps.scores.items():
        found[f"score.{sid}"] = score
    for sid, extra in ps.extra.items():
        if sid == "faces":
            continue
        found.update(_numbers(f"sub.{sid}", extra))
    width, height = facts.get("width") or 0, facts.get("height") or 0
    if "faces" in ps.extra:
        scale = min(1.0, 1024 / max(width, height)) if width and height else 1.0
        found.update(
            face_features(ps.extra["faces"].get("faces") or [], width * height * scale * scale)
        )
    if width and height:
        found["capture.megapixels"] = width * height / 1e6
        found["capture.aspect"] = max(width, height) / min(width, height)
    found.update(colour_features(facts.get("signature")))
    found.update(exposure_features(ps.path))
    return found


def feature_table(
    catalog: Catalog, scores: dict[int, Any], embedding: dict[str, Any] | None = None
) -> dict[int, dict[str, float]]:
    """{photo id: features} for the photos of ``scores``; with ``embedding`` (a model's PCA, see
    :func:`embedding_projection`) the projected CLIP embedding too."""
    facts = catalog.photo_facts(scores)
    table = {pid: photo_features(ps, facts.get(pid, {})) for pid, ps in scores.items()}
    if embedding:
        vectors = catalog.embeddings(embedding["model"], list(scores))
        mean = np.asarray(embedding["mean"], dtype=np.float32)
        comps = np.asarray(embedding["components"], dtype=np.float32)
        for pid, vec in vectors.items():
            if vec.shape == mean.shape:
                for i, v in enumerate(comps @ (vec - mean)):
                    table[pid][f"clip.pc{i + 1}"] = float(v)
    return table


def embedding_projection(catalog: Catalog, photo_ids: list[int]) -> dict[str, Any] | None:
    """The principal components of the cached CLIP embeddings of these photos, when most have one
    (unsupervised: it reads no decision, so held-out shoots may share it)."""
    model = catalog.default_embedding_model()
    if model is None:
        return None
    vectors = catalog.embeddings(model, photo_ids)
    if len(vectors) < max(2 * EMBEDDING_COMPONENTS, 0.8 * len(photo_ids)):
        return None
    x = np.stack(list(vectors.values())).astype(np.float64)
    mean = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    return {
        "model": model,
        "mean": mean.astype(np.float32).tolist(),
        "components": vt[:EMBEDDING_COMPONENTS].astype(np.float32).tolist(),
    }
