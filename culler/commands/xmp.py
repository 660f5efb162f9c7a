"""``culler xmp write|read``: sidecars for the editor you use next, and ratings back from past ones."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from culler.commands.options import LazyChoice, db_option, open_existing
from culler.validate import printable

NAMING_HELP = (
    "Sidecar name: 'basename' = IMG_1.xmp (Lightroom, Capture One, digiKam), 'fullname' = "
    "IMG_1.CR3.xmp (darktable), 'auto' = the sidecar that exists, else basename unless another photo "
    "shares the name (RAW+JPEG pairs get fullname)."
)


def naming_choice() -> LazyChoice:
    """``culler.interop.xmp.NAMINGS``, read when the option is used (the XMP code loads then)."""
    return LazyChoice("culler.interop.xmp", "NAMINGS")


def _naming_option(fn):
    return click.option(
        "--naming",
        type=naming_choice(),
        default="auto",
        show_default=True,
        envvar="CULLER_XMP_NAMING",
        help=NAMING_HELP,
    )(fn)


def _paths_argument(fn):
    return click.argument(
        "paths", nargs=-1, type=click.Path(exists=True, path_type=Path), required=False
    )(fn)


def _print(report, as_json: bool, verb: str, dry_run: bool) -> None:
    data = report.to_json()
    if as_json:
        click.echo(json.dumps({**data, "dry_run": dry_run}, indent=2))
        return
    prefix = "would be " if dry_run else ""
    for row in data["changed"]:
        click.echo(printable(row["sidecar"]))
    for row in data["errors"]:
        click.echo(f"error: {printable(row['error'])}", err=True)
    click.echo(
        f"{len(data['changed'])} {prefix}{verb}, {data['unchanged']} unchanged, "
        f"{len(data['skipped'])} skipped, {len(data['errors'])} errors"
    )


def _exit_on_errors(report) -> None:
    """Every sidecar was tried; a run where any failed still ends with status 1, for scripts."""
    if report.errors:
        sys.exit(1)


@click.group()
def xmp() -> None:
    """XMP sidecars: write culler's ratings and scores, or import ratings made elsewhere.

    Ratings go to xmp:Rating (-1 = reject, 0-5) and xmp:Label; hand tags and confident scorer tags
    become dc:subject keywords; culler's scores and tags (with their sources) go under culler's own
    namespace. Existing sidecars are merged: fields and keywords culler does not own are kept.
    Photos themselves are never modified.
    """


@xmp.command()
@_paths_argument
@db_option
@_naming_option
@click.option(
    "--rated-only",
    is_flag=True,
    help="Only photos rated in culler (default: every photo, so scores reach the sidecar too).",
)
@click.option("--dry-run", is_flag=True, help="Show which sidecars would change; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report.")
def write(paths, db_path, naming, rated_only, dry_run, as_json):
    """Write or merge sidecars for photos in the catalog (all, or those under PATHS)."""
    from culler.interop.xmp_sync import select_photos, write_sidecars

    catalog = open_existing(db_path, read_only=dry_run)
    try:
        photos = select_photos(catalog, paths)
        report = write_sidecars(
            catalog, photos, naming=naming, rated_only=rated_only, dry_run=dry_run
        )
    finally:
        catalog.close()
    _print(report, as_json, "written", dry_run)
    _exit_on_errors(report)


@xmp.command()
@_paths_argument
@db_option
@_naming_option
@click.option("--dry-run", is_flag=True, help="Show what would be imported; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report.")
def read(paths, db_path, naming, dry_run, as_json):
    """Import ratings, labels and keywords from sidecars into the catalog (source 'xmp').

    Keywords (dc:subject) become hand tags, except those culler wrote for a scorer's tag and those
    removed by hand in culler.

    Only differences are imported, so reading twice changes nothing. Run `culler scan` first so
    the photos are in the catalog.
    """
    from culler.interop.xmp_sync import read_sidecars, select_photos

    catalog = open_existing(db_path, read_only=dry_run)
    try:
        photos = select_photos(catalog, paths)
        report = read_sidecars(catalog, photos, naming=naming, dry_run=dry_run)
    finally:
        catalog.close()
    _print(report, as_json, "imported", dry_run)
    _exit_on_errors(report)


def register(cli: click.Group) -> None:
    cli.add_command(xmp)
