"""``culler tag PATH… --add awe --remove fear``: tags given by hand, stored with source ``user``.

They teach the emotion scorer your own reading of your photos: ``culler train --db CATALOG --scorer
emotion --model tags`` learns a multi-label head from them (the tags' names become its labels).
"""

from __future__ import annotations

from pathlib import Path

import click

from culler.commands.options import db_option, open_existing
from culler.validate import plain_text, printable


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--add", "add", multiple=True, help="Tag to give (repeatable), e.g. awe.")
@click.option("--remove", "remove", multiple=True, help="Tag to take away (repeatable).")
@db_option
def tag(paths: tuple[Path, ...], add: tuple[str, ...], remove: tuple[str, ...], db_path):
    """Tag photos by hand (emotions such as awe, fear, contentment — or any word you like).

    Every change is kept (append-only, source 'user'); the newest one per photo and tag counts.
    Train the emotion scorer on them with `culler train --db CATALOG --scorer emotion --model tags`.
    """
    from culler.catalog.queries import find_photo

    if not add and not remove:
        raise click.UsageError("give at least one --add TAG or --remove TAG")
    for name in (*add, *remove):
        plain_text(name, "tags", "awe", "--add/--remove")
    catalog = open_existing(db_path)
    try:
        found, missing = [], []
        for path in paths:
            row = find_photo(catalog, path)
            (found if row else missing).append(row["id"] if row else str(path))
        for path in missing:
            click.echo(
                f"not in the catalog: {printable(path)} (run `culler scan` on its folder)", err=True
            )
        if not found:
            raise click.ClickException("none of the paths is a photo in this catalog")
        try:
            catalog.tag_photos(found, add, remove, source="user")
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    finally:
        catalog.close()
    change = " ".join([*(f"+{t}" for t in add), *(f"-{t}" for t in remove)])
    click.echo(f"tagged {len(found)} photo{'s' if len(found) != 1 else ''}: {change}")
    if missing:
        raise SystemExit(1)


def register(cli: click.Group) -> None:
    cli.add_command(tag)
