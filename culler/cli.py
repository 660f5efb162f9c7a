"""The ``culler`` command line (click). Core commands live here; others come from command modules and plugins."""

from __future__ import annotations

import errno
import importlib
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import click

from culler import __version__
from culler.commands.options import (
    UpgradeProgress,
    db_option,
    forget_catalog,
    last_catalog,
    open_existing,
    parse_setting,
    resolve_db,
)
from culler.scan.work import DEFAULT_BATCH_TIMEOUT
from culler.validate import Count, FiniteFloat, non_finite_in, printable

#: Core command modules, in order (``train`` adds to the ``models`` group); each defines
#: ``register(cli)``. Plugins add theirs via ``register_commands``.
COMMAND_MODULES = (
    "culler.commands.models",
    "culler.commands.train",
    "culler.commands.cull",
    "culler.commands.xmp",
    "culler.commands.export",
    "culler.commands.gui",
    "culler.commands.tag",
    "culler.commands.evaluate",
    "culler.commands.people",
    "culler.commands.agreement",
)


#: The errors whose message already says what happened and what to do, by module and class name.
#: Read from ``sys.modules`` when one is raised: a module that never loaded raised none of its errors,
#: and a command (``culler list``) need not load the XMP and model-weights code just to catch them.
_USER_ERRORS = (
    ("culler.catalog.opening", "CatalogError"),
    ("culler.models.weights", "WeightsError"),
    ("culler.models.weights", "WeightsMissing"),
    ("culler.interop.xmp", "XmpError"),
)


def _user_error_types() -> tuple[type[BaseException], ...]:
    return tuple(
        getattr(sys.modules[module], name) for module, name in _USER_ERRORS if module in sys.modules
    )


class CullerGroup(click.Group):
    """The command group: errors whose message already says what happened and what to do (bad weights,
    a broken sidecar) reach the user as one ``Error:`` line and exit status 1, never as a traceback.

    Plugins' commands are added on first need (a name that is not a core command, ``--help``): a core
    command such as ``culler list`` starts without loading any plugin."""

    plugin_commands_loaded = False

    def load_plugin_commands(self) -> None:
        if not self.plugin_commands_loaded:
            self.plugin_commands_loaded = True
            _load_plugin_commands()

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and not self.plugin_commands_loaded:
            self.load_plugin_commands()
            command = super().get_command(ctx, cmd_name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        self.load_plugin_commands()
        return super().list_commands(ctx)

    def invoke(self, ctx: click.Context):
        forget_catalog()  # one invocation's catalog is not the next one's (tests run many in one process)
        try:
            return super().invoke(ctx)
        except click.ClickException:
            raise
        except Exception as exc:
            if isinstance(exc, _user_error_types()):
                raise click.ClickException(printable(exc)) from exc
            if isinstance(exc, OSError):
                if exc.errno == errno.EPIPE:
                    raise  # `culler list | head`: click's main ends quietly, as a pipe's reader expects
                # A file the user named (an output, a folder, CULLER_HOME) that cannot be reached:
                # what went wrong and with which path, not a traceback.
                raise click.ClickException(os_error_line(exc)) from exc
            if isinstance(exc, sqlite3.Error):
                # The catalog failed under a statement (a full or failing disk, a damaged file): locked
                # and read-only catalogs are explained where they are opened; the rest are here.
                raise click.ClickException(sqlite_error_line(exc, last_catalog())) from exc
            raise


#: What to do about the usual reasons a path cannot be used, by errno.
_OS_ADVICE = {
    errno.ENOENT: "check the path; a folder it names does not exist (create it first)",
    errno.ENOTDIR: "a part of this path is a file, not a folder; choose another path",
    errno.EISDIR: "this is a folder; name a file",
    errno.EACCES: "check its permissions, or choose another place",
    errno.EPERM: "check its permissions, or choose another place",
    errno.EROFS: "the file system is read-only; choose another place",
    errno.ENOSPC: "the disk is full; free some space",
    errno.EFBIG: "the file cannot grow (a file size limit, or a full disk); free some space",
    errno.EDQUOT: "your disk quota is used up; free some space",
    errno.ELOOP: "a symbolic link loop; check the links in this path",
    errno.ENAMETOOLONG: "the name is too long; choose a shorter one",
}


def os_error_line(exc: OSError) -> str:
    """One line for an OSError: the path, the system's reason and what to do."""
    if exc.errno == errno.ECONNREFUSED and exc.filename is None:
        # The only sockets culler opens are its own decode server's (and a Ray head's).
        return (
            f"culler's decode server stopped answering ({exc.strerror or exc}); run the command "
            "again (it starts a new one), or pass --workers 0 to decode in this process"
        )
    reason = exc.strerror or str(exc)
    advice = _OS_ADVICE.get(exc.errno or 0)
    if exc.filename in (None, "") and exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return f"{reason}; {advice}"  # a failed write names no file; the disk is what to fix
    where = printable(exc.filename) if exc.filename not in (None, "") else "a file"
    return f"{where}: {reason}" + (f"; {advice}" if advice else "")


#: What a failed SQLite statement means for the user, by the words of sqlite's message.
_SQLITE_ADVICE = (
    (
        ("disk i/o error", "database or disk is full", "no space"),
        "the disk holding it is full or failing; free some space (or check the disk) and run the "
        "command again; what the catalog held before is kept",
    ),
    (
        ("malformed", "not a database", "file is encrypted"),
        "the catalog file is damaged; restore a backup copy of it, or pass --db another catalog",
    ),
    (
        ("unable to open",),
        "its folder cannot be reached or written; check the path and its permissions",
    ),
)


def sqlite_error_line(exc: sqlite3.Error, catalog: Path | None) -> str:
    """One line for an SQLite failure outside opening: which catalog, sqlite's words, what to do."""
    reason = str(exc).strip() or type(exc).__name__
    where = f"the catalog {printable(catalog)}" if catalog is not None else "the catalog"
    for words, advice in _SQLITE_ADVICE:
        if any(w in reason.lower() for w in words):
            return f"{where}: {printable(reason)}; {advice}"
    return (
        f"{where}: {printable(reason)}; run the command again, and if it fails the same way, "
        "make a copy of the catalog and report the error"
    )


@click.group(cls=CullerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="culler")
def cli() -> None:
    """culler: scan photo folders, score every photo with pluggable scorers, keep the best shots."""


@cli.command()
@click.argument(
    "folders",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@db_option
@click.option(
    "--scorer",
    "scorers",
    multiple=True,
    help="Run only these scorers (repeatable). Default: all installed.",
)
@click.option(
    "--rescore",
    is_flag=True,
    help="Score every photo again, even ones already scored by this scorer version.",
)
@click.option(
    "--workers",
    type=click.IntRange(0, 1024),
    default=None,
    help="Decode processes (default: number of CPU cores; 0 = decode in this process).",
)
@click.option(
    "--device",
    type=click.Choice(["auto", "cuda", "mps", "cpu"]),
    default="auto",
    show_default=True,
    help="Where learned scorers run.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print a machine-readable summary instead of a progress bar.",
)
@click.option("--strict", is_flag=True, help="Exit with status 1 when any file could not be read.")
@click.option(
    "--batch-timeout",
    type=FiniteFloat(min=0),
    default=DEFAULT_BATCH_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="A scorer batch, or the decoding of one file, that takes longer is abandoned: the file or "
    "scorer gets an error row and the scan goes on (0 = no limit).",
)
@click.option(
    "--config",
    "config_items",
    multiple=True,
    metavar="SCORER.KEY=VALUE",
    help="Set a scorer option, kept for later scans (repeatable), e.g. clip-aesthetic.head=prompts, "
    'clip-aesthetic.model=ViT-B-32, emotion.labels=\'["awe","calm"]\'. VALUE is read as JSON '
    "when it parses (numbers, lists), else as text.",
)
@click.option(
    "--ray",
    "ray_address",
    is_flag=False,
    flag_value="local",
    default=None,
    metavar="[ADDRESS]",
    help="Decode and score on a Ray cluster: ADDRESS as ray.init takes it (auto, "
    "ray://HEAD:10001); without one, a local Ray instance. Needs pip install 'culler[ray]'. "
    "Put it after the FOLDERS.",
)
@click.option(
    "--ray-ship-bytes",
    is_flag=True,
    help="With --ray: read each file here and send its bytes to the workers (for clusters that do "
    "not mount the photos at the same path).",
)
def scan(
    folders,
    db_path,
    scorers,
    rescore,
    workers,
    device,
    as_json,
    strict,
    batch_timeout,
    config_items,
    ray_address,
    ray_ship_bytes,
):
    """Scan FOLDERS recursively and score every new or changed photo.

    Unchanged files are not decoded again; moved files keep their scores and ratings; deleted files are
    marked missing, never dropped. A killed scan resumes where it stopped.
    """
    from culler.catalog import open_catalog
    from culler.scan import ScanOptions, scan_folders

    if ray_ship_bytes and ray_address is None:
        raise click.UsageError("--ray-ship-bytes needs --ray")
    path = resolve_db(db_path, folders)
    catalog = open_catalog(path, progress=UpgradeProgress())
    options = ScanOptions(
        scorer_ids=list(scorers) or None,
        rescore=rescore,
        workers=workers,
        device=device,
        progress=not as_json and sys.stderr.isatty(),
        batch_timeout=batch_timeout or None,
        file_timeout=batch_timeout or None,
        scorer_config=parse_scorer_config(config_items),
    )
    backend = None
    try:
        if ray_address is not None:
            from culler.scan.distributed import open_ray_backend

            backend = open_ray_backend(ray_address, ship_bytes=ray_ship_bytes)
        summary = scan_folders(
            catalog, [Path(f) for f in folders], options, echo=_echo_err(as_json), backend=backend
        )
    except (KeyError, ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc).strip("'\"")) from exc
    finally:
        catalog.close()
        if backend is not None:
            backend.close()
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(
            f"{summary['files_seen']} files: {summary['new']} new, {summary['changed']} changed, "
            f"{summary['moved']} moved, {summary['skipped']} unchanged, {summary['missing']} missing; "
            f"{summary['scored']} scored, {summary['errors']} errors in {summary['seconds']:.1f} s "
            f"({summary['images_per_second']:.1f} images/s). Catalog: {path}"
        )
    if strict and summary["errors"]:
        sys.exit(1)


def parse_scorer_config(items: tuple[str, ...] | list[str]) -> dict[str, dict[str, Any]]:
    """``("clip-aesthetic.head=prompts", …)`` → ``{"clip-aesthetic": {"head": "prompts"}}``."""
    config: dict[str, dict[str, Any]] = {}
    for item in items:
        setting = parse_setting(item)
        if setting is None or not setting[0]:
            raise click.BadParameter(
                f"{item!r} is not SCORER.KEY=VALUE (e.g. clip-aesthetic.head=prompts)",
                param_hint="--config",
            )
        scorer_id, key, value = setting
        bad = non_finite_in(value)
        if bad is not None:
            raise click.BadParameter(
                f"{item!r}: {bad} is not a finite number; give a number such as 0.5",
                param_hint="--config",
            )
        config.setdefault(scorer_id, {})[key] = value
    return config


def _echo_err(quiet: bool):
    def echo(message: str) -> None:
        click.echo(printable(message), err=True)  # messages name files: untrusted text

    return echo


@cli.command(name="list")
@db_option
@click.option(
    "--sort",
    "sort_by",
    default=None,
    help="Sort by this scorer's score (best first), or 'path' / 'taken'.",
)
@click.option(
    "--min",
    "min_score",
    type=FiniteFloat(),
    default=None,
    help="Only photos whose --sort score is at least this.",
)
@click.option(
    "--max",
    "max_score",
    type=FiniteFloat(),
    default=None,
    help="Only photos whose --sort score is at most this.",
)
@click.option(
    "--status",
    type=click.Choice(["ok", "error", "missing", "all"]),
    default="all",
    show_default=True,
)
@click.option(
    "--tag",
    default=None,
    help="Only photos with this tag, given by hand (`culler tag`, the GUI, XMP keywords) or by a "
    "scorer (e.g. an emotion such as 'awe').",
)
@click.option(
    "--min-prob",
    type=FiniteFloat(0, 1),
    default=0.5,
    show_default=True,
    help="Tag probability threshold for --tag (a hand tag is 1).",
)
@click.option(
    "--search",
    default=None,
    metavar="TEXT",
    help="Only photos whose file name, folders, camera, lens, tags (yours and the scorers'), "
    "colour label or people match every word of TEXT, each word as a prefix ('wed 4014').",
)
@click.option("--limit", type=Count(), default=None, help="Show at most this many photos.")
@click.option(
    "--person",
    default=None,
    help="Only photos of this person (a name or id from `culler people`).",
)
@click.option(
    "--eyes",
    type=click.Choice(["open", "closed", "unknown"]),
    default=None,
    help="Only photos with a face whose eyes are this (the person's, with --person).",
)
@click.option(
    "--focus",
    type=click.Choice(["sharp", "soft", "motion", "unknown"]),
    default=None,
    help="Only photos with a face in this focus (the person's, with --person).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON rows: path, status, error, scores, tags ({tag: probability}; hand tags are 1), "
    "tag_sources ({tag: hand, xmp or the scorer's id}), rating, files (the RAW beside a JPEG: "
    "the other files of its capture).",
)
def list_(
    db_path,
    sort_by,
    min_score,
    max_score,
    status,
    tag,
    min_prob,
    search,
    limit,
    person,
    eyes,
    focus,
    as_json,
):
    """List photos in the catalog with their scores; --search finds them by any word, --person,
    --eyes and --focus pick photos by their faces (e.g. `culler list --person Anna --eyes closed`)."""
    from culler.catalog.queries import iter_photos

    catalog = open_existing(db_path, plugins=False)  # list reads core tables only
    try:
        person_id = None
        if person is not None:
            person_id = catalog.person_id(person)
            if person_id is None:
                raise click.ClickException(
                    f"no person {printable(person)!r} in this catalog; `culler people` lists them"
                )
        found = iter_photos(
            catalog,
            sort_by=sort_by,
            min_score=min_score,
            max_score=max_score,
            status=status,
            tag=tag,
            min_prob=min_prob,
            limit=limit,
            search=search,
            person=person_id,
            eyes=eyes,
            focus=focus,
        )
        first = next(found, None)  # a bad option fails here, before anything is printed
        if as_json:  # streamed: each row is written as it is read
            _echo_json_rows(first, found)
            return
        rows = [] if first is None else [first, *found]
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        catalog.close()
    if not rows:
        click.echo("no photos match")
        return
    scorer_ids = sorted({sid for row in rows for sid in row["scores"]})
    header = ["path", "status", *scorer_ids, "rating"]
    click.echo("\t".join(header))
    for row in rows:
        cells = [printable(row["path"]) + _capture_note(row.get("files")), row["status"]]
        cells += [_fmt(row["scores"].get(sid)) for sid in scorer_ids]
        cells.append(_fmt_rating(row.get("rating")))
        if row["error"]:
            cells.append(printable(row["error"]))
        click.echo("\t".join(cells))


def _capture_note(files: list[str] | None) -> str:
    """`` (+IMG_0001.dng)``: the other files of a RAW+JPEG capture, after its photo's path."""
    if not files:
        return ""
    return " (+" + ", ".join(printable(os.path.basename(f)) for f in files) + ")"


def _echo_json_rows(first: dict | None, rest) -> None:
    """Write ``[first, *rest]`` as ``json.dumps(rows, indent=2)`` would, one row at a time."""
    if first is None:
        click.echo("[]")
        return
    click.echo("[")
    row: dict | None = first
    while row is not None:
        text = "\n".join("  " + line for line in json.dumps(row, indent=2).splitlines())
        row = next(rest, None)
        click.echo(text + ("," if row is not None else ""))
    click.echo("]")


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}"


def _fmt_rating(rating: dict | None) -> str:
    if not rating:
        return "-"
    parts = []
    if rating.get("stars"):
        parts.append("★" * rating["stars"])
    if rating.get("decision") and rating["decision"] != "none":
        parts.append(rating["decision"])
    return " ".join(parts) or "-"


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(path, db_path, as_json):
    """Show everything the catalog knows about one photo: scores, reasons, tags, every face with
    its eye and focus verdicts, rating, errors, and the other files of its capture (PATH may name
    the RAW or the JPEG of a RAW+JPEG pair)."""
    from culler.catalog.queries import photo_details

    catalog = open_existing(db_path)
    try:
        details = photo_details(catalog, path)
    finally:
        catalog.close()
    if details is None:
        raise click.ClickException(
            f"{printable(path)} is not in the catalog; run `culler scan` on its folder first"
        )
    if as_json:
        click.echo(json.dumps(details, indent=2))
        return
    _print_details(details)


def _print_details(details: dict[str, Any]) -> None:
    """Everything but numbers is text from files (names, EXIF, plugin messages): made printable."""
    click.echo(printable(details["path"]))
    error = f" — {printable(details['error'])}" if details["error"] else ""
    click.echo(f"  status: {details['status']}{error}")
    for extra in details.get("files") or []:
        click.echo(f"  also: {printable(extra['path'])} ({extra['kind']}, same capture)")
    if details.get("width"):
        click.echo(f"  size: {details['width']}×{details['height']}")
    for key in ("taken_at", "camera", "lens"):
        if details.get(key):
            click.echo(f"  {key.replace('_', ' ')}: {printable(details[key])}")
    from culler.catalog.queries import shooting_text

    if shooting := shooting_text(details):
        click.echo(f"  shooting: {shooting}")
    for score in details["scores"]:
        value = "-" if score["score"] is None else f"{score['score']:.2f}"
        flag = "" if score["active"] else " (inactive version)"
        click.echo(f"  {score['scorer_id']} {score['version']}: {value}{flag}")
        for reason in score["reasons"] or []:
            click.echo(f"      - {printable(reason)}")
    if details["tags"]:
        sources = details.get("tag_sources", {})
        tags = ", ".join(
            f"{printable(t)} {p:.2f} ({printable(sources.get(t, '?'))})"
            for t, p in details["tags"].items()
        )
        click.echo(f"  tags: {tags}")
    _print_faces(details.get("faces") or [])
    for err in details["score_errors"]:
        click.echo(f"  {err['scorer_id']} failed: {printable(err['error'])}")
    click.echo(f"  rating: {_fmt_rating(details['rating'])}")


def _print_faces(faces: list[dict[str, Any]]) -> None:
    """One line a face: where it is, its eyes and focus verdicts with their confidence."""
    if not faces:
        return
    click.echo(f"  faces: {len(faces)}")
    for i, face in enumerate(faces, 1):
        x, y, w, h = face["box"]
        where = f"{w}×{h} px at {x},{y}"
        if face.get("image_w"):
            where += f" of {face['image_w']}×{face['image_h']}"
        eyes = _verdict("eyes", face["eyes"], face.get("eyes_confidence"))
        focus = _verdict("focus", face["focus"], face.get("focus_confidence"))
        who = f", {printable(face['person'])}" if face.get("person") else ""
        small = "" if face.get("main", True) else " (background)"
        click.echo(f"    #{i} {where}{small}: {eyes}, {focus}{who}")


def _verdict(what: str, value: str, confidence: float | None) -> str:
    if value == "unknown":
        return f"{what} can't tell"
    return f"{what} {value}" + ("" if confidence is None else f" ({confidence:.2f})")


@cli.command()
def plugins():
    """Print the installed plugins as JSON: name, version, hooks and scorers."""
    from culler.plugin.info import plugin_info

    click.echo(json.dumps(plugin_info(), indent=2))


def _load_command_modules() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(cli)


def _load_plugin_commands() -> None:
    from culler.plugin import manager as plugin_module

    plugin_module.call_safely("register_commands", cli=cli)


_load_command_modules()  # plugins' commands load on first need (CullerGroup.get_command)


def main() -> None:
    cli()
