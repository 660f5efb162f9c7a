"""``culler train`` (the trainer's command line) and moving personal models between machines.

The trainer's own argparse parser (``culler_trainer.params``) defines the options, so ``culler train``
and ``python -m culler_trainer`` accept exactly the same arguments. Personal-model transfer is added to
the ``culler models`` group as ``export`` and ``import-personal``.
"""

from __future__ import annotations

from pathlib import Path

import click

from culler.commands.models import models as models_group
from culler.commands.options import db_option, open_existing
from culler.validate import printable


def _train_help(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from culler_trainer.params import build_parser

    click.echo(ctx.get_help())
    click.echo("\nTrainer options (the same as `python -m culler_trainer`):\n")
    click.echo(build_parser().format_help())
    ctx.exit()


@click.command(
    name="train",
    add_help_option=False,
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option(
    "-h",
    "--help",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=_train_help,
    help="Show the trainer's options and exit.",
)
@click.argument("trainer_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def train(ctx: click.Context, trainer_args: tuple[str, ...]) -> None:
    """Train a scorer on your ratings (--db CATALOG) or on AVA / BAID / a folder with a CSV.

    A personal run learns from the catalog's stars, picks/rejects and preferences, reports how
    often it agrees with your held-out ratings, and becomes the scorer version the next
    `culler scan` uses. Run `culler train --help` for every option.
    """
    from culler_trainer.cli import main

    from culler.models.weights import writable_home

    writable_home()  # runs are written there: say so now, not after the data is loaded
    ctx.exit(main(list(trainer_args)))


@click.command(name="export")
@click.argument("scorer_id")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Bundle file to write (e.g. my-taste.cullermodel). An existing file is not overwritten.",
)
@click.option(
    "--version-id",
    type=int,
    default=None,
    help="Scorer row to export (default: the active personal version).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace an earlier bundle at --output (any other file is still refused).",
)
@db_option
def export_personal(scorer_id, output, version_id, force, db_path):
    """Write SCORER_ID's personal model (head, config, sha256) to one file for another machine."""
    from culler_trainer.registry import export_model

    catalog = open_existing(db_path)
    try:
        manifest = export_model(catalog, scorer_id, output, version_id, force=force)
    except ValueError as exc:
        raise click.ClickException(printable(exc)) from exc
    finally:
        catalog.close()
    click.echo(printable(f"exported {scorer_id} {manifest['version']} to {output}"))


@click.command(name="import-personal")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--activate/--no-activate",
    default=True,
    show_default=True,
    help="Make it the version the next scan uses.",
)
@db_option
def import_personal(bundle, activate, db_path):
    """Add a personal model exported with `culler models export` to this catalog."""
    from culler_trainer.registry import import_model

    from culler.models.weights import WeightsError, writable_home

    writable_home()
    catalog = open_existing(db_path)
    try:
        pk = import_model(catalog, bundle, activate)
        row = catalog.scorer_row(pk)
    except (ValueError, WeightsError) as exc:
        raise click.ClickException(printable(exc)) from exc
    finally:
        catalog.close()
    state = "active: the next `culler scan` uses it" if activate else "not active"
    click.echo(printable(f"imported {row['scorer_id']} {row['version']} (#{pk}, {state})"))


def register(cli: click.Group) -> None:
    cli.add_command(train)
    models_group.add_command(export_personal)
    # The pair's names match: export-personal writes the bundle import-personal reads.
    models_group.add_command(export_personal, name="export-personal")
    models_group.add_command(import_personal)
