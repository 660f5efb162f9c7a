"""A blink judged against the other frames of its moment (culler.decide.cull.shut_beside_siblings).

On its own a face with low lids reads "unknown" (looking down and smiling lower them too); beside a
frame of the same moment where the same face's eyes are open, it is a blink, and the burst says so.
"""

from __future__ import annotations

import pytest
from culler_plugins.faces import mesh
from culler_plugins.faces.testing import ASTRONAUT_EYES, close_eyes

from culler.decide.cull import (
    PhotoScores,
    face_problems,
    face_tally,
    load_scores,
    plan_cull,
    shut_beside_siblings,
)
from culler.testing import sample_image


def frame(pid: int, *faces: tuple[list[int], str, list[float]], size=(1000, 800)) -> PhotoScores:
    listed = [{"box": b, "eyes": e, "eye_aspect": a, "main": True} for b, e, a in faces]
    counts = {
        "faces": len(listed),
        "eyes_open": sum(e == "open" for _, e, _ in faces),
        "eyes_closed": sum(e == "closed" for _, e, _ in faces),
        "eyes_unknown": sum(e == "unknown" for _, e, _ in faces),
    }
    extra = {"faces": listed, "size": list(size), "counts": counts}
    return PhotoScores(pid, f"/shoot/{pid}.jpg", {"faces": 9.0}, {"faces": extra})


ANNA, BEN = [100, 100, 120, 120], [600, 120, 110, 110]


def test_low_lids_beside_open_eyes_of_the_same_face_are_a_blink():
    scores = {
        1: frame(1, (ANNA, "open", [0.30, 0.31]), (BEN, "open", [0.28, 0.29])),
        2: frame(2, (ANNA, "unknown", [0.06, 0.08]), (BEN, "open", [0.29, 0.28])),
    }
    assert shut_beside_siblings([1, 2], scores) == {2: 1}
    scores[2].shut_in_group = 1
    tally = face_tally(scores[2])
    assert (tally["eyes_closed"], tally["eyes_unknown"]) == (1, 0)
    assert face_problems(scores[2]) == 1 and face_problems(scores[1]) == 0


@pytest.mark.parametrize(
    "mine, theirs, why",
    [
        ([0.12, 0.07], [0.30, 0.31], "one eye not as low as a shut one: a smile or a glance down"),
        ([0.06, 0.08], [0.18, 0.19], "the sibling's lids are not far enough apart to tell"),
        ([0.06, 0.08], None, "the sibling's eyes are unknown too"),
        ([0.0, 0.0], [0.30, 0.31], "not measured (a face too small for eyes)"),
    ],
)
def test_no_blink_without_clear_evidence(mine, theirs, why):
    sibling = (ANNA, "open", theirs) if theirs else (ANNA, "unknown", [0.06, 0.07])
    scores = {1: frame(1, sibling), 2: frame(2, (ANNA, "unknown", mine))}
    assert shut_beside_siblings([1, 2], scores) == {}, why


def test_open_eyes_of_someone_else_say_nothing():
    scores = {
        1: frame(1, (BEN, "open", [0.30, 0.31])),
        2: frame(2, (ANNA, "unknown", [0.06, 0.08])),
    }
    assert shut_beside_siblings([1, 2], scores) == {}


def test_boxes_are_compared_as_shares_of_each_photo():
    """A frame stored at half the size holds the same face at half the pixels."""
    half = [v // 2 for v in ANNA]
    scores = {
        1: frame(1, (half, "open", [0.30, 0.31]), size=(500, 400)),
        2: frame(2, (ANNA, "unknown", [0.06, 0.08])),
    }
    assert shut_beside_siblings([1, 2], scores) == {2: 1}


@pytest.mark.skipif(not mesh.available(), reason=f"needs MediaPipe's files: `{mesh.INSTALL_HINT}`")
def test_a_blink_that_reads_unknown_alone_loses_the_burst_to_the_open_frame(tmp_path):
    """The synthetic lids read "unknown" with MediaPipe's eyelids (the iris share stays above the
    shut eyes' of real faces); beside the open frame they are the blink they are."""
    from test_faces import scan_burst

    astronaut = sample_image("astronaut")
    frames = {"blink": close_eyes(astronaut, ASTRONAUT_EYES), "open": astronaut}
    catalog = scan_burst(tmp_path, frames)
    try:
        ids = [r["id"] for r in catalog.query("SELECT id FROM photos")]
        alone = {
            ps.path.rsplit("/", 1)[-1]: ps.extra["faces"]["faces"][0]["eyes"]
            for ps in load_scores(catalog, ids).values()
        }
        plan = {p.path.rsplit("/", 1)[-1]: p for p in plan_cull(catalog)}
    finally:
        catalog.close()
    assert alone == {"blink.jpg": "unknown", "open.jpg": "open"}
    assert plan["open.jpg"].decision == "pick"
    assert plan["blink.jpg"].decision == "reject"
    assert plan["blink.jpg"].reason == "burst of 2 (#2): eyes closed, open in #1"
    assert plan["open.jpg"].reason == "burst of 2: eyes open, closed in #2"
