"""The people of a catalog: faces clustered by their descriptors, incrementally.

Each face with a descriptor (dlib's ResNet face descriptor: 128 numbers, faces of one person within
about 0.6 of each other) joins the person whose faces it is closest to, when it is within
:data:`JOIN` of that person's mean; faces that join no one are clustered among themselves
(leader clustering within :data:`JOIN`, see :func:`cluster`), and a cluster of at least :data:`MIN_FACES` faces
becomes a new, unnamed person. Among people and clusters of at least :data:`LATE_MIN_FACES`
faces ("well seen") a looser :data:`LATE_JOIN` holds: a face still alone, or a cluster, joins one
whose mean is within it of its own and who is not in its photos (see :func:`late_joins`). One
person's faces across expressions (a laugh, a scowl, eyes shut) spread a little wider than JOIN
round their mean, and a first scan's leaders may split them. Nothing assigned is ever moved: a new scan adds faces to people and
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
#: A face left alone by JOIN, or a cluster, joins a person or cluster of at least LATE_MIN_FACES
#: faces whose mean lies within LATE_JOIN of its own. On the real faces of
#: ``benchmarks/faces_people.py`` one woman's 24 expressions (facetorch's contact sheet) lie up to
#: 0.53 from the mean of her other faces, while the nearest face of anyone else lies 0.58 from a
#: person's mean: 0.55 is between them (and below dlib's 0.6). Only well-seen people take late
#: faces: a mean of three faces or more is a steadier centre than one face, and two faces of
#: different people in different photos come as close as 0.52, so lone faces never pair up at 0.55.
#: (Measured side by side with the other options in docs/culling.md, "People across expressions".)
LATE_JOIN = 0.55
LATE_MIN_FACES = 3


def update_people(catalog: Any, late_join: float | None = LATE_JOIN) -> dict[str, int]:
    """Give the catalog's unassigned faces their people; returns counts of what changed.
    ``late_join``: the looser distance for well-seen people (:data:`LATE_JOIN`; ``None``: JOIN
    only, the rule before issue #28, kept for the benchmark's comparison).

    Two faces of one photo are never one person (a photo does not hold the same person twice:
    children alike, or twins, side by side stay two people)."""
    pending = catalog.face_descriptors(assigned=False)
    if not pending:
        return {"joined": 0, "new_people": 0, "waiting": 0}
    assigned = catalog.face_descriptors(assigned=True)
    by_person: dict[int, list[np.ndarray]] = {}
    seen_in: dict[int, set[int]] = {}  # person -> photos that already hold them
    for _, person, photo, vec in assigned:
        by_person.setdefault(person, []).append(vec)
        seen_in.setdefault(person, set()).add(photo)
    people = list(by_person)
    joins: list[tuple[int, int]] = []
    alone: list[tuple[int, int, np.ndarray]] = []
    if people:
        matrix = np.stack([np.mean(by_person[p], axis=0) for p in people])
        distances = [np.linalg.norm(matrix - vec, axis=1) for _, _, _, vec in pending]
        # The closest faces choose first, so of two faces of one photo near one person the
        # nearer joins and the other looks further.
        order = sorted(range(len(pending)), key=lambda i: float(distances[i].min()))
    else:
        order = list(range(len(pending)))
    for i in order:
        face_id, _, photo, vec = pending[i]
        person = None
        if people:
            for k in np.argsort(distances[i]):
                if distances[i][k] >= JOIN:
                    break
                if photo not in seen_in[people[k]]:
                    person = people[k]
                    break
        if person is None:
            alone.append((face_id, photo, vec))
            continue
        joins.append((face_id, person))
        seen_in[person].add(photo)
    # Faces beyond JOIN of every person: a late join to a well-seen one (see LATE_JOIN) before the
    # rest are clustered among themselves, so faces of a known person that a later scan brings are
    # not made a second person of her.
    big = (
        [p for p in people if len(by_person[p]) >= LATE_MIN_FACES] if late_join is not None else []
    )
    if alone and big:
        means = np.stack([np.mean(by_person[p], axis=0) for p in big])
        placed = late_joins(
            np.stack([v for _, _, v in alone]),
            [ph for _, ph, _ in alone],
            means,
            [seen_in[p] for p in big],
            late_join,
        )
        joins.extend((alone[row][0], big[k]) for row, k in placed.items())
        alone = [face for row, face in enumerate(alone) if row not in placed]
    clusters = (
        cluster(
            np.stack([v for _, _, v in alone]),
            photos=[ph for _, ph, _ in alone],
            late_join=late_join,
        )
        if alone
        else []
    )
    # A new cluster whose mean lies within LATE_JOIN of a well-seen person's joins that person (one
    # person met again in a later scan, beyond JOIN of her mean).
    grown: dict[int, int] = {}  # cluster -> person
    if big:
        means = np.stack([np.mean(by_person[p], axis=0) for p in big])
        for c, members in enumerate(clusters):
            mean = np.mean([alone[i][2] for i in members], axis=0)
            photos = {alone[i][1] for i in members}
            d = np.linalg.norm(means - mean, axis=1)
            for k in np.argsort(d):
                if d[k] >= late_join:
                    break
                if not photos & seen_in[big[k]]:
                    grown[c] = big[k]
                    seen_in[big[k]] |= photos
                    joins.extend((alone[i][0], big[k]) for i in members)
                    break
    clusters = [m for c, m in enumerate(clusters) if c not in grown]
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


def cluster(
    vectors: np.ndarray,
    threshold: float = JOIN,
    photos: list[Any] | None = None,
    late_join: float | None = LATE_JOIN,
) -> list[list[int]]:
    """Leader clustering of ``vectors``: each joins the nearest cluster whose mean is within
    ``threshold`` or starts one; then every vector moves to its nearest mean once (which undoes
    most of the order's influence). With ``photos`` (the photo of each vector), a cluster never
    takes two vectors of one photo: a vector goes to the nearest cluster that does not hold its
    photo yet, the nearest vectors choosing first. Then a cluster (a lone vector too) whose mean
    lies within ``late_join`` of the mean of a cluster of :data:`LATE_MIN_FACES` or more, and that
    shares no photo with it, joins it, the closest first (``None``: no such joins).
    Linear in the faces times the clusters, so a first scan of thousands of faces takes a moment.
    Lists of row indices."""
    photo_of = list(photos) if photos is not None else list(range(len(vectors)))
    sums: list[np.ndarray] = []
    counts: list[int] = []
    holds: list[set[Any]] = []
    for i, vec in enumerate(vectors):
        best = _nearest_free(sums, counts, holds, vec, photo_of[i], threshold)
        if best is not None:
            sums[best] = sums[best] + vec
            counts[best] += 1
            holds[best].add(photo_of[i])
            continue
        sums.append(vec.astype(np.float64))
        counts.append(1)
        holds.append({photo_of[i]})
    if not sums:
        return []
    means = np.stack(sums) / np.array(counts)[:, None]
    d = np.linalg.norm(vectors[:, None, :] - means[None, :, :], axis=2)
    groups: dict[int, list[int]] = {}
    taken: dict[int, set[Any]] = {}
    for i in sorted(range(len(vectors)), key=lambda i: float(d[i].min())):
        key = -1 - i  # a vector farther than the threshold from every free mean stays on its own
        for c in np.argsort(d[i]):
            if d[i, c] >= threshold:
                break
            if photo_of[i] not in taken.setdefault(int(c), set()):
                key = int(c)
                taken[key].add(photo_of[i])
                break
        groups.setdefault(key, []).append(i)
    # A cluster (a lone face too) whose mean lies within ``late_join`` of a well-seen one's
    # (LATE_MIN_FACES or more) and that shares no photo with it joins it, the closest pairs first.
    while late_join is not None and _late_merges(groups, vectors, photo_of, late_join):
        pass
    # In the order of each cluster's first face, so people are numbered as their faces came.
    return sorted((sorted(members) for members in groups.values()), key=lambda m: m[0])


def _late_merges(
    groups: dict[int, list[int]], vectors: np.ndarray, photo_of: list[Any], late_join: float
) -> bool:
    """One pass of the late merges in ``cluster`` (changes ``groups``; whether any was made).
    Distances are between the means at the pass's start, the closest pairs first; a cluster
    that took others in this pass is not itself taken until the next pass, and one taken takes
    nothing more."""
    keys = list(groups)
    sizes = np.array([len(groups[k]) for k in keys])
    well = np.flatnonzero(sizes >= LATE_MIN_FACES)
    if not len(well) or len(keys) < 2:
        return False
    means = np.stack([vectors[groups[k]].mean(axis=0) for k in keys])
    square = (means**2).sum(axis=1)
    d2 = square[well][:, None] + square[None, :] - 2.0 * means[well] @ means.T
    d = np.sqrt(np.clip(d2, 0.0, None))
    # The larger takes the smaller; of two alike, the one listed first takes the other.
    larger = (sizes[None, :] < sizes[well][:, None]) | (
        (sizes[None, :] == sizes[well][:, None]) & (np.arange(len(keys))[None, :] > well[:, None])
    )
    rows, cols = np.nonzero((d < late_join) & larger)
    held: dict[int, set[Any]] = {}
    took: set[int] = set()
    taken: set[int] = set()
    for r, c in sorted(zip(rows.tolist(), cols.tolist()), key=lambda rc: d[rc[0], rc[1]]):
        a, b = int(well[r]), int(c)
        if a in taken or b in taken or b in took:
            continue
        ka, kb = keys[a], keys[b]
        if ka not in held:
            held[ka] = {photo_of[i] for i in groups[ka]}
        photos = {photo_of[i] for i in groups[kb]}
        if held[ka] & photos:
            continue
        groups[ka].extend(groups.pop(kb))
        held[ka] |= photos
        took.add(a)
        taken.add(b)
    return bool(taken)


def late_joins(
    vectors: np.ndarray,
    photos: list[Any],
    means: np.ndarray,
    holds: list[set[Any]],
    threshold: float = LATE_JOIN,
) -> dict[int, int]:
    """Which of ``vectors`` (faces left alone) join which of ``means`` (well-seen people): each
    the nearest within ``threshold`` whose photos (``holds``, updated here) do not hold its photo,
    the nearest pairs first. Row of ``vectors`` -> row of ``means``."""
    d = np.linalg.norm(vectors[:, None, :] - means[None, :, :], axis=2)
    placed: dict[int, int] = {}
    for flat in np.argsort(d, axis=None):
        row, k = divmod(int(flat), d.shape[1])
        if d[row, k] >= threshold:
            break
        if row in placed or photos[row] in holds[k]:
            continue
        placed[row] = k
        holds[k].add(photos[row])
    return placed


def _nearest_free(
    sums: list[np.ndarray],
    counts: list[int],
    holds: list[set[Any]],
    vec: np.ndarray,
    photo: Any,
    threshold: float,
) -> int | None:
    """The nearest cluster within ``threshold`` that does not hold ``photo`` yet."""
    if not sums:
        return None
    means = np.stack(sums) / np.array(counts)[:, None]
    d = np.linalg.norm(means - vec, axis=1)
    for c in np.argsort(d):
        if d[c] >= threshold:
            return None
        if photo not in holds[c]:
            return int(c)
    return None


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
