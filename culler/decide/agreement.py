"""How often culler agrees with the photographer, measured on shoots they already culled by hand.

The photographer's marks (stars, pick/reject, colour label) come from the catalog's hand decisions or
straight from the XMP sidecars (through :mod:`culler.interop.xmp`, nothing is written). Which marks
mean "kept" and "dropped" is a :class:`Marks` setting with presets for Lightroom and darktable. The
cull runs as a dry run with those decisions hidden (``plan_cull(decisions={})``), and
:func:`measure` compares its proposals with the marks, per shoot (a photo's folder) and overall:

- best of group: in each moment (burst or near-duplicates) where the photographer kept exactly one
  frame, or starred one above the others, is culler's first frame theirs (top-1), and where does
  theirs rank;
- picks and rejects: precision and recall of culler's picks against their kept photos, of its
  rejects against their dropped ones;
- ranking: NDCG@k and Spearman of culler's score against their stars, where they gave stars
  (the figures and their intervals: :mod:`culler.decide.agreement_figures`);
- the largest disagreements, with culler's reason.

Figures pooled over shoots get a 90 % interval from a bootstrap over shoots (frames of one shoot are
not independent, so photos are never resampled one by one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from culler.catalog import Catalog
from culler.catalog.ratings import HUMAN_SOURCES
from culler.decide.agreement_figures import (
    BOOTSTRAP,
    DROPPED,
    KEPT,
    RATIOS,
    Counts,
    bootstrap_interval,
    moment_hits,
    ndcg,
    percentile_interval,
    resampled,
    shoot_counts,
    shoot_resamples,
    spearman,
    their_best,
)
from culler.decide.ranker import RANKER_MARK

#: Where the photographer's marks are read from.
SOURCES = ("auto", "catalog", "xmp")


@dataclass(frozen=True)
class Marks:
    """Which of the photographer's marks count as "kept" and "dropped".

    A reject (``xmp:Rating`` −1, the pick flag's reject, darktable's reject) or a label in
    ``dropped_labels`` is dropped; a pick, at least ``kept_stars`` stars or a label in
    ``kept_labels`` is kept. Photos with no such mark are dropped when ``unmarked`` is "dropped"
    and their shoot has at least one kept photo (a Lightroom user stars the keepers and leaves the
    rest), else they do not count.
    """

    kept_stars: int = 1
    kept_labels: tuple[str, ...] = ()
    dropped_labels: tuple[str, ...] = ()
    pick_is_kept: bool = True
    unmarked: str = "dropped"

    def verdict(self, stars: int | None, decision: str | None, label: str | None) -> str | None:
        if decision == "reject" or (label and label in self.dropped_labels):
            return DROPPED
        if decision == "pick" and self.pick_is_kept:
            return KEPT
        if self.kept_stars > 0 and stars is not None and stars >= self.kept_stars:
            return KEPT
        if label and label in self.kept_labels:
            return KEPT
        return None


#: Sensible defaults by the editor the shoots were culled in. darktable gives every imported photo
#: one star, so there a keeper has two; Lightroom's and Capture One's unrated photos have none.
PRESETS: dict[str, Marks] = {
    "lightroom": Marks(kept_stars=1),
    "darktable": Marks(kept_stars=2),
    "capture-one": Marks(kept_stars=1, kept_labels=("Green",), dropped_labels=("Red",)),
    "picks-only": Marks(kept_stars=0, unmarked="ignored"),
}


def ranker_marks(editor: str) -> Marks:
    """The marks preset of an editor (``culler train --model ranker --editor``)."""
    try:
        return PRESETS[editor]
    except KeyError:
        raise ValueError(
            f"editor must be one of {', '.join(sorted(PRESETS))}, not {editor!r}"
        ) from None


@dataclass
class Verdict:
    """One photo as the photographer left it."""

    photo_id: int
    path: str
    shoot: str
    stars: int | None
    decision: str | None
    label: str | None
    verdict: str | None
    source: str


def shoot_of(path: str) -> str:
    """A shoot is a folder: photographers keep one event per folder."""
    return str(Path(path).parent)


def _sidecar_marks(path: str) -> tuple[int | None, str | None, str | None] | None:
    from culler.interop.xmp import XmpError, read_sidecar, sidecar_path

    try:
        sidecar = sidecar_path(Path(path), "auto", for_writing=False)
        if sidecar is None:
            return None
        data = read_sidecar(sidecar)
    except (XmpError, OSError):
        return None
    stars = data.rating if data.rating is not None and data.rating > 0 else None
    decision = "reject" if data.rating == -1 else data.decision
    return stars, decision if decision in ("pick", "reject") else None, data.label


def photographer_verdicts(
    catalog: Catalog,
    photos: Iterable[dict[str, Any]],
    marks: Marks | None = None,
    source: str = "auto",
) -> dict[int, Verdict]:
    """{photo id: Verdict} for ``photos`` (rows with ``id`` and ``path``).

    ``source`` "catalog" reads the catalog's hand decisions (gui, cli, xmp import), "xmp" the
    sidecars, "auto" the sidecar where there is one, else the catalog. culler's own ``auto``
    decisions never count: they are what is being measured.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
    marks = marks or Marks()
    photos = list(photos)
    ratings = catalog.current_ratings([p["id"] for p in photos])
    found: dict[int, Verdict] = {}
    for photo in photos:
        pid, path = photo["id"], photo["path"]
        read = _sidecar_marks(path) if source in ("auto", "xmp") else None
        origin = "xmp"
        if read is None:
            rating = ratings.get(pid, {})
            if source == "xmp" or rating.get("source") not in HUMAN_SOURCES:
                read, origin = (None, None, None), "none"
            else:
                stars = rating.get("stars") or None
                read, origin = (stars, rating.get("decision"), rating.get("label")), "catalog"
        stars, decision, label = read
        found[pid] = Verdict(
            pid, path, shoot_of(path), stars, decision, label, marks.verdict(*read), origin
        )
    if marks.unmarked == "dropped":
        with_keepers = {v.shoot for v in found.values() if v.verdict == KEPT}
        for v in found.values():
            if v.verdict is None and v.shoot in with_keepers:
                v.verdict = DROPPED
    return found


# -- the disagreements ---------------------------------------------------------------------------


def _did(v: Verdict) -> str:
    parts = []
    if v.decision in ("pick", "reject"):
        parts.append("picked" if v.decision == "pick" else "rejected")
    if v.stars:
        parts.append(f"{v.stars}★")
    if v.label:
        parts.append(f"label {v.label}")
    text = ", ".join(parts) or "left unmarked"
    return f"{v.verdict}: {text}" if v.verdict else text


def disagreements(
    proposals: list[Any], verdicts: dict[int, Verdict], limit: int = 20
) -> list[dict[str, Any]]:
    """Photos where culler proposes the opposite of what the photographer did, the largest first.

    A keeper culler would reject comes before a reject it would pick (losing a keeper is what
    photographers fear), the more so the more stars it has; a photo they rejected outright that
    culler would pick comes before one they only left unmarked."""
    rows = []
    for p in proposals:
        v = verdicts.get(p.photo_id)
        if v is None or v.verdict is None or p.decision is None:
            continue
        if v.verdict == KEPT and p.decision == "reject":
            weight = 1.5 + (v.stars or 0) / 5 + (0.5 if v.decision == "pick" else 0.0)
        elif v.verdict == DROPPED and p.decision == "pick":
            weight = 1.0 + (0.5 if v.decision == "reject" else 0.0)
        else:
            continue
        rows.append(
            {
                "photo_id": p.photo_id,
                "path": p.path,
                "shoot": v.shoot,
                "photographer": _did(v),
                "culler": p.decision,
                "reason": p.reason,
                "group": p.group,
                "score": p.score,
                "weight": round(weight, 2),
            }
        )
    rows.sort(key=lambda r: (-r["weight"], r["path"]))
    return rows[:limit]


# -- running it -------------------------------------------------------------------------------------


@dataclass
class AgreementReport:
    """Per-shoot and overall figures, intervals, the largest disagreements, and the settings used."""

    shoots: dict[str, dict[str, Any]]
    overall: dict[str, Any]
    intervals: dict[str, list[float] | None]
    disagreements: list[dict[str, Any]]
    marks: dict[str, Any]
    ranking: str
    counts: dict[str, Counts] = field(default_factory=dict, repr=False)
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "ranking": self.ranking,
            "note": self.note,
            "marks": self.marks,
            "overall": self.overall,
            "intervals_90": self.intervals,
            "shoots": self.shoots,
            "disagreements": self.disagreements,
        }


#: Figures that get a bootstrap interval in the overall row.
INTERVAL_FIGURES = ("top1", "pick_precision", "pick_recall", "reject_precision", "reject_recall")


def measure(
    proposals: list[Any],
    verdicts: dict[int, Verdict],
    values: dict[int, float] | None = None,
    marks: Marks | None = None,
    ranking: str = "default",
    limit: int = 20,
    k: int = 10,
) -> AgreementReport:
    """Compare a dry-run cull with the photographer's verdicts, per shoot and pooled."""
    if values is None:
        values = {p.photo_id: p.score for p in proposals if p.score is not None}
    by_shoot: dict[str, list[Any]] = {}
    for p in proposals:
        v = verdicts.get(p.photo_id)
        if v is not None:
            by_shoot.setdefault(v.shoot, []).append(p)
    counts = {s: shoot_counts(ps, verdicts, values, k) for s, ps in sorted(by_shoot.items())}
    counts = {s: c for s, c in counts.items() if c.kept + c.dropped or c.groups}
    pooled = Counts()
    for c in counts.values():
        pooled.add(c)
    per_shoot = list(counts.values())
    return AgreementReport(
        shoots={s: c.figures() for s, c in counts.items()},
        overall={"shoots": len(counts), **pooled.figures()},
        intervals={f: bootstrap_interval(per_shoot, f) for f in INTERVAL_FIGURES},
        disagreements=disagreements(proposals, verdicts, limit),
        marks=asdict(marks or Marks()),
        ranking=ranking,
        counts=counts,
    )


def dry_run(catalog: Catalog, photo_ids: set[int] | None = None, options: Any = None):
    """The cull's proposals with every decision hidden, and the groups it used (so several dry runs
    — the default ranking, a ranker per held-out shoot — decode the frames once)."""
    from culler.decide.cull import CullOptions, attach_frame_defects, compute_groups, plan_cull

    options = options or CullOptions()
    groups, run = compute_groups(catalog, options.grouping, full=True)
    attach_frame_defects(catalog, groups, run.changed)
    proposals = plan_cull(catalog, options, groups=groups, decisions={})
    if photo_ids is not None:
        proposals = [p for p in proposals if p.photo_id in photo_ids]
    return proposals, groups


def photos_under(catalog: Catalog, folders: Iterable[str | Path] = ()) -> list[dict[str, Any]]:
    """Readable photos of the catalog, or of those under ``folders`` (resolved)."""
    rows = catalog.readable_photos()
    roots = [Path(f).resolve() for f in folders]
    if not roots:
        return rows
    return [r for r in rows if any(Path(r["path"]).is_relative_to(root) for root in roots)]


def agreement(
    catalog: Catalog,
    folders: Iterable[str | Path] = (),
    marks: Marks | None = None,
    source: str = "auto",
    options: Any = None,
    limit: int = 20,
) -> AgreementReport:
    """``culler agreement``: the photographer's verdicts, the cull's dry run, the comparison."""
    from culler.decide.cull import CullOptions

    photos = photos_under(catalog, folders)
    verdicts = photographer_verdicts(catalog, photos, marks, source)
    options = options or CullOptions()
    proposals, _ = dry_run(catalog, set(verdicts), options)
    used = any(RANKER_MARK in p.reason for p in proposals)
    values = None
    if used:  # rank the shoot by what ordered the bursts: the ranker's value
        from culler.decide.cull import load_scores
        from culler.decide.ranker import use_personal_ranker

        scores = load_scores(catalog, [p.photo_id for p in proposals], options.ranking)
        use_personal_ranker(catalog, scores, options.ranking)
        values = {pid: ps.personal for pid, ps in scores.items() if ps.personal is not None}
    report = measure(
        proposals,
        verdicts,
        values,
        marks=marks,
        ranking="personal" if used else "default",
        limit=limit,
    )
    if used:
        report.note = ranker_note(catalog.active_ranker())
    return report


def ranker_note(row: dict[str, Any] | None) -> str:
    """What to keep in mind when the cull measured used a ranker learned from these shoots."""
    if row is None:
        return ""
    top = row["evaluation"].get("figures", {}).get("top1", {})
    held = ""
    if top.get("before") is not None and top.get("after") is not None:
        held = f" (held-out top-1: default {top['before']:.0%}, ranker {top['after']:.0%})"
    return (
        "your personal ranker decided the bursts; on shoots it learned from these figures flatter "
        f"it: its held-out figures are the honest ones{held}; --default-ranking measures without it"
    )


__all__ = [
    "BOOTSTRAP",
    "DROPPED",
    "KEPT",
    "PRESETS",
    "RATIOS",
    "SOURCES",
    "AgreementReport",
    "Counts",
    "Marks",
    "Verdict",
    "agreement",
    "bootstrap_interval",
    "disagreements",
    "dry_run",
    "measure",
    "moment_hits",
    "ndcg",
    "percentile_interval",
    "photographer_verdicts",
    "photos_under",
    "ranker_marks",
    "ranker_note",
    "resampled",
    "shoot_counts",
    "shoot_of",
    "shoot_resamples",
    "spearman",
    "their_best",
]
