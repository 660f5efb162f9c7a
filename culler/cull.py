"""Culling decisions without a GUI: ranking inside groups, auto pick/reject with reasons, undo.

No Qt here: ``culler cull``, ``culler groups``, ``culler rate`` and the GUI call these functions.
Groups come from :mod:`culler.grouping` and are stored with ``rank`` 0 = best. Decisions go to the
append-only ``ratings`` table with source ``auto`` and never replace a decision whose latest source is a
human one (``gui``, ``cli``, ``xmp``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from culler.catalog import Catalog, now
from culler.grouping import (
    Group,
    GroupingOptions,
    compute_groups,
    stored_groups,
    write_groups,
)

#: Rating sources that mean "a person decided this"; auto-cull never overrides them.
HUMAN_SOURCES = ("gui", "cli", "xmp")
AUTO_SOURCE = "auto"
#: Scorers that are not aesthetic opinions (everything else with a numeric score counts as one).
NON_AESTHETIC = {"technical", "faces"}
UNDO_PREFIX = "undo of event #"

__all__ = [
    "CullOptions",
    "Group",
    "GroupingOptions",
    "Proposal",
    "Ranking",
    "apply_plan",
    "compute_groups",
    "load_scores",
    "plan_cull",
    "rank_groups",
    "stored_groups",
    "summarize",
    "update_groups",
]


def update_groups(
    catalog: Catalog,
    options: GroupingOptions | None = None,
    ranking: Ranking | None = None,
    full: bool | None = None,
) -> dict[str, int]:
    """Recompute bursts/duplicates, rank them and store them (what runs after every scan).

    Incremental by default: near-duplicates are searched only around photos that changed since the
    last grouping. ``full=None`` means full when the options are not the defaults (stored groups were
    made with the defaults). Returns counts for reporting.
    """
    options = options or GroupingOptions()
    if full is None:
        full = options != GroupingOptions()
    groups, examined = compute_groups(catalog, options, full=full)
    return write_groups(catalog, rank_groups(catalog, groups, ranking), options, examined)


# -- ranking -------------------------------------------------------------------------------------


@dataclass
class Ranking:
    """How photos are compared. ``weights`` maps scorer id to weight (None: the defaults below).

    Defaults: technical 1, the installed aesthetic scorers 1 between them, a personal model (a scorer
    whose active row has a parent) 2; then ``face_penalty`` × (10 − faces score) is subtracted.
    """

    weights: dict[str, float] | None = None
    face_penalty: float = 0.5
    personal_weight: float = 2.0


@dataclass
class PhotoScores:
    photo_id: int
    path: str
    scores: dict[str, float] = field(default_factory=dict)
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)
    reasons: dict[str, list[str]] = field(default_factory=dict)
    value: float | None = None  # the combined ranking score


def personal_scorers(catalog: Catalog) -> set[str]:
    """Scorer ids whose active version is a fine-tune (the user's personal model)."""
    return {
        r[0]
        for r in catalog.execute(
            "SELECT scorer_id FROM scorers WHERE active = 1 AND parent IS NOT NULL"
        )
    }


def load_scores(
    catalog: Catalog, photo_ids: Iterable[int] | None = None, ranking: Ranking | None = None
) -> dict[int, PhotoScores]:
    """Current scores of photos (all readable ones by default) with their combined ranking value."""
    ranking = ranking or Ranking()
    if photo_ids is None:
        rows = catalog.query("SELECT id, path FROM photos WHERE status = 'ok'")
    else:
        wanted = sorted(set(photo_ids))
        rows = []
        for start in range(0, len(wanted), 900):
            chunk = wanted[start : start + 900]
            rows += catalog.query(
                f"SELECT id, path FROM photos WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )
    result = {r["id"]: PhotoScores(r["id"], r["path"]) for r in rows}
    ids = list(result)
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        for pid, sid, score, extra, reasons in catalog.execute(
            "SELECT photo_id, scorer_id, score, extra, reasons FROM current_scores"
            f" WHERE photo_id IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            ps = result[pid]
            if score is not None:
                ps.scores[sid] = float(score)
            ps.extra[sid] = json.loads(extra) if extra else {}
            ps.reasons[sid] = json.loads(reasons) if reasons else []
    personal = personal_scorers(catalog)
    for ps in result.values():
        ps.value = combined_score(ps, ranking, personal)
    return result


def combined_score(ps: PhotoScores, ranking: Ranking, personal: set[str]) -> float | None:
    """Weighted mean of the chosen scorers minus the face penalty; None when nothing is scored."""
    if ranking.weights is not None:
        weights = {s: w for s, w in ranking.weights.items() if s in ps.scores and s != "faces"}
        face_penalty = ranking.weights.get("faces", ranking.face_penalty)
    else:
        aesthetic = [s for s in ps.scores if s not in NON_AESTHETIC and s not in personal]
        weights = {s: 1.0 / len(aesthetic) for s in aesthetic}
        weights.update({s: ranking.personal_weight for s in ps.scores if s in personal})
        if "technical" in ps.scores:
            weights["technical"] = 1.0
        face_penalty = ranking.face_penalty
    total = sum(weights.values())
    if total <= 0:
        return None
    value = sum(ps.scores[s] * w for s, w in weights.items()) / total
    if "faces" in ps.scores:
        value -= face_penalty * (10.0 - ps.scores["faces"])
    return round(value, 4)


def _order_key(ps: PhotoScores | None) -> tuple:
    if ps is None or ps.value is None:
        return (1, 0.0, 0)
    return (0, -ps.value, ps.photo_id)


def rank_groups(
    catalog: Catalog,
    groups: list[Group],
    ranking: Ranking | None = None,
    scores: dict[int, PhotoScores] | None = None,
) -> list[Group]:
    """Sort each group's members best first by the combined score (unscored photos last)."""
    if scores is None:
        scores = load_scores(catalog, [pid for g in groups for pid in g.members], ranking)
    for group in groups:
        group.members.sort(key=lambda pid: _order_key(scores.get(pid)))
    return groups


def advantage(winner: PhotoScores, loser: PhotoScores, personal: set[str] = frozenset()) -> str:
    """The biggest thing ``winner`` does better than ``loser``, as a noun phrase ("a sharper subject")."""
    if eyes_closed(loser) and not eyes_closed(winner):
        return "open eyes"
    candidates: list[tuple[float, str]] = []
    tw, tl = winner.extra.get("technical", {}), loser.extra.get("technical", {})
    for part, weight, phrase in (
        ("sharpness", 0.45, "a sharper subject"),
        ("exposure", 0.25, "better exposure"),
        ("noise", 0.15, "less noise"),
        ("compression", 0.15, "less JPEG damage"),
    ):
        if part in tw and part in tl:
            candidates.append((10 * weight * (tw[part] - tl[part]), phrase))
    for sid in winner.scores.keys() & loser.scores.keys():
        if sid in ("technical", "faces"):
            continue
        phrase = "a higher personal-model score" if sid in personal else f"a higher {sid} score"
        candidates.append((0.5 * (winner.scores[sid] - loser.scores[sid]), phrase))
    if "faces" in winner.scores and "faces" in loser.scores:
        candidates.append(
            (0.5 * (winner.scores["faces"] - loser.scores["faces"]), "sharper, clearer faces")
        )
    best = max(candidates, default=(0.0, ""))
    return best[1] if best[0] > 0 else "a higher overall score"


def eyes_closed(ps: PhotoScores) -> bool:
    """Whether the faces scorer found closed eyes on the photo's main face."""
    faces = ps.extra.get("faces", {}).get("faces") or []
    return bool(faces) and faces[0].get("eyes") == "closed"


def main_defect(ps: PhotoScores) -> str:
    """A short name for what is wrong with a low-scoring photo ("blurry", "eyes closed", …)."""
    if eyes_closed(ps):
        return "eyes closed"
    for reason in ps.reasons.get("technical", []):
        head = reason.split(":")[0].split(" (")[0]
        if not head.startswith("sharp"):
            return head
    for reason in ps.reasons.get("faces", []):
        return reason
    return "low score"


# -- auto-cull -----------------------------------------------------------------------------------


@dataclass
class CullOptions:
    """What ``culler cull`` decides: ``keep_per_group`` best frames of each moment are picked, photos
    whose combined score is below ``reject_below`` are rejected, and with ``keep_top`` only the best
    that percentage of the shoot stays picked."""

    keep_per_group: int = 1
    reject_below: float | None = 3.0
    keep_top: float | None = None
    ranking: Ranking = field(default_factory=lambda: Ranking())
    grouping: GroupingOptions = field(default_factory=GroupingOptions)


@dataclass
class Proposal:
    """One photo's proposed decision; ``decision`` None means "leave it as it is"."""

    photo_id: int
    path: str
    decision: str | None
    reason: str
    score: float | None = None
    current: str | None = None
    source: str | None = None
    locked: bool = False
    group: str | None = None

    @property
    def changes(self) -> bool:
        return not self.locked and self.decision is not None and self.decision != self.current

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "decision": self.decision,
            "reason": self.reason,
            "score": self.score,
            "current": self.current,
            "current_source": self.source,
            "by_hand": self.locked,
            "changes": self.changes,
            "group": self.group,
        }


def _moments(groups: list[Group]) -> list[tuple[str, set[int]]]:
    """Overlapping groups merged (a duplicate of a burst frame is the same moment), with a label."""
    owner: dict[int, int] = {}
    merged: list[tuple[set[str], set[int]]] = []
    for group in groups:
        hits = sorted({owner[p] for p in group.members if p in owner})
        kinds, members = {group.kind}, set(group.members)
        for i in hits:
            kinds |= merged[i][0]
            members |= merged[i][1]
            merged[i] = (set(), set())
        merged.append((kinds, members))
        for p in members:
            owner[p] = len(merged) - 1
    moments = []
    for kinds, members in merged:
        if len(members) > 1:
            label = (
                f"burst of {len(members)}"
                if "burst" in kinds
                else f"{len(members)} near-duplicates"
            )
            moments.append((label, members))
    return moments


def plan_cull(
    catalog: Catalog, options: CullOptions | None = None, groups: list[Group] | None = None
) -> list[Proposal]:
    """Propose pick/reject for every readable photo, with a one-line reason each; writes nothing."""
    options = options or CullOptions()
    scores = load_scores(catalog, ranking=options.ranking)
    personal = personal_scorers(catalog)
    if groups is None:
        groups, _ = compute_groups(catalog, options.grouping, full=True)
    current = {
        r["photo_id"]: r
        for r in catalog.query("SELECT photo_id, decision, source FROM current_ratings")
    }
    plan: dict[int, Proposal] = {}
    for pid, ps in scores.items():
        rating = current.get(pid, {})
        p = Proposal(pid, ps.path, None, "", ps.value, rating.get("decision"), rating.get("source"))
        if p.source in HUMAN_SOURCES:
            p.locked = True
            p.reason = f"decided by hand ({p.current or 'unrated'}); left as it is"
        elif ps.value is None:
            p.reason = "not scored yet: run `culler scan`"
        elif options.reject_below is not None and ps.value < options.reject_below:
            p.decision, p.reason = "reject", f"{main_defect(ps)} (score {ps.value:.1f})"
        elif eyes_closed(ps):
            p.decision, p.reason = "reject", "eyes closed"
        else:
            p.decision, p.reason = "pick", f"single frame, score {ps.value:.1f}"
        plan[pid] = p

    for label, members in _moments(groups):
        order = sorted((m for m in members if m in plan), key=lambda m: _order_key(scores[m]))
        rank = {m: i + 1 for i, m in enumerate(order)}
        kept = [m for m in order if plan[m].locked and plan[m].current == "pick"]
        for m in order:
            plan[m].group = f"{label}, #{rank[m]}"
        for m in order:
            p = plan[m]
            if p.locked or p.decision != "pick":
                continue
            if len(kept) < options.keep_per_group:
                kept.append(m)
                runner_up = next((o for o in order if o != m and o not in kept), None)
                if runner_up is None:
                    p.reason = f"{label}: kept"
                else:
                    better = advantage(scores[m], scores[runner_up], personal)
                    p.reason = (
                        f"{label}: eyes open, unlike #{rank[runner_up]}"
                        if better == "open eyes"
                        else f"{label}: {better.removeprefix('a ')} than #{rank[runner_up]}"
                    )
            else:
                best = kept[0]
                p.decision = "reject"
                p.reason = (
                    f"{label} (#{rank[m]}): #{rank[best]} has "
                    f"{advantage(scores[best], scores[m], personal)}"
                )

    if options.keep_top is not None:
        values = sorted((ps.value for ps in scores.values() if ps.value is not None), reverse=True)
        if values:
            cut = values[max(0, math.ceil(len(values) * options.keep_top / 100) - 1)]
            for p in plan.values():
                if p.decision == "pick" and p.score is not None and p.score < cut:
                    p.decision = "reject"
                    p.reason = (
                        f"not in the top {options.keep_top:g} % (score {p.score:.1f} < {cut:.1f})"
                    )
    return sorted(plan.values(), key=lambda p: p.path)


def apply_plan(catalog: Catalog, proposals: Iterable[Proposal]) -> int:
    """Write the proposals that change something, as ``auto`` rating events; returns rows written.

    The human-decision check is repeated inside the write transaction, so a photo rated by hand in
    the GUI between planning and applying keeps the human decision.
    """
    written = 0
    with catalog.transaction() as conn:
        for p in proposals:
            if not p.changes:
                continue
            state = catalog.current_rating(p.photo_id)
            if state.get("source") in HUMAN_SOURCES or state.get("decision") == p.decision:
                continue
            conn.execute(
                "INSERT INTO ratings (photo_id, stars, decision, label, source, reason, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    p.photo_id,
                    state.get("stars"),
                    p.decision,
                    state.get("label"),
                    AUTO_SOURCE,
                    p.reason,
                    now(),
                ],
            )
            written += 1
    return written


def summarize(proposals: list[Proposal]) -> list[dict[str, Any]]:
    """Rows of the summary table: decision, photos, how many change, the most common reason."""
    buckets: dict[str, list[Proposal]] = {}
    for p in proposals:
        key = "by hand" if p.locked else (p.decision or "not scored")
        buckets.setdefault(key, []).append(p)
    rows = []
    for key in ("pick", "reject", "by hand", "not scored"):
        items = buckets.get(key, [])
        if not items:
            continue
        reasons: dict[str, int] = {}
        for p in items:
            short = p.reason.split(" (")[0].split(":")[0]
            reasons[short] = reasons.get(short, 0) + 1
        top = max(reasons.items(), key=lambda kv: kv[1])
        rows.append(
            {
                "decision": key,
                "photos": len(items),
                "changes": sum(p.changes for p in items),
                "top_reason": f"{top[0]} ({top[1]})",
            }
        )
    return rows
