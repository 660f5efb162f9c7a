"""``culler evaluate SCORER``: PLCC, SRCC, accuracy, EMD and MSE on a labelled set, kept as a model card.

This is how a user reproduces the papers' figures once they have the datasets (CLIP regressor on AVA,
SAAN on BAID, CharLeNet on AVA's good/bad split) and checks their own personal versions.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from culler.commands.options import db_option, open_existing
from culler.validate import Count, FiniteFloat, printable


@click.command()
@click.argument("scorer_id", metavar="SCORER")
@click.option("--ava", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--csv", "csv_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--images", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--split",
    default="all",
    show_default=True,
    help="all, or a run's split.json (its val photos; split.json:train for the others).",
)
@click.option(
    "--classes", type=click.Choice(["0", "2", "3"]), default="0", help="Good/bad(/average)."
)
@click.option("--score-column", default="score", show_default=True)
@click.option("--image-column", default="image", show_default=True)
@click.option(
    "--score-scale",
    type=FiniteFloat(min=0, min_open=True),
    default=1.0,
    help="Multiply CSV scores to reach 0–10.",
)
@click.option("--limit", type=Count(min=1), default=None, help="Use at most this many photos.")
@click.option(
    "--config", "config_items", multiple=True, help="Scorer setting KEY=VALUE (repeatable)."
)
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, mps or auto.")
@click.option("--json", "as_json", is_flag=True, help="Print the evaluation as JSON.")
@db_option
def evaluate(
    scorer_id,
    ava,
    csv_path,
    images,
    split,
    classes,
    score_column,
    image_column,
    score_scale,
    limit,
    config_items,
    device,
    as_json,
    db_path,
):
    """Measure SCORER (its active version in --db, else the installed one) on a labelled set.

    Sets: --ava AVA.txt --images DIR, or --csv FILE (BAID's image,score; or image, score and
    optional votes / class columns). The figures go to the version's model card (JSON and
    Markdown next to its weights), which `culler models list` shows.
    """
    from culler_trainer.evaluate import evaluate as run
    from culler_trainer.evaluate import load_set

    from culler.models import cards as model_cards
    from culler.models.weights import WeightsError, WeightsMissing
    from culler.plugin.scorers import get_scorer_classes

    cls = get_scorer_classes().get(scorer_id)
    if cls is None:
        raise click.ClickException(f"unknown scorer {scorer_id!r}; see `culler plugins`")
    config = _config(scorer_id, db_path, config_items)
    try:
        labelled = load_set(ava, csv_path, images, split, int(classes), score_column,
                            image_column, score_scale, limit)  # fmt: skip
        scorer = cls(config)
        scorer.load(_device(device))
        evaluation = run(scorer, labelled)
    except (WeightsMissing, WeightsError, ValueError, KeyError) as exc:
        raise click.ClickException(printable(str(exc).strip("'\""))) from None
    card, md = model_cards.record(scorer_id, scorer.version_key, scorer.weights_sha256, evaluation)
    if as_json:
        click.echo(json.dumps({**evaluation, "card": str(card)}, indent=2, allow_nan=False))
        return
    shown = ", ".join(f"{k} {v:.4f}" for k, v in evaluation["metrics"].items())
    click.echo(printable(f"{scorer_id} {scorer.version_key} on {labelled.name} ({labelled.split}, "
               f"{evaluation['n']} photos): {shown}"))  # fmt: skip
    click.echo(f"model card: {md}")


def _config(scorer_id: str, db_path: Path | None, items: tuple[str, ...]) -> dict:
    config: dict = {}
    if db_path is not None:
        catalog = open_existing(db_path)
        try:
            row = catalog.active_scorer(scorer_id)
        finally:
            catalog.close()
        config = dict(row["config"]) if row else {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.UsageError(f"--config {item}: expected KEY=VALUE")
        config[key.strip()] = value.strip()
    return config


def _device(name: str) -> str:
    if name != "auto":
        return name
    from culler.devices import pick_device

    return pick_device("auto")


def register(cli: click.Group) -> None:
    cli.add_command(evaluate)
