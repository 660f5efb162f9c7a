"""The people of a catalog: faces clustered by their descriptors, incrementally.

Each face with a descriptor (dlib's ResNet face descriptor: 128 numbers, faces of one person within
about 0.6 of each other) joins the person whose faces it is closest to, when it is within
:data:`JOIN` of that person's mean; faces that join no one are clustered among themselves
(leader clustering within :data:`JOIN`, see :func:`cluster`), and a cluster of at least :data:`MIN_FACES` faces
becomes a new, unnamed person. Nothing assigned is ever moved: a new scan adds faces to people and
adds people, it never reshuffles the ones a photographer named (``culler people name``); merging is
theirs to do (``culler people merge``). Faces left alone wait for the next scan.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Distance (Euclidean, between descriptors) within which a face joins a person or another face.
#: dlib's own threshold for "same person" is 0.6 (99.38 % on LFW); tighter here because a wrong
#: join is worse than a split: two clusters of one person are merged in one command, a mixed one is not.
JOIN = 0.5
#: Faces alike enough to make a new person.
MIN_FACES = 2


def update_people(catalog: Any) -> dict[str, int]:
    """Give the catalog's unassigned faces their people; returns counts of what changed."""
    pending = catalog.face_descriptors(assigned=False)
    if not pending:
        return {"joined": 0, "new_people": 0, "waiting": 0}
    assigned = catalog.face_descriptors(assigned=True)
    centroids: dict[int, np.ndarray] = {}
    if assigned:
        by_person: dict[int, list[np.ndarray]] = {}
        for _, person, vec in assigned:
            by_person.setdefault(person, []).append(vec)
        centroids = {p: np.mean(v, axis=0) for p, v in by_person.items()}
    joins: list[tuple[int, int]] = []
    alone: list[tuple[int, np.ndarray]] = []
    if centroids:
        people = list(centroids)
        matrix = np.stack([centroids[p] for p in people])
    for face_id, _, vec in pending:
        if centroids:
            d = np.linalg.norm(matrix - vec, axis=1)
            best = int(np.argmin(d))
            if d[best] < JOIN:
                joins.append((face_id, people[best]))
                continue
        alone.append((face_id, vec))
    clusters = cluster(np.stack([v for _, v in alone])) if alone else []
    new_people = 0
    with catalog.transaction():
        catalog.assign_faces(joins)
        for members in clusters:
            if len(members) < MIN_FACES:
                continue
            person = catalog.new_person()
            new_people += 1
            catalog.assign_faces([(alone[i][0], person) for i in members])
    waiting = sum(len(m) for m in clusters if len(m) < MIN_FACES)
    return {"joined": len(joins), "new_people": new_people, "waiting": waiting}


def cluster(vectors: np.ndarray, threshold: float = JOIN) -> list[list[int]]:
    """Leader clustering of ``vectors``: each joins the nearest cluster whose mean is within
    ``threshold`` or starts one; then every vector moves to its nearest mean once (which undoes
    most of the order's influence). Linear in the faces times the clusters, so a first scan of
    thousands of faces takes a moment. Lists of row indices."""
    sums: list[np.ndarray] = []
    counts: list[int] = []
    for vec in vectors:
        if sums:
            means = np.stack(sums) / np.array(counts)[:, None]
            d = np.linalg.norm(means - vec, axis=1)
            best = int(np.argmin(d))
            if d[best] < threshold:
                sums[best] = sums[best] + vec
                counts[best] += 1
                continue
        sums.append(vec.astype(np.float64))
        counts.append(1)
    if not sums:
        return []
    means = np.stack(sums) / np.array(counts)[:, None]
    d = np.linalg.norm(vectors[:, None, :] - means[None, :, :], axis=2)
    nearest = d.argmin(axis=1)
    groups: dict[int, list[int]] = {}
    for i, c in enumerate(nearest):
        # A vector farther than the threshold from every mean stays on its own.
        key = int(c) if d[i, c] < threshold else -1 - i
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def pairwise_scores(truth: list[str], predicted: list[int | None]) -> tuple[float, float]:
    """Pairwise precision and recall of a clustering: of the pairs of faces put together, the share
    that are one person; of the pairs that are one person, the share put together (a face left
    out, ``None``, is with no one)."""
    together = same = both = 0
    n = len(truth)
    for i in range(n):
        for j in range(i + 1, n):
            t = truth[i] == truth[j]
            p = predicted[i] is not None and predicted[i] == predicted[j]
            same += t
            together += p
            both += t and p
    precision = both / together if together else 1.0
    recall = both / same if same else 1.0
    return precision, recall
