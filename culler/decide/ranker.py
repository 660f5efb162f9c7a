"""A personal ranker learned from the photographer's own decisions.

Features are what the catalog already holds, so it learns with no downloaded weights: every stored
score and numeric sub-score (the technical scorer's sharpness, exposure, noise parts…), per-face
verdicts (:func:`face_features`: size, eyes open, face sharpness), capture facts (megapixels,
aspect) and the colour of the frame from the near-duplicate signature (warmth, brightness,
saturation); with cached CLIP embeddings, their first principal components as well.

The model is linear, fitted on two kinds of example at once: pairwise within moments (the frame
the photographer kept against the frames of the same burst they dropped, a logistic loss on the
feature difference) and pointwise (kept against dropped, features centred per shoot, so a dark
church and a sunny garden do not teach "bright is good"). It is measured with whole shoots held
out (:func:`evaluate`): the cull runs on each held-out shoot with a ranker that never saw it, and
the gain over the default ranking gets a bootstrap interval over shoots. ``culler cull`` uses a
ranker only when that interval's lower end is above zero (``beats_default``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from culler.catalog import Catalog
from culler.decide.ranker_features import (
    EMBEDDING_COMPONENTS,
    colour_features,
    embedding_projection,
    exposure_features,
    face_features,
    feature_table,
    photo_features,
)

#: L1 strengths tried on inner folds (a taste is a few features: the rest must stay at zero),
#: and the one used when there are too few shoots to choose.
STRENGTHS = (0.003, 0.01, 0.03, 0.1)
DEFAULT_STRENGTH = 0.03
#: Weight of the pointwise loss against the pairwise one.
POINTWISE = 0.5
#: Fewest shoots that make a held-out measurement (one held out, at least two to learn from).
MIN_SHOOTS = 3
#: The interval of the held-out figures, in percent (resampling as ``culler agreement`` does).
INTERVAL = 90

#: How a decision the personal ranker made begins its reason (``culler agreement`` looks for it).
RANKER_MARK = "your ranker prefers"
#: Words for the features a reason names ("your ranker prefers #1: warmer light").
PHRASES = {
    "colour.warmth": ("warmer light", "cooler light"),
    "colour.warmth_centre": ("warmer light", "cooler light"),
    "colour.luma": ("brighter exposure", "darker exposure"),
    "colour.saturation": ("more saturated colour", "more muted colour"),
    "colour.contrast": ("more contrast", "less contrast"),
    "faces.largest": ("a larger face", "a smaller face"),
    "faces.eyes_open": ("eyes open", "eyes closed"),
    "faces.sharpness": ("a sharper face", "a softer face"),
    "faces.count": ("more faces", "fewer faces"),
    "capture.megapixels": ("more pixels", "fewer pixels"),
    "capture.focal_length": ("a longer lens", "a wider lens"),
    "capture.focal_length_35mm": ("a longer lens", "a wider lens"),
    "capture.f_number": ("a smaller aperture", "a wider aperture"),
    "capture.exposure_time": ("a slower shutter", "a faster shutter"),
    "capture.iso": ("a higher ISO", "a lower ISO"),
}


def _phrases(name: str) -> tuple[str, str]:
    """("a higher technical score", "a lower …") for a feature without words of its own."""
    kind, _, rest = name.partition(".")
    if kind == "score":
        return f"a higher {rest} score", f"a lower {rest} score"
    words = rest.replace(".", " ").replace("_", " ")
    return f"more {words}", f"less {words}"


# -- the model ----------------------------------------------------------------------------------


@dataclass
class RankerModel:
    """A linear ranker on standardised features; ``value`` is higher for the frame to keep."""

    names: list[str]
    mean: list[float]
    scale: list[float]
    weights: list[float]
    bias: float = 0.0
    embedding: dict[str, Any] | None = None
    trained_on: dict[str, int] = field(default_factory=dict)

    def vector(self, features: dict[str, float]) -> np.ndarray:
        raw = np.array([features.get(n, m) for n, m in zip(self.names, self.mean)], dtype=float)
        return (raw - np.asarray(self.mean)) / np.asarray(self.scale)

    def value(self, features: dict[str, float]) -> float:
        return float(self.vector(features) @ np.asarray(self.weights))

    def reasons(self, better: dict[str, float], worse: dict[str, float], top: int = 2) -> list[str]:
        """The features that most made ``better`` win, in words, strongest first."""
        parts = np.asarray(self.weights) * (self.vector(better) - self.vector(worse))
        found = []
        for i in np.argsort(-parts)[:top]:
            if parts[i] <= 0.05 * max(parts.max(), 1e-9):
                break
            name = self.names[i]
            up = better.get(name, self.mean[i]) >= worse.get(name, self.mean[i])
            more, less = PHRASES.get(name) or _phrases(name)
            phrase = more if up else less
            if phrase not in found:
                found.append(phrase)
        return found

    def strongest(self, count: int = 5) -> list[tuple[str, float]]:
        """The features that weigh most, with their standardised weights."""
        order = np.argsort(-np.abs(self.weights))[:count]
        return [(self.names[i], round(float(self.weights[i]), 3)) for i in order]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "linear-pairwise",
            "names": self.names,
            "mean": self.mean,
            "scale": self.scale,
            "weights": self.weights,
            "bias": self.bias,
            "embedding": self.embedding,
            "trained_on": self.trained_on,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RankerModel:
        return cls(
            list(data["names"]),
            [float(v) for v in data["mean"]],
            [float(v) for v in data["scale"]],
            [float(v) for v in data["weights"]],
            float(data.get("bias", 0.0)),
            data.get("embedding"),
            dict(data.get("trained_on") or {}),
        )


def _within_scale(
    raw: np.ndarray, used: list[int], points: list[tuple[int, bool, str]]
) -> np.ndarray:
    """Each feature's spread within the sets photos are compared in (a moment's frames), where
    it has one, else across photos. The ranker compares frames of one moment: a feature that
    varies a lot between scenes but little between frames (warmth, brightness) must not be
    shrunk by the penalty for the scenes' spread."""
    where = {p: s for p, _, s in points}
    row = {p: i for i, p in enumerate(used)}
    centred = []
    for name in {s for s in where.values() if "#" in s}:
        idx = [row[p] for p, s in where.items() if s == name and p in row]
        if len(idx) > 1:
            centred.append(raw[idx] - raw[idx].mean(axis=0))
    across = raw.std(axis=0)
    if not centred:
        return across
    within = np.sqrt((np.concatenate(centred) ** 2).mean(axis=0))
    return np.where(within > 1e-9, within, across)


@dataclass
class Design:
    """The standardised training rows: pair differences, centred points, and where each is from."""

    names: list[str]
    mean: np.ndarray
    scale: np.ndarray
    diffs: np.ndarray
    pair_sets: list[str]
    points: np.ndarray
    labels: np.ndarray
    point_sets: list[str]


def design(table: dict[int, dict[str, float]], ex: Any) -> Design:
    """Standardise the features (spread within moments) and build the training rows."""
    used = sorted({p for pair in ex.pairs for p in pair} | {p for p, _, _ in ex.points})
    names = sorted({n for p in used for n in table.get(p, {})})
    raw = np.array([[table[p].get(n, np.nan) for n in names] for p in used], dtype=float)
    raw = raw.reshape(len(used), len(names))
    mean = np.nan_to_num(np.nanmean(raw, axis=0)) if len(used) else np.zeros(len(names))
    raw = np.where(np.isnan(raw), mean, raw)
    scale = _within_scale(raw, used, ex.points)
    keep = scale > 1e-9
    names = [n for n, k in zip(names, keep) if k]
    mean, scale, raw = mean[keep], scale[keep], raw[:, keep]
    x = (raw - mean) / scale
    row = {p: i for i, p in enumerate(used)}
    where = {p: s for p, _, s in ex.points}
    diffs = np.array([x[row[a]] - x[row[b]] for a, b in ex.pairs]).reshape(-1, len(names))
    points = np.array([x[row[p]] for p, _, _ in ex.points]).reshape(-1, len(names))
    sets = [s for _, _, s in ex.points]
    for name in set(sets):  # centred within the moment (or shoot): a scene is not a taste
        idx = [i for i, s in enumerate(sets) if s == name]
        points[idx] -= points[idx].mean(axis=0)
    return Design(
        names,
        mean,
        scale,
        diffs,
        [where.get(a, "") for a, _ in ex.pairs],
        points,
        np.array([1.0 if k else 0.0 for _, k, _ in ex.points]),
        sets,
    )


def _gradient(params: np.ndarray, diffs, points, labels) -> np.ndarray:
    w, b = params[:-1], params[-1]
    grad = np.zeros_like(params)
    if len(diffs):
        grad[:-1] -= diffs.T @ (1.0 / (1.0 + np.exp(np.clip(diffs @ w, -50, 50)))) / len(diffs)
    if len(points):
        prob = 1.0 / (1.0 + np.exp(-np.clip(points @ w + b, -50, 50)))
        grad[:-1] += POINTWISE * points.T @ (prob - labels) / len(points)
        grad[-1] += POINTWISE * float((prob - labels).mean())
    return grad


def solve(diffs, points, labels, strength: float, steps: int = 400) -> np.ndarray:
    """Weights and bias minimising the pairwise + pointwise logistic loss with an L1 penalty of
    ``strength`` on the weights (FISTA): a taste is a few features, and the penalty keeps the
    dozens of others at zero instead of fitting a few dozen moments' noise."""
    width = diffs.shape[1] if len(diffs) else points.shape[1]
    lipschitz = 1e-6
    if len(diffs):
        lipschitz += 0.25 * np.linalg.norm(diffs, 2) ** 2 / len(diffs)
    if len(points):
        lipschitz += 0.25 * POINTWISE * (np.linalg.norm(points, 2) ** 2 + len(points)) / len(points)
    step = 1.0 / lipschitz
    params = np.zeros(width + 1)
    ahead, t = params.copy(), 1.0
    for _ in range(steps):
        new = ahead - step * _gradient(ahead, diffs, points, labels)
        new[:-1] = np.sign(new[:-1]) * np.maximum(np.abs(new[:-1]) - step * strength, 0.0)
        t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
        ahead = new + (t - 1.0) / t_next * (new - params)
        params, t = new, t_next
    return params


def _shoot(key: str) -> str:
    return key.split("#")[0]


def choose_strength(d: Design) -> float:
    """The L1 strength that ranks the photographer's frame first most often in shoots held out of
    the fit (inner folds by shoot); on a tie, the stronger (sparser) one."""
    shoots = sorted({_shoot(s) for s in d.point_sets})
    if len(shoots) < 3:
        return DEFAULT_STRENGTH
    count = min(4, len(shoots))
    best = (-1, 0.0)
    for strength in STRENGTHS:
        hits = 0
        for k in range(count):
            held = set(shoots[k::count])
            pairs = np.array([_shoot(s) not in held for s in d.pair_sets], dtype=bool)
            pts = np.array([_shoot(s) not in held for s in d.point_sets], dtype=bool)
            w = solve(d.diffs[pairs], d.points[pts], d.labels[pts], strength)[:-1]
            hits += _first_hits(d, held, w)
        best = max(best, (hits, strength))
    return best[1]


def _first_hits(d: Design, held: set[str], w: np.ndarray) -> int:
    """Moments of ``held`` shoots (one kept frame) whose kept frame ``w`` puts first."""
    hits = 0
    for key in {s for s in d.point_sets if "#" in s and _shoot(s) in held}:
        idx = [i for i, s in enumerate(d.point_sets) if s == key]
        kept = [i for i in idx if d.labels[i] == 1.0]
        if len(kept) == 1:
            hits += int(max(idx, key=lambda i: float(d.points[i] @ w)) == kept[0])
    return hits


def fit(table: dict[int, dict[str, float]], ex: Any, strength: float | None = None) -> RankerModel:
    """Fit the linear ranker on the pairwise and pointwise examples (``ex``: an
    :class:`culler.decide.ranker_training.Examples`); the L1 strength is chosen on inner folds
    by shoot unless given."""
    d = design(table, ex)
    if strength is None:
        strength = choose_strength(d)
    params = solve(d.diffs, d.points, d.labels, strength)
    return RankerModel(
        d.names,
        d.mean.tolist(),
        d.scale.tolist(),
        params[:-1].tolist(),
        float(params[-1]),
        trained_on={
            "pairs": len(ex.pairs),
            "photos": len(ex.points),
            "shoots": len({_shoot(s) for s in d.point_sets}),
            "l1": strength,
        },
    )


# -- using it in the cull -----------------------------------------------------------------------


def active_model(catalog: Catalog) -> RankerModel | None:
    """The catalog's active ranker, only when it beat the default ranking on held-out shoots."""
    row = catalog.active_ranker()
    if row is None or not row["beats_default"]:
        return None
    return RankerModel.from_json(row["model"])


@dataclass
class ActiveRanker:
    """A ranker in use by one cull, with the features it read."""

    model: RankerModel
    table: dict[int, dict[str, float]]


def use_personal_ranker(
    catalog: Catalog, scores: dict[int, Any], ranking: Any
) -> ActiveRanker | None:
    """Give each photo its ranker value (``PhotoScores.personal``) when a ranker is to be used.
    ``ranking.personal_ranker``: "auto" (the catalog's, if it beat the default), None (never), or
    a :class:`RankerModel`."""
    wanted = getattr(ranking, "personal_ranker", "auto")
    model = active_model(catalog) if wanted == "auto" else wanted
    if model is None or not scores:
        return None
    table = feature_table(catalog, scores, model.embedding)
    for pid, ps in scores.items():
        if ps.value is not None:
            ps.personal = model.value(table[pid])
    return ActiveRanker(model, table)


def explain_personal_picks(
    ranker: ActiveRanker, plan: dict[int, Any], scores: dict[int, Any]
) -> None:
    """Say so in the reason of each moment's pick the ranker decided: "your ranker prefers #1:
    warmer light, a larger face (than #2)". Picks decided by a blur or a smaller copy keep theirs."""
    model, table = ranker.model, ranker.table
    moments: dict[int, dict[int, Any]] = {}
    for p in plan.values():
        if p.moment is not None and p.rank is not None:
            moments.setdefault(p.moment, {})[p.rank] = p
    for ranks in moments.values():
        first, second = ranks.get(1), ranks.get(2)
        if first is None or second is None or first.locked or first.decision != "pick":
            continue
        if any(w in first.reason for w in ("sharp, unlike", "smaller copy", "full-size")):
            continue
        why = model.reasons(table.get(first.photo_id, {}), table.get(second.photo_id, {}))
        label = (first.group or "").rsplit(",", 1)[0]
        first.reason = (
            f"{label}: {RANKER_MARK} #1: {', '.join(why) or 'its overall blend'} (than #2)"
        )
        for rank, p in ranks.items():
            if rank == 1 or p.locked or p.decision != "reject" or not p.reason.endswith(" score"):
                continue  # blur, a smaller copy, a named defect: that reason stands
            why = model.reasons(table.get(first.photo_id, {}), table.get(p.photo_id, {}))
            p.reason = (
                f"{label} (#{rank}): {RANKER_MARK} #1: {', '.join(why) or 'its overall blend'}"
            )


__all__ = [
    "EMBEDDING_COMPONENTS",
    "MIN_SHOOTS",
    "RANKER_MARK",
    "ActiveRanker",
    "RankerModel",
    "active_model",
    "colour_features",
    "embedding_projection",
    "explain_personal_picks",
    "exposure_features",
    "face_features",
    "feature_table",
    "fit",
    "photo_features",
    "use_personal_ranker",
]
