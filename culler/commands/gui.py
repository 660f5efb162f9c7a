"""``culler gui [DIR]``: the desktop app. Qt is imported only when the command runs."""

from __future__ import annotations

import os
from pathlib import Path

import click

from culler.commands.options import db_option


@click.command()
@click.argument(
    "folder",
    required=False,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@db_option
def gui(folder: Path | None, db_path: Path | None) -> None:
    """Open the desktop app to sort a shoot: grid, loupe, compare, ratings, scores and models.

    With FOLDER, its catalog (FOLDER/culler.db, or --db) opens and the folder is scanned in the
    background. With only --db, that catalog opens as it is. With neither, ./culler.db opens if it
    exists; otherwise choose a folder from the File menu.
    """
    if folder is None and db_path is None and Path("culler.db").exists():
        db_path = Path("culler.db")
    if db_path is not None and folder is None and not db_path.exists():
        raise click.ClickException(
            f"no catalog at {db_path}. Run `culler gui FOLDER` to create one by scanning a folder."
        )
    try:
        from culler.gui.app import run
    except ImportError as exc:
        raise click.ClickException(
            f"the GUI needs PySide6 ({exc}); install it with `pip install PySide6-Essentials`"
        ) from exc
    folder = Path(os.path.abspath(folder)) if folder is not None else None
    raise SystemExit(run(folder, db_path))


def register(cli: click.Group) -> None:
    cli.add_command(gui)
