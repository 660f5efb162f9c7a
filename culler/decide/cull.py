"""Culling decisions without a GUI: ranking inside groups, auto pick/reject with reasons, undo.

No Qt here: ``culler cull``, ``culler groups``, ``culler rate`` and the GUI call these functions.
Groups come from :mod:`culler.decide.grouping` and are stored with ``rank`` 0 = best. Decisions go to the
append-only ``ratings`` table with source ``auto`` and never replace a decision a person made: stars or a
pick/reject set from ``gui``, ``cli`` or ``xmp`` that stand now (an undone rating and a colour label
are not decisions; see ``Catalog.hand_decided``).

Core never names a scorer: scores are combined by each scorer's ``role`` (aesthetic, technical,
penalty) and photos are rejected outside a group only for a defect a scorer names in
``extra["defects"]`` (or a file that cannot be decoded), never for a low overall score by default.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from culler.catalog import Catalog
from culler.catalog.faces import SAME_FACE_IOU, box_iou, is_box
from culler.catalog.ratings import HUMAN_SOURCES
from culler.decide.grouping import (
    Group,
    GroupingOptions,
    compute_group_changes,
    compute_groups,
    stored_groups,
    write_groups,
)

#: The rating source of culler's own decisions; it never overrides HUMAN_SOURCES.
AUTO_SOURCE = "auto"
#: Defects that make a frame lose against a sharp sibling whatever its other scores.
BLUR_DEFECTS = ("motion_blur", "missed_focus")

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
    "run_cull",
    "stored_groups",
    "summarize",
    "update_groups",
    "write_proposals",
]


def update_groups(
    catalog: Catalog,
    options: GroupingOptions | None = None,
    ranking: Ranking | None = None,
    full: bool | None = None,
) -> dict[str, int]:
    """Recompute bursts/duplicates, rank them and store them (what runs after every scan).

    Incremental by default: near-duplicates are searched only around photos that changed since the
    last grouping, and frames are compared only in bursts whose members changed. ``full=None``
    means full when the options are not the defaults (stored groups were made with the defaults).
    """
    options = options or GroupingOptions()
    if full is None:
        full = options != GroupingOptions()
    watermark = None
    if ranking is None or ranking == Ranking():
        catalog.log_scores_from_now()  # a score written while this grouping runs is seen next
        watermark = grouping_watermark(catalog, options)

        def model() -> str | None:  # counting embeddings by model reads them all: only if needed
            return options.embedding_model or catalog.default_embedding_model()

        if not full and catalog.grouping_unchanged(model, watermark):
            # Nothing a group or a rank depends on changed since the groups were stored.
            return {
                "groups": sum(catalog.group_counts().values()),
                "added": 0,
                "removed": 0,
                "examined": 0,
            }
    rescored = _rescored_since_last_grouping(catalog, watermark) if not full else None
    if rescored is None:
        groups, run = compute_groups(catalog, options, full=full)
    else:
        # Only the groups the changes reach, and those holding a photo scored again, are read,
        # ranked and written: a new shoot reads nothing of the rest of the archive.
        groups, run = compute_group_changes(catalog, options, rerank=rescored)
    run.watermark = watermark
    attach_frame_defects(catalog, groups, run.changed, run.stored)
    if rescored is None or not run.partial:
        rank_groups(catalog, groups, ranking)
    else:
        # A stored group none of whose members changed or was scored again keeps its ranks: a new
        # shoot does not read the scores of the whole archive.
        moved = rescored | run.changed  # once, not once a group
        rank_groups(
            catalog, [g for g in groups if g.id is None or not moved.isdisjoint(g.members)], ranking
        )
    return write_groups(catalog, groups, run)


def _rescored_since_last_grouping(catalog: Catalog, watermark: str | None) -> set[int] | None:
    """Photos given a score since the stored groups were ranked, or None when every group must be
    ranked again (scorers, roles or options changed; no record)."""
    recorded = catalog.recorded_watermark()
    if watermark is None or recorded is None:
        return None
    (old_scores, _, old_rest), (_, _, rest) = (w.partition("; ") for w in (recorded, watermark))
    if old_rest != rest:
        return None
    return catalog.photos_scored_after(old_scores.rpartition("/")[2])


def grouping_watermark(catalog: Catalog, options: GroupingOptions) -> str:
    """What stored groups and ranks were computed from besides each photo's facts: the scores and
    scorer versions in the catalog, the installed scorers' roles and the grouping options."""
    roles = ",".join(f"{sid}={role}" for sid, role in sorted(scorer_roles().items()))
    return f"{catalog.scoring_watermark()}; roles {roles}; {options!r}"


def attach_frame_defects(
    catalog: Catalog, groups: list[Group], changed: set[int], before: list[Group] | None = None
) -> None:
    """Compare the frames of each burst on aligned content (culler.decide.frames). What a comparison found
    depends only on the frames, so a burst stored with the same members, none of them ``changed``,
    keeps its stored verdicts and only new or changed bursts are decoded. Near-duplicate groups hold copies, whose differences
    are resizing and re-encoding, not focus: they are not compared."""
    from culler.decide.frames import analyse_group

    if before is None:  # the stored groups, unless the grouping has just read them
        before = stored_groups(catalog)
    stored = {frozenset(g.members): g for g in before if g.kind == "burst"}
    for group in groups:
        if group.kind != "burst":
            continue
        old = stored.get(frozenset(group.members))
        if old is not None and not changed.intersection(group.members):
            group.frame_defects = old.frame_defects
        else:
            group.frame_defects = analyse_group(catalog, group.members)


# -- ranking -------------------------------------------------------------------------------------


@dataclass
class Ranking:
    """How photos are compared. ``weights`` maps scorer id to weight (None: the defaults below).

    Defaults by scorer role: technical scorers 1 each, the aesthetic scorers 1 between them, a personal
    model (a scorer whose active row has a parent) 2, ``measure`` scorers 0 (only a weight given for
    one counts it); then ``penalty`` × (10 − score) is subtracted for each penalty scorer (a weight
    given for a penalty scorer replaces ``penalty``).
    """

    weights: dict[str, float] | None = None
    penalty: float = 0.5
    personal_weight: float = 2.0
    #: The learned personal ranker (culler.decide.ranker): "auto" uses the catalog's active one only
    #: when it beat this default ranking on held-out shoots; None never; or a ranker model to use.
    personal_ranker: Any = "auto"


@dataclass
class PhotoScores:
    photo_id: int
    path: str
    scores: dict[str, float] = field(default_factory=dict)
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)
    reasons: dict[str, list[str]] = field(default_factory=dict)
    value: float | None = None  # the combined ranking score
    #: The personal ranker's value (culler.decide.ranker), when one is used: it orders the frames
    #: of a moment instead of ``value`` (blur and smaller copies still come first).
    personal: float | None = None
    size: tuple[int, int] | None = None  # full-size width and height, when the scan read them
    #: Faces whose eyes read "unknown" on this frame alone but are shut beside a sibling frame of
    #: its group where the same face's eyes are open (:func:`shut_beside_siblings`); set while
    #: the group is ranked, counted as closed by :func:`face_tally`.
    shut_in_group: int = 0

    def defects(self, minimum: float = 0.0) -> list[dict[str, Any]]:
        """Defects named by any scorer (``extra["defects"]``), most confident first."""
        found = [
            d
            for extra in self.extra.values()
            for d in (extra.get("defects") or [])
            if isinstance(d, dict) and d.get("defect") and d.get("confidence", 1.0) >= minimum
        ]
        return sorted(found, key=lambda d: -float(d.get("confidence", 1.0)))


def scorer_roles() -> dict[str, str]:
    """{scorer id: role} of the installed scorers; scores from scorers no longer installed count as
    aesthetic opinions."""
    from culler.plugin.scorers import get_scorer_classes

    try:
        return {sid: cls.role for sid, cls in get_scorer_classes().items()}
    except Exception:
        return {}


def load_scores(
    catalog: Catalog, photo_ids: Iterable[int] | None = None, ranking: Ranking | None = None
) -> dict[int, PhotoScores]:
    """Current scores of photos (all readable ones by default) with their combined ranking value."""
    ranking = ranking or Ranking()
    rows = catalog.readable_photos(photo_ids)
    result = {
        r["id"]: PhotoScores(
            r["id"], r["path"], size=(r["width"], r["height"]) if r.get("width") else None
        )
        for r in rows
    }
    for pid, sid, score, extra, reasons in catalog.current_score_rows(list(result)):
        ps = result[pid]
        if score is not None:
            ps.scores[sid] = float(score)
        ps.extra[sid] = extra if isinstance(extra, dict) else {}
        ps.reasons[sid] = reasons
    personal = catalog.personal_scorer_ids()
    roles = scorer_roles()
    weights: dict[tuple[str, ...], tuple[dict[str, float], dict[str, float]]] = {}
    for ps in result.values():
        # The weights depend only on which scorers scored the photo (in the order read, so the sums
        # add up in the same order): worked out once per set.
        key = tuple(ps.scores)
        if key not in weights:
            weights[key] = score_weights(key, ranking, personal, roles)
        ps.value = combined_score(ps, ranking, personal, roles, weights[key])
    return result


def score_weights(
    scored: Iterable[str], ranking: Ranking, personal: set[str], roles: dict[str, str]
) -> tuple[dict[str, float], dict[str, float]]:
    """``(weights, penalties)`` by scorer id for a photo the scorers ``scored`` have scored."""
    scored = list(scored)
    penalties = {s for s in scored if roles.get(s) == "penalty"}
    if ranking.weights is not None:
        weights = {s: w for s, w in ranking.weights.items() if s in scored and s not in penalties}
        penalty = {s: ranking.weights.get(s, ranking.penalty) for s in penalties}
    else:
        aesthetic = [s for s in scored if roles.get(s, "aesthetic") == "aesthetic"]
        aesthetic = [s for s in aesthetic if s not in personal]
        weights = {s: 1.0 / len(aesthetic) for s in aesthetic}
        weights.update({s: ranking.personal_weight for s in scored if s in personal})
        weights.update({s: 1.0 for s in scored if roles.get(s) == "technical"})
        penalty = {s: ranking.penalty for s in penalties}
    return weights, penalty


def combined_score(
    ps: PhotoScores,
    ranking: Ranking,
    personal: set[str],
    roles: dict[str, str],
    weights: tuple[dict[str, float], dict[str, float]] | None = None,
) -> float | None:
    """Weighted mean of the rated scorers minus the penalties; None when nothing is scored.
    ``weights``: :func:`score_weights` of the photo's scorers, when the caller has them."""
    rated, penalty = weights or score_weights(ps.scores, ranking, personal, roles)
    total = sum(rated.values())
    if total <= 0:
        return None
    value = sum(ps.scores[s] * w for s, w in rated.items()) / total
    value -= sum(w * (10.0 - ps.scores[s]) for s, w in penalty.items())
    return round(value, 4)


def defect_reason(defect: dict[str, Any]) -> str:
    """What a named defect says of the photo: its own reason, else its name (a plugin's defect may
    come without one)."""
    return defect.get("reason") or defect["defect"].replace("_", " ")


def blur_defect(ps: PhotoScores | None, group: Group | None = None) -> dict[str, Any] | None:
    """The motion blur or missed focus found by comparing frames, else one a scorer named."""
    if group is not None and ps is not None and ps.photo_id in group.frame_defects:
        return group.frame_defects[ps.photo_id]
    if ps is None:
        return None
    return next((d for d in ps.defects(0.5) if d["defect"] in BLUR_DEFECTS), None)


#: A photo with less than this share of the pixels of the largest photo of its group is a smaller
#: copy of it (a web export, a resized share): it ranks after the full-size photos, whatever it scores
#: (a downscaled copy looks crisper per pixel, and keeping it would throw the original away).
SMALLER_COPY = 0.6


def smaller_copies(members: Iterable[int], scores: dict[int, PhotoScores]) -> set[int]:
    """The members that are smaller copies of the group's largest photo."""
    pixels = {
        m: scores[m].size[0] * scores[m].size[1] for m in members if m in scores and scores[m].size
    }
    largest = max(pixels.values(), default=0)
    return {m for m, n in pixels.items() if n < SMALLER_COPY * largest}


def face_tally(ps: PhotoScores | None) -> dict[str, int] | None:
    """How many of the photo's main faces show each verdict (a scorer's ``extra["counts"]``, as
    the faces scorer reports it: ``faces``, ``eyes_open``, ``eyes_closed``, ``soft``, ``motion``),
    or None for a photo without faces."""
    if ps is None:
        return None
    for extra in ps.extra.values():
        counts = extra.get("counts") if isinstance(extra, dict) else None
        if isinstance(counts, dict) and isinstance(counts.get("faces"), int) and counts["faces"]:
            if ps.shut_in_group:
                shut = min(ps.shut_in_group, int(counts.get("eyes_unknown", 0)))
                counts = {
                    **counts,
                    "eyes_closed": int(counts.get("eyes_closed", 0)) + shut,
                    "eyes_unknown": int(counts.get("eyes_unknown", 0)) - shut,
                }
            return counts
    return None


#: A face's lids count as shut below this opening (lid gap over the eye's width: the faces
#: scorer's ``eye_aspect``; its MediaPipe rule calls an eye shut under the same 0.11, measured on
#: real faces in docs/culling.md) ...
SHUT_LIDS = 0.11
#: ... and a sibling frame shows the same face's eyes open when its lids are at least this many
#: times as far apart, with its eyes read "open" on their own (iris in view).
SIBLING_OPEN = 2.5


def _main_faces(ps: PhotoScores) -> list[tuple[tuple[float, ...], str, list[float]]]:
    """The main faces of a photo as (box as shares of the photo, eye verdict, lid openings)."""
    for extra in ps.extra.values():
        faces = extra.get("faces") if isinstance(extra, dict) else None
        size = extra.get("size") if isinstance(extra, dict) else None
        if not faces or not isinstance(size, list) or len(size) != 2 or min(size) <= 0:
            continue
        w, h = float(size[0]), float(size[1])
        out = []
        for f in faces:
            box, aspect = f.get("box"), f.get("eye_aspect")
            if not f.get("main", True) or not is_box(box):
                continue
            shares = (box[0] / w, box[1] / h, box[2] / w, box[3] / h)
            out.append((shares, str(f.get("eyes")), list(aspect or [])))
        return out
    return []


def mark_shut_in_group(members: Iterable[int], scores: dict[int, PhotoScores]) -> None:
    """Set each member's :attr:`PhotoScores.shut_in_group` for this moment."""
    members = [m for m in members if m in scores]
    for m in members:
        scores[m].shut_in_group = 0
    for m, shut in shut_beside_siblings(members, scores).items():
        scores[m].shut_in_group = shut


def shut_beside_siblings(members: Iterable[int], scores: dict[int, PhotoScores]) -> dict[int, int]:
    """{photo id: faces with eyes shut beside a sibling}: a face whose eyes read "unknown" on the
    frame alone (the faces scorer asks more than low lids to say "closed": a face looking down or
    smiling can lower them too) but whose lids are both as low as a shut eye's, while the same
    face in another frame of the moment reads "open" with lids :data:`SIBLING_OPEN` times as far
    apart. Same person, same pose, a second apart: the blink is what changed."""
    faces = {m: _main_faces(scores[m]) for m in members if m in scores}
    found: dict[int, int] = {}
    for m, mine in faces.items():
        shut = 0
        for box, eyes, aspect in mine:
            if eyes != "unknown" or len(aspect) != 2 or not 0 < max(aspect) < SHUT_LIDS:
                continue
            if any(
                e == "open"
                and len(a) == 2
                and min(a) >= SIBLING_OPEN * max(aspect)
                and box_iou(box, b) >= SAME_FACE_IOU  # frames of one moment barely move
                for o, theirs in faces.items()
                if o != m
                for b, e, a in theirs
            ):
                shut += 1
        if shut:
            found[m] = shut
    return found


def face_problems(ps: PhotoScores | None) -> int:
    """Faces with closed eyes, missed focus or motion blur: the fewer, the better the frame of a
    group photo (a face whose verdicts are "unknown" counts for nothing)."""
    c = face_tally(ps)
    if c is None:
        return 0
    return int(c.get("eyes_closed", 0)) + int(c.get("soft", 0)) + int(c.get("motion", 0))


def face_summary(c: dict[str, int]) -> str:
    """ "8 of 8 eyes open" or "2 of 8 closed, 1 soft": a frame's faces in a reason."""
    n = c["faces"]
    problems = [
        f"{c[k]} {word}"
        for k, word in (("eyes_closed", "closed"), ("soft", "soft"), ("motion", "motion-blurred"))
        if c.get(k)
    ]
    if not problems:
        return f"{c.get('eyes_open', 0)} of {n} eyes open"
    return f"{problems[0].split(' ')[0]} of {n} {problems[0].split(' ', 1)[1]}" + "".join(
        f", {p}" for p in problems[1:]
    )


def _order_key(
    ps: PhotoScores | None, group: Group | None = None, smaller: set[int] = frozenset()
) -> tuple:
    if ps is None or ps.value is None:
        return (2, 0, 0.0, 0.0, 0, 0.0, 0)
    blur = blur_defect(ps, group)
    # A blurred frame never outranks a sharp sibling; among blurred ones, more detail first. Then
    # the frame with the fewest faces with closed eyes or missed focus (a group photo is spoilt by
    # one blink, whatever its other scores).
    lost = (1, -float(blur.get("detail", 0.0))) if blur else (0, 0.0)
    value = ps.value if ps.personal is None else ps.personal
    return (0, int(ps.photo_id in smaller), *lost, face_problems(ps), -value, ps.photo_id)


def rank_groups(
    catalog: Catalog,
    groups: list[Group],
    ranking: Ranking | None = None,
    scores: dict[int, PhotoScores] | None = None,
) -> list[Group]:
    """Sort each group's members best first: sharp frames before blurred ones, then by the combined
    score, or the personal ranker's when it beat the default (unscored photos last)."""
    if scores is None:
        from culler.decide.ranker import use_personal_ranker

        scores = load_scores(catalog, [pid for g in groups for pid in g.members], ranking)
        use_personal_ranker(catalog, scores, ranking or Ranking())
    for group in groups:
        mark_shut_in_group(group.members, scores)
        smaller = smaller_copies(group.members, scores)
        group.members.sort(key=lambda pid, g=group, s=smaller: _order_key(scores.get(pid), g, s))
    return groups


def _reason_heads(ps: PhotoScores, sid: str) -> list[str]:
    return [r.split(":")[0].split(" (")[0] for r in ps.reasons.get(sid, [])]


def comparison(
    winner: PhotoScores,
    loser: PhotoScores,
    personal: set[str] = frozenset(),
    roles: dict[str, str] | None = None,
) -> tuple[str | None, str]:
    """Why ``winner`` beats ``loser``: (the loser's problem the winner does not have, or None; the
    winner's biggest edge as a noun phrase, e.g. "a higher clip-aesthetic score")."""
    roles = roles or {}
    theirs = {d["defect"]: d for d in loser.defects(0.5)}
    for d in winner.defects(0.5):
        theirs.pop(d["defect"], None)
    if theirs:
        first = next(iter(theirs.values()))
        return defect_reason(first), "no such defect"
    candidates: list[tuple[float, str, str | None]] = []
    for sid in winner.scores.keys() & loser.scores.keys():
        if roles.get(sid) == "measure":
            continue  # a figure, not an opinion: never the reason one frame beats another
        gap = winner.scores[sid] - loser.scores[sid]
        if roles.get(sid, "aesthetic") in ("technical", "penalty") and gap > 0:
            problems = [h for h in _reason_heads(loser, sid) if h not in _reason_heads(winner, sid)]
            if problems:
                candidates.append((gap + 1.0, f"a better {sid} score", problems[0]))
                continue
        phrase = "a higher personal-model score" if sid in personal else f"a higher {sid} score"
        candidates.append((0.5 * gap, phrase, None))
    best = max(candidates, default=(0.0, "", None))
    if best[0] <= 0:
        return None, "a higher overall score"
    return best[2], best[1]


def named_defect(ps: PhotoScores, minimum: float) -> dict[str, Any] | None:
    """The most confident defect a scorer named for the photo as a reason to reject it, if any
    reaches ``minimum`` (defects marked ``reject: false`` only inform)."""
    found = [d for d in ps.defects(minimum) if d.get("reject", True) is not False]
    return found[0] if found else None


# -- auto-cull -----------------------------------------------------------------------------------


@dataclass
class CullOptions:
    """What ``culler cull`` decides: ``keep_per_group`` best frames of each moment are picked; a photo
    outside a group is rejected only for a defect a scorer names with at least ``defect_confidence``
    (or a file that cannot be decoded). ``reject_below`` (off by default) also rejects low combined
    scores, and with ``keep_top`` only the best that percentage of the shoot stays picked."""

    keep_per_group: int = 1
    reject_below: float | None = None
    keep_top: float | None = None
    defect_confidence: float = 0.6
    reject_broken: bool = True
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
    moment: int | None = None  # which moment (merged group) of the plan it belongs to
    rank: int | None = None  # its place in that moment, 1 = best

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


def _moments(groups: list[Group]) -> list[tuple[str, set[int], Group]]:
    """Overlapping groups merged (a duplicate of a burst frame is the same moment), with a label and
    a group holding every frame defect found."""
    owner: dict[int, int] = {}
    merged: list[tuple[set[str], set[int], dict]] = []
    for group in groups:
        hits = sorted({owner[p] for p in group.members if p in owner})
        kinds, members = {group.kind}, set(group.members)
        defects = dict(group.frame_defects)
        for i in hits:
            kinds |= merged[i][0]
            members |= merged[i][1]
            defects.update(merged[i][2])
            merged[i] = (set(), set(), {})
        merged.append((kinds, members, defects))
        for p in members:
            owner[p] = len(merged) - 1
    moments = []
    for kinds, members, defects in merged:
        if len(members) > 1:
            kind = "burst" if "burst" in kinds else "duplicate"
            label = (
                f"burst of {len(members)}" if kind == "burst" else f"{len(members)} near-duplicates"
            )
            moments.append((label, members, Group(kind, sorted(members), None, defects)))
    return moments


def _single(ps: PhotoScores, rating: dict[str, Any], options: CullOptions) -> Proposal:
    """The proposal for a photo on its own: rejected only for a named defect (or, when asked, a
    combined score below ``reject_below``)."""
    p = Proposal(
        ps.photo_id, ps.path, None, "", ps.value, rating.get("decision"), rating.get("source")
    )
    defect = named_defect(ps, options.defect_confidence)
    if rating.get("by_hand"):
        p.locked = True
        p.reason = f"decided by hand ({p.current or 'unrated'}); left as it is"
    elif defect is not None:
        p.decision, p.reason = "reject", defect_reason(defect)
    elif ps.value is None:
        p.reason = "not scored yet: run `culler scan`"
    elif options.reject_below is not None and ps.value < options.reject_below:
        p.decision = "reject"
        p.reason = f"low score ({ps.value:.1f} < {options.reject_below:g})"
    else:
        p.decision, p.reason = "pick", f"single frame, score {ps.value:.1f}"
    return p


def _broken(row: dict[str, Any], rating: dict[str, Any]) -> Proposal | None:
    """A reject for a file that is there but cannot be decoded; None for one culler could not reach
    (permissions, a disconnected disk), which is not the photo's fault."""
    error = row.get("error") or ""
    if any(w in error for w in ("permission", "denied", "not found", "no such", "I/O", "disk")):
        return None
    p = Proposal(row["id"], row["path"], "reject", f"broken file: {error}", None)
    p.current, p.source = rating.get("decision"), rating.get("source")
    if rating.get("by_hand"):
        p.locked, p.decision = True, None
        p.reason = f"decided by hand ({p.current or 'unrated'}); left as it is"
    return p


def _decide_moment(plan, scores, label, members, group, options, personal, roles) -> None:
    """Pick the best ``keep_per_group`` frames of one moment and reject the rest, saying why."""
    mark_shut_in_group(members, scores)
    smaller = smaller_copies(members, scores)
    order = sorted(
        (m for m in members if m in plan), key=lambda m: _order_key(scores[m], group, smaller)
    )
    rank = {m: i + 1 for i, m in enumerate(order)}
    kept = [m for m in order if plan[m].locked and plan[m].current == "pick"]
    for m in order:
        plan[m].group, plan[m].rank = f"{label}, #{rank[m]}", rank[m]
    for m in order:
        p = plan[m]
        if p.locked or p.decision != "pick":
            continue
        blur = blur_defect(scores[m], group)
        if len(kept) < options.keep_per_group and not (blur and kept):
            kept.append(m)
            runner_up = next(
                (o for o in order if o != m and o not in kept and not plan[o].locked), None
            )
            p.reason = (
                f"{label}: the full-size photo; #{rank[runner_up]} is a smaller copy"
                if runner_up in smaller
                and m not in smaller
                and not blur_defect(scores[runner_up], group)
                else _winner_reason(label, scores, m, runner_up, rank, group, personal, roles)
            )
            continue
        best = kept[0] if kept else order[0]
        p.decision = "reject"
        if plan[best].locked:
            p.reason = f"{label} (#{rank[m]}): #{rank[best]} was picked by hand"
            continue
        if m in smaller and best not in smaller and not blur:
            width, height = scores[m].size
            p.reason = f"{label} (#{rank[m]}): a smaller copy ({width}×{height}) of #{rank[best]}"
            continue
        if blur:
            p.reason = (
                f"{label} (#{rank[m]}): {defect_reason(blur)} of #{rank[best]} on the same area"
            )
            continue
        mine, theirs = face_tally(scores[m]), face_tally(scores[best])
        if _group_faces(mine, theirs) and face_problems(scores[m]) > face_problems(scores[best]):
            p.reason = (
                f"{label} (#{rank[m]}): {face_summary(mine)}; #{rank[best]} had "
                f"{face_summary(theirs)}"
            )
            continue
        if scores[m].shut_in_group and face_problems(scores[m]) > face_problems(scores[best]):
            p.reason = f"{label} (#{rank[m]}): eyes closed, open in #{rank[best]}"
            continue
        problem, edge = comparison(scores[best], scores[m], personal, roles)
        p.reason = (
            f"{label} (#{rank[m]}): {problem}, unlike #{rank[best]}"
            if problem
            else f"{label} (#{rank[m]}): #{rank[best]} has {edge}"
        )
    for m in order:  # rejected for a defect a scorer named: say so in the moment's terms
        p = plan[m]
        if kept and not p.locked and p.decision == "reject" and not p.reason.startswith(label):
            p.reason = f"{label} (#{rank[m]}): {p.reason}, unlike #{rank[kept[0]]}"


def _group_faces(mine: dict[str, int] | None, theirs: dict[str, int] | None) -> bool:
    """Whether two frames are group photos whose faces' counts make the reason (a portrait's
    "eyes closed" is said as the defect it is)."""
    return bool(mine and theirs and max(mine["faces"], theirs["faces"]) > 1)


def _their_faces(c: dict[str, int]) -> str:
    """The runner-up's face problems, short: "2 closed", "1 soft", "2 closed, 1 soft"."""
    parts = [
        f"{c[k]} {word}"
        for k, word in (("eyes_closed", "closed"), ("soft", "soft"), ("motion", "motion-blurred"))
        if c.get(k)
    ]
    return ", ".join(parts) or face_summary(c)


def _winner_reason(label, scores, m, runner_up, rank, group, personal, roles) -> str:
    if runner_up is None:
        return f"{label}: kept"
    blur = blur_defect(scores[runner_up], group)
    if blur and not blur_defect(scores[m], group):
        return f"{label}: sharp, unlike #{rank[runner_up]} ({defect_reason(blur).split(':')[0]})"
    mine, theirs = face_tally(scores[m]), face_tally(scores[runner_up])
    if _group_faces(mine, theirs) and face_problems(scores[m]) < face_problems(scores[runner_up]):
        return f"{label}: {face_summary(mine)}; #{rank[runner_up]} had {_their_faces(theirs)}"
    if scores[runner_up].shut_in_group and face_problems(scores[m]) < face_problems(
        scores[runner_up]
    ):
        return f"{label}: eyes open, closed in #{rank[runner_up]}"
    problem, edge = comparison(scores[m], scores[runner_up], personal, roles)
    if problem:
        return f"{label}: #{rank[runner_up]} has {problem}, this one does not"
    return f"{label}: {edge} than #{rank[runner_up]}"


def plan_cull(
    catalog: Catalog,
    options: CullOptions | None = None,
    groups: list[Group] | None = None,
    scope: set[int] | None = None,
    decisions: dict[int, dict[str, Any]] | None = None,
) -> list[Proposal]:
    """Propose pick/reject for every photo, with the one-line reason that decided; writes nothing.

    With ``scope`` (photo ids: a folder, a shoot, photos since a date) only those photos are
    planned, with the other members of the groups they belong to (a moment is decided whole);
    only their scores are read. ``decisions`` replaces the catalog's current decisions ({} hides
    the photographer's own, which is how ``culler agreement`` measures the cull against them)."""
    from culler.decide.ranker import explain_personal_picks, use_personal_ranker

    options = options or CullOptions()
    if groups is None:
        # With the default grouping, the stored groups plus what changed since (read-only: what a
        # scan would store); other options group the whole catalog afresh.
        full = options.grouping != GroupingOptions()
        groups, run = compute_groups(catalog, options.grouping, full=full)
        if scope is not None:
            groups = [g for g in groups if scope.intersection(g.members)]
        attach_frame_defects(catalog, groups, run.changed, run.stored)
    elif scope is not None:
        groups = [g for g in groups if scope.intersection(g.members)]
    if scope is not None:
        scope = scope | {pid for g in groups for pid in g.members}
    personal = catalog.personal_scorer_ids()
    roles = scorer_roles()
    current = catalog.current_decisions() if decisions is None else decisions
    if scope is None and options.keep_top is None and not _ranker_wanted(catalog, options.ranking):
        # The whole archive: no decision needs every photo's scores at once, so they are read a
        # batch of moments (then of single photos) at a time and let go.
        plan = _plan_in_batches(catalog, options, groups, current, personal, roles)
        _propose_broken(catalog, plan, current, options, scope)
        return sorted(plan.values(), key=lambda p: p.path)
    scores = load_scores(catalog, scope, ranking=options.ranking)
    ranker = use_personal_ranker(catalog, scores, options.ranking)
    plan = {pid: _single(ps, current.get(pid, {}), options) for pid, ps in scores.items()}
    _propose_broken(catalog, plan, current, options, scope)
    for index, (label, members, group) in enumerate(_moments(groups)):
        for m in members & plan.keys():
            plan[m].moment = index
        _decide_moment(plan, scores, label, members, group, options, personal, roles)
    if ranker is not None:
        explain_personal_picks(ranker, plan, scores)
    if options.keep_top is not None:
        _keep_top(plan, scores, options.keep_top)
    return sorted(plan.values(), key=lambda p: p.path)


#: Photos whose scores a whole-archive cull holds at once (a moment is never split).
BATCH = 20_000


def _ranker_wanted(catalog: Catalog, ranking: Ranking) -> bool:
    """Whether a personal ranker will order the moments (it reads every photo's features)."""
    from culler.decide.ranker import active_model

    wanted = ranking.personal_ranker
    if wanted is None:
        return False
    return wanted != "auto" or active_model(catalog) is not None


def _plan_in_batches(
    catalog: Catalog,
    options: CullOptions,
    groups: list[Group],
    current: dict[int, dict[str, Any]],
    personal: set[str],
    roles: dict[str, str],
) -> dict[int, Proposal]:
    """:func:`plan_cull`'s proposals for every readable photo, decided a batch at a time: whole
    moments first (about :data:`BATCH` photos' scores held at once), then the photos of no moment,
    read from a cursor. The same proposals as with every score in memory: a photo's proposal
    depends only on its own scores and those of its moment."""
    plan: dict[int, Proposal] = {}

    def decide(ids: list[int], moments: list[tuple[int, str, set[int], Group]]) -> None:
        scores = load_scores(catalog, ids, ranking=options.ranking)
        local = {pid: _single(ps, current.get(pid, {}), options) for pid, ps in scores.items()}
        for index, label, members, group in moments:
            for m in members & local.keys():
                local[m].moment = index
            _decide_moment(local, scores, label, members, group, options, personal, roles)
        plan.update(local)

    grouped: set[int] = set()
    ids: list[int] = []
    batch: list[tuple[int, str, set[int], Group]] = []
    for index, (label, members, group) in enumerate(_moments(groups)):
        grouped |= members
        ids.extend(members)
        batch.append((index, label, members, group))
        if len(ids) >= BATCH:
            decide(ids, batch)
            ids, batch = [], []
    if ids:
        decide(ids, batch)
    ids = []
    for pid in catalog.readable_ids():
        if pid in grouped:
            continue
        ids.append(pid)
        if len(ids) >= BATCH:
            decide(ids, [])
            ids = []
    if ids:
        decide(ids, [])
    return plan


def _propose_broken(
    catalog: Catalog,
    plan: dict[int, Proposal],
    current: dict[int, dict[str, Any]],
    options: CullOptions,
    scope: set[int] | None,
) -> None:
    """Reject files that are there but cannot be decoded (when ``options.reject_broken``)."""
    if not options.reject_broken:
        return
    for row in catalog.broken_photos():
        if scope is not None and row["id"] not in scope:
            continue
        proposal = _broken(row, current.get(row["id"], {}))
        if proposal is not None:
            plan[row["id"]] = proposal


def _keep_top(plan: dict[int, Proposal], scores: dict[int, PhotoScores], top: float) -> None:
    values = sorted((ps.value for ps in scores.values() if ps.value is not None), reverse=True)
    if not values:
        return
    cut = values[max(0, math.ceil(len(values) * top / 100) - 1)]
    for p in plan.values():
        if p.decision == "pick" and p.score is not None and p.score < cut:
            p.decision = "reject"
            shown, limit = _apart(p.score, cut)
            p.reason = f"not in the top {top:g} % (score {shown} < {limit})"


def _apart(low: float, high: float) -> tuple[str, str]:
    """``low`` and ``high`` with one decimal, or as many more as it takes for the reason not to read
    "4.0 < 4.0" (3.95 against 3.96)."""
    for digits in (1, 2, 3, 4):
        a, b = f"{low:.{digits}f}", f"{high:.{digits}f}"
        if a != b:
            return a, b
    return a, b


def apply_plan(catalog: Catalog, proposals: Iterable[Proposal]) -> int:
    """Write the proposals that change something, as ``auto`` rating events; returns rows written.

    The human-decision check is repeated inside the write transaction, so a photo rated by hand in
    the GUI between planning and applying keeps the human decision.
    """
    return len(write_proposals(catalog, proposals))


def run_cull(
    catalog: Catalog, options: CullOptions | None = None, echo=None, scope=None
) -> tuple[list[Proposal], list[int]]:
    """What ``culler cull`` (without ``--dry-run``) and the window's Cull action run: regroup and
    rank, plan, write the proposals that change something. Returns the plan and the ids of the
    events written (one undoable step in the window). ``echo`` hears each stage, in words;
    ``scope`` (``Catalog.photos_in_scope``) limits the cull to a shoot, as ``plan_cull`` does."""
    options = options or CullOptions()
    say = echo or (lambda _text: None)
    say("grouping bursts and near-duplicates…")
    update_groups(catalog, options.grouping, options.ranking)
    say("deciding…")
    plan = plan_cull(catalog, options, groups=stored_groups(catalog), scope=scope)
    say("writing the proposals…")
    return plan, write_proposals(catalog, plan)


def write_proposals(catalog: Catalog, proposals: Iterable[Proposal]) -> list[int]:
    """:func:`apply_plan` returning the ids of the events written (the GUI undoes them as one step)."""
    rows = [(p.photo_id, p.decision, p.reason) for p in proposals if p.changes]
    return catalog.append_decisions(rows, AUTO_SOURCE, HUMAN_SOURCES)


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
            short = re.split(r" \(|:|, score ", p.reason, maxsplit=1)[0]
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
