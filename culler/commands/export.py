"""``culler export picks DEST`` and ``culler export scores``: hand the shoot on to the next tool."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from culler.commands.options import db_option, open_existing
from culler.validate import printable

PAST = {"copy": "copied", "move": "moved", "link": "linked"}
STATUSES = ("planned", "done", "exists", "error")


@click.group()
def export() -> None:
    """Export picks (with their sidecars) to a folder, or every score to CSV/JSON."""


@export.command()
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@db_option
@click.option("--copy", "mode", flag_value="copy", default=True, help="Copy (the default).")
@click.option(
    "--move",
    "mode",
    flag_value="move",
    help="Move (photo by photo, safe to interrupt: a rerun finishes the move); the catalog follows "
    "to the new path. Sidecars shared by a RAW+JPEG pair are copied; symbolic links are not moved.",
)
@click.option("--link", "mode", flag_value="link", help="Symbolic links to the originals.")
@click.option(
    "--min-stars",
    type=click.IntRange(0, 5),
    default=None,
    help="Also export photos rated at least this many stars (rejects never).",
)
@click.option(
    "--keep-folders",
    is_flag=True,
    help="Recreate each photo's folder below its scanned root (default: all in DEST).",
)
@click.option("--dry-run", is_flag=True, help="Show what would happen; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report.")
def picks(dest, db_path, mode, min_stars, keep_folders, dry_run, as_json):
    """Copy, move or link the picks to DEST, each with its XMP sidecars.

    Existing files are never overwritten: a clashing name gets a -1, -2... suffix, and a photo
    already in DEST with identical content is skipped.
    """
    if dest.exists() and not dest.is_dir():
        raise click.ClickException(printable(f"{dest} exists and is not a folder"))
    items, roots = _export_picks(dest, db_path, mode, min_stars, keep_folders, dry_run)
    if mode != "move":
        _warn_if_inside_roots(dest, roots)
    counts = {s: sum(i.status == s for i in items) for s in STATUSES}
    if as_json:
        report = {
            "mode": mode,
            "dry_run": dry_run,
            "counts": counts,
            "items": [i.to_json() for i in items],
        }
        click.echo(json.dumps(report, indent=2))
    else:
        _print_items(items, mode, dry_run, counts)
    if counts["error"]:
        raise SystemExit(1)


def _export_picks(dest, db_path, mode, min_stars, keep_folders, dry_run):
    """Plan and (unless a dry run) carry out the export; return the items and the scanned roots."""
    from culler.interop.export import (
        finish_interrupted_moves,
        plan_export,
        run_export,
        select_picks,
    )

    catalog = open_existing(db_path, read_only=dry_run)
    try:
        if dry_run and catalog.pending_moves():
            click.echo(
                "note: an interrupted --move is pending; a run without --dry-run finishes it"
            )
        elif not dry_run:
            for note in finish_interrupted_moves(catalog):
                click.echo(printable(f"note: {note}"), err=True)
        photos = select_picks(catalog, min_stars)
        if not photos:
            raise click.ClickException(
                "no picks in the catalog: mark photos as picks (culler cull or the GUI), "
                "or pass --min-stars N to export starred photos"
            )
        roots = catalog.photo_roots()
        held = None
        if mode == "move":
            held = lambda target, photo_id: (  # noqa: E731
                catalog.other_photo_with_history(target, photo_id) is not None
            )
        items = plan_export(photos, dest, keep_folders=keep_folders, held_by_another=held)
        if not dry_run:
            dest.mkdir(parents=True, exist_ok=True)
        run_export(catalog, items, mode, dry_run=dry_run)
    finally:
        catalog.close()
    return items, roots


def _warn_if_inside_roots(dest: Path, roots: list[str]) -> None:
    target = os.path.abspath(dest)
    if any(target.startswith(os.path.abspath(r) + os.sep) for r in roots):
        click.echo(
            printable(
                f"note: {dest} is inside a scanned folder; the next scan will list the exported "
                "copies as new photos"
            ),
            err=True,
        )


def _print_items(items, mode: str, dry_run: bool, counts: dict[str, int]) -> None:
    past = PAST[mode]
    label = {"planned": f"would be {past}", "done": past, "exists": "already there"}
    for item in items:
        extra = f" ({item.error})" if item.error else ""
        # Names come from files: printable, like every other command's output.
        click.echo(
            printable(f"{label.get(item.status, 'FAILED')}: {item.source} -> {item.target}{extra}")
        )
        for _, side_target in item.sidecars:
            click.echo(printable(f"    + {side_target.name}"))
    done = counts["planned"] if dry_run else counts["done"]
    click.echo(
        f"{done} photos {'would be ' if dry_run else ''}{past}, "
        f"{counts['exists']} already exported, {counts['error']} failed"
    )


@export.command()
@db_option
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file (default: standard output). An existing file is not overwritten.",
)
@click.option("--sort", "sort_by", default=None, help="Sort by this scorer (best first).")
@click.option(
    "--status",
    type=click.Choice(["ok", "error", "missing", "all"]),
    default="all",
    show_default=True,
)
def scores(db_path, fmt, output, sort_by, status):
    """Every photo's scores, rating and tags as CSV (one column per scorer) or JSON."""
    from culler.interop.export import score_rows, scores_csv, scores_json

    catalog = open_existing(db_path)
    try:
        rows = score_rows(catalog, sort_by=sort_by, status=status)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        catalog.close()
    text = scores_csv(rows) if fmt == "csv" else scores_json(rows)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        with open(output, "x", encoding="utf-8", newline="") as fh:
            fh.write(text)
    except FileExistsError as exc:
        raise click.ClickException(
            printable(f"{output} already exists; choose another --output name or delete it first")
        ) from exc
    click.echo(printable(f"{len(rows)} photos written to {output}"), err=True)


def register(cli: click.Group) -> None:
    cli.add_command(export)
