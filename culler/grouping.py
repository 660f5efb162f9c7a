"""Bursts and near-duplicates: which photos belong to one moment (no Qt, no scores).

Bursts are runs of frames from one camera whose capture times (EXIF DateTimeOriginal plus sub-seconds)
are at most ``burst_gap`` seconds apart. Near-duplicates are photos whose dHash differs in few bits, or
whose cached CLIP embeddings are nearly parallel. :func:`culler.cull.update_groups` ranks and stores them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from culler.catalog import Catalog, now

#: Table the ``grouping`` plugin creates: what each photo looked like when it was last grouped.
STATE_TABLE = "grouping_state"


@dataclass(frozen=True)
class GroupingOptions:
    """How photos are grouped. Bursts: same camera, frames at most ``burst_gap`` seconds apart.

    Near-duplicates: dHash distance at most ``phash_distance`` bits of 64, or, when both photos have a
    cached embedding, cosine similarity at least ``clip_similarity``.
    """

    burst_gap: float = 2.0
    phash_distance: int = 8
    clip_similarity: float = 0.95
    embedding_model: str | None = None  # default: the model with the most cached embeddings


@dataclass
class Group:
    kind: str  # "burst" | "duplicate"
    members: list[int]
    id: int | None = None


def capture_time(taken_at: str | None, subsec: str | None = None) -> float | None:
    """Seconds since the epoch of an ISO ``taken_at`` plus EXIF sub-seconds ("12" means .12 s)."""
    if not taken_at:
        return None
    try:
        when = dt.datetime.fromisoformat(taken_at)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)  # camera local time: only differences matter
    seconds = when.timestamp()
    digits = "".join(ch for ch in str(subsec or "") if ch.isdigit())
    if digits and when.microsecond == 0:
        seconds += int(digits) / 10 ** len(digits)
    return seconds


def find_bursts(photos: list[dict[str, Any]], gap: float) -> list[list[int]]:
    """Runs of frames from one camera whose consecutive capture times are at most ``gap`` s apart."""
    timed = [
        (p.get("camera") or "", t, p["id"])
        for p in photos
        if (t := capture_time(p.get("taken_at"), p.get("subsec"))) is not None
    ]
    timed.sort()
    bursts, run = [], []
    for camera, t, pid in timed:
        if run and (camera != run[-1][0] or t - run[-1][1] > gap):
            if len(run) > 1:
                bursts.append([r[2] for r in run])
            run = []
        run.append((camera, t, pid))
    if len(run) > 1:
        bursts.append([r[2] for r in run])
    return bursts


def _hash_array(hashes: list[str]) -> np.ndarray:
    return np.array([int(h, 16) for h in hashes], dtype=np.uint64)


_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def _popcount(x: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x)
    return _POPCOUNT8[x.view(np.uint8)].reshape(*x.shape, 8).sum(-1)


def similar_pairs(
    ids: list[int],
    hashes: list[str | None],
    vectors: dict[int, np.ndarray],
    options: GroupingOptions,
    among: Iterable[int] | None = None,
) -> list[tuple[int, int]]:
    """Pairs of near-duplicates; with ``among``, only pairs with at least one photo from it.

    Vectorised (one row of comparisons per query photo), so a scan that adds a hundred photos to a
    100,000-photo catalog compares 10⁷ pairs, not 10¹⁰.
    """
    index = {pid: i for i, pid in enumerate(ids)}
    queries = [index[p] for p in (ids if among is None else among) if p in index]
    has_hash = np.array([h is not None for h in hashes])
    codes = _hash_array([h or "0" for h in hashes])
    have_vec = np.array([pid in vectors for pid in ids])
    matrix = None
    if have_vec.any():
        dim = len(next(iter(vectors.values())))
        matrix = np.zeros((len(ids), dim), dtype=np.float32)
        for pid, vec in vectors.items():
            if pid in index and len(vec) == dim:
                matrix[index[pid]] = vec / (np.linalg.norm(vec) or 1.0)
    query_set = set(queries)
    pairs = []
    for q in queries:
        close = np.zeros(len(ids), dtype=bool)
        if has_hash[q]:
            close |= has_hash & (_popcount(codes ^ codes[q]) <= options.phash_distance)
        if matrix is not None and have_vec[q]:
            close |= have_vec & (matrix @ matrix[q] >= options.clip_similarity)
        close[q] = False
        for j in np.flatnonzero(close):
            if j in query_set and j < q:
                continue  # reported when j was the query
            pairs.append((ids[q], ids[int(j)]))
    return pairs


def _components(pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        parent[root(a)] = root(b)
    groups: dict[int, list[int]] = {}
    for x in list(parent):
        groups.setdefault(root(x), []).append(x)
    return [sorted(g) for g in groups.values() if len(g) > 1]


def _default_model(catalog: Catalog) -> str | None:
    row = catalog.execute(
        "SELECT model FROM embeddings GROUP BY model ORDER BY COUNT(*) DESC LIMIT 1"
    ).fetchone()
    return row[0] if row else None


def _has_state(catalog: Catalog) -> bool:
    return bool(
        catalog.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [STATE_TABLE]
        ).fetchone()
    )


def compute_groups(
    catalog: Catalog, options: GroupingOptions | None = None, full: bool = True
) -> tuple[list[Group], set[int]]:
    """Bursts and near-duplicate groups of the catalog's readable photos (nothing is written).

    With ``full=False`` near-duplicates are searched only around photos whose hash or embedding changed
    since the last grouping (the ``grouping_state`` table), plus the members of stored duplicate groups.
    Returns the groups and the ids whose grouping facts were (re)examined.
    """
    options = options or GroupingOptions()
    photos = catalog.query(
        "SELECT id, taken_at, subsec, camera, phash FROM photos WHERE status = 'ok' ORDER BY id"
    )
    model = options.embedding_model or _default_model(catalog)
    vectors = catalog.embeddings(model) if model else {}
    ids = [p["id"] for p in photos]
    ok = set(ids)
    vectors = {pid: v for pid, v in vectors.items() if pid in ok}
    bursts = find_bursts(photos, options.burst_gap)

    phash_of = {p["id"]: p["phash"] for p in photos}
    dirty = set(ids)
    pairs: list[tuple[int, int]] = []
    if not full and _has_state(catalog):
        seen = {
            r[0]: (r[1], bool(r[2]))
            for r in catalog.execute(f"SELECT photo_id, phash, has_vector FROM {STATE_TABLE}")
        }
        dirty = {p["id"] for p in photos if seen.get(p["id"]) != (p["phash"], p["id"] in vectors)}
        stored = catalog.execute(
            "SELECT m.group_id, m.photo_id FROM group_members m JOIN groups g ON g.id = m.group_id"
            " WHERE g.kind = 'duplicate'"
        ).fetchall()
        by_group: dict[int, list[int]] = {}
        for gid, pid in stored:
            if pid in ok and pid not in dirty:
                by_group.setdefault(gid, []).append(pid)
        # Two unchanged photos are near-duplicates now exactly when they were before: re-check
        # only pairs inside stored groups (a changed photo may have been what linked them).
        for members in by_group.values():
            pairs += similar_pairs(members, [phash_of[m] for m in members], vectors, options)
    hashes = [p["phash"] for p in photos]
    pairs += similar_pairs(ids, hashes, vectors, options, among=sorted(dirty))
    burst_of = {pid: i for i, members in enumerate(bursts) for pid in members}
    duplicates = [
        members
        for members in _components(pairs)
        if len({burst_of.get(pid, -pid) for pid in members}) > 1  # not just frames of one burst
    ]
    groups = [Group("burst", m) for m in bursts] + [Group("duplicate", m) for m in duplicates]
    return groups, dirty


def stored_groups(catalog: Catalog) -> list[Group]:
    """The groups in the catalog, members best first."""
    groups: dict[int, Group] = {}
    for gid, kind, pid in catalog.execute(
        "SELECT g.id, g.kind, m.photo_id FROM groups g JOIN group_members m ON m.group_id = g.id"
        " ORDER BY g.id, m.rank IS NULL, m.rank, m.photo_id"
    ):
        groups.setdefault(gid, Group(kind, [], gid)).members.append(pid)
    return list(groups.values())


def write_groups(
    catalog: Catalog, groups: list[Group], options: GroupingOptions, examined: set[int]
) -> dict[str, int]:
    """Store ``groups`` (members best first); unchanged groups keep their ids, so the GUI's open stacks
    stay open. Records the examined photos' facts for the next incremental run."""
    old = {(g.kind, frozenset(g.members)): g.id for g in stored_groups(catalog)}
    new_keys = {(g.kind, frozenset(g.members)) for g in groups}
    added = removed = 0
    with catalog.transaction() as conn:
        for key, gid in old.items():
            if key not in new_keys:
                conn.execute("DELETE FROM groups WHERE id = ?", [gid])
                removed += 1
        for group in groups:
            gid = old.get((group.kind, frozenset(group.members)))
            if gid is None:
                gid = conn.execute(
                    "INSERT INTO groups (kind, created) VALUES (?, ?)", [group.kind, now()]
                ).lastrowid
                added += 1
            group.id = gid
            conn.executemany(
                "INSERT INTO group_members (group_id, photo_id, rank) VALUES (?, ?, ?)"
                " ON CONFLICT (group_id, photo_id) DO UPDATE SET rank = excluded.rank",
                [(gid, pid, rank) for rank, pid in enumerate(group.members)],
            )
        if _has_state(catalog):
            _save_state(conn, catalog, options, examined)
    return {"groups": len(groups), "added": added, "removed": removed, "examined": len(examined)}


def _save_state(conn, catalog: Catalog, options: GroupingOptions, examined: set[int]) -> None:
    model = options.embedding_model or _default_model(catalog)
    with_vectors = (
        {r[0] for r in conn.execute("SELECT photo_id FROM embeddings WHERE model = ?", [model])}
        if model
        else set()
    )
    conn.execute(
        f"DELETE FROM {STATE_TABLE} WHERE photo_id NOT IN (SELECT id FROM photos WHERE status = 'ok')"
    )
    rows = conn.execute("SELECT id, phash FROM photos WHERE status = 'ok'").fetchall()
    conn.executemany(
        f"INSERT OR REPLACE INTO {STATE_TABLE} (photo_id, phash, has_vector) VALUES (?, ?, ?)",
        [(pid, ph, int(pid in with_vectors)) for pid, ph in rows if pid in examined],
    )
