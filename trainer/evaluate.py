"""``culler evaluate SCORER``: a scorer version measured on a labelled set the user has.

The set is AVA (``AVA.txt`` + image folder: vote distributions, so EMD too), BAID (``image,score`` CSV)
or any CSV with an image column, a score and optionally ``votes`` (10 counts, ``;``- or space-separated)
and ``class`` (0 = bad … last = good). ``--split`` names the photos to use: ``all``, or a run's
``split.json`` (its held-out ``val`` photos, or ``train``). The figures are what the papers report:
PLCC and SRCC, accuracy (2-way at 5, or the 2/3 classes when the set has them), EMD when both sides
have distributions, MSE; they are written to the version's model card (:mod:`culler.models.cards`).
"""

from __future__ import annotations

import csv
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
        dataset = data.from_csv(
            csv_path, images, image_column, score_column, None, score_scale, classes, limit
        )
        _csv_extras(csv_path, dataset, image_column)
    samples = dataset.samples
    name = dataset.name
    if split != "all":
        split_file = Path(split)
        part = "val"
        if ":" in split and not split_file.is_file():
            split_file, part = Path(split.rsplit(":", 1)[0]), split.rsplit(":", 1)[1]
        keys = set(json.loads(split_file.read_text())[part])
        samples = [s for s in samples if s.key in keys]
        split = f"{split_file.parent.name or split_file.name}:{part}"
    if not samples:
        raise ValueError(f"no labelled photos in {name} ({split})")
    if not classes and any(s.target_class is not None for s in samples):  # a CSV class column
        classes = 3 if max(s.target_class or 0 for s in samples) == 2 else 2
    return LabelledSet(name, split, samples, classes)


def _csv_extras(csv_path: Path, dataset: data.Dataset, image_column: str) -> None:
    """Optional ``votes`` and ``class`` columns of a CSV (``from_csv`` reads only scores and tags)."""
    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = {r[image_column]: r for r in csv.DictReader(fh)}
    for sample in dataset.samples:
        row = rows.get(sample.key, {})
        votes = (row.get("votes") or "").replace(";", " ").split()
        if len(votes) == 10:
            counts = np.asarray([float(v) for v in votes])
            if counts.sum() > 0:
                sample.distribution = (counts / counts.sum()).tolist()
        if (row.get("class") or "").strip():
            sample.target_class = int(row["class"])


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
    return {
        "dataset": labelled.name,
        "split": labelled.split,
        "n": len(labelled.samples),
        "metrics": measure(labelled.samples, results, labelled.classes),
        "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
