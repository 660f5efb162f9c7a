"""Learning a personal ranker from culled shoots, measured with whole shoots held out.

Never frames of one shoot on both sides: the shoots are split into folds (one shoot per fold up to
:data:`MAX_FOLDS` shoots, leave-one-shoot-out; more shoots share folds), a ranker is fitted on the
other folds, and the cull runs on the held-out shoots with it. The default ranking's figures on
the same shoots are the baseline; the gain gets a paired bootstrap interval over shoots. The final
ranker is fitted on every shoot and stored with that evaluation; ``culler cull`` uses it only when
the interval of the gain lies above zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from culler.catalog import Catalog
from culler.decide.agreement import (
    BOOTSTRAP,
    DROPPED,
    KEPT,
    Counts,
    Marks,
    dry_run,
    moment_hits,
    percentile_interval,
    photographer_verdicts,
    photos_under,
    resampled,
    shoot_counts,
    shoot_resamples,
)
from culler.decide.ranker import (
    INTERVAL,
    MIN_SHOOTS,
    RankerModel,
    embedding_projection,
    feature_table,
    fit,
)

#: Most folds: beyond this many shoots, several shoots are held out together.
MAX_FOLDS = 10
#: The figures compared before and after.
#: The ranker is used only when McNemar's test on the held-out moments (the moments one of the two
#: rankings got right and the other wrong) says it is better at this level, and by this much top-1.
#: 1 %, not 5 %: of 20 photographers who kept a random frame, one passed at 5 % (p = 0.048) and
#: none at 1 % (benchmarks/personal_ranker.py --seed 5 --random-seeds 20).
SIGNIFICANCE = 0.01
MIN_GAIN = 0.05
FIGURES = ("top1", "mean_rank", "pick_precision", "pick_recall", "reject_precision")


class NotEnoughShoots(ValueError):
    """Too few culled shoots to hold any out."""


@dataclass
class Examples:
    """Training examples: (kept, dropped) photo pairs of one moment, and (photo, kept?) points."""

    pairs: list[tuple[int, int]] = field(default_factory=list)
    #: (photo, kept?, the set it is compared within: its moment, or its shoot for a single)
    points: list[tuple[int, bool, str]] = field(default_factory=list)


def examples(proposals: list[Any], verdicts: dict[int, Any], shoots: set[str]) -> Examples:
    """The examples the photographer's decisions on ``shoots`` give, the moments being the cull's."""
    found = Examples()
    moments: dict[int, list[int]] = {}
    for p in proposals:
        v = verdicts.get(p.photo_id)
        if v is None or v.shoot not in shoots:
            continue
        if v.verdict in (KEPT, DROPPED):
            within = f"{v.shoot}#{p.moment}" if p.moment is not None else v.shoot
            found.points.append((p.photo_id, v.verdict == KEPT, within))
        if p.moment is not None:
            moments.setdefault(p.moment, []).append(p.photo_id)
    for members in moments.values():
        rated = [verdicts[m] for m in members]
        for a in rated:
            for b in rated:
                stars_a, stars_b = a.stars or 0, b.stars or 0
                by_verdict = a.verdict == KEPT and b.verdict == DROPPED
                by_stars = a.verdict == b.verdict == KEPT and stars_a > stars_b
                if by_verdict or by_stars:
                    found.pairs.append((a.photo_id, b.photo_id))
    return found


def _pooled(counts: Iterable[Counts]) -> Counts:
    total = Counts()
    for c in counts:
        total.add(c)
    return total


def paired_gain(
    before: list[Counts], after: list[Counts], figure: str, seed: int = 0
) -> dict[str, Any]:
    """Pooled ``figure`` before and after, the gain, and bootstrap intervals resampling shoots
    (the same shoots on both sides of each resample). A lower mean rank is a gain."""
    sign = -1.0 if figure == "mean_rank" else 1.0
    b0, a0 = _pooled(before).figures()[figure], _pooled(after).figures()[figure]
    intervals: dict[str, list[float] | None] = {"before": None, "after": None, "gain": None}
    if len(before) > 1:
        picks = shoot_resamples(len(before), BOOTSTRAP, seed)
        b, a = resampled(before, figure, picks), resampled(after, figure, picks)
        intervals = {
            "before": percentile_interval(b, INTERVAL),
            "after": percentile_interval(a, INTERVAL),
            "gain": percentile_interval(sign * (a - b), INTERVAL),
        }
    return {
        "before": b0,
        "after": a0,
        "gain": None if a0 is None or b0 is None else round(sign * (a0 - b0), 4),
        "before_interval": intervals["before"],
        "after_interval": intervals["after"],
        "gain_interval": intervals["gain"],
    }


def binomial_tail(wins: int, trials: int) -> float:
    """P(X ≥ wins) for X ~ Binomial(trials, ½): the exact one-sided McNemar p-value."""
    return sum(math.comb(trials, k) for k in range(wins, trials + 1)) / 2.0**trials


def mcnemar(before: dict[int, bool], after: dict[int, bool]) -> dict[str, Any]:
    """Exact one-sided McNemar test on the moments both rankings were measured on: of the moments
    exactly one of them got right, does the ranker win more than a coin would?"""
    shared = before.keys() & after.keys()
    wins = sum(after[m] and not before[m] for m in shared)
    losses = sum(before[m] and not after[m] for m in shared)
    p = binomial_tail(wins, wins + losses) if wins + losses else None
    return {
        "moments": len(shared),
        "ranker_only_right": wins,
        "default_only_right": losses,
        "p_value": None if p is None else round(float(p), 4),
    }


def folds(shoots: list[str]) -> list[set[str]]:
    """Shoots dealt round-robin into at most MAX_FOLDS folds (one each when there are few)."""
    count = min(len(shoots), MAX_FOLDS)
    return [set(shoots[i::count]) for i in range(count)]


def evaluate(
    catalog: Catalog,
    proposals: list[Any],
    groups: list[Any],
    verdicts: dict[int, Any],
    table: dict[int, dict[str, float]],
    options: Any,
    embedding: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Held-out figures of the default ranking and of rankers that never saw the shoot."""
    from culler.decide.cull import plan_cull

    shoots = sorted({v.shoot for v in verdicts.values() if v.verdict})
    if len(shoots) < MIN_SHOOTS:
        raise NotEnoughShoots(
            f"{len(shoots)} culled shoot{'s' * (len(shoots) != 1)} found; a ranker needs at least "
            f"{MIN_SHOOTS} (one folder per shoot, with your picks/stars/rejects in the catalog or "
            "in XMP sidecars)"
        )
    by_shoot: dict[str, list[Any]] = {}
    for p in proposals:
        if p.photo_id in verdicts:
            by_shoot.setdefault(verdicts[p.photo_id].shoot, []).append(p)
    before: dict[str, Counts] = {}
    after: dict[str, Counts] = {}
    hits_before: dict[int, bool] = {}
    hits_after: dict[int, bool] = {}
    for held in folds(shoots):
        model = fit(table, examples(proposals, verdicts, set(shoots) - held))
        model.embedding = embedding
        ranked = plan_cull(
            catalog,
            replace(options, ranking=replace(options.ranking, personal_ranker=model)),
            groups=groups,
            decisions={},
        )
        values = {pid: model.value(f) for pid, f in table.items()}
        for shoot in held:
            ids = {p.photo_id for p in by_shoot.get(shoot, [])}
            mine = [p for p in ranked if p.photo_id in ids]
            hits_before.update(moment_hits(by_shoot.get(shoot, []), verdicts))
            hits_after.update(moment_hits(mine, verdicts))
            before[shoot] = shoot_counts(
                by_shoot.get(shoot, []), verdicts, _values(by_shoot.get(shoot, []))
            )
            after[shoot] = shoot_counts(mine, verdicts, values)
    order = sorted(before)
    b, a = [before[s] for s in order], [after[s] for s in order]
    figures = {f: paired_gain(b, a, f) for f in FIGURES}
    test = mcnemar(hits_before, hits_after)
    return {
        "shoots": len(order),
        "folds": len(folds(shoots)),
        "groups": _pooled(b).groups,
        "figures": figures,
        "test": test,
        "beats_default": test["p_value"] is not None
        and test["p_value"] < SIGNIFICANCE
        and (figures["top1"]["gain"] or 0) >= MIN_GAIN,
        "per_shoot": {
            s: {"before": before[s].figures(), "after": after[s].figures()} for s in order
        },
    }


def _values(proposals: list[Any]) -> dict[int, float]:
    return {p.photo_id: p.score for p in proposals if p.score is not None}


def train_personal_ranker(
    catalog: Catalog,
    folders: Iterable[str | Path] = (),
    marks: Marks | None = None,
    source: str = "auto",
    options: Any = None,
    save: bool = True,
) -> dict[str, Any]:
    """Learn a ranker from the photographer's culled shoots, measure it on held-out shoots, store
    it (active; used by ``culler cull`` only if it beat the default). Returns the evaluation with
    the ranker's id and strongest features."""
    from culler.decide.cull import CullOptions, load_scores

    options = options or CullOptions()
    options = replace(options, ranking=replace(options.ranking, personal_ranker=None))
    photos = photos_under(catalog, folders)
    verdicts = photographer_verdicts(catalog, photos, marks, source)
    proposals, groups = dry_run(catalog, set(verdicts), options)
    ids = [p.photo_id for p in proposals]
    embedding = embedding_projection(catalog, ids)
    table = feature_table(catalog, load_scores(catalog, ids), embedding)
    result = evaluate(catalog, proposals, groups, verdicts, table, options, embedding)
    shoots = {v.shoot for v in verdicts.values() if v.verdict}
    model: RankerModel = fit(table, examples(proposals, verdicts, shoots))
    model.embedding = embedding
    result["strongest_features"] = model.strongest()
    result["trained_on"] = model.trained_on
    result["features"] = len(model.names)
    result["embedding"] = embedding["model"] if embedding else None
    if save:
        result["ranker_id"] = catalog.save_ranker(
            model.to_json(),
            {k: v for k, v in result.items() if k != "per_shoot"},
            result["beats_default"],
        )
    return result
