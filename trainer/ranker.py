"""``culler train --db CATALOG --model ranker``: a personal ranker from the shoots you culled.

No network and no weights: the ranker learns from the scores, sub-scores, faces, capture facts and
(when cached) CLIP embeddings the catalog holds (culler.decide.ranker through ``culler.api``). It
prints how often the cull agreed with you on held-out shoots before and after, with 90 % intervals,
and whether ``culler cull`` will use it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from culler.api import ranker_marks, train_personal_ranker

NAMES = {
    "top1": "top-1 in groups",
    "mean_rank": "mean rank of yours",
    "pick_precision": "pick precision",
    "pick_recall": "pick recall",
    "reject_precision": "reject precision",
}


def _shown(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if name == "mean_rank" else f"{100 * value:.0f}%"


def _span(name: str, interval: list[float] | None) -> str:
    if not interval:
        return ""
    return f" [{_shown(name, interval[0])}, {_shown(name, interval[1])}]"


def report_lines(result: dict[str, Any]) -> list[str]:
    """The before/after table and the verdict, as printed."""
    lines = [
        f"held-out shoots: {result['shoots']} in {result['folds']} folds "
        f"({result['groups']} groups where you kept one frame); "
        f"learned from {result['trained_on'].get('pairs', 0)} pairs and "
        f"{result['trained_on'].get('photos', 0)} photos, {result['features']} features"
        + (f" (with {result['embedding']} embeddings)" if result.get("embedding") else ""),
        f"{'':22}{'default':>20}{'your ranker':>22}{'gain':>20}",
    ]
    for key, name in NAMES.items():
        f = result["figures"][key]
        before = _shown(key, f["before"]) + _span(key, f["before_interval"])
        after = _shown(key, f["after"]) + _span(key, f["after_interval"])
        gain = (
            "-"
            if f["gain"] is None
            else f"{f['gain']:+.2f}" + _span("mean_rank", f["gain_interval"])
        )
        lines.append(f"{name:22}{before:>20}{after:>22}{gain:>20}")
    test = result["test"]
    lines.append(
        f"moments only your ranker got right: {test['ranker_only_right']}, only the default: "
        f"{test['default_only_right']} (McNemar p = {test['p_value']})"
    )
    strongest = ", ".join(f"{n} {w:+.2f}" for n, w in result.get("strongest_features", []))
    lines.append(f"strongest features: {strongest}")
    if result["beats_default"]:
        lines.append("it beats the default ranking on held-out shoots: `culler cull` now uses it")
    else:
        lines.append(
            "it does not beat the default ranking on held-out shoots: `culler cull` keeps the "
            "default (cull more shoots by hand, or check which marks count with --editor)"
        )
    return lines


def run_ranker(args: argparse.Namespace) -> int:
    from culler.catalog import open_catalog

    if not Path(args.db).exists():
        raise FileNotFoundError(f"no catalog at {args.db}; run `culler scan FOLDER` first")
    catalog = open_catalog(args.db)
    try:
        result = train_personal_ranker(
            catalog, args.folder, ranker_marks(args.editor), args.decisions_from
        )
    finally:
        catalog.close()
    print("\n".join(report_lines(result)))
    return 0
