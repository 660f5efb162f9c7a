"""XMP round trips under random input (hypothesis): whatever culler writes reads back the same, the
fields other tools own survive every merge, and every sidecar written is well-formed XML."""

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from culler.interop.xmp import SidecarData, merge_sidecar, read_sidecar, write_sidecar

DC = "http://purl.org/dc/elements/1.1/"
PHOTOSHOP = "http://ns.adobe.com/photoshop/1.0/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

#: Names culler itself produces (scorer ids, tag labels): letters, digits and a few separators.
names = (
    st.text(
        st.characters(categories=("Ll", "Lu", "Lo", "Nd"), include_characters="-_. "), min_size=1
    )
    .map(str.strip)
    .filter(bool)
)
#: What a user may type as a label: anything, control characters included.
labels = st.text(max_size=40)
scores = st.floats(0, 10, allow_nan=False)

updates = st.builds(
    SidecarData,
    rating=st.none() | st.integers(-1, 5),
    label=st.none() | labels,
    decision=st.none() | st.sampled_from(["pick", "reject", "none"]),
    scores=st.dictionaries(names, st.tuples(st.sampled_from(["1", "2+me"]), scores), max_size=4),
    tags=st.dictionaries(names, st.floats(0, 1, allow_nan=False), max_size=4),
)
#: Keywords and a city written by another editor (XML-safe text: they came from a valid file).
xml_safe = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)
foreign = st.fixed_dictionaries(
    {
        "keywords": st.lists(xml_safe, max_size=4),
        "city": xml_safe,
        "rating": st.none() | st.integers(-1, 5),
    }
)


def foreign_sidecar(data: dict) -> bytes:
    """A sidecar another editor wrote: keywords (dc:subject), a city, maybe its own rating."""
    ET.register_namespace("dc", DC)
    ET.register_namespace("photoshop", PHOTOSHOP)
    root = ET.Element("{adobe:ns:meta/}xmpmeta")
    desc = ET.SubElement(ET.SubElement(root, f"{{{RDF}}}RDF"), f"{{{RDF}}}Description")
    desc.set(f"{{{PHOTOSHOP}}}City", data["city"])
    if data["rating"] is not None:
        desc.set("{http://ns.adobe.com/xap/1.0/}Rating", str(data["rating"]))
    bag = ET.SubElement(ET.SubElement(desc, f"{{{DC}}}subject"), f"{{{RDF}}}Bag")
    for word in data["keywords"]:
        ET.SubElement(bag, f"{{{RDF}}}li").text = word
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def foreign_fields(data: bytes) -> tuple[list[str], str | None]:
    root = ET.fromstring(data)
    desc = next(root.iter(f"{{{RDF}}}Description"))
    words = [li.text or "" for li in root.iter(f"{{{RDF}}}li") if li.find("*") is None]
    return words, desc.get(f"{{{PHOTOSHOP}}}City")


def xml_clean(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (what culler must write instead)."""
    return "".join(
        ch
        for ch in text
        if ch in "\t\n\r"
        or " " <= ch <= "\ud7ff"
        or "\ue000" <= ch <= "\ufffd"
        or ch >= "\U00010000"
    )


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """Write sidecar bytes to a fresh file (hypothesis examples cannot take the per-test tmp_path)."""
    folder = tmp_path_factory.mktemp("xmp-props")
    counter = iter(range(10**9))

    def write(data: bytes) -> Path:
        path = folder / f"{next(counter)}.xmp"
        path.write_bytes(data)
        return path

    return write


#: Scores and tags are written with three decimals: off by at most half a unit, and by exactly half for
#: 0.0625 (half-even rounding), which floating point puts a hair above 5e-4.
HALF_A_THOUSANDTH = 5e-4 + 1e-12


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(update=updates, other=foreign)
def test_merge_round_trips_and_keeps_foreign_fields(scratch, update, other):
    existing = foreign_sidecar(other)
    merged = merge_sidecar(existing, update, Path("x.xmp"))
    ET.fromstring(merged)  # well-formed, whatever the label held
    back = read_sidecar(scratch(merged))

    expected_rating = update.rating if update.rating is not None else other["rating"]
    assert back.rating == expected_rating
    # The other editor wrote no label: the sidecar holds ours, or none.
    expected_label = None if update.label is None else (xml_clean(update.label) or None)
    assert back.label == expected_label
    assert back.decision == update.decision
    assert set(back.scores) == set(update.scores)
    for sid, (version, score) in update.scores.items():
        assert back.scores[sid][0] == version
        assert back.scores[sid][1] == pytest.approx(score, abs=HALF_A_THOUSANDTH)
    assert back.tags == pytest.approx(update.tags, abs=HALF_A_THOUSANDTH)
    assert foreign_fields(merged) == (other["keywords"], other["city"])


@settings(max_examples=60, deadline=None)
@given(first=updates, second=updates)
def test_a_second_merge_replaces_only_what_it_sets(scratch, first, second):
    once = merge_sidecar(None, first, Path("x.xmp"))
    twice = read_sidecar(scratch(merge_sidecar(once, second, Path("x.xmp"))))
    expected_rating = second.rating if second.rating is not None else first.rating
    assert twice.rating == expected_rating
    assert twice.decision == (second.decision or None)
    assert set(twice.scores) == set(second.scores)  # culler's namespace is replaced as a whole


def test_a_control_character_label_never_breaks_a_valid_sidecar(tmp_path):
    """Issue: `culler rate --label $'Red\\x01'` wrote invalid XML over a sidecar with keywords."""
    path = tmp_path / "IMG_1.xmp"
    path.write_bytes(
        foreign_sidecar({"keywords": ["wedding", "first dance"], "city": "Porto", "rating": 4})
    )
    assert write_sidecar(path, SidecarData(rating=5, label="Red\x01"))
    back = read_sidecar(path)
    assert (back.rating, back.label) == (5, "Red")
    assert foreign_fields(path.read_bytes()) == (["wedding", "first dance"], "Porto")
