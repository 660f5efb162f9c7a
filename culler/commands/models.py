"""``culler models``: see, download and import the weight files learned scorers need.

Thin on purpose: the work is in :mod:`culler.models.pull`, which the GUI's models panel shares, so both show the
same status. ``culler.commands.train`` adds ``export`` and ``import-personal`` (personal models) here.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import click

from culler.validate import FiniteFloat, printable


def _config(items: tuple[str, ...], scorer_id: str | None = None) -> dict[str, Any]:
    """``("model=ViT-B-32", "clip-aesthetic.head=prompts")`` → settings for ``scorer_id``.

    ``SCORER.KEY=VALUE`` (as ``culler scan --config``) applies to that scorer only; ``KEY=VALUE`` to the
    scorer named on the command line (or to every scorer for ``list``).
    """
    from culler.commands.options import parse_setting
    from culler.validate import non_finite_in

    config: dict[str, Any] = {}
    for item in items:
        setting = parse_setting(item)
        if setting is None:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--config")
        target, key, value = setting
        bad = non_finite_in(value)
        if bad is not None:
            raise click.BadParameter(
                f"{item!r}: {bad} is not a finite number; give a number such as 0.5",
                param_hint="--config",
            )
        if target and scorer_id is not None and target != scorer_id:
            continue
        config[key] = value
    return config


config_option = click.option(
    "--config",
    "config_items",
    multiple=True,
    metavar="KEY=VALUE",
    help="A scorer setting that changes which files it needs (repeatable), e.g. model=ViT-B-32 "
    "pretrained=openai for clip-aesthetic, classes=3 for charlenet. SCORER.KEY=VALUE limits it to "
    "one scorer.",
)


def _scorer(scorer_id: str) -> type:
    from culler.plugin.scorers import get_scorer_class

    try:
        return get_scorer_class(scorer_id)
    except KeyError as exc:
        raise click.ClickException(str(exc).strip("'\"")) from None


def _size(n: int | None) -> str:
    if not n:
        return "size unknown"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"


def _progress(label: str, total: int | None):
    """click's progress bar on a terminal (stderr); silent when piped or the size is unknown."""
    if sys.stderr.isatty() and total:
        return click.progressbar(length=total, label=label, file=sys.stderr)
    from culler.models.pull import _no_progress

    return _no_progress(label, total)


def _file_line(info: dict[str, Any]) -> str:
    status = info["status"]
    if status == "installed":
        how = {"pull": "pulled", "import": "imported"}.get(info["installed_by"], "verified")
        when = f" {info['installed'][:10]}" if info["installed"] else ""
        holder = info.get("holder")
        shared = f", shared from {holder}" if holder and holder != info.get("scorer") else ""
        state = f"installed ({how}{when}{shared}; sha256 {info['sha256'][:12]})"
    elif status == "damaged":
        state = "DAMAGED (sha256 mismatch: pull or import it again)"
    else:
        state = "missing"
    return f"  {info['name']}: {state}"


def _file_details(info: dict[str, Any]) -> str:
    source = info["source"] or "no download (import only)"
    sha = info["published_sha256"][:12] or "recorded on first install (trust on first use)"
    licence = info["licence"] or "not stated"
    return f"      source {source}; {_size(info['size'])}; sha256 {sha}; licence: {licence}"


@click.group(name="models")
def models() -> None:
    """Weight files of learned scorers: list, pull (download), import, remove.

    Files live in $CULLER_HOME/models/SCORER/ (default: the user cache folder) with a
    manifest.json recording each file's sha256 and where it came from. See docs/models.md.
    """


@models.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: one object per scorer.")
@config_option
def list_(as_json: bool, config_items: tuple[str, ...]) -> None:
    """Show every scorer that needs weights, each file's status and the command that installs it."""
    from culler.models import cards as model_cards
    from culler.models.weight_status import scorer_status
    from culler.plugin.scorers import get_scorer_classes

    rows = []
    for scorer_id, cls in sorted(get_scorer_classes().items()):
        try:
            info = scorer_status(cls, _config(config_items, scorer_id))
        except (ValueError, TypeError) as exc:
            raise click.ClickException(f"{scorer_id}: {exc}") from None
        if info["files"]:
            rows.append(info)
    if as_json:
        rows = [{**info, "cards": model_cards.cards(info["scorer"])} for info in rows]
        click.echo(json.dumps(rows, indent=2))
        return
    for info in rows:
        how = "can be pulled" if info["pullable"] else "import only"
        fix = f" — run `{info['command']}`" if info["command"] else ""
        click.echo(f"{info['scorer']}: {info['status']} ({how}){fix}")
        for file in info["files"]:
            click.echo(_file_line({**file, "scorer": info["scorer"]}))
            click.echo(_file_details(file))
        for line in model_cards.summary_lines(info["scorer"]):  # `culler evaluate` figures
            click.echo(line)


@models.command()
@click.argument("scorer_id", metavar="SCORER")
@config_option
@click.option(
    "--offline",
    is_flag=True,
    envvar="CULLER_OFFLINE",
    help="Do not use the network (also CULLER_OFFLINE=1): fail at once, naming what is missing.",
)
@click.option(
    "--timeout",
    type=FiniteFloat(min=0.1),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="Give up when connecting or a read waits longer than this.",
)
def pull(scorer_id: str, config_items: tuple[str, ...], offline: bool, timeout: float) -> None:
    """Download SCORER's weight files, verify their sha256 and install them.

    Files already installed and verified are skipped. A failed or interrupted download leaves
    nothing behind, and a file already installed stays as it was.
    """
    from culler.models.pull import pull as pull_weights
    from culler.models.weights import WeightsError, writable_home

    _scorer(scorer_id)
    writable_home()
    try:
        pull_weights(
            scorer_id,
            _config(config_items, scorer_id),
            offline=offline,
            timeout=timeout,
            echo=click.echo,
            progress=_progress,
        )
    except (WeightsError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


@models.command(name="import")
@click.argument("scorer_id", metavar="SCORER")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@config_option
def import_(scorer_id: str, file: Path, config_items: tuple[str, ...]) -> None:
    """Install FILE (a checkpoint, or a .zip/.tar archive holding one) as SCORER's weights.

    The scorer converts it to its own layout when needed (e.g. LAION's aesthetic head, the
    official SAAN checkpoint, CharLeNet's Caffe arrays). Checkpoints that would run code when
    loaded are refused, and archive members cannot write outside the models folder.
    """
    from culler.models.pull import import_weights
    from culler.models.weights import WeightsError, writable_home

    _scorer(scorer_id)
    writable_home()
    try:
        installed = import_weights(scorer_id, file, _config(config_items, scorer_id))
    except (WeightsError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    for item in installed:
        how = f"converted from {item['origin']}" if item["converted"] else item["origin"]
        line = f"{scorer_id}: installed {item['name']} (sha256 {item['sha256'][:12]}), {how}"
        click.echo(printable(line))  # member names come from the archive


@models.command()
@click.argument("scorer_id", metavar="SCORER", required=False)
def path(scorer_id: str | None) -> None:
    """Print the folder weight files live in (SCORER's own folder when given)."""
    from culler.models.weights import models_dir, scorer_dir

    click.echo(str(scorer_dir(_scorer(scorer_id).id) if scorer_id else models_dir()))


@models.command()
@click.argument("scorer_id", metavar="SCORER")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def remove(scorer_id: str, yes: bool) -> None:
    """Delete SCORER's installed weight files (pull or import them again to use it)."""
    from culler.models.weights import scorer_dir

    directory = scorer_dir(scorer_id)
    if not directory.is_dir():
        click.echo(f"{scorer_id}: nothing installed in {directory}")
        return
    size = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
    if not yes:
        click.confirm(f"Delete {directory} ({_size(size)})?", abort=True)
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(directory)
    click.echo(f"{scorer_id}: removed {directory} ({_size(size)})")


def register(cli: click.Group) -> None:
    cli.add_command(models)
