"""``culler evaluate SCORER``: a scorer version measured on a labelled set the user has.

The set is AVA (``AVA.txt`` + image folder: vote distributions, so EMD too), BAID (``image,score`` CSV)
or any CSV with an image column, a score and optionally ``votes`` (10 counts, ``;``- or space-separated)
and ``class`` (0 = bad … last = good). ``--split`` names the photos to use: ``all``, or a run's
``split.json`` (its held-out ``val`` photos, or ``train``). The figures are what the papers report:
PLCC and SRCC, accuracy (2-way at 5, or the 2/3 classes when the set has them), EMD when both sides
have distributions, MSE; they are written to the version's model card (:mod:`culler.models.cards`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from culler_trainer import data, metrics

from culler.api import open_photo

CLASS_ORDER = {2: ("bad", "good"), 3: ("bad", "average", "good")}


@dataclass
class LabelledSet:
    name: str
    split: str
    samples: list[data.Sample]
    classes: int = 0

    def n_desc(self) -> str:
        return f"{self.split}, {len(self.samples)} photos"


def load_set(
    ava: Path | None,
    csv_path: Path | None,
    images: Path | None,
    split: str = "all",
    classes: int = 0,
    score_column: str = "score",
    image_column: str = "image",
    score_scale: float = 1.0,
    limit: int | None = None,
) -> LabelledSet:
    """The labelled photos to evaluate on, restricted to ``split``."""
    if (ava is None) == (csv_path is None):
        raise ValueError("give exactly one labelled set: --ava AVA.txt or --csv FILE")
    if ava is not None:
        if images is None:
            raise ValueError("--ava needs --images FOLDER (where the AVA .jpg files are)")
        dataset = data.from_ava(ava, images, limit, classes)
    else:
        columns, _ = data.read_csv(csv_path)
        labels = [c for c in (score_column, "votes", "class") if c in columns]
        if not labels:
            raise ValueError(
                f"{csv_path} has no {score_column!r} column (columns: {', '.join(columns)}), nor "
                "votes or class: nothing to measure against; pass --score-column the column that "
                "holds the scores"
            )
        if image_column in (score_column, "votes", "class"):
            raise ValueError(
                f"--image-column {image_column!r} is a label column of {csv_path}; pass the column "
                "that names the image files"
            )
        dataset = data.from_csv(
            csv_path,
            images,
            image_column,
            score_column if score_column in columns else None,
            None,
            score_scale,
            classes,
            limit,
        )
        _csv_extras(csv_path, dataset, image_column, classes)
    samples = dataset.samples
    name = dataset.name
    if split != "all":
        split_file = Path(split)
        part = "val"
        if ":" in split and not split_file.is_file():
            split_file, part = Path(split.rsplit(":", 1)[0]), split.rsplit(":", 1)[1]
        keys = _split_keys(split_file, part)
        samples = [s for s in samples if s.key in keys]
        split = f"{split_file.parent.name or split_file.name}:{part}"
    if not samples:
        raise ValueError(f"no labelled photos in {name} ({split})")
    if not classes and any(s.target_class is not None for s in samples):  # a CSV class column
        classes = 3 if max(s.target_class or 0 for s in samples) == 2 else 2
    _check_images(samples, name, image_column, images)
    return LabelledSet(name, split, samples, classes)


#: A split.json is a few megabytes at most (the keys of a dataset's photos).
MAX_SPLIT_BYTES = 256 << 20


def _split_keys(split_file: Path, part: str) -> set[str]:
    """The photo keys of ``part`` (val / train) in a run's split.json, or a ValueError naming it."""
    from culler.api import RefusedFile, read_regular

    try:
        raw = read_regular(split_file, MAX_SPLIT_BYTES)
    except RefusedFile as exc:
        raise ValueError(f"--split {split_file}: {exc}") from None
    except OSError as exc:
        raise ValueError(f"--split {split_file}: cannot read it ({exc.strerror or exc})") from None
    try:
        split = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ValueError(
            f"--split {split_file} is not a split.json ({exc}); name a run's split.json, or all"
        ) from None
    keys = split.get(part) if isinstance(split, dict) else None
    if not isinstance(keys, list) or not all(isinstance(k, str | int) for k in keys):
        raise ValueError(
            f"--split {split_file} has no list of {part!r} photos (it is not a run's split.json); "
            "name a run's split.json, or all"
        )
    return {str(k) for k in keys}


def _check_images(samples: list[data.Sample], name: str, column: str, images: Path | None) -> None:
    """Every labelled image must be there before scoring starts: a wrong --image-column or --images
    would otherwise surface as an unreadable photo, far from its cause."""
    absent = [s for s in samples if s.path is None or not Path(s.path).exists()]
    if not absent:
        return
    where = f"under {images}" if images else "beside the label file"
    if len(absent) == len(samples):
        raise ValueError(
            f"none of the {len(samples)} images {name} names (column {column!r}, e.g. "
            f"{absent[0].key!r}) exists {where}; check --image-column and --images"
        )
    raise ValueError(
        f"cannot read {absent[0].path}: it is not there ({len(absent)} of the {len(samples)} "
        f"images {name} names are missing {where}); check --images, or remove their rows"
    )


def _csv_extras(csv_path: Path, dataset: data.Dataset, image_column: str, classes: int) -> None:
    """Optional ``votes`` and ``class`` columns of a CSV (``from_csv`` reads only scores and tags)."""
    _, lines = data.read_csv(csv_path)
    rows = {r.get(image_column): (n, r) for n, r in lines}
    top = classes - 1 if classes else 2
    for sample in dataset.samples:
        line_no, row = rows.get(sample.key, (0, {}))
        votes = (row.get("votes") or "").replace(";", " ").split()
        if len(votes) == 10:
            counts = np.asarray([data._number(v, csv_path, line_no, "vote count") for v in votes])
            if (counts < 0).any():
                raise ValueError(f"{csv_path}:{line_no}: a vote count is negative; fix the row")
            if counts.sum() > 0:
                sample.distribution = (counts / counts.sum()).tolist()
        text = (row.get("class") or "").strip()
        if text:
            if not text.isdigit() or int(text) > top:
                raise ValueError(
                    f"{csv_path}:{line_no}: class {text[:20]!r} is not one of 0…{top} (0 = bad, "
                    f"{top} = good); fix the row"
                )
            sample.target_class = int(text)


def score_photos(scorer: Any, samples: list[data.Sample], batch: int = 16) -> list[Any]:
    """The loaded scorer's results for every sample, in order; a photo that cannot be read is
    reported by path (an evaluation with silent gaps would not be comparable)."""
    results: list[Any] = []
    size = int(getattr(scorer, "input_size", 512) or 512)
    for start in range(0, len(samples), batch):
        chunk = samples[start : start + batch]
        images = []
        for sample in chunk:
            try:
                images.append(open_photo(sample.path, size)[0])
            except FileNotFoundError:
                raise ValueError(
                    f"cannot read {sample.path}: it is not there (any more); check --images"
                ) from None
            except Exception as exc:
                raise ValueError(f"cannot read {sample.path}: {exc}") from exc
        results += scorer.score_batch(images)
    return results


def _predicted_class(result: Any, classes: int) -> int:
    names = CLASS_ORDER[classes]
    label = (result.extra or {}).get("class")
    if label in names:
        return names.index(label)
    if classes == 2:
        return int(result.score > 5.0)
    return data.score_class(result.score, 3)


def measure(samples: list[data.Sample], results: list[Any], classes: int = 0) -> dict[str, float]:
    """PLCC, SRCC, MSE and accuracy at 5 on scores; class accuracy; EMD (r = 2 and r = 1)."""
    out: dict[str, float] = {}
    pred = [r.score for r in results]
    scored = [(p, s.score) for p, s in zip(pred, samples) if s.score is not None]
    if len(scored) >= 2:
        p, t = zip(*scored)
        out.update(plcc=metrics.plcc(p, t), srcc=metrics.srcc(p, t), mse=metrics.mse(p, t))
        out["acc5"] = metrics.accuracy_at(p, t, 5.0)
    classed = [(r, s.target_class) for r, s in zip(results, samples) if s.target_class is not None]
    if classed and classes:
        hits = [_predicted_class(r, classes) == c for r, c in classed]
        out["accuracy"] = float(np.mean(hits))
    dists = [
        (r.distribution, s.distribution)
        for r, s in zip(results, samples)
        if r.distribution is not None and s.distribution is not None
    ]
    if dists:
        p, t = zip(*dists)
        out["emd"] = metrics.emd(p, t)
        out["emd1"] = metrics.emd(p, t, 1.0, False)
    return out


def evaluate(scorer: Any, labelled: LabelledSet) -> dict[str, Any]:
    """Score the set with a loaded scorer; the evaluation record a model card keeps."""
    results = score_photos(scorer, labelled.samples)
    figures = measure(labelled.samples, results, labelled.classes)
    # A figure that is not a number (a correlation with a constant side) is left out: JSON has no
    # NaN, and a card must stay readable by any JSON reader.
    figures = {k: float(v) for k, v in figures.items() if np.isfinite(v)}
    if not figures:
        raise ValueError(
            f"nothing could be measured on {labelled.name} ({labelled.n_desc()}): it needs at "
            "least two scored photos, or classes, or vote distributions"
        )
    return {
        "dataset": labelled.name,
        "split": labelled.split,
        "n": len(labelled.samples),
        "metrics": figures,
        "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
