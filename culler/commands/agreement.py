"""``culler agreement``: how often culler's cull agrees with the photographer's own, shoot by shoot."""

from __future__ import annotations

import json
from pathlib import Path

import click

from culler.commands.options import LazyChoice, db_option, open_existing
from culler.validate import printable

EDITOR_HELP = (
    "Which marks mean kept/dropped, by the editor you culled in: lightroom (≥1★ or pick kept, "
    "reject dropped, unmarked photos of a shoot with keepers dropped), darktable (≥2★: darktable "
    "gives every import 1★), capture-one (also Green kept, Red dropped), picks-only (only "
    "pick/reject count)."
)


def marks_from(editor, kept_stars, kept_labels, dropped_labels, unmarked):
    """The Marks setting: the editor's preset, with any option given on top of it."""
    from dataclasses import replace

    from culler.decide.agreement import PRESETS

    marks = PRESETS[editor]
    changes = {}
    if kept_stars is not None:
        changes["kept_stars"] = kept_stars
    if kept_labels:
        changes["kept_labels"] = tuple(kept_labels)
    if dropped_labels:
        changes["dropped_labels"] = tuple(dropped_labels)
    if unmarked is not None:
        changes["unmarked"] = unmarked
    return replace(marks, **changes)


def marks_options(fn):
    """The options that say which of the photographer's marks count (shared with `train`)."""
    for option in reversed(
        [
            click.option(
                "--from",
                "source",
                type=LazyChoice("culler.decide.agreement", "SOURCES"),
                default="auto",
                show_default=True,
                help="Read your decisions from XMP sidecars, from the catalog's hand decisions, "
                "or (auto) the sidecar where a photo has one, else the catalog.",
            ),
            click.option(
                "--editor",
                type=LazyChoice("culler.decide.agreement", "PRESETS", sort=True),
                default="lightroom",
                show_default=True,
                help=EDITOR_HELP,
            ),
            click.option(
                "--kept-stars",
                type=click.IntRange(0, 5),
                default=None,
                help="Photos with at least this many stars count as kept (0: stars never do).",
            ),
            click.option(
                "--kept-label",
                "kept_labels",
                multiple=True,
                metavar="LABEL",
                help="A colour label that means kept (repeatable), e.g. Green.",
            ),
            click.option(
                "--dropped-label",
                "dropped_labels",
                multiple=True,
                metavar="LABEL",
                help="A colour label that means dropped (repeatable), e.g. Red.",
            ),
            click.option(
                "--unmarked",
                type=click.Choice(("dropped", "ignored")),
                default=None,
                help="Photos you left unmarked in a shoot where you kept some: dropped "
                "(default) or not counted.",
            ),
        ]
    ):
        fn = option(fn)
    return fn


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _num(value, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _interval(values) -> str:
    return "" if not values else f" [{100 * values[0]:.0f}–{100 * values[1]:.0f}]"


def print_report(report, html_index: Path | None = None) -> None:
    """The table: one row per shoot, the overall row; then the 90 % intervals, the disagreements."""
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=True, markup=False)
    console.width = max(console.width, 104)  # eleven columns: piped output is not cut at 80
    table = Table(title=f"culler vs you ({report.ranking} ranking)", title_justify="left")
    for name in (
        "shoot",
        "judged",
        "groups",
        "top-1",
        "rank",
        "pick P",
        "pick R",
        "rej P",
        "rej R",
        "NDCG",
        "rho",
    ):
        table.add_column(name, justify="left" if name == "shoot" else "right", no_wrap=True)

    def row(name, f):
        table.add_row(
            name,
            str(f["photos_judged"]),
            str(f["groups"]),
            _pct(f["top1"]),
            _num(f["mean_rank"]),
            _pct(f["pick_precision"]),
            _pct(f["pick_recall"]),
            _pct(f["reject_precision"]),
            _pct(f["reject_recall"]),
            _num(f["ndcg"]),
            _num(f["spearman"]),
        )

    for shoot, figures in report.shoots.items():
        row(printable(Path(shoot).name or shoot)[:24], figures)
    table.add_section()
    row(f"all ({report.overall['shoots']})", report.overall)
    console.print(table)
    console.print(
        "top-1: culler's first frame is the one you kept, in bursts where you kept one; rank: "
        "mean place of yours; P/R: precision/recall; rho: Spearman against your stars"
    )
    spans = [
        f"{name} {_pct(report.overall[key])}{_interval(report.intervals.get(key))}"
        for key, name in (
            ("top1", "top-1"),
            ("pick_precision", "pick P"),
            ("pick_recall", "pick R"),
            ("reject_precision", "rej P"),
            ("reject_recall", "rej R"),
        )
        if report.intervals.get(key)
    ]
    if spans:
        console.print("90 % intervals over shoots: " + ", ".join(spans))
    if report.note:
        console.print(report.note)
    if report.disagreements:
        console.print(f"\nlargest disagreements ({len(report.disagreements)}):")
        for d in report.disagreements:
            console.print(
                f"  {printable(d['path'])}\n    you: {printable(d['photographer'])}; "
                f"culler: {d['culler']}"
                f" ({printable(d['reason'])})"
            )
    if html_index is not None:
        console.print(f"\ncontact sheet: {html_index}")


@click.command(name="agreement")
@click.argument("folders", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@marks_options
@click.option(
    "--limit",
    type=click.IntRange(0, 1000),
    default=20,
    show_default=True,
    help="How many of the largest disagreements to list.",
)
@click.option(
    "--html",
    "html_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="Also write a contact sheet of the disagreements (DIR/index.html with thumbnails).",
)
@click.option(
    "--personal-ranker/--default-ranking",
    default=True,
    show_default=True,
    help="Measure the cull as `culler cull` would run it (with your ranker when it beat the "
    "default), or the default ranking alone.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@db_option
def agreement(
    folders,
    source,
    editor,
    kept_stars,
    kept_labels,
    dropped_labels,
    unmarked,
    limit,
    html_dir,
    personal_ranker,
    as_json,
    db_path,
):
    """How often culler agrees with you, on shoots you already culled by hand.

    Your decisions (stars, pick/reject, colour labels from XMP sidecars or the catalog) are hidden,
    the cull runs as a dry run, and the two are compared per shoot (folder) and overall: in each
    burst where you kept one frame, is culler's first frame yours (top-1) and where does yours rank;
    precision and recall of culler's picks and rejects; NDCG and Spearman against your stars; the
    largest disagreements with culler's reason. Nothing is written to the catalog.
    """
    from culler.decide.agreement import agreement as measure_agreement
    from culler.decide.cull import CullOptions, Ranking

    marks = marks_from(editor, kept_stars, kept_labels, dropped_labels, unmarked)
    options = CullOptions(ranking=Ranking(personal_ranker="auto" if personal_ranker else None))
    catalog = open_existing(db_path)
    try:
        report = measure_agreement(catalog, folders, marks, source, options, limit)
    finally:
        catalog.close()
    index = None
    if html_dir is not None and report.shoots:
        from culler.interop.contact_sheet import write_contact_sheet

        try:
            index = write_contact_sheet(html_dir, report)
        except (OSError, ValueError) as exc:
            raise click.ClickException(
                f"cannot write the contact sheet in {printable(html_dir)}: "
                f"{printable(getattr(exc, 'strerror', None) or exc)}; give --html a folder you can write"
            ) from None
    if not report.shoots:
        raise click.ClickException(
            "no photo with your decisions found: rate or pick photos (or give their sidecars "
            "stars), or choose which marks count with --editor / --kept-stars"
        )
    if as_json:
        data = report.to_json()
        data["html"] = str(index) if index else None
        click.echo(json.dumps(data, indent=2))
    else:
        print_report(report, index)


def register(cli: click.Group) -> None:
    cli.add_command(agreement)
