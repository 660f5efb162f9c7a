"""The figures of ``culler agreement``: counts per shoot, pooled ratios, NDCG and Spearman, and
intervals from a bootstrap that resamples whole shoots (frames of one shoot are not independent).

Pure functions of proposals (:class:`culler.decide.cull.Proposal`: ``decision``, ``moment``,
``rank``) and the photographer's verdicts (:class:`culler.decide.agreement.Verdict`); no catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

KEPT, DROPPED = "kept", "dropped"
#: Bootstrap resamples (seeded: the same catalog always gives the same intervals).
BOOTSTRAP = 1000


def ratio(hits: float, total: float) -> float | None:
    return round(hits / total, 4) if total else None


def mean_ranks(values: list[float]) -> np.ndarray:
    """1-based ranks, ties sharing their mean rank (what Spearman's correlation needs)."""
    x = np.asarray(values, dtype=float)
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(1, len(x) + 1)
    for value in np.unique(x):
        tied = x == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def spearman(a: list[float], b: list[float]) -> float | None:
    """Spearman's rank correlation (ties get their mean rank); None when either side is constant."""
    if len(a) < 3:
        return None
    ra, rb = mean_ranks(a), mean_ranks(b)
    if np.std(ra) == 0 or np.std(rb) == 0:
        return None
    return round(float(np.corrcoef(ra, rb)[0, 1]), 4)


def ndcg(values: list[float], stars: list[int], k: int = 10) -> float | None:
    """NDCG@k of the order ``values`` gives, with gain 2^stars − 1; None when no photo has stars."""
    gains = np.array([2.0**s - 1 for s in stars])
    if not gains.any():
        return None
    order = np.argsort(-np.asarray(values, dtype=float), kind="stable")[:k]
    discounts = 1.0 / np.log2(np.arange(2, min(k, len(gains)) + 2))
    dcg = float((gains[order] * discounts[: len(order)]).sum())
    ideal = float((np.sort(gains)[::-1][:k] * discounts[: min(k, len(gains))]).sum())
    return round(dcg / ideal, 4)


@dataclass
class Counts:
    """What one shoot (or all of them) adds up to; figures are derived from these."""

    groups: int = 0
    top1: int = 0
    rank_sum: float = 0.0
    kept: int = 0
    dropped: int = 0
    picks: int = 0  # culler's picks among judged photos
    picks_right: int = 0
    rejects: int = 0
    rejects_right: int = 0
    ndcg: list[float] = field(default_factory=list)
    spearman: list[float] = field(default_factory=list)

    def add(self, other: Counts) -> None:
        for name in ("groups", "top1", "rank_sum", "kept", "dropped", "picks", "picks_right"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.rejects += other.rejects
        self.rejects_right += other.rejects_right
        self.ndcg += other.ndcg
        self.spearman += other.spearman

    def figures(self) -> dict[str, Any]:
        return {
            "photos_judged": self.kept + self.dropped,
            "kept": self.kept,
            "dropped": self.dropped,
            "groups": self.groups,
            "top1": ratio(self.top1, self.groups),
            "mean_rank": ratio(self.rank_sum, self.groups),
            "pick_precision": ratio(self.picks_right, self.picks),
            "pick_recall": ratio(self.picks_right, self.kept),
            "reject_precision": ratio(self.rejects_right, self.rejects),
            "reject_recall": ratio(self.rejects_right, self.dropped),
            "ndcg": round(float(np.mean(self.ndcg)), 4) if self.ndcg else None,
            "spearman": round(float(np.mean(self.spearman)), 4) if self.spearman else None,
        }


def their_best(members: list[Any]) -> int | None:
    """The one frame of a moment the photographer chose: the only kept one, else the only one with
    the most stars; None when they kept none, several, or starred several alike."""
    kept = [v for v in members if v.verdict == KEPT]
    if len(kept) == 1:
        return kept[0].photo_id
    starred = [v for v in (kept or members) if v.stars]
    if not starred:
        return None
    top = max(v.stars for v in starred)
    best = [v for v in starred if v.stars == top]
    return best[0].photo_id if len(best) == 1 else None


def shoot_counts(
    proposals: list[Any], verdicts: dict[int, Any], values: dict[int, float], k: int = 10
) -> Counts:
    """The counts of one shoot's proposals against the photographer's verdicts."""
    c = Counts()
    judged = [p for p in proposals if verdicts.get(p.photo_id) and verdicts[p.photo_id].verdict]
    for p in judged:
        theirs = verdicts[p.photo_id].verdict
        c.kept += theirs == KEPT
        c.dropped += theirs == DROPPED
        if p.decision == "pick":
            c.picks += 1
            c.picks_right += theirs == KEPT
        elif p.decision == "reject":
            c.rejects += 1
            c.rejects_right += theirs == DROPPED
    moments: dict[int, list[Any]] = {}
    for p in proposals:
        if p.moment is not None and p.rank is not None and p.photo_id in verdicts:
            moments.setdefault(p.moment, []).append(p)
    for members in moments.values():
        best = their_best([verdicts[p.photo_id] for p in members])
        if best is None:
            continue
        ranks = {p.photo_id: p.rank for p in members}
        order = sorted(ranks, key=ranks.get)
        c.groups += 1
        c.top1 += order[0] == best
        c.rank_sum += order.index(best) + 1
    starred = [p for p in proposals if p.photo_id in values and p.photo_id in verdicts]
    stars = [verdicts[p.photo_id].stars or 0 for p in starred]
    if len(set(stars)) > 1:
        vals = [values[p.photo_id] for p in starred]
        score = ndcg(vals, stars, k)
        rho = spearman(vals, [float(s) for s in stars])
        if score is not None:
            c.ndcg.append(score)
        if rho is not None:
            c.spearman.append(rho)
    return c


def moment_hits(proposals: list[Any], verdicts: dict[int, Any]) -> dict[int, bool]:
    """{the photographer's frame: did culler rank it first} for each moment where they chose one
    (keyed by that frame, so two dry runs over the same groups line up)."""
    moments: dict[int, list[Any]] = {}
    for p in proposals:
        if p.moment is not None and p.rank is not None and p.photo_id in verdicts:
            moments.setdefault(p.moment, []).append(p)
    found = {}
    for members in moments.values():
        best = their_best([verdicts[p.photo_id] for p in members])
        if best is not None:
            found[best] = min(members, key=lambda p: p.rank).photo_id == best
    return found


#: Pooled figures as (numerator, denominator) fields of Counts: what the bootstrap resamples.
RATIOS = {
    "top1": ("top1", "groups"),
    "mean_rank": ("rank_sum", "groups"),
    "pick_precision": ("picks_right", "picks"),
    "pick_recall": ("picks_right", "kept"),
    "reject_precision": ("rejects_right", "rejects"),
    "reject_recall": ("rejects_right", "dropped"),
}


def resampled(per_shoot: list[Counts], figure: str, picks: np.ndarray) -> np.ndarray:
    """The pooled ``figure`` for each row of shoot indices in ``picks`` (NaN where undefined)."""
    top, bottom = RATIOS[figure]
    num = np.array([getattr(c, top) for c in per_shoot], dtype=float)[picks].sum(axis=1)
    den = np.array([getattr(c, bottom) for c in per_shoot], dtype=float)[picks].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.maximum(den, 1e-12), np.nan)


def shoot_resamples(shoots: int, resamples: int = BOOTSTRAP, seed: int = 0) -> np.ndarray:
    """(resamples, shoots) indices: whole shoots drawn with replacement (seeded, so a rerun gives
    the same intervals)."""
    return np.random.default_rng(seed).integers(0, shoots, (resamples, shoots))


def percentile_interval(values: np.ndarray, level: float = 90.0) -> list[float] | None:
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return None
    tail = (100 - level) / 2
    return [
        round(float(np.percentile(values, tail)), 4),
        round(float(np.percentile(values, 100 - tail)), 4),
    ]


def bootstrap_interval(
    per_shoot: list[Counts], figure: str, resamples: int = BOOTSTRAP, seed: int = 0
) -> list[float] | None:
    """90 % interval of a pooled figure, resampling whole shoots."""
    if len(per_shoot) < 2:
        return None
    values = resampled(per_shoot, figure, shoot_resamples(len(per_shoot), resamples, seed))
    if np.isnan(values).sum() > resamples // 2:
        return None
    return percentile_interval(values)
