"""``culler people``: the people of a shoot, found by clustering their faces after each scan.

``culler people`` lists them (id, name, photos, and where their clearest face is; ``--crops DIR``
writes that face as a JPEG per person), ``culler people name ID NAME`` names one, ``culler people
merge A B`` makes two one, ``culler people split PERSON PHOTO`` takes a wrongly joined face out.
``culler list --person NAME`` lists a person's photos.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from culler.commands.options import db_option, open_existing
from culler.validate import plain_text, printable


@click.group(invoke_without_command=True)
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON: id, name, photos, faces, face.")
@click.option(
    "--crops",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Write each person's clearest face into this folder as person-ID.jpg.",
)
@click.pass_context
def people(ctx, db_path, as_json, crops):
    """List the people found in the catalog's photos: id, name, how many photos, clearest face.

    Faces are clustered into people after each scan (new faces join the people already there;
    nothing named is reshuffled). Name them with `culler people name ID NAME`, join two with
    `culler people merge A B`, take a wrongly joined face out with `culler people split PERSON
    PHOTO`, list a person's photos with `culler list --person NAME`.
    """
    if ctx.invoked_subcommand is not None:
        ctx.obj = db_path
        return
    catalog = open_existing(db_path)
    try:
        found = catalog.people()
    finally:
        catalog.close()
    if crops is not None:
        for person in found:
            person["crop"] = str(_write_crop(crops, person))
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    if not found:
        click.echo("no people yet: scan photos with people (the faces scorer finds them)")
        return
    for person in found:
        name = printable(person["name"]) if person["name"] else "(unnamed)"
        x, y, w, h = person["face"]["box"]
        where = f"{printable(person['face']['path'])} at {x},{y} {w}×{h}"
        plural = "s" if person["photos"] != 1 else ""
        line = f"{person['id']}\t{name}\t{person['photos']} photo{plural}\t{where}"
        if person.get("crop"):
            line += f"\t{printable(person['crop'])}"
        click.echo(line)


@people.command(name="name")
@click.argument("person")
@click.argument("name")
@db_option
@click.pass_obj
def name_(group_db, person, name, db_path):
    """Name a person (by id, or by the name they have now)."""
    db_path = db_path or group_db
    name = plain_text(name, "names", "Anna", "NAME")
    if not name:
        raise click.BadParameter("give a name, e.g. Anna", param_hint="NAME")
    catalog = open_existing(db_path)
    try:
        pid = _person(catalog, person)
        try:
            with catalog.transaction():
                catalog.name_person(pid, name)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    finally:
        catalog.close()
    click.echo(f"person {pid} is {printable(name)}")


@people.command()
@click.argument("keep")
@click.argument("other")
@db_option
@click.pass_obj
def merge(group_db, keep, other, db_path):
    """Make two people one: OTHER's faces become KEEP's (KEEP takes OTHER's name if it has none)."""
    db_path = db_path or group_db
    catalog = open_existing(db_path)
    try:
        a, b = _person(catalog, keep), _person(catalog, other)
        if a == b:
            raise click.ClickException(f"{printable(keep)} and {printable(other)} are one person")
        with catalog.transaction():
            moved = catalog.merge_people(a, b)
    finally:
        catalog.close()
    click.echo(f"merged person {b} into {a}: {moved} face{'s' if moved != 1 else ''} moved")


@people.command()
@click.argument("person")
@click.argument("photo", type=click.Path(path_type=Path))
@db_option
@click.pass_obj
def split(group_db, person, photo, db_path):
    """Take PERSON's face in PHOTO out of PERSON: it becomes a person of its own.

    For a face that joined the wrong person (`culler show PHOTO` lists each face with its person);
    the face stays where you put it at later scans, and `culler people merge` joins it to the
    right one."""
    from culler.catalog.queries import find_photo

    db_path = db_path or group_db
    catalog = open_existing(db_path)
    try:
        pid = _person(catalog, person)
        row = find_photo(catalog, photo)
        if row is None:
            raise click.ClickException(
                f"{printable(photo)} is not in the catalog; run `culler scan` on its folder first"
            )
        with catalog.transaction():
            new = catalog.split_face(pid, row["id"])
    finally:
        catalog.close()
    if new is None:
        raise click.ClickException(
            f"{printable(photo)} holds no face of person {pid}; `culler show` lists its faces "
            "and their people"
        )
    click.echo(f"the face in {printable(photo)} is no longer person {pid}'s: it is person {new}")


def _person(catalog, ref: str) -> int:
    pid = catalog.person_id(ref)
    if pid is None:
        raise click.ClickException(
            f"no person {printable(ref)!r} in this catalog; `culler people` lists them"
        )
    return pid


def _write_crop(folder: Path, person: dict) -> Path:
    """The person's clearest face, cut from their photo with a margin, as ``person-ID.jpg``
    inside ``folder`` (created; the name is made here, never taken from a file)."""
    from culler.imaging.images import ImageError, open_photo

    folder.mkdir(parents=True, exist_ok=True)
    target = (folder / f"person-{int(person['id'])}.jpg").resolve()
    if target.parent != folder.resolve():
        raise click.ClickException(f"{printable(folder)}: not a folder to write crops into")
    face = person["face"]
    try:
        side = max(face["image_size"]) if face.get("image_size") else 2048
        image = open_photo(face["path"], side)[0].convert("RGB")
    except (ImageError, OSError) as exc:
        raise click.ClickException(
            f"cannot read {printable(face['path'])} for person {person['id']}'s face: {exc}; "
            "rescan its folder"
        ) from None
    x, y, w, h = face["box"]
    k = image.width / face["image_size"][0] if face.get("image_size") else 1.0
    m = 0.3 * w
    box = (
        max(0, int((x - m) * k)),
        max(0, int((y - m) * k)),
        min(image.width, int((x + w + m) * k)),
        min(image.height, int((y + h + m) * k)),
    )
    image.crop(box).save(target, "JPEG", quality=90)
    return target


def register(cli: click.Group) -> None:
    cli.add_command(people)
