"""XMP sidecars: culler's ratings, labels, scores and tags where Lightroom, Capture One, digiKam and
darktable look for them, and ratings from years of past sidecars back into the catalog.

Written fields: ``xmp:Rating`` (−1 reject, 0–5) and ``xmp:Label`` — only for photos rated in culler, so a
rating made in another editor is never replaced by "no rating" — plus culler's own namespace
(``culler:Decision``, ``culler:Scores``, ``culler:Tags`` with each tag's probability and source) and the
keywords ``dc:subject`` (hand tags and scorer tags of probability ≥ 0.5, see :data:`KEYWORD_MIN_PROB`):
keywords already in the sidecar stay, and culler only takes out a keyword it wrote itself (listed in its
``culler:Tags``) or one a person removed in culler. Everything else in an existing sidecar is kept:
the file is parsed, only the fields above are replaced, and the rest is serialised back with its original
namespace prefixes. Sidecars are untrusted input, so they are parsed with defusedxml (no entity expansion,
no external entities). A sidecar that is not well-formed XMP is reported and left untouched.

Naming: ``IMG_1.xmp`` (Lightroom, Capture One, digiKam: "basename") or ``IMG_1.CR3.xmp`` (darktable:
"fullname"). "auto" uses whichever sidecar already exists, and otherwise the basename form unless another
photo shares the stem (a RAW+JPEG pair), where one shared sidecar would mix two photos' ratings.
"""

from __future__ import annotations

import io
import math
import os
import re
import stat
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from culler.safe_files import describe, read_regular

CULLER_NS = "http://ns.culler.photo/xmp/1.0/"
NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "culler": CULLER_NS,
    "dc": "http://purl.org/dc/elements/1.1/",
}
#: A scorer's tag becomes a ``dc:subject`` keyword from this probability (``culler list --tag``'s
#: default threshold); a hand tag always does.
KEYWORD_MIN_PROB = 0.5
NAMINGS = ("auto", "basename", "fullname")

_RDF = "{" + NS["rdf"] + "}"
_XMP = "{" + NS["xmp"] + "}"
_CUL = "{" + CULLER_NS + "}"
_DESCRIPTION = _RDF + "Description"
_SUBJECT = "{" + NS["dc"] + "}subject"
_RATING, _LABEL = _XMP + "Rating", _XMP + "Label"
_XPACKET_HEAD = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
_XPACKET_TAIL = '\n<?xpacket end="w"?>'


class XmpError(Exception):
    """A sidecar could not be read or written; the message says which file and why."""


#: Characters XML 1.0 cannot hold (control characters, surrogates, U+FFFE/U+FFFF): dropped from
#: everything culler writes, so a label typed with a stray control character cannot break a sidecar.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: str) -> str:
    """``value`` with the characters XML 1.0 cannot represent removed."""
    return _NOT_XML.sub("", value)


@dataclass
class SidecarData:
    """What culler reads from or writes to a sidecar. ``None`` means "absent" (or "leave alone")."""

    rating: int | None = None
    label: str | None = None
    decision: str | None = None
    scores: dict[str, tuple[str, float]] = field(default_factory=dict)  # id -> (version, score)
    tags: dict[str, float] = field(default_factory=dict)
    #: Where each tag came from: "hand", "xmp" or a scorer's id (absent in sidecars before this).
    tag_sources: dict[str, str] = field(default_factory=dict)
    #: ``dc:subject`` keywords; None leaves the sidecar's keywords as they are.
    keywords: list[str] | None = None
    #: Keywords to take out of ``dc:subject`` (tags a person removed in culler), compared like tags.
    removed_keywords: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        out = {
            "rating": self.rating,
            "label": self.label,
            "decision": self.decision,
            "scores": {k: v[1] for k, v in self.scores.items()},
            "tags": self.tags,
        }
        if self.tag_sources:
            out["tag_sources"] = self.tag_sources
        if self.keywords:
            out["keywords"] = self.keywords
        return out


def keyword_key(word: str) -> str:
    """Keywords compare as tags do: case- and space-insensitively."""
    return " ".join(word.strip().lower().split())


def culler_keywords(data: SidecarData) -> set[str]:
    """The keywords culler would have written for ``data``'s tags (compared by :func:`keyword_key`)."""
    return {
        keyword_key(tag)
        for tag, prob in data.tags.items()
        if prob >= KEYWORD_MIN_PROB or data.tag_sources.get(tag) in ("hand", "xmp")
    }


# -- naming -----------------------------------------------------------------------------------------
def basename_sidecar(photo: Path) -> Path:
    return photo.with_suffix(".xmp")


def fullname_sidecar(photo: Path) -> Path:
    return photo.with_name(photo.name + ".xmp")


def _existing(candidate: Path) -> Path | None:
    """``candidate`` or its ``.XMP`` spelling, whichever exists."""
    for path in (candidate, candidate.with_suffix(".XMP")):
        if path.is_file():
            return path
    return None


def _folder_names(photo: Path, names: list[str] | None) -> list[str]:
    if names is not None:
        return names
    try:
        return os.listdir(photo.parent)
    except OSError:
        return []


def basename_taken(photo: Path, names: list[str] | None = None) -> bool:
    """Whether ``photo``'s basename sidecar is another photo's fullname sidecar.

    ``IMG_1.tif.jpg`` has the basename sidecar ``IMG_1.tif.xmp``, which is the fullname sidecar of
    ``IMG_1.tif``: the name belongs to that photo, and ``IMG_1.tif.jpg`` must never read or write it.
    """
    from culler.imaging.images import supported_extensions

    owner = photo.stem
    if Path(owner).suffix.lower() not in supported_extensions():
        return False
    return any(n.lower() == owner.lower() and n != photo.name for n in _folder_names(photo, names))


def existing_sidecars(photo: str | Path, names: list[str] | None = None) -> list[Path]:
    """Sidecars of ``photo`` that exist, in either naming convention (fullname first); a basename
    sidecar that belongs to another photo (see :func:`basename_taken`) is not one of them."""
    photo = Path(photo)
    found = [_existing(fullname_sidecar(photo))]
    if not basename_taken(photo, names):
        found.append(_existing(basename_sidecar(photo)))
    return [p for p in found if p is not None]


def stem_is_shared(photo: Path, names: list[str] | None = None) -> bool:
    """Whether ``photo``'s basename sidecar could serve two photos: another photo has the same stem
    (IMG_1.CR3 next to IMG_1.JPG), or the basename is another photo's fullname sidecar.

    ``names`` is the folder's listing when the caller already has it (writing many sidecars).
    """
    from culler.imaging.images import supported_extensions

    exts = supported_extensions()
    names = _folder_names(photo, names)
    stem = photo.stem
    same_stem = any(
        n != photo.name and Path(n).stem == stem and Path(n).suffix.lower() in exts for n in names
    )
    return same_stem or basename_taken(photo, names)


def sidecar_path(
    photo: str | Path, naming: str = "auto", for_writing: bool = True, shared: bool | None = None
) -> Path | None:
    """The sidecar to use for ``photo``; for reading, None when it has none.

    ``shared`` (whether another photo has the same stem) is looked up when not given. No two photos
    ever get the same sidecar: where the basename sidecar is another photo's fullname sidecar, the
    fullname form is used whatever ``naming`` asks for.
    """
    photo = Path(photo)
    if naming not in NAMINGS:
        raise ValueError(f"naming must be one of {', '.join(NAMINGS)}, not {naming!r}")
    if naming != "fullname" and basename_taken(photo):
        naming = "fullname"
    if naming == "basename":
        path = _existing(basename_sidecar(photo)) or basename_sidecar(photo)
    elif naming == "fullname":
        path = _existing(fullname_sidecar(photo)) or fullname_sidecar(photo)
    else:
        full = _existing(fullname_sidecar(photo))
        base = _existing(basename_sidecar(photo))
        if full is not None:
            return full
        if not for_writing:
            return base
        if shared is None:
            shared = stem_is_shared(photo)
        if base is not None and not shared:
            return base
        return fullname_sidecar(photo) if shared else basename_sidecar(photo)
    return path if for_writing or path.is_file() else None


# -- reading ----------------------------------------------------------------------------------------
#: XMP nests a handful of levels (xmpmeta → RDF → Description → property → Bag → li → field); a
#: document nested deeper is not a sidecar, and would exhaust the recursion of the serialiser.
MAX_DEPTH = 64


def _parse(data: bytes, path: Path) -> tuple[ET.Element, dict[str, str]]:
    """Parse untrusted sidecar bytes safely; return the root and the prefixes it declares."""
    prefixes: dict[str, str] = {}
    depth = 0
    try:
        events = SafeET.iterparse(io.BytesIO(data), events=("start", "end", "start-ns"))
        for event, item in events:
            if event == "start-ns":
                prefixes.setdefault(*item)
            elif event == "start":
                depth += 1
                if depth > MAX_DEPTH:
                    raise XmpError(
                        f"{path}: elements nested more than {MAX_DEPTH} deep, so not an XMP "
                        "sidecar; left untouched"
                    )
            else:
                depth -= 1
        root = events.root
    except XmpError:
        raise
    except (ET.ParseError, DefusedXmlException, ValueError, LookupError, RecursionError) as exc:
        raise XmpError(f"{path}: not a well-formed XMP sidecar ({exc}); left untouched") from exc
    if root is None or root.tag not in ("{adobe:ns:meta/}xmpmeta", _RDF + "RDF"):
        tag = None if root is None else root.tag
        raise XmpError(f"{path}: not an XMP sidecar (root element {tag}); left untouched")
    return root, prefixes


def _descriptions(root: ET.Element) -> list[ET.Element]:
    return list(root.iter(_DESCRIPTION))


def _value(desc: ET.Element, name: str) -> str | None:
    """A simple property written either as an attribute or as a child element."""
    if name in desc.attrib:
        return desc.attrib[name]
    child = desc.find(name)
    if child is not None and child.text is not None:
        return child.text.strip()
    return None


def _bag_items(desc: ET.Element, name: str) -> list[ET.Element]:
    prop = desc.find(name)
    if prop is None:
        return []
    return [li for li in prop.iter(_RDF + "li")]


def _li_field(li: ET.Element, name: str) -> str | None:
    if name in li.attrib:
        return li.attrib[name]
    child = li.find(name)
    return child.text.strip() if child is not None and child.text else None


#: Sidecars are a few kilobytes; anything larger than this is not one (and is not read into memory).
MAX_SIDECAR_BYTES = 16 << 20


def _read_bytes(path: Path) -> bytes | None:
    """The sidecar's bytes, None when there is no file; only regular files of sane size are read
    (a FIFO or a device named like a sidecar would block or never end)."""
    try:
        return read_regular(path, MAX_SIDECAR_BYTES)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise XmpError(f"{describe(path, exc)}; left untouched") from exc


def _finite(text: str | None) -> float | None:
    """A number from the sidecar, or None for text that is not a finite number ("1e999", "nan")."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_sidecar(path: str | Path) -> SidecarData:
    """Read rating, label and culler's fields from a sidecar (raises :class:`XmpError` when broken)."""
    path = Path(path)
    data = _read_bytes(path)
    if data is None:
        raise XmpError(f"{path}: cannot read (no such file)")
    root, _ = _parse(data, path)
    result = SidecarData()
    for desc in _descriptions(root):
        rating = _finite(_value(desc, _RATING))
        if rating is not None and result.rating is None:  # an unreadable rating is ignored
            result.rating = max(-1, min(5, int(rating)))
        label = _value(desc, _LABEL)
        if label and result.label is None:
            result.label = label
        decision = _value(desc, _CUL + "Decision")
        if decision in ("pick", "reject", "none"):
            result.decision = decision
        for li in _bag_items(desc, _CUL + "Scores"):
            scorer, score = _li_field(li, _CUL + "Scorer"), _li_field(li, _CUL + "Score")
            value = _finite(score)
            if scorer and value is not None:
                result.scores[scorer] = (_li_field(li, _CUL + "Version") or "", value)
        for li in _bag_items(desc, _CUL + "Tags"):
            tag, prob = _li_field(li, _CUL + "Tag"), _li_field(li, _CUL + "Probability")
            value = _finite(prob)
            if tag and value is not None:
                result.tags[tag] = value
                source = _li_field(li, _CUL + "Source")
                if source:
                    result.tag_sources[tag] = source
        words = [
            li.text.strip() for li in _bag_items(desc, _SUBJECT) if li.text and li.text.strip()
        ]
        if words:
            result.keywords = (result.keywords or []) + words
    return result


# -- writing ----------------------------------------------------------------------------------------
def _new_root() -> ET.Element:
    root = ET.Element("{adobe:ns:meta/}xmpmeta", {"{adobe:ns:meta/}xmptk": "culler"})
    ET.SubElement(root, _RDF + "RDF")
    return root


def _target_description(root: ET.Element) -> ET.Element:
    """The rdf:Description that gets our fields: the one already holding xmp: fields, else the first."""
    descriptions = _descriptions(root)
    for desc in descriptions:
        if any(k.startswith(_XMP) for k in desc.attrib) or any(
            c.tag.startswith(_XMP) for c in desc
        ):
            return desc
    if descriptions:
        return descriptions[0]
    rdf = root if root.tag == _RDF + "RDF" else root.find(_RDF + "RDF")
    if rdf is None:
        rdf = ET.SubElement(root, _RDF + "RDF")
    return ET.SubElement(rdf, _DESCRIPTION, {_RDF + "about": ""})


def _remove(desc: ET.Element, owned: set[str]) -> None:
    for key in [k for k in desc.attrib if k in owned or k.startswith(_CUL)]:
        del desc.attrib[key]
    for child in [c for c in desc if c.tag in owned or c.tag.startswith(_CUL)]:
        desc.remove(child)


def _bag(parent: ET.Element, name: str, rows: list[dict[str, str]]) -> None:
    bag = ET.SubElement(ET.SubElement(parent, name), _RDF + "Bag")
    for row in rows:
        li = ET.SubElement(bag, _RDF + "li", {_RDF + "parseType": "Resource"})
        for key, value in row.items():
            ET.SubElement(li, _CUL + key).text = xml_text(value)


def merge_sidecar(existing: bytes | None, update: SidecarData, path: Path) -> bytes:
    """The sidecar bytes after merging ``update`` into ``existing`` (None: a new sidecar).

    ``update.rating``/``label`` of None leave those fields as they are (a label of ``""`` removes it);
    culler's namespace is replaced as a whole; ``dc:subject`` is merged (see the module's docstring);
    nothing else changes.
    """
    prefixes: dict[str, str] = {}
    xpacket = False
    if existing is not None and existing.strip():
        root, prefixes = _parse(existing, path)
        xpacket = b"<?xpacket begin" in existing[:200]
    else:
        root = _new_root()
    owned = {
        name
        for name, value in ((_RATING, update.rating), (_LABEL, update.label))
        if value is not None
    }
    # Chosen before the fields are removed: the description that holds the rating keeps it.
    desc = _target_description(root)
    previous = _previous_culler_keywords(root)  # read before culler's namespace is taken out
    for each in _descriptions(root):
        _remove(each, owned)
    if update.rating is not None:
        desc.set(_RATING, str(int(update.rating)))
    if update.label:  # "" removes the label (cleared in culler), like a rating of 0
        desc.set(_LABEL, xml_text(update.label))
    if update.keywords is not None or update.removed_keywords:
        _merge_keywords(root, desc, update, previous)
    if update.decision is not None:
        desc.set(_CUL + "Decision", update.decision)
    if update.scores:
        rows = [
            {"Scorer": sid, "Version": version, "Score": f"{score:.3f}"}
            for sid, (version, score) in sorted(update.scores.items())
        ]
        _bag(desc, _CUL + "Scores", rows)
    if update.tags:
        rows = [
            {"Tag": tag, "Probability": f"{prob:.3f}"}
            | ({"Source": update.tag_sources[tag]} if tag in update.tag_sources else {})
            for tag, prob in sorted(update.tags.items(), key=lambda item: (-item[1], item[0]))
        ]
        _bag(desc, _CUL + "Tags", rows)
    _register_prefixes({**prefixes, **NS})
    ET.indent(root, space=" ")
    text = ET.tostring(root, encoding="unicode")
    if xpacket:
        text = _XPACKET_HEAD + text + _XPACKET_TAIL
    else:
        text = '<?xml version="1.0" encoding="UTF-8"?>\n' + text
    return (text + "\n").encode("utf-8")


def _previous_culler_keywords(root: ET.Element) -> set[str]:
    """Keywords culler wrote into this sidecar last time (from its own ``culler:Tags``)."""
    previous = SidecarData()
    for desc in _descriptions(root):
        for li in _bag_items(desc, _CUL + "Tags"):
            tag, value = _li_field(li, _CUL + "Tag"), _finite(_li_field(li, _CUL + "Probability"))
            if tag and value is not None:
                previous.tags[tag] = value
                previous.tag_sources[tag] = _li_field(li, _CUL + "Source") or ""
    return culler_keywords(previous)


def _merge_keywords(
    root: ET.Element, desc: ET.Element, update: SidecarData, previous: set[str]
) -> None:
    """Rewrite ``dc:subject``: the sidecar's keywords in their order and spelling, less those culler
    wrote before and no longer has and those removed by hand, then culler's new ones, sorted."""
    existing: list[str] = []
    for each in _descriptions(root):
        for prop in [c for c in each if c.tag == _SUBJECT]:
            existing += [
                li.text.strip() for li in prop.iter(_RDF + "li") if li.text and li.text.strip()
            ]
            each.remove(prop)
    ours = {keyword_key(k): k for k in (update.keywords or [])}
    dropped = {keyword_key(k) for k in update.removed_keywords}
    if update.keywords is not None:
        dropped |= previous - set(ours)
    words: list[str] = []
    seen: set[str] = set()
    for word in existing + sorted(ours.values()):
        key = keyword_key(word)
        if key in seen or (key in dropped and key not in ours):
            continue
        seen.add(key)
        words.append(word)
    if not words:
        return
    bag = ET.SubElement(ET.SubElement(desc, _SUBJECT), _RDF + "Bag")
    for word in words:
        ET.SubElement(bag, _RDF + "li").text = xml_text(word)


def _register_prefixes(prefixes: dict[str, str]) -> None:
    """Keep each namespace's original prefix on output (ElementTree would invent ns0, ns1…)."""
    for prefix, uri in prefixes.items():
        if not prefix or prefix == "xml":
            continue
        try:
            ET.register_namespace(prefix, uri)
        except ValueError:
            pass  # ElementTree reserves ns0, ns1…: such a prefix gets a generated one


def _write_target(path: Path, exists: bool) -> Path:
    """The file a new sidecar replaces: ``path``, or the file a symbolic link at ``path`` points to.
    A read-only sidecar and a link to nothing are refused (XmpError): the user made them so."""
    target = path
    if path.is_symlink():
        target = Path(os.path.realpath(path))
        if not exists:
            raise XmpError(
                f"{path} is a symbolic link to {target}, which does not exist; left untouched — "
                "point the link at a sidecar, or delete it and culler writes a new one"
            )
    if exists:
        mode = target.stat().st_mode
        if not mode & stat.S_IWUSR or not os.access(target, os.W_OK):
            raise XmpError(
                f"{path} is read-only; left untouched — make it writable (chmod u+w) if culler "
                "should update it"
            )
    return target


def write_sidecar(path: str | Path, update: SidecarData, dry_run: bool = False) -> bool:
    """Merge ``update`` into the sidecar at ``path`` (created if absent); True when it changed.

    The new file replaces the old one atomically, so a crash never leaves half a sidecar. A sidecar
    its owner made read-only is left as it is (XmpError says so), and a sidecar that is a symbolic
    link is updated where it points, so the link stays a link.
    """
    path = Path(path)
    existing = _read_bytes(path)
    data = merge_sidecar(existing, update, path)
    if data == existing:
        return False
    _parse(data, path)  # a sidecar is only ever replaced by a document that parses
    target = _write_target(path, existing is not None)
    if dry_run:
        return True
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".culler-", suffix=".xmp.tmp", dir=target.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, target.stat().st_mode & 0o7777 if existing is not None else 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise XmpError(f"{path}: cannot write ({exc.strerror or exc})") from exc
    return True
