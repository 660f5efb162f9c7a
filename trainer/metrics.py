"""Evaluation metrics (numpy): correlation, accuracy, distribution distance, tags, personal agreement.

Aesthetic papers report PLCC/SRCC because accuracy at 5 hides a lot (BAID's all-"low" baseline is
already 76 %); a personal model is judged by how often it agrees with the user's own decisions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np


def _finite_pair(pred, target) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(pred, dtype=np.float64).ravel(), np.asarray(target, dtype=np.float64).ravel()


def plcc(pred, target) -> float:
    """Pearson linear correlation; 0 when either side is constant (no linear relation to measure)."""
    p, t = _finite_pair(pred, target)
    if len(p) < 2 or p.std() == 0 or t.std() == 0:
        return 0.0
    return float(np.corrcoef(p, t)[0, 1])


def rankdata(values) -> np.ndarray:
    """Ranks 1..n with ties given their average rank (as Spearman's rho needs)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    order = np.argsort(v, kind="mergesort")
    ranks = np.empty(len(v), dtype=np.float64)
    sorted_v = v[order]
    start = 0
    while start < len(v):
        end = start
        while end + 1 < len(v) and sorted_v[end + 1] == sorted_v[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def srcc(pred, target) -> float:
    """Spearman rank correlation (Pearson on average ranks)."""
    p, t = _finite_pair(pred, target)
    return plcc(rankdata(p), rankdata(t))


def accuracy_at(pred, target, threshold: float = 5.0) -> float:
    """Share of photos put on the same side of ``threshold`` (score > 5 counts as "good")."""
    p, t = _finite_pair(pred, target)
    return float(np.mean((p > threshold) == (t > threshold))) if len(p) else 0.0


def mse(pred, target) -> float:
    p, t = _finite_pair(pred, target)
    return float(np.mean((p - t) ** 2)) if len(p) else 0.0


def emd(pred_dist, target_dist, r: float = 2.0, mean_over_bins: bool = True) -> float:
    """Mean over samples of (agg_k |ΔCDF_k|^r)^(1/r), as the training loss (agg: mean or sum)."""
    p = np.cumsum(np.asarray(pred_dist, dtype=np.float64), axis=-1)
    t = np.cumsum(np.asarray(target_dist, dtype=np.float64), axis=-1)
    powered = np.abs(p - t) ** r
    agg = powered.mean(axis=-1) if mean_over_bins else powered.sum(axis=-1)
    return float(np.mean(agg ** (1.0 / r)))


def topk_accuracy(scores, labels, k: int = 1) -> float:
    """Share of samples whose k highest-scored labels include at least one true label."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels) > 0.5
    top = np.argsort(-s, axis=1)[:, :k]
    hits = np.take_along_axis(y, top, axis=1).any(axis=1)
    return float(hits.mean()) if len(hits) else 0.0


def topk_recall(scores, labels, k: int = 3) -> float:
    """Mean share of each sample's true labels found among its k highest-scored labels."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels) > 0.5
    top = np.argsort(-s, axis=1)[:, :k]
    found = np.take_along_axis(y, top, axis=1).sum(axis=1)
    total = y.sum(axis=1)
    mask = total > 0
    return float(np.mean(found[mask] / total[mask])) if mask.any() else 0.0


def best_threshold(pred, is_pick) -> float:
    """The score cut that best separates picks from rejects (chosen on training data only)."""
    p = np.asarray(pred, dtype=np.float64)
    y = np.asarray(is_pick, dtype=bool)
    candidates = np.unique(p)
    if len(candidates) == 0:
        return 5.0
    cuts = np.concatenate([[candidates[0] - 1], (candidates[:-1] + candidates[1:]) / 2])
    accuracy = [np.mean((p > c) == y) for c in cuts]
    return float(cuts[int(np.argmax(accuracy))])


def pick_reject_accuracy(pred, is_pick, threshold: float) -> float:
    """Share of held-out picks scored above ``threshold`` and rejects at or below it."""
    p = np.asarray(pred, dtype=np.float64)
    y = np.asarray(is_pick, dtype=bool)
    return float(np.mean((p > threshold) == y)) if len(p) else 0.0


def pairwise_agreement(
    scores: Mapping[int, float], pairs: Iterable[tuple[int, int]]
) -> tuple[float, int]:
    """Share of (preferred, other) pairs the scores order the same way (ties count half).

    Returns (agreement, pairs counted); pairs with a photo that has no score are skipped.
    """
    agree, n = 0.0, 0
    for winner, loser in pairs:
        if winner not in scores or loser not in scores:
            continue
        n += 1
        if scores[winner] > scores[loser]:
            agree += 1
        elif scores[winner] == scores[loser]:
            agree += 0.5
    return (agree / n if n else 0.0), n


def rating_pairs(targets: Mapping[int, float]) -> list[tuple[int, int]]:
    """Every (better, worse) pair of photos with different ratings: what "agrees with me" counts."""
    items = sorted(targets.items(), key=lambda kv: kv[1])
    pairs = []
    for i, (a, ta) in enumerate(items):
        for b, tb in items[i + 1 :]:
            if tb > ta:
                pairs.append((b, a))
    return pairs


def rating_agreement(pred, target, chunk: int = 1024) -> tuple[float, int]:
    """:func:`pairwise_agreement` over every pair with different targets, vectorised (ties in the
    prediction count half); returns (agreement, pairs counted)."""
    p, t = _finite_pair(pred, target)
    agree, n = 0.0, 0
    for start in range(0, len(p), chunk):
        dt = t[start : start + chunk, None] - t[None, :]
        dp = p[start : start + chunk, None] - p[None, :]
        better = dt > 0  # each unordered pair counted once: from its better-rated side
        n += int(better.sum())
        agree += float((dp[better] > 0).sum() + 0.5 * (dp[better] == 0).sum())
    return (agree / n if n else 0.0), n


def regression_metrics(pred, target) -> dict[str, float]:
    return {
        "plcc": plcc(pred, target),
        "srcc": srcc(pred, target),
        "acc5": accuracy_at(pred, target, 5.0),
        "mse": mse(pred, target),
    }


def split_metrics(
    pred: Mapping[str, np.ndarray],
    samples: list,
    train_pred: Mapping[str, np.ndarray] | None = None,
    train_samples: list | None = None,
    preferences: Iterable[tuple[str, str]] = (),
    personal: bool = True,
) -> dict[str, float]:
    """Every metric the targets allow, for one split's predictions (``samples`` in the same order).

    Personal agreement: the pick/reject threshold is chosen on the training split's predictions, so the
    held-out accuracy is not tuned on the photos it is measured on.
    """
    out: dict[str, float] = {}
    scores = pred.get("score")
    if scores is not None and samples and all(s.score is not None for s in samples):
        out.update(regression_metrics(scores, [s.score for s in samples]))
    if "distribution" in pred and samples and all(s.distribution is not None for s in samples):
        targets = [s.distribution for s in samples]
        out["emd"] = emd(pred["distribution"], targets)
        out["emd1"] = emd(pred["distribution"], targets, r=1.0, mean_over_bins=False)
    if "logits" in pred and samples and all(s.labels is not None for s in samples):
        labels = [s.labels for s in samples]
        out["top1"] = topk_accuracy(pred["logits"], labels, 1)
        out["top2"] = topk_accuracy(pred["logits"], labels, 2)
        out["top3"] = topk_accuracy(pred["logits"], labels, 3)
        out["top3_recall"] = topk_recall(pred["logits"], labels, 3)
    if "logits" in pred and samples and all(s.target_class is not None for s in samples):
        guess = np.asarray(pred["logits"]).argmax(axis=1)
        out["accuracy"] = float(np.mean(guess == np.asarray([s.target_class for s in samples])))
    if scores is not None and personal:
        by_key = {s.key: float(v) for s, v in zip(samples, scores)}
        decided = [(s, float(v)) for s, v in zip(samples, scores) if s.decision]
        if decided and train_pred is not None and train_samples:
            train_decided = [
                (s, float(v)) for s, v in zip(train_samples, train_pred["score"]) if s.decision
            ]
            if train_decided:
                cut = best_threshold(
                    [v for _, v in train_decided], [s.decision == "pick" for s, _ in train_decided]
                )
                out["pick_reject_acc"] = pick_reject_accuracy(
                    [v for _, v in decided], [s.decision == "pick" for s, _ in decided], cut
                )
        if personal and all(s.score is not None for s in samples):
            agreement, n = rating_agreement(scores, [s.score for s in samples])
            if n:
                out["agreement"] = agreement
        agreement, n = pairwise_agreement(by_key, preferences)
        if n:
            out["pref_agreement"] = agreement
    return out
