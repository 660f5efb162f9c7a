"""``culler groups``, ``culler cull`` and ``culler rate``: culling decisions from the command line."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import click

from culler.commands.options import db_option, open_existing
from culler.validate import FiniteFloat, finite, printable
from culler.validate import label as valid_label

GAP_HELP = "Frames from one camera at most this many seconds apart form a burst."


def _grouping_options(fn):
    fn = click.option(
        "--burst-gap",
        type=FiniteFloat(min=0),
        default=2.0,
        show_default=True,
        metavar="SECONDS",
        help=GAP_HELP,
    )(fn)
    fn = click.option(
        "--shoot-window",
        type=FiniteFloat(min=0),
        default=3600.0,
        show_default=True,
        metavar="SECONDS",
        help="Near-duplicates are looked for among photos from one camera at most this far apart "
        "(photos without a capture time: among the photos of the same scanned folder).",
    )(fn)
    fn = click.option(
        "--hash-distance",
        type=click.IntRange(0, 256),
        default=64,
        show_default=True,
        metavar="BITS",
        help="Signatures whose 256-bit hashes differ in more bits are never near-duplicates "
        "(colour layout and pixels must agree as well).",
    )(fn)
    return click.option(
        "--clip-similarity",
        type=FiniteFloat(-1, 1),
        default=0.95,
        show_default=True,
        help="With cached CLIP embeddings, photos of one shoot at least this similar (cosine) are "
        "near-duplicates.",
    )(fn)


def _grouping(burst_gap, shoot_window, hash_distance, clip_similarity):
    from culler.decide.grouping import GroupingOptions

    return GroupingOptions(
        burst_gap=burst_gap,
        shoot_window=shoot_window,
        hash_distance=hash_distance,
        clip_similarity=clip_similarity,
    )


#: Largest weight --weight takes: weights are relative, so a larger one only hides a typo.
MAX_WEIGHT = 1000.0


def _parse_weights(values: tuple[str, ...]) -> dict[str, float] | None:
    """``("technical=1", "faces=0.5")`` → weights; each finite and between 0 and MAX_WEIGHT, and
    one at least above 0 (with all at 0 every photo would be left undecided, without a word)."""
    if not values:
        return None
    weights = {}
    for value in values:
        name, sep, number = value.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(
                f"{value!r}: write SCORER=WEIGHT, e.g. --weight technical=1 --weight faces=0.5",
                param_hint="--weight",
            )
        try:
            weights[name.strip()] = finite(float(number), name.strip(), 0.0, MAX_WEIGHT)
        except ValueError as exc:
            message = str(exc) if "must be" in str(exc) else f"{number!r} is not a number"
            raise click.BadParameter(
                f"{value!r}: {message} (e.g. --weight technical=1 --weight faces=0.5)",
                param_hint="--weight",
            ) from None
    if not any(weights.values()):
        raise click.BadParameter(
            "every weight is 0, so no photo could be ranked; give at least one scorer a weight "
            "above 0 (e.g. --weight technical=1)",
            param_hint="--weight",
        )
    return weights


def _xmp_option(fn):
    from culler.commands.xmp import NAMING_HELP, naming_choice

    return click.option(
        "--xmp",
        "xmp_naming",
        type=naming_choice(),
        default=None,
        envvar="CULLER_XMP_ON_RATE",
        help="Also write the changed photos' XMP sidecars now, with this naming "
        "(so Lightroom/darktable/Capture One see the decisions). " + NAMING_HELP,
    )(fn)


def _write_xmp(catalog, photo_ids, naming: str | None, quiet: bool = False):
    """Write the sidecars of the photos whose rating just changed, and say what happened."""
    if not naming or not photo_ids:
        return None
    from culler.interop.xmp_sync import write_sidecars_for

    report = write_sidecars_for(catalog, photo_ids, naming=naming)
    if quiet:
        return report
    click.echo(
        f"xmp: {len(report.changed)} sidecar{'s' * (len(report.changed) != 1)} written, "
        f"{report.unchanged} unchanged, {len(report.errors)} error{'s' * (len(report.errors) != 1)}"
    )
    for error in report.errors:
        click.echo(f"xmp: {printable(error.get('error'))}", err=True)
    return report


def _exit_if_failed(report) -> None:
    """Decisions are recorded either way; a sidecar that could not be written still fails the run."""
    if report is not None and report.errors:
        sys.exit(1)


def _console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def register(cli: click.Group) -> None:
    """Add ``groups``, ``cull``, ``duplicates`` and ``rate``; each needs the catalog option, which
    is shared by every command module (culler.commands.options)."""

    for name, fn in (
        ("groups", groups),
        ("cull", cull),
        ("duplicates", duplicates),
        ("rate", rate),
    ):
        cli.command(name)(db_option(fn))


def _open(db_path, read_only: bool = False):
    return open_existing(db_path, read_only=read_only)


@_grouping_options
@click.option(
    "--rebuild",
    is_flag=True,
    help="Recompute every group with these options instead of listing the stored ones.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the groups as JSON.")
def groups(db_path, burst_gap, shoot_window, hash_distance, clip_similarity, rebuild, as_json):
    """List bursts and near-duplicate groups, best photo first.

    Groups are recomputed after every scan; --rebuild recomputes them now with the given options.
    """
    from culler.decide.cull import update_groups

    catalog = _open(db_path)
    try:
        if rebuild:
            options = _grouping(burst_gap, shoot_window, hash_distance, clip_similarity)
            update_groups(catalog, options, full=True)
        printed = 0
        for row in _group_rows_streamed(catalog):
            if as_json:
                text = textwrap.indent(json.dumps(row, indent=2), "  ")
                click.echo(("[\n" if printed == 0 else ",\n") + text, nl=False)
            else:
                click.echo(f"{row['kind']} {row['id']} ({row['size']} photos)")
                for m in row["members"]:
                    score = "-" if m["score"] is None else f"{m['score']:.2f}"
                    flaw = f"  ({m['frame_defect']})" if m["frame_defect"] else ""
                    click.echo(f"  #{m['rank'] + 1}  {score:>6}  {printable(m['path'])}{flaw}")
            printed += 1
    finally:
        catalog.close()
    if as_json:
        click.echo("[]" if printed == 0 else "\n]")
    elif not printed:
        click.echo("no bursts or near-duplicates (run `culler scan` first, or try --rebuild)")


#: Groups whose scores are read at once while ``culler groups`` streams (memory stays flat).
GROUP_BATCH = 1000


def _group_rows_streamed(catalog):
    """Each stored group as a printable row, best member first: the groups come from a cursor and
    their members' scores are read a batch of groups at a time."""
    from itertools import islice

    from culler.decide.cull import load_scores
    from culler.decide.grouping import iter_stored_groups

    groups = iter_stored_groups(catalog)
    while batch := list(islice(groups, GROUP_BATCH)):
        scores = load_scores(catalog, [pid for g in batch for pid in g.members])
        for group in batch:
            yield _group_row(group, scores)


def _group_row(group, scores) -> dict:
    return {
        "id": group.id,
        "kind": group.kind,
        "size": len(group.members),
        "members": [
            {
                "rank": i,
                "path": scores[pid].path,
                "score": scores[pid].value,
                "frame_defect": (group.frame_defects.get(pid) or {}).get("reason"),
            }
            for i, pid in enumerate(group.members)
            if pid in scores
        ],
    }


@click.option(
    "--keep-per-group",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Pick this many of the best frames in each burst or near-duplicate group.",
)
@click.option(
    "--reject-below",
    type=FiniteFloat(0, 10),
    default=None,
    metavar="SCORE",
    help="Also reject single photos whose combined score (0-10) is below this (off by default: "
    "a photo is rejected only for a defect a scorer can name).",
)
@click.option(
    "--keep-top",
    type=FiniteFloat(0, 100, min_open=True),
    default=None,
    metavar="PERCENT",
    help="Keep only the best PERCENT of the photos picked; the other picks become rejects.",
)
@click.option(
    "--weight",
    "weights",
    multiple=True,
    metavar="SCORER=W",
    help="Rank with these scorers and weights instead of the default mix (repeatable); "
    "for a penalty scorer (e.g. faces=W) W is the penalty per point below 10.",
)
@click.option(
    "--personal-ranker/--default-ranking",
    default=True,
    show_default=True,
    help="Order the frames of a burst with your personal ranker (`culler train --model ranker`) "
    "when it beat the default ranking on your held-out shoots, or always with the default.",
)
@_grouping_options
@_xmp_option
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    metavar="YYYY-MM-DD",
    help="Only photos taken on or after this day (without a capture time: first scanned then).",
)
@click.argument(
    "folders",
    nargs=-1,
    type=click.Path(exists=True, file_okay=False, resolve_path=True),
)
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing in the catalog.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan and summary as JSON.")
def cull(
    db_path,
    folders,
    since,
    keep_per_group,
    reject_below,
    keep_top,
    weights,
    personal_ranker,
    xmp_naming,
    dry_run,
    as_json,
    **grouping,
):
    """Propose pick/reject for every photo, with a reason each, and record them.

    The best frame of each burst or near-duplicate group is picked and the rest rejected (blurred
    frames rank last); a photo on its own is rejected only for a defect a scorer names (motion blur,
    missed focus, closed eyes, severe clipping) or a broken file. Decisions are written with source
    'auto'; a decision you made by hand (GUI, `culler rate`, XMP) is never changed.

    Give FOLDERS (or --since) to cull only the photos under them (a shoot); the other frames of
    their bursts and near-duplicate groups are decided with them. Without, the whole catalog.
    """
    from culler.decide.cull import CullOptions, Ranking, plan_cull, run_cull

    options = CullOptions(
        keep_per_group=keep_per_group,
        reject_below=reject_below,
        keep_top=keep_top,
        ranking=Ranking(
            weights=_parse_weights(weights), personal_ranker="auto" if personal_ranker else None
        ),
        grouping=_grouping(**grouping),
    )
    catalog = _open(db_path, read_only=dry_run)
    xmp_report, written = None, 0
    try:
        scope = None
        if folders or since is not None:
            scope = catalog.photos_in_scope(
                list(folders) or None, since.date().isoformat() if since else None
            )
        if dry_run:
            plan = plan_cull(catalog, options, scope=scope)
        else:
            plan, events = run_cull(catalog, options, scope=scope)
            written = len(events)
            changed = [p.photo_id for p in plan if p.changes]
            xmp_report = _write_xmp(catalog, changed, xmp_naming, quiet=as_json)
    finally:
        catalog.close()
    _report_plan(plan, dry_run, written, xmp_report, as_json)
    _exit_if_failed(xmp_report)


def _report_plan(plan, dry_run: bool, written: int, xmp_report, as_json: bool) -> None:
    from culler.decide.cull import summarize

    summary = summarize(plan)
    if not as_json:
        _print_plan(plan, summary, dry_run, written)
        return
    data = {
        "dry_run": dry_run,
        "written": written,
        "plan": [p.to_json() for p in plan],
        "summary": summary,
        "xmp": xmp_report.to_json() if xmp_report else None,
    }
    click.echo(json.dumps(data, indent=2))


@click.option("--json", "as_json", is_flag=True, help="Print the duplicate groups as JSON.")
def duplicates(db_path, as_json):
    """Find duplicates across the whole archive: any folder, any date.

    Stricter than the near-duplicates `culler cull` uses (signatures, colours and pixels must all
    agree, and cached CLIP embeddings too): copies, exports and re-encodes of one picture. A report
    only: nothing is stored, nothing is rejected.
    """
    from culler.decide.grouping import find_duplicates

    catalog = _open(db_path)
    try:
        found = find_duplicates(catalog)
        paths = catalog.photo_paths([pid for g in found for pid in g["members"]])
    finally:
        catalog.close()
    rows = [
        {"paths": [paths[pid][0] for pid in g["members"]], "reason": g["reason"]} for g in found
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no duplicates found (photos scanned before this version need a rescan)")
    for i, row in enumerate(rows, 1):
        click.echo(f"duplicates {i} ({len(row['paths'])} photos): {row['reason']}")
        for path in row["paths"]:
            click.echo(f"  {printable(path)}")


@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--stars", type=click.IntRange(0, 5), default=None, help="Set 0-5 stars.")
@click.option("--pick", "decision", flag_value="pick", help="Mark as a pick.")
@click.option("--reject", "decision", flag_value="reject", help="Mark as a reject.")
@click.option("--unflag", "decision", flag_value="none", help="Remove pick/reject, keep stars.")
@click.option("--clear", is_flag=True, help="Remove stars, pick/reject and label.")
@click.option(
    "--label",
    default=None,
    callback=lambda _ctx, _param, value: None if value is None else valid_label(value),
    help="Set a colour label (e.g. Red).",
)
@click.option(
    "--undo",
    is_flag=True,
    help="Undo the last rating made by hand (a whole `culler rate` command); repeat to go further back.",
)
@_xmp_option
def rate(paths, db_path, stars, decision, clear, label, undo, xmp_naming):
    """Rate photos by hand: stars, pick/reject, label; recorded as events you can undo.

    Hand ratings are never changed by `culler cull`. Nothing is deleted: --undo appends the state
    each photo had before.
    """
    from culler.catalog.queries import find_photo

    catalog = _open(db_path)
    try:
        if undo:
            if paths or stars is not None or decision or clear or label is not None:
                raise click.UsageError("--undo takes no paths or other options")
            restored = catalog.undo_last()
            if not restored:
                click.echo("nothing to undo")
            for row in restored:
                photo = catalog.photo(row["photo_id"])
                click.echo(f"undid event {row['event']}: {printable(photo['path'])}")
            report = _write_xmp(catalog, [row["photo_id"] for row in restored], xmp_naming)
            _exit_if_failed(report)
            return
        if not paths:
            raise click.UsageError("give the photos to rate (PATH...), or --undo")
        fields: dict = {}
        if clear:
            if stars is not None or decision or label is not None:
                raise click.UsageError("--clear cannot be combined with other ratings")
            fields = {"stars": 0, "decision": "none", "label": None}
        if stars is not None:
            fields["stars"] = stars
        if decision:
            fields["decision"] = decision
        if label is not None:
            fields["label"] = label
        if not fields:
            raise click.UsageError(
                "say what to set: --stars N, --pick, --reject, --unflag, --clear or --label"
            )
        ids, missing = [], []
        for path in paths:
            photo = find_photo(catalog, path)
            (missing if photo is None else ids).append(path if photo is None else photo["id"])
        if missing:
            raise click.ClickException(
                f"not in the catalog: {printable(', '.join(map(str, missing)))}; run `culler scan` on "
                "their folder first (nothing was rated)"
            )
        action = " ".join(f"{k}={v}" for k, v in fields.items())
        catalog.rate_batch(ids, f"culler rate {action}", source="cli", **fields)
        click.echo(f"rated {len(ids)} photo{'s' * (len(ids) != 1)}: {printable(action)}")
        report = _write_xmp(catalog, ids, xmp_naming)
    finally:
        catalog.close()
    _exit_if_failed(report)


def _print_plan(plan, summary, dry_run: bool, written: int) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = _console()
    verb = "would " if dry_run else ""
    # Not a terminal (a pipe, a file): no style is drawn and lines never wrap (soft wrap), so the
    # lines are written as they are; rich's markup parsing of 100,000 lines was half of a
    # whole-archive dry run. On a terminal a thousand lines go to rich a call (one call a line
    # spent two thirds of a 100,000-photo cull's time in rich's per-call work).
    plain = console.color_system is None
    lines = []

    def flush() -> None:
        if plain:
            console.file.write("\n".join(lines) + "\n")
        else:
            # emoji=False: a file named "a:smile:.jpg" is printed as it is named.
            console.print("\n".join(lines), markup=True, emoji=False)
        lines.clear()

    for p in plan:
        if p.changes:
            if plain:
                lines.append(f"{verb}{p.decision:<6} {printable(p.path)}  {printable(p.reason)}")
            else:
                # Paths and reasons are untrusted text: "[/" in a file name is not rich markup.
                lines.append(
                    f"{verb}{p.decision:<6} {escape(printable(p.path))}  "
                    f"[dim]{escape(printable(p.reason))}[/dim]"
                )
            if len(lines) == 1000:
                flush()
    if lines:
        flush()
    table = Table(title="culler cull" + (" (dry run: nothing changed)" if dry_run else ""))
    for name in ("decision", "photos", "changes", "most common reason"):
        table.add_column(name, justify="right" if name in ("photos", "changes") else "left")
    for row in summary:
        table.add_row(
            row["decision"],
            str(row["photos"]),
            str(row["changes"]),
            escape(printable(row["top_reason"] or "")),
        )
    console.print(table)
    if not dry_run:
        console.print(f"{written} decisions written (source 'auto')")
