"""Score details in the packed binary layout (issue #32 goal 5): every reader sees exactly what it
saw from the JSON, bit for bit, on real scans and on any JSON value; the bundled scorers' details
are a third of their JSON."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from culler.catalog import score_json, score_pack
from culler.testing import scan_into, write_photos


def _same(a, b) -> bool:
    """Equal as JSON data, every float the same double (NaN, -0.0 and type included)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return a == b


@pytest.fixture(scope="module")
def real_scan(tmp_path_factory):
    """Score rows of real photographs as ``culler scan`` stores them with the default in-worker
    scorers (technical, faces, colourfulness), and the JSON a previous version stored."""
    folder = tmp_path_factory.mktemp("photos")
    write_photos(folder, 6)
    catalog, _ = scan_into(
        folder.parent / "culler.db", folder, ["technical", "faces", "colourfulness"]
    )
    rows = catalog.execute(
        "SELECT sc.scorer_id, s.extra, s.reasons FROM scores s"
        " JOIN scorers sc ON sc.id = s.scorer_pk ORDER BY s.photo_id, sc.scorer_id"
    ).fetchall()
    catalog.close()
    return rows


def test_a_scan_stores_the_technical_details_packed_in_a_third_of_the_json(real_scan):
    technical = [(extra, reasons) for sid, extra, reasons in real_scan if sid == "technical"]
    assert len(technical) == 6
    for extra, _reasons in technical:
        assert score_pack.is_packed(extra)
        value = score_json.load(extra)
        assert "sharpness_grid" not in value  # computed when the overlay shows it, not stored
        assert len(extra) < len(score_json.dump(value).encode()) / 2.5
        assert len(extra) < len(json.dumps(value).encode()) / 4


def test_every_stored_detail_reads_as_its_json_round_trip(real_scan):
    """The reader's view: what ``json.loads(json.dumps(value))`` gave before, exactly."""
    assert {sid for sid, _, _ in real_scan} == {"technical", "faces", "colourfulness"}
    for _sid, extra, reasons in real_scan:
        for stored in (extra, reasons):
            if stored is None:
                continue
            value = score_json.load(stored)
            assert _same(score_json.load(score_json.dump(value)), value)
            assert _same(score_json.load(score_json.store(value)), value)
            assert score_json.repack(stored) is None  # stored as today's form already


def test_the_shorter_form_is_kept():
    """A short reason of its own is shorter as JSON; a known one, one with a known start and a
    grid are shorter packed."""
    assert score_json.store(["ok"]) == '["ok"]'
    assert score_json.load('["ok"]') == ["ok"]
    assert score_json.store(["no faces found"]) == bytes([0xC0, 7, 1, 6, 76])
    # header, list, count, a known start (word 95) and the rest inline: 7 bytes, was 19 as JSON
    prefix = score_pack.WORDS[2].index("colourfulness ")
    assert score_json.store(["colourfulness 36"]) == bytes([0xC0, 7, 1, 11, prefix, 2]) + b"36"
    assert score_json.load(score_json.store(["colourfulness 36"])) == ["colourfulness 36"]
    grid = {"sharpness_grid": [[0] * 17 for _ in range(17)]}
    assert score_pack.is_packed(score_json.store(grid))
    assert score_json.load(score_json.store(grid)) == grid


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.floats(min_value=-1e6, max_value=1e6).map(lambda x: round(x, 4))
    | st.text(max_size=20)
    | st.sampled_from(score_pack.WORDS[score_pack.VERSION])
    | st.tuples(st.sampled_from(score_pack.PREFIXES[score_pack.VERSION]), st.text(max_size=8)).map(
        "".join
    ),
    lambda children: (
        st.lists(children, max_size=6)
        | st.dictionaries(
            st.text(max_size=10) | st.sampled_from(score_pack.WORDS[score_pack.VERSION]),
            children,
            max_size=6,
        )
        | st.lists(
            st.lists(st.integers(min_value=-1, max_value=254), min_size=2, max_size=2),
            min_size=3,
            max_size=8,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_any_json_value_round_trips_bit_for_bit(value):
    assert _same(score_pack.unpack(score_pack.pack(value)), value)
    assert _same(score_pack.unpack(score_pack.pack(value, version=1)), value)  # rows stored before
    stored = score_json.store(value)
    assert _same(score_json.load(stored), json.loads(json.dumps(value)))


@pytest.mark.parametrize(
    "value",
    [
        0.1 + 0.2,  # 0.30000000000000004: more digits than the short form tries
        -0.0,
        1e-7,
        123456789.123,
        2.0**60,
        [[-1, 254], [0, 0], [1, 1]],  # the grid's edge values
        [[True, False], [False, True], [True, True]],  # bools are not grid cells
        [[1, 2], [3, 255], [0, 0]],  # 255 is not a grid cell
        {"σ ×": "↗ ", "": None},
    ],
)
def test_edge_values_round_trip_exactly(value):
    back = score_pack.unpack(score_pack.pack(value))
    assert _same(back, value)


def test_the_header_byte_never_starts_json_and_damage_is_a_clear_error():
    packed = score_pack.pack({"sharpness": 0.5})
    assert packed[0] == score_pack.HEADERS[score_pack.VERSION]
    assert not score_pack.is_packed(b'{"sharpness": 0.5}') and not score_pack.is_packed("{}")
    for damaged in (packed[:-1], packed + b"\x00", bytes([packed[0], 10, 5, 5])):
        with pytest.raises(score_pack.PackError):
            score_pack.unpack(damaged)
    with pytest.raises(score_pack.PackError):
        score_pack.unpack(bytes([0xF5, 0x40]))  # a later layout this version cannot read


def test_known_keys_are_one_byte_and_version_1_words_never_change():
    """Version 1's words keep their numbers: a packed row written today reads the same forever
    (a new word needs a new version; this pins the table's text)."""
    words = score_pack.WORDS[1]
    assert len(set(words)) == len(words) == 78
    assert hashlib.sha256("\n".join(words).encode()).hexdigest()[:16] == "5d67b343460534a6"
    # header, dict tag, count, key "sharpness" (word 0), None
    assert score_pack.pack({"sharpness": None}, version=1) == bytes([0xC1, 8, 1, 0, 0])


#: Version 2's words, pinned as version 1's are: a new word needs a new version.
PINNED_V2 = "34453d1a28f552b3"


def test_version_2_adds_words_and_known_starts_after_version_1_s():
    """Version 2 keeps every word of version 1 at its number and adds the bundled scorers'
    frequent reasons and the fixed starts of their worded ones; a version-1 row reads as it did
    and a version-1 reader's table never sees the new tag."""
    assert score_pack.WORDS[2][: len(score_pack.WORDS[1])] == score_pack.WORDS[1]
    words = score_pack.WORDS[2]
    assert len(set(words)) == len(words) == 96
    assert hashlib.sha256("\n".join(words).encode()).hexdigest()[:16] == PINNED_V2
    assert set(score_pack.PREFIXES[2]) <= set(words)
    reasons = ["sharp", "highlights clipped 4 %", "noisy (noise σ ≈ 4.1 levels)", "σ"]
    v1, v2 = score_pack.pack(reasons, version=1), score_pack.pack(reasons)
    assert score_pack.unpack(v1) == score_pack.unpack(v2) == reasons
    assert (v1[0], v2[0]) == (0xC1, 0xC0) and len(v2) < len(v1) - 30
    # "1 face, " is a known start; the longest known start is taken ("sharp" is a whole word).
    assert score_pack.unpack(score_pack.pack(["1 face, soft", "sharpness"])) == [
        "1 face, soft",
        "sharpness",
    ]
    # The prefixed tag inside a version-1 row is damage, not a string.
    with pytest.raises(score_pack.PackError):
        score_pack.unpack(bytes([0xC1, 11, 0, 1]) + b"x")


def test_a_scan_stores_score_times_as_milliseconds_and_readers_get_iso_text(tmp_path):
    from culler.catalog import open_catalog, timestamps
    from culler.plugin.scorers import ScoreResult

    with open_catalog(tmp_path / "culler.db") as catalog:
        pk = catalog.scorer_pk("x", "1")
        with catalog.transaction() as conn:
            conn.execute(
                "INSERT INTO photos (id, path, status, first_seen, last_seen)"
                " VALUES (1, '/a.jpg', 'ok', 't', 't')"
            )
            before = timestamps.now()
            catalog.store_score(1, pk, ScoreResult(score=1.0), "x")
            after = timestamps.now()
        (stored,) = catalog.execute("SELECT created FROM scores").fetchone()
        # An INTEGER column (019_scores_without_rowid): the number, not its 13 digits as text.
        assert type(stored) is int and len(str(stored)) == 13
        shown = catalog.scores_for(1)[0]["created"]
        assert before <= shown <= after and shown == timestamps.iso(int(stored))
        (sql_view,) = catalog.execute("SELECT datetime(created / 1000, 'unixepoch') FROM scores")
        assert sql_view[0] == shown[:19].replace("T", " ")


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(2200, 1, 1)))
def test_an_iso_time_and_its_milliseconds_are_the_same_text(when):
    from culler.catalog import timestamps

    text = when.replace(tzinfo=dt.timezone.utc).isoformat(timespec="milliseconds")
    ms = timestamps.to_ms(text)
    assert ms is not None and timestamps.iso(ms) == timestamps.iso(str(ms)) == text
    assert timestamps.to_ms(text.replace("+00:00", "+02:00")) is None  # not culler's clock
    assert timestamps.iso("t") == "t" and timestamps.to_ms("t") is None
