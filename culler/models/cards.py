"""Model cards: what a scorer version measured on a labelled set (``culler evaluate``).

One JSON file per scorer version, next to the scorer's weights (``$CULLER_HOME/models/SCORER/cards/
VERSION-SHA12.json``), with a Markdown rendering beside it. Each evaluation (dataset × split) replaces an
earlier one of the same name, so re-running an evaluation updates the card instead of growing it.
``culler models list`` shows the latest figures. No torch here: listing stays fast.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

from culler.models.weights import scorer_dir
from culler.safe_files import read_regular
from culler.validate import printable

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
    card = {
        "scorer": scorer_id,
        "version": version,
        "weights_sha256": weights_sha256,
        "evaluations": [],
    }
    if os.path.lexists(path):
        earlier = _read_card(path)
        if earlier is None:
            # A damaged card (cut short, edited by hand) is kept beside the new one, not lost.
            path.replace(path.with_name(path.name + ".damaged"))
        else:
            card["evaluations"] = earlier["evaluations"]
    same = (evaluation["dataset"], evaluation["split"])
    card["evaluations"] = [e for e in card["evaluations"] if (e["dataset"], e["split"]) != same] + [
        evaluation
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    md = path.with_suffix(".md")
    for target, text in ((path, json.dumps(card, indent=2, allow_nan=False)), (md, markdown(card))):
        tmp = target.with_name(target.name + ".tmp")
        try:
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            if exc.filename is None:  # a failed write (a full disk) names no file by itself
                exc.filename = str(target)
            raise
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


#: A card holds a few evaluations: a few kilobytes. Larger files are not cards culler wrote.
MAX_CARD_BYTES = 4 << 20


def _read_card(path: Path) -> dict[str, Any] | None:
    """The card at ``path`` with only well-formed evaluations, or None when it is not a card (damaged,
    not JSON, another shape, a FIFO): cards are read by every ``culler models list``."""
    try:
        card = json.loads(read_regular(path, MAX_CARD_BYTES))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(card, dict) or not isinstance(card.get("evaluations"), list):
        return None
    card["evaluations"] = [e for e in card["evaluations"] if _is_evaluation(e)]
    card["version"] = str(card.get("version", path.stem))
    return card


def _is_evaluation(e: Any) -> bool:
    return (
        isinstance(e, dict)
        and all(isinstance(e.get(k), str) for k in ("dataset", "split"))
        and isinstance(e.get("n"), int)
        and isinstance(e.get("metrics"), dict)
        and all(isinstance(v, int | float) and math.isfinite(v) for v in e["metrics"].values())
    )


def cards(scorer_id: str) -> list[dict[str, Any]]:
    """Every card of a scorer (any version), newest evaluation first within each; a damaged card is
    left out (it must not break `culler models list`)."""
    folder = cards_dir(scorer_id)
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        card = _read_card(path)
        if card is not None:
            out.append(card)
    return out


def summary_lines(scorer_id: str) -> list[str]:
    """One line per evaluation, for ``culler models list`` (its text is from files: printable)."""
    lines = []
    for card in cards(scorer_id):
        for e in card["evaluations"]:
            shown = ", ".join(
                f"{m.upper()} {e['metrics'][m]:.3f}" for m in METRIC_ORDER if m in e["metrics"]
            )
            lines.append(
                printable(
                    f"    card {card['version']}: {e['dataset']} ({e['split']}, {e['n']} photos) "
                    f"{shown}"
                )
            )
    return lines
