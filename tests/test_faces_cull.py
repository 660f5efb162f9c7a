"""A group photo's burst is decided by its faces: the frame with the fewest closed-eye and soft
faces wins, and the reasons name the counts. The faces' verdicts here are what the faces scorer
stores (``extra["counts"]``, ``extra["defects"]``); the scorer itself is tested on real photos in
tests/test_faces.py and tests/test_faces_people.py."""

from __future__ import annotations

from pathlib import Path

from culler_plugins.faces import face_counts, photo_defects, photo_reasons

from culler.api import ScoreResult
from culler.catalog import open_catalog
from culler.decide.cull import CullOptions, Group, face_summary, plan_cull

AESTHETIC = "clip-aesthetic"


def faces(closed: int = 0, soft: int = 0, unknown: int = 0, total: int = 8) -> list[dict]:
    out = []
    for i in range(total):
        eyes = "closed" if i < closed else "unknown" if i < closed + unknown else "open"
        focus = "soft" if total - i <= soft else "sharp"
        out.append(
            {
                "box": [100 * i, 0, 90, 90],
                "eyes": eyes,
                "eyes_confidence": 0.8,
                "focus": focus,
                "focus_confidence": 0.8,
                "confidence": 0.9,
                "main": True,
            }
        )
    return out


def add(catalog, folder: Path, name: str, aesthetic: float, people: list[dict]) -> int:
    with catalog.transaction():
        pid = catalog.upsert_photo(
            str(folder / f"{name}.jpg"), str(folder), 1000, 1, width=4000, height=3000
        )
    penalty = 10.0 - 6.0 * any(f["eyes"] == "closed" for f in people)
    results = {
        AESTHETIC: ScoreResult(score=aesthetic),
        "faces": ScoreResult(
            score=penalty,
            reasons=photo_reasons(people),
            extra={
                "faces": people,
                "counts": face_counts(people),
                "defects": photo_defects(people),
            },
        ),
    }
    for sid, result in results.items():
        pk = catalog.scorer_pk(sid, "1")
        with catalog.transaction():
            catalog.store_score(pid, pk, result, sid)
    return pid


def test_the_frame_with_everyone_s_eyes_open_wins_and_the_reasons_name_the_counts(tmp_path):
    catalog = open_catalog(tmp_path / "culler.db")
    try:
        # The blinking frame is the better picture otherwise: the faces must still decide.
        blink = add(catalog, tmp_path, "blink", 7.5, faces(closed=2))
        open_ = add(catalog, tmp_path, "open", 6.0, faces())
        soft = add(catalog, tmp_path, "soft", 7.0, faces(soft=1))
        plan = plan_cull(
            catalog, CullOptions(), groups=[Group("burst", [blink, open_, soft], None, {})]
        )
        by_name = {Path(p.path).stem: (p.decision, p.reason) for p in plan}
        assert by_name["open"] == ("pick", "burst of 3: 8 of 8 eyes open; #2 had 1 soft")
        # Both also show a defect the faces scorer named: said in the moment's terms.
        assert by_name["soft"] == (
            "reject",
            "burst of 3 (#2): 1 of 8 faces: soft (missed focus), unlike #1",
        )
        assert by_name["blink"] == (
            "reject",
            "burst of 3 (#3): 2 of 8 faces: eyes closed, unlike #1",
        )
    finally:
        catalog.close()


def test_faces_that_cannot_be_judged_never_reject_a_photo(tmp_path):
    catalog = open_catalog(tmp_path / "culler.db")
    try:
        add(catalog, tmp_path, "turned-away", 5.0, faces(unknown=8))
        plan = plan_cull(catalog, CullOptions())
        assert [p.decision for p in plan] == ["pick"]
    finally:
        catalog.close()


def test_face_summary_words():
    assert face_summary({"faces": 8, "eyes_open": 8}) == "8 of 8 eyes open"
    assert face_summary({"faces": 8, "eyes_closed": 2, "soft": 1}) == "2 of 8 closed, 1 soft"
