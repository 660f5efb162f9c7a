"""Model cards: what a scorer version measured on a labelled set (``culler evaluate``).

One JSON file per scorer version, next to the scorer's weights (``$CULLER_HOME/models/SCORER/cards/
VERSION-SHA12.json``), with a Markdown rendering beside it. Each evaluation (dataset × split) replaces an
earlier one of the same name, so re-running an evaluation updates the card instead of growing it.
``culler models list`` shows the latest figures. No torch here: listing stays fast.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from culler.models.weights import scorer_dir

METRIC_ORDER = ("plcc", "srcc", "accuracy", "acc5", "emd", "emd1", "mse")


def cards_dir(scorer_id: str) -> Path:
    return scorer_dir(scorer_id) / "cards"


def card_path(scorer_id: str, version: str, weights_sha256: str) -> Path:
    stem = re.sub(r"[^A-Za-z0-9._+-]", "_", f"{version}-{weights_sha256[:12] or 'noweights'}")
    return cards_dir(scorer_id) / f"{stem}.json"


def record(
    scorer_id: str, version: str, weights_sha256: str, evaluation: dict[str, Any]
) -> tuple[Path, Path]:
    """Add (or replace) ``evaluation`` on the version's card; write JSON and Markdown atomically."""
    path = card_path(scorer_id, version, weights_sha256)
    card = (
        json.loads(path.read_text())
        if path.is_file()
        else {
            "scorer": scorer_id,
            "version": version,
            "weights_sha256": weights_sha256,
            "evaluations": [],
        }
    )
    same = (evaluation["dataset"], evaluation["split"])
    card["evaluations"] = [e for e in card["evaluations"] if (e["dataset"], e["split"]) != same] + [
        evaluation
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    md = path.with_suffix(".md")
    for target, text in ((path, json.dumps(card, indent=2)), (md, markdown(card))):
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    return path, md


def markdown(card: dict[str, Any]) -> str:
    lines = [
        f"# {card['scorer']} {card['version']}",
        "",
        f"Weights sha256: `{card['weights_sha256'] or 'none'}`",
        "",
        "| dataset | split | photos | " + " | ".join(METRIC_ORDER) + " | evaluated |",
        "|---|---|---|" + "---|" * len(METRIC_ORDER) + "---|",
    ]
    for e in card["evaluations"]:
        values = [_fmt(e["metrics"].get(m)) for m in METRIC_ORDER]
        lines.append(
            f"| {e['dataset']} | {e['split']} | {e['n']} | "
            + " | ".join(values)
            + f" | {e['at']} |"
        )
    return "\n".join(lines) + "\n"


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.4f}"


def cards(scorer_id: str) -> list[dict[str, Any]]:
    """Every card of a scorer (any version), newest evaluation first within each."""
    folder = cards_dir(scorer_id)
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            out.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue  # a damaged card must not break `culler models list`
    return out


def summary_lines(scorer_id: str) -> list[str]:
    """One line per evaluation, for ``culler models list``."""
    lines = []
    for card in cards(scorer_id):
        for e in card["evaluations"]:
            shown = ", ".join(
                f"{m.upper()} {e['metrics'][m]:.3f}" for m in METRIC_ORDER if m in e["metrics"]
            )
            lines.append(
                f"    card {card['version']}: {e['dataset']} ({e['split']}, {e['n']} photos) {shown}"
            )
    return lines
