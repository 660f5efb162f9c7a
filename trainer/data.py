"""Datasets the trainer learns from: the user's catalog, AVA, BAID, or any folder with a CSV.

Each source becomes a :class:`Dataset` of :class:`Sample` rows with targets on culler's 0–10 scale
(AVA's 10-bin vote distributions are kept for EMD). Splits are deterministic (a seeded, stratified
shuffle of the sorted keys) and saved with the run, so a resumed or repeated run sees the same photos.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: A personal model needs this many rated photos (and both picks and rejects, or different stars).
MIN_RATINGS = 20
#: Scores given to picks and rejects that carry no star rating (0–10 scale).
PICK_SCORE, REJECT_SCORE = 8.0, 2.0


class NotEnoughRatings(ValueError):
    """The catalog's ratings cannot teach anything: too few, or all alike."""


@dataclass
class Sample:
    """One training example; ``key`` is unique in its dataset (the photo id for catalog samples)."""

    key: str
    path: str | None = None
    photo_id: int | None = None
    score: float | None = None
    distribution: list[float] | None = None
    labels: list[float] | None = None
    target_class: int | None = None
    decision: str | None = None


@dataclass
class Dataset:
    name: str
    samples: list[Sample]
    #: (preferred key, other key) pairs, e.g. picks within a burst recorded by the GUI.
    preferences: list[tuple[str, str]] = field(default_factory=list)
    label_names: list[str] = field(default_factory=list)

    def by_key(self) -> dict[str, Sample]:
        return {s.key: s for s in self.samples}

    def subset(self, keys: list[str]) -> Dataset:
        index = self.by_key()
        wanted = set(keys)
        return Dataset(
            self.name,
            [index[k] for k in keys],
            [p for p in self.preferences if p[0] in wanted and p[1] in wanted],
            self.label_names,
        )


# -- the catalog ------------------------------------------------------------------------------------
def from_catalog(catalog: Any, min_ratings: int = MIN_RATINGS) -> Dataset:
    """The user's current ratings (stars 1–5 → 2–10, else pick → 8, reject → 2) and preferences.

    Raises :class:`NotEnoughRatings` with what to do when the ratings cannot train a model.
    """
    rows = catalog.rated_photos()
    samples = []
    for row in rows:
        stars, decision = row["stars"], row["decision"]
        score = 2.0 * stars if stars else PICK_SCORE if decision == "pick" else REJECT_SCORE
        samples.append(
            Sample(
                key=str(row["photo_id"]),
                path=row["path"],
                photo_id=row["photo_id"],
                score=score,
                decision=decision if decision in ("pick", "reject") else None,
            )
        )
    prefs = [(str(w), str(lo)) for w, lo in catalog.preferences()]
    check_ratings(samples, min_ratings)
    return Dataset("catalog", samples, prefs)


def from_catalog_tags(catalog: Any, min_photos: int = MIN_RATINGS) -> Dataset:
    """Photos the user tagged by hand (``culler tag``), multi-hot over every tag name used.

    Untagged photos are left out rather than taken as "no emotion": nobody has said so.
    """
    by_photo: dict[int, tuple[str, set[str]]] = {}
    for row in catalog.user_tag_rows():
        by_photo.setdefault(row["photo_id"], (row["path"], set()))[1].add(row["tag"])
    names = sorted({t for _, tags in by_photo.values() for t in tags})
    if len(by_photo) < min_photos or len(names) < 2:
        raise NotEnoughRatings(
            f"found {len(by_photo)} photos with your tags ({len(names)} different tags); tag at "
            f"least {min_photos} photos with at least 2 different tags — `culler tag PHOTO… --add "
            "awe` — then train again"
        )
    samples = [
        Sample(
            key=str(pid),
            path=path,
            photo_id=pid,
            labels=[1.0 if n in tags else 0.0 for n in names],
        )
        for pid, (path, tags) in sorted(by_photo.items())
    ]
    return Dataset("catalog-tags", samples, label_names=names)


def check_ratings(samples: list[Sample], min_ratings: int = MIN_RATINGS) -> None:
    """Refuse rating sets that cannot teach a model anything, saying how to fix them."""
    decisions = Counter(s.decision for s in samples if s.decision)
    distinct = {s.score for s in samples}
    found = (
        f"found {len(samples)} rated photos ({decisions['pick']} picks, "
        f"{decisions['reject']} rejects, {len(distinct)} distinct ratings)"
    )
    if len(samples) < min_ratings or len(distinct) < 2:
        raise NotEnoughRatings(
            f"{found}; rate at least {min_ratings} photos with both picks and rejects (or different "
            "star ratings) — in `culler gui` press P / X / 0–5 — then train again"
        )


# -- public datasets --------------------------------------------------------------------------------
def from_ava(
    ava_txt: str | Path, images: str | Path, limit: int | None = None, classes: int = 0
) -> Dataset:
    """AVA.txt rows: index, image id, 10 vote counts (scores 1..10), 2 tag ids, challenge id.

    ``classes`` = 2 or 3 adds CharLeNet's classes from the mean vote (:func:`score_class`); the 2-way
    split drops the ambiguous 4.5–5.5 band, as seed 004 did.
    """
    images = Path(images)
    samples = []
    with _open_text(ava_txt) as fh:
        for line_no, line in enumerate(fh, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) < 12:
                raise ValueError(
                    f"{ava_txt}:{line_no}: expected at least 12 columns, got {len(parts)}"
                )
            votes = np.asarray([_number(v, ava_txt, line_no, "vote count") for v in parts[2:12]])
            if (votes < 0).any():
                raise ValueError(f"{ava_txt}:{line_no}: a vote count is negative; fix the line")
            if votes.sum() <= 0:
                continue  # an image nobody voted on has no target
            dist = votes / votes.sum()
            sample = Sample(
                key=parts[1],
                path=str(images / f"{parts[1]}.jpg"),
                score=float((dist * np.arange(1, 11)).sum()),
                distribution=dist.tolist(),
            )
            if classes:
                sample.target_class = score_class(sample.score, classes)
                if sample.target_class < 0:
                    continue
            samples.append(sample)
            if limit and len(samples) >= limit:
                break
    return Dataset("ava", samples)


def from_csv(
    csv_path: str | Path,
    images: str | Path | None = None,
    image_column: str = "image",
    score_column: str | None = "score",
    label_columns: list[str] | None = None,
    score_scale: float = 1.0,
    classes: int = 0,
    limit: int | None = None,
) -> Dataset:
    """A CSV of image names (relative to ``images``, default the CSV's folder) with a score and/or tags.

    BAID is this format (``image,score``). Tags come from ``label_columns`` (0/1 or probabilities) or a
    ``labels`` column of ``;``-separated names. ``classes`` = 2 or 3 adds good/bad(/middle) classes from
    the score (AVA/CharLeNet style: dropping scores within 0.5 of 5 for the binary split).
    """
    csv_path = Path(csv_path)
    root = Path(images) if images else csv_path.parent
    columns, rows = read_csv(csv_path)
    if image_column not in columns:
        raise ValueError(
            f"{csv_path} has no {image_column!r} column (columns: {', '.join(columns)}); "
            "pass --image-column the column that names the images"
        )
    missing = [c for c in (label_columns or []) if c not in columns]
    if missing:
        raise ValueError(f"{csv_path} has no {missing[0]!r} column (columns: {', '.join(columns)})")
    label_names = list(label_columns or [])
    if not label_names and "labels" in columns:
        label_names = sorted({n for _, r in rows for n in (r["labels"] or "").split(";") if n})
    samples = []
    for line_no, row in rows:
        name = row[image_column]
        if not name:
            raise ValueError(f"{csv_path}:{line_no}: no {image_column!r} value; fix the row")
        sample = Sample(key=name, path=str(root / name))
        if score_column and row.get(score_column) not in (None, ""):
            score = _number(row[score_column], csv_path, line_no, f"{score_column!r}")
            sample.score = score * score_scale
        if label_names:
            if label_columns:
                sample.labels = [
                    _number(row[c] or "0", csv_path, line_no, repr(c)) for c in label_columns
                ]
            else:
                present = set((row["labels"] or "").split(";"))
                sample.labels = [1.0 if n in present else 0.0 for n in label_names]
        if classes:
            if sample.score is None:
                raise ValueError(
                    f"--classes needs a score for every image; {name} ({csv_path}:{line_no}) has "
                    "none"
                )
            sample.target_class = score_class(sample.score, classes)
            if sample.target_class < 0:
                continue
        samples.append(sample)
        if limit and len(samples) >= limit:
            break
    return Dataset(csv_path.stem, samples, label_names=label_names)


# -- reading label files the user names (any of them may be damaged, huge, or a FIFO) ---------------
#: Largest label file read (AVA.txt is 17 MB; a CSV of a million photos well under this).
MAX_LABEL_FILE_BYTES = 1 << 30
#: Largest CSV field: a path or a vote list is short; csv's own default is 128 KiB.
MAX_CSV_FIELD = 1 << 20


def _open_text(path: str | Path) -> Any:
    """A label file, as text (a UTF-8 byte-order mark, as Excel writes, dropped); only a regular file
    is opened, so a FIFO cannot block."""
    import io

    from culler.api import RefusedFile, open_regular

    try:
        raw = open_regular(path, MAX_LABEL_FILE_BYTES)
    except RefusedFile as exc:
        raise ValueError(f"{path}: {exc}") from None
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="", errors="strict")


def read_csv(path: str | Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """(column names, [(line number, row)]) of a CSV; a short row's missing cells are "", and a
    damaged file (an over-long field, bad quoting, not UTF-8) is a one-line ValueError naming it."""
    limit = csv.field_size_limit()
    csv.field_size_limit(MAX_CSV_FIELD)
    try:
        with _open_text(path) as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if not header:
                raise ValueError(f"{path} is empty: a CSV with a header row is needed")
            columns = [c.strip() for c in header]
            rows = []
            for row in reader:
                if not row or not any(cell.strip() for cell in row):
                    continue
                cells = [c.strip() for c in row] + [""] * (len(columns) - len(row))
                rows.append((reader.line_num, dict(zip(columns, cells))))
    except csv.Error as exc:
        raise ValueError(f"{path}: not a readable CSV ({exc}); fix or re-export the file") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason}); save it as CSV UTF-8") from None
    finally:
        csv.field_size_limit(limit)
    return columns, rows


def _number(text: str, path: str | Path, line_no: int, what: str) -> float:
    """A finite number from a label file, else a ValueError naming the file, line and value."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(
            f"{path}:{line_no}: {what} {str(text)[:40]!r} is not a number; fix the line"
        ) from None
    if not np.isfinite(value):
        raise ValueError(f"{path}:{line_no}: {what} {text!r} is not a finite number; fix the line")
    return value


def with_classes(dataset: Dataset, classes: int) -> Dataset:
    """``dataset`` with CharLeNet's classes from each score (:func:`score_class`); 2-way drops the
    ambiguous middle. For sources whose reader has no ``classes`` option (the catalog)."""
    if not classes:
        return dataset
    kept = []
    for sample in dataset.samples:
        if sample.score is None:
            continue
        sample.target_class = score_class(sample.score, classes)
        if sample.target_class >= 0:
            kept.append(sample)
    wanted = {s.key for s in kept}
    prefs = [p for p in dataset.preferences if p[0] in wanted and p[1] in wanted]
    return Dataset(dataset.name, kept, prefs, dataset.label_names)


def score_class(score: float, classes: int) -> int:
    """2 classes: bad (< 4.5) / good (> 5.5), the ambiguous middle dropped (−1); 3: bad/middle/good."""
    if classes == 2:
        return 1 if score > 5.5 else 0 if score < 4.5 else -1
    if classes == 3:
        return 2 if score > 5.5 else 0 if score < 4.5 else 1
    raise ValueError("classes must be 2 or 3")


# -- splits -----------------------------------------------------------------------------------------
def make_split(dataset: Dataset, val_fraction: float = 0.25, seed: int = 0) -> dict[str, list[str]]:
    """A deterministic split stratified by target, so a small held-out set has picks and rejects."""
    if not 0 < val_fraction < 1:
        raise ValueError("--val-fraction must be between 0 and 1")
    rng = np.random.default_rng(seed)
    strata: dict[Any, list[str]] = {}
    for s in sorted(dataset.samples, key=lambda s: s.key):
        strata.setdefault(_stratum(s), []).append(s.key)
    train, val = [], []
    carry = 0.0
    for name in sorted(strata, key=str):
        keys = strata[name]
        rng.shuffle(keys)
        exact = len(keys) * val_fraction + carry
        n_val = int(round(exact))
        carry = exact - n_val
        val += keys[:n_val]
        train += keys[n_val:]
    return {"train": sorted(train), "val": sorted(val), "seed": seed, "val_fraction": val_fraction}


def _stratum(sample: Sample) -> Any:
    if sample.decision:
        return sample.decision
    if sample.target_class is not None:
        return sample.target_class
    if sample.score is not None:
        return round(sample.score)
    return 0


def save_split(split: dict, path: Path) -> None:
    path.write_text(json.dumps(split, indent=1))


def load_split(path: Path, dataset: Dataset) -> dict[str, list[str]]:
    split = json.loads(path.read_text())
    known = dataset.by_key()
    missing = [k for k in split["train"] + split["val"] if k not in known]
    if missing:
        raise ValueError(
            f"{path}: {len(missing)} photos of the saved split are no longer in the dataset "
            f"(e.g. {missing[0]}); start a new run instead of resuming"
        )
    return split
