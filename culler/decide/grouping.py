"""Bursts and near-duplicates: which photos belong to one moment (no Qt, no scores).

Bursts are runs of frames from one camera whose capture times (EXIF DateTimeOriginal plus sub-seconds)
are at most ``burst_gap`` seconds apart.

Near-duplicates are looked for only inside one shoot: photos from one camera at most
``shoot_window`` seconds apart, and a photo without a capture time (an export, a scan) with the photos
under the same scanned folder. A pair is called a near-duplicate only on strong evidence: identical
content, or a signature match (:mod:`culler.imaging.signatures`: close 256-bit DCT hashes, matching colour
layouts, and the 32×32 thumbnails confirmed pixel by pixel), or nearly parallel cached CLIP embeddings.
Candidates come from a sliding time window and from banded hashes (multi-index hashing), so the work
grows with the size of a shoot, not with the square of the catalog.

:func:`find_duplicates` searches the whole archive across shoots with stricter evidence, for the
``culler duplicates`` command; its results are reported, never stored as groups, never auto-rejected.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from culler.catalog import Catalog, now
from culler.catalog.groups import facts_digest
from culler.imaging.signatures import (
    Signature,
    decode_thumbnails,
    layout_distance,
    layout_distances,
    layout_features,
    low_hash_distance,
    pixel_agreement,
    popcount64,
)


@dataclass(frozen=True)
class Evidence:
    """What a signature pair must show to be the same picture (measured in docs/culling.md)."""

    hash_distance: int  # of 256 bits
    layout_distance: float  # mean chroma / relative luma difference of the 4×4 layout, 0–255
    tone: float  # correlation of the aligned 32×32 thumbnails
    detail: float  # correlation of their high-pass residue
    #: A pair further apart than ``hash_distance`` still qualifies (a crop or zoom scatters the high
    #: frequencies) when its 64 lowest-frequency bits are at most ``low_distance`` apart and its
    #: layouts at most ``crop_layout``: 0.15 % of pairs of distinct real photos pass that test.
    low_distance: int = 0
    crop_layout: float = 0.0


NEAR = Evidence(64, 16.0, 0.90, 0.50, low_distance=20, crop_layout=8.0)
STRICT = Evidence(48, 12.0, 0.95, 0.70, low_distance=16, crop_layout=6.0)
#: Photos whose hashes share a 16-bit band are candidates (16 bands of the 256-bit hash).
BANDS = 16
#: A photo without a capture time is compared with every photo of its scanned folder (one vectorised
#: pass of the hash, low-frequency and layout tests) while the folder holds at most this many: a crop
#: scatters the hash so that about a third of cropped exports share no band with their original.
#: Larger folders fall back on the band index (sub-linear per photo).
LINEAR_ROOT = 5_000
#: Bounds on the candidates of one photo, so that grouping grows no faster than n log n however alike
#: the photos are (10,000 identical frames of a time-lapse, 300 copies each of 300 exports in one
#: folder): at most this many frames each side of a photo in its camera's time order are tested ...
WINDOW_NEIGHBOURS = 500
#: ... at most this many members each side of it in each band bucket and content-hash class ...
BUCKET_NEIGHBOURS = 64
#: ... and of those that pass the cheap vectorised test, only this many closest (hash distance, then
#: time or catalog order) are checked on pixels. A photo linked to its closest copies is linked to the
#: rest of them through those copies (components are what is stored), so a bound this size loses
#: nothing measurable (benchmarks/grouping_scale.py prints recall with and without the bounds).
MAX_CANDIDATES = 24


@dataclass(frozen=True)
class GroupingOptions:
    """How photos are grouped.

    Bursts: same camera, frames at most ``burst_gap`` seconds apart. Near-duplicates: within one shoot
    (``shoot_window`` seconds per camera, or one scanned folder for photos without a capture time),
    signatures at most ``hash_distance`` of 256 bits apart and confirmed on pixels, or cached embeddings
    with cosine similarity at least ``clip_similarity``.
    """

    burst_gap: float = 2.0
    shoot_window: float = 3600.0
    hash_distance: int = NEAR.hash_distance
    clip_similarity: float = 0.95
    embedding_model: str | None = None  # default: the model with the most cached embeddings

    @property
    def evidence(self) -> Evidence:
        return replace(NEAR, hash_distance=self.hash_distance)


@dataclass
class GroupingRun:
    """What a grouping looked at: every photo's grouping facts, and the photos compared again."""

    facts: dict[int, bytes]
    examined: set[int]
    #: Photos whose facts (content, time, camera, folder, signature) changed since the last grouping.
    changed: set[int] = field(default_factory=set)
    #: What the ranks are computed from besides the photos (scores, scorers: see
    #: ``Catalog.scoring_watermark``); stored with the groups so that a scan that changed nothing
    #: regroups nothing. None: not recorded (the next grouping is not skipped).
    watermark: str | None = None
    #: The change log's position read before the photos were (``Catalog.grouping_log_position``):
    #: recorded with the groups, so that the next check reads only what was logged after it.
    log_position: int | None = None
    #: The stored groups as an incremental grouping read them (copies, which ranking does not
    #: reorder): framing and writing compare with these instead of reading every group again.
    stored: list[Group] | None = None
    #: The photos grouped last time that are no longer readable, when an incremental grouping knows
    #: them all (their recorded facts are dropped by id; None: by a pass over the recorded facts).
    gone: set[int] | None = None
    #: The groups are only those that replace :attr:`stored` (an incremental grouping's changes,
    #: :func:`compute_group_changes`): every other stored group stays as it is, unread.
    partial: bool = False


@dataclass
class Group:
    kind: str  # "burst" | "duplicate"
    members: list[int]
    id: int | None = None
    #: What comparing the frames found, by photo id: {"defect", "reason", ...} (see culler.decide.frames).
    frame_defects: dict[int, dict[str, Any]] = field(default_factory=dict)


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
    # At most nanoseconds: thousands of digits (a hostile EXIF field) would overflow the division.
    digits = "".join(ch for ch in str(subsec or "")[:64] if "0" <= ch <= "9")[:9]
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


# -- the photos being compared ----------------------------------------------------------------------


class PhotoSet:
    """Photos as arrays for vectorised comparison: times, cameras, roots, hashes, embeddings."""

    def __init__(self, rows: list[dict[str, Any]], vectors: dict[int, np.ndarray]) -> None:
        self.ids = [r["id"] for r in rows]
        self.index = {pid: i for i, pid in enumerate(self.ids)}
        n = len(rows)
        self.rows = rows
        self.times = np.array(
            [capture_time(r.get("taken_at"), r.get("subsec")) for r in rows], dtype=object
        )
        self.timed = np.array([t is not None for t in self.times], dtype=bool)
        self.camera = [r.get("camera") or "" for r in rows]
        self.root = [r.get("root") or "" for r in rows]
        self.seconds = np.array([np.nan if t is None else t for t in self.times], dtype=np.float64)
        self.camera_code = _codes(self.camera)
        self.root_code = _codes(self.root)
        self.content = [r.get("content_hash") for r in rows]
        codes: dict[str, int] = {}
        self.content_code = np.array(
            [codes.setdefault(c, len(codes)) if c else -1 for c in self.content], dtype=np.int64
        )
        self.sigs: list[Signature | None] = [
            Signature.from_bytes(r["signature"]) if r.get("signature") else None for r in rows
        ]
        self.has_sig = np.array([s is not None for s in self.sigs], dtype=bool)
        self.dct = np.zeros((n, 4), dtype=np.uint64)
        layouts = np.zeros((n, 4, 4, 3), dtype=np.uint8)
        for i, s in enumerate(self.sigs):
            if s is not None:
                self.dct[i] = s.dct
                layouts[i] = s.layout
        self.luma, self.chroma = layout_features(layouts)
        self.has_vec = np.zeros(n, dtype=bool)
        self.vectors = None
        if vectors:
            dim = len(next(iter(vectors.values())))
            self.vectors = np.zeros((n, dim), dtype=np.float32)
            for pid, vec in vectors.items():
                i = self.index.get(pid)
                if i is not None and len(vec) == dim:
                    self.vectors[i] = vec / (np.linalg.norm(vec) or 1.0)
                    self.has_vec[i] = True
        self._windows = self._camera_windows()

    def _camera_windows(self) -> dict[str, tuple[list[float], np.ndarray]]:
        by_camera: dict[str, list[tuple[float, int]]] = {}
        for i in np.flatnonzero(self.timed):
            by_camera.setdefault(self.camera[i], []).append((self.times[i], int(i)))
        windows = {
            cam: ([t for t, _ in pairs], np.array([i for _, i in pairs], dtype=np.int64))
            for cam, pairs in ((c, sorted(v)) for c, v in by_camera.items())
        }
        #: Each timed photo's place in its camera's time order.
        self._position = np.zeros(len(self.ids), dtype=np.int64)
        for _, members in windows.values():
            self._position[members] = np.arange(len(members))
        return windows

    def same_shoot(self, i: int, others: np.ndarray, window: float) -> np.ndarray:
        """Which of ``others`` were shot in the same shoot as ``i``: same camera within ``window``
        seconds when both have a capture time, else the same scanned folder."""
        both = self.timed[i] & self.timed[others]
        near = (self.camera_code[others] == self.camera_code[i]) & (
            np.abs(self.seconds[others] - self.seconds[i]) <= window
        )
        return np.where(both, near, self.root_code[others] == self.root_code[i])

    def window_neighbours(self, i: int, window: float, most: int | None = None) -> np.ndarray:
        """Photos from the same camera at most ``window`` seconds from photo ``i``: with ``most``, only
        the ``most`` frames nearest it in time order on each side."""
        times, members = self._windows[self.camera[i]]
        lo = bisect.bisect_left(times, self.times[i] - window)
        hi = bisect.bisect_right(times, self.times[i] + window)
        if most is not None and hi - lo > 2 * most + 1:
            at = self._position[i]
            lo, hi = max(lo, at - most), min(hi, at + most + 1)
        return members[lo:hi]

    #: {root: photos under it in the catalog} when this set holds only part of the catalog (an
    #: incremental grouping): which search a folder gets depends on its size, not on what was read.
    root_sizes: dict[str, int] | None = None

    def root_size(self, root: str, here: int) -> int:
        return here if self.root_sizes is None else self.root_sizes.get(root, here)

    def root_members(self) -> dict[str, np.ndarray]:
        by_root: dict[str, list[int]] = {}
        for i, root in enumerate(self.root):
            by_root.setdefault(root, []).append(i)
        return {r: np.array(v, dtype=np.int64) for r, v in by_root.items()}


def _codes(values: list[str]) -> np.ndarray:
    codes: dict[str, int] = {}
    return np.array([codes.setdefault(v, len(codes)) for v in values], dtype=np.int64)


def load_photo_set(catalog: Catalog, options: GroupingOptions) -> PhotoSet:
    rows = catalog.grouping_photos()
    model = options.embedding_model or catalog.default_embedding_model()
    ok = {r["id"] for r in rows}
    vectors = catalog.embeddings(model) if model else {}
    return PhotoSet(rows, {pid: v for pid, v in vectors.items() if pid in ok})


# -- candidates --------------------------------------------------------------------------------------


class BandIndex:
    """Multi-index hashing: 16 tables keyed by 16-bit slices of the 256-bit hash. Two hashes at most
    15 bits apart always share a slice; copies up to 64 bits apart share one in 97 % of measured cases
    (docs/culling.md), cropped copies much less often (see :data:`LINEAR_ROOT`)."""

    def __init__(self, photos: PhotoSet, members: np.ndarray) -> None:
        self.slices = photos.dct.view(np.uint16)  # 16 slices per photo
        self.tables = [_table(self.slices[:, b], members) for b in range(BANDS)]

    def candidates(self, i: int, most: int | None = None) -> np.ndarray:
        """Photos sharing at least one band with photo ``i`` (may repeat, may include ``i``): with
        ``most``, only the ``most`` members of each bucket nearest ``i`` on each side in catalog order."""
        empty = np.empty(0, dtype=np.int64)
        found = [
            _nearest(self.tables[b].get(int(self.slices[i, b]), empty), i, most)
            for b in range(BANDS)
        ]
        return np.concatenate(found)


def _nearest(members: np.ndarray, i: int, most: int | None) -> np.ndarray:
    """The ``most`` entries of sorted ``members`` on each side of ``i`` (all of them without ``most``)."""
    if most is None or len(members) <= 2 * most + 1:
        return members
    at = int(np.searchsorted(members, i))
    return members[max(0, at - most) : at + most + 1]


def _table(keys: np.ndarray, members: np.ndarray) -> dict[int, np.ndarray]:
    """``key -> members holding it`` (in catalog order)."""
    keys = keys[members]
    order = np.argsort(keys, kind="stable")
    keys, sorted_members = keys[order], members[order]
    values, starts = np.unique(keys, return_index=True)
    groups = np.split(sorted_members, starts[1:])
    # A full bucket (a degenerate hash: blank frames, or a thousand frames of one scene) is kept: each
    # photo takes only its BUCKET_NEIGHBOURS nearest members from it (BandIndex.candidates).
    return {int(v): g for v, g in zip(values, groups)}


def _close(photos: PhotoSet, i: int, others: np.ndarray, options: GroupingOptions) -> np.ndarray:
    """The photos among ``others`` that might be near-duplicates of ``i`` (a cheap, vectorised test;
    :func:`evidence` decides)."""
    if len(others) == 0:
        return others
    keep = np.zeros(len(others), dtype=bool)
    if photos.has_sig[i]:
        distance = popcount64(photos.dct[others] ^ photos.dct[i]).sum(axis=1)
        low = low_hash_distance(photos.dct[others], photos.dct[i])
        rule = options.evidence
        hashed = distance <= rule.hash_distance
        close = photos.has_sig[others] & (hashed | (low <= rule.low_distance))
        near = others[close]  # the colour layout must agree too (the evidence checks it again)
        apart = layout_distances(
            photos.luma[near], photos.chroma[near], photos.luma[i], photos.chroma[i]
        )
        limit = np.where(hashed[close], rule.layout_distance, rule.crop_layout)
        close[np.flatnonzero(close)[apart > limit]] = False
        keep |= close
    if photos.vectors is not None and photos.has_vec[i]:
        cos = photos.vectors[others] @ photos.vectors[i]
        keep |= photos.has_vec[others] & (cos >= options.clip_similarity)
    if photos.content_code[i] >= 0:
        keep |= photos.content_code[others] == photos.content_code[i]
    return others[keep]


def candidate_pairs(
    photos: PhotoSet, options: GroupingOptions, queries: Iterable[int]
) -> set[tuple[int, int]]:
    """Index pairs (i < j) worth checking, each with at least one photo from ``queries``: same camera
    within the shoot window, or (for photos without a capture time) the same scanned folder: those
    sharing a hash band, and every photo of it while it holds at most :data:`LINEAR_ROOT`.

    Bounded per photo (:data:`WINDOW_NEIGHBOURS`, :data:`BUCKET_NEIGHBOURS`, :data:`MAX_CANDIDATES`),
    so identical frames cost what distinct ones do."""
    # A timed photo finds its same-shoot partners in the window; bands only add untimed ones.
    window_most, bucket_most, keep_most = WINDOW_NEIGHBOURS, BUCKET_NEIGHBOURS, MAX_CANDIDATES
    all_bands = BandIndex(photos, np.flatnonzero(photos.has_sig))
    untimed_bands = BandIndex(photos, np.flatnonzero(photos.has_sig & ~photos.timed))
    by_content: dict[str, list[int]] = {}
    for i, chash in enumerate(photos.content):
        if chash:
            by_content.setdefault(chash, []).append(i)
    same_content = {c: np.array(v, dtype=np.int64) for c, v in by_content.items() if len(v) > 1}
    by_root = photos.root_members()
    untimed_of_root = {root: members[~photos.timed[members]] for root, members in by_root.items()}
    pairs: set[tuple[int, int]] = set()
    for i in queries:
        found = []
        root = by_root[photos.root[i]]
        if not photos.timed[i] and not photos.has_sig[i] and photos.has_vec[i]:
            # Scanned before signatures: only its embedding can find it, within its folder (linear
            # per photo up to LINEAR_ROOT; signatures, filled from thumbnails after a scan, replace this).
            found.append(_nearest(root, i, LINEAR_ROOT // 2))
        if photos.timed[i]:
            found.append(photos.window_neighbours(i, options.shoot_window, window_most))
        if photos.has_sig[i]:
            found.append(
                (untimed_bands if photos.timed[i] else all_bands).candidates(i, bucket_most)
            )
            if photos.root_size(photos.root[i], len(root)) <= LINEAR_ROOT:
                found.append((untimed_of_root if photos.timed[i] else by_root)[photos.root[i]])
        same = same_content.get(photos.content[i])
        if same is not None:
            found.append(_nearest(same, i, bucket_most))
        others = np.unique(np.concatenate(found)) if found else np.empty(0, np.int64)
        others = others[others != i]
        close = _close(photos, i, others, options)
        close = close[photos.same_shoot(i, close, options.shoot_window)]
        if keep_most is not None and len(close) > keep_most:
            close = _closest(photos, i, close, keep_most)
        pairs.update((min(i, j), max(i, j)) for j in close.tolist())
    return pairs


def _closest(photos: PhotoSet, i: int, others: np.ndarray, most: int) -> np.ndarray:
    """The ``most`` of ``others`` closest to photo ``i``: identical content first, then by hash
    distance, then by capture time, then by catalog order."""
    same = (photos.content_code[others] == photos.content_code[i]) & (photos.content_code[i] >= 0)
    both = photos.has_sig[others] & photos.has_sig[i]
    distance = np.where(both, popcount64(photos.dct[others] ^ photos.dct[i]).sum(axis=1), 257)
    apart = np.abs(photos.seconds[others] - photos.seconds[i])
    apart = np.where(np.isnan(apart), np.inf, apart)
    order = np.lexsort((np.abs(others - i), apart, distance, ~same))
    return others[order[:most]]


# -- evidence ----------------------------------------------------------------------------------------


def signature_match(a: Signature, b: Signature, rule: Evidence) -> bool:
    """Whether two signatures are the same picture: hashes close, colours alike, pixels agree."""
    far = int(popcount64(a.dct ^ b.dct).sum()) > rule.hash_distance
    if far and int(low_hash_distance(a.dct, b.dct)) > rule.low_distance:
        return False
    if layout_distance(a, b) > (rule.crop_layout if far else rule.layout_distance):
        return False
    tone, detail = pixel_agreement(a, b)
    return tone >= rule.tone and detail >= rule.detail


def prefetch_thumbnails(photos: PhotoSet, pairs: list[tuple[int, int]], rule: Evidence) -> int:
    """Decode, all together, the thumbnails the pixel checks of ``pairs`` (index pairs) will
    compare: those of the pairs whose hashes and colour layouts pass :func:`signature_match`'s
    cheap tests (vectorised here). A version-3 thumbnail decodes in a batch for about a tenth of
    its cost alone (culler.imaging.signatures.decode_thumbnails); what is decoded is exactly what
    was stored, so every verdict is what comparing them one by one gives. A thumbnail this misses
    is decoded when first compared. Returns how many were decoded."""
    if not pairs:
        return 0
    both = np.array(pairs, dtype=np.int64)
    both = both[photos.has_sig[both[:, 0]] & photos.has_sig[both[:, 1]]]
    i, j = both[:, 0], both[:, 1]
    same = (photos.content_code[i] == photos.content_code[j]) & (photos.content_code[i] >= 0)
    far = popcount64(photos.dct[i] ^ photos.dct[j]).sum(axis=1) > rule.hash_distance
    close = ~far | (low_hash_distance(photos.dct[i], photos.dct[j]) <= rule.low_distance)
    apart = layout_distances(photos.luma[i], photos.chroma[i], photos.luma[j], photos.chroma[j])
    close &= apart <= np.where(far, rule.crop_layout, rule.layout_distance)
    needed = np.unique(both[close & ~same])
    return decode_thumbnails(photos.sigs[k] for k in needed.tolist())


def evidence(photos: PhotoSet, i: int, j: int, rule: Evidence, clip: float | None) -> str | None:
    """Why photos ``i`` and ``j`` are near-duplicates (None: they are not).

    ``clip`` None means embeddings alone never suffice (the archive-wide search): the signatures must
    match, and cached embeddings, when both photos have one, must agree as well.
    """
    if photos.content[i] and photos.content[i] == photos.content[j]:
        return "identical file"
    both_vec = photos.vectors is not None and photos.has_vec[i] and photos.has_vec[j]
    cos = float(photos.vectors[i] @ photos.vectors[j]) if both_vec else None
    sig_i, sig_j = photos.sigs[i], photos.sigs[j]
    if sig_i is not None and sig_j is not None and signature_match(sig_i, sig_j, rule):
        if clip is None and cos is not None and cos < 0.9:
            return None
        return "same picture (signatures and pixels match)"
    if clip is not None and cos is not None and cos >= clip:
        return f"nearly the same content (CLIP similarity {cos:.3f})"
    return None


def similar_pairs(
    photos: PhotoSet,
    options: GroupingOptions,
    among: Iterable[int] | None = None,
    spanning: bool = False,
) -> list[tuple[int, int]]:
    """Pairs of near-duplicate photo ids; with ``among`` (photo ids), only pairs touching one of them.

    With ``spanning`` a pair whose photos are already linked through others is not checked (nor
    returned): the pairs then span the same groups with one pixel check per photo linked, which is
    what keeps a thousand identical frames from costing a million checks."""
    if among is None:
        queries = range(len(photos.ids))
    else:
        queries = [photos.index[p] for p in among if p in photos.index]
    rule = options.evidence
    linked = _UnionFind()
    found = []
    pairs = sorted(candidate_pairs(photos, options, queries))
    prefetch_thumbnails(photos, pairs, rule)
    for i, j in pairs:
        if spanning and linked.find(i) == linked.find(j):
            continue
        if evidence(photos, i, j, rule, options.clip_similarity):
            linked.union(i, j)
            found.append((photos.ids[i], photos.ids[j]))
    return found


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        parent = self.parent
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def components(pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    linked = _UnionFind()
    for a, b in pairs:
        linked.union(a, b)
    groups: dict[int, list[int]] = {}
    for x in list(linked.parent):
        groups.setdefault(linked.find(x), []).append(x)
    return [sorted(g) for g in groups.values() if len(g) > 1]


# -- grouping the catalog ----------------------------------------------------------------------------


def _facts(photos: PhotoSet, i: int) -> bytes:
    """What a photo's grouping depends on, as the digest the catalog records (the text
    ``Catalog.grouping_changed_ids`` makes in SQL, digested alike); a photo whose facts changed is
    compared again."""
    r = photos.rows[i]
    return facts_digest(_facts_text(r, photos.has_sig[i], photos.has_vec[i]))  # type: ignore[return-value]


def _facts_text(r: dict[str, Any], has_sig: Any, has_vec: Any) -> str:
    return "|".join(
        str(x)
        for x in (
            r.get("content_hash"),
            r.get("taken_at"),
            r.get("subsec"),
            r.get("camera"),
            r.get("root"),
            int(has_sig),
            int(has_vec),
        )
    )


def compute_groups(
    catalog: Catalog, options: GroupingOptions | None = None, full: bool = True
) -> tuple[list[Group], GroupingRun]:
    """Bursts and near-duplicate groups of the catalog's readable photos (nothing is written).

    With ``full=False`` (and a previous grouping recorded in the grouping plugin's table) only the
    neighbourhood of the photos whose grouping facts changed is read and grouped again: their
    cameras' frames within the shoot window, their folders, and the stored groups those touch
    (:func:`regroup_around`); every other stored group is returned as it is.
    Returns the groups and what was examined (recorded for the next incremental run).
    """
    options = options or GroupingOptions()
    # Read before the photos are: whatever is written meanwhile is logged after it.
    position = catalog.grouping_log_position()
    if not full and _incremental(catalog):
        groups, run = regroup_around(catalog, options)
        run.log_position = position
        return groups, run
    photos = load_photo_set(catalog, options)
    facts = {pid: _facts(photos, i) for i, pid in enumerate(photos.ids)}
    bursts = find_bursts(photos.rows, options.burst_gap)
    seen = catalog.grouping_facts()
    changed = {pid for pid, f in facts.items() if seen.get(pid) != f}
    pairs = similar_pairs(photos, options, spanning=True)
    groups = _groups_of(bursts, pairs)
    return groups, GroupingRun(facts, set(photos.ids), changed, log_position=position)


def compute_group_changes(
    catalog: Catalog, options: GroupingOptions | None = None, rerank: Iterable[int] = ()
) -> tuple[list[Group], GroupingRun]:
    """What an incremental grouping changes, reading only that: the groups that replace the stored
    groups the changed photos reach (``run.stored``, read by id), plus the stored groups holding a
    photo of ``rerank`` (photos scored again since the last grouping) as they are, to be ranked
    again; ``run.partial`` is set and every other stored group is left unread (write them with
    :func:`write_groups`, which then touches only these). A catalog with no incremental state is
    grouped in full (``run.partial`` unset). The groups stored afterwards are the groups
    ``compute_groups(catalog, options, full=False)`` returns, which are a full grouping's."""
    options = options or GroupingOptions()
    position = catalog.grouping_log_position()
    if not _incremental(catalog):
        return compute_groups(catalog, options, full=True)
    groups, touched, run = _regroup_region(catalog, options)
    run.log_position = position
    # Groups none of whose members is regrouped, whose ranks may change with new scores: read as
    # they are, with copies to compare with (ranking reorders the members in place).
    again = set(catalog.groups_touching(rerank)) - set(touched)
    rescored = _groups_by_id(catalog, again)
    groups += rescored
    run.stored = list(touched.values()) + _copies(rescored)
    run.partial = True
    return groups, run


def _incremental(catalog: Catalog) -> bool:
    """Whether a grouping was recorded that an incremental one can build on."""
    return catalog.has_grouping_facts() and catalog.groups_as_recorded()


def _groups_of(bursts: list[list[int]], pairs: list[tuple[int, int]]) -> list[Group]:
    burst_of = {pid: i for i, members in enumerate(bursts) for pid in members}
    duplicates = [
        members
        for members in components(pairs)
        if len({burst_of.get(pid, -pid) for pid in members}) > 1  # not just frames of one burst
    ]
    return [Group("burst", m) for m in bursts] + [Group("duplicate", m) for m in duplicates]


#: Capture times are compared as text when a shoot's window is read from the catalog: this much
#: margin either side covers any time-zone suffix (the exact window is applied after parsing).
_TEXT_MARGIN = 15 * 3600.0


def regroup_around(catalog: Catalog, options: GroupingOptions) -> tuple[list[Group], GroupingRun]:
    """An incremental grouping that reads only what the changes can reach, returned with every
    stored group it did not reach (read as they are): the catalog's groups, as a full grouping
    finds them. :func:`compute_group_changes` returns the changes alone.

    The photos whose facts changed, and the unchanged members of stored groups that changed or
    lost a member (the one that went may have linked them, or split their burst), are searched
    again; what they can pair with lies in their shoot (same camera within the shoot window, or
    their scanned folder), so only those photos are read, with every stored group they belong to
    (a burst runs on past a window's edge). Two unchanged photos are near-duplicates now exactly
    when they were before (evidence is a function of the pair), so a stored group nothing changed
    in is kept unchecked. Work grows with the size of the new shoot, not of the archive.
    """
    regrouped, touched, run = _regroup_region(catalog, options)
    stored = stored_groups(catalog)
    run.stored = _copies(stored)
    return [g for g in stored if g.id not in touched] + regrouped, run


def _regroup_region(
    catalog: Catalog, options: GroupingOptions
) -> tuple[list[Group], dict[int, Group], GroupingRun]:
    """(the groups of the region the changes reach, grouped again; the stored groups they replace,
    by id, read by id; what was examined). Reads the change log, the stored groups the changed
    photos belong to, the photos of their shoots and folders (index ranges), and those photos'
    groups: nothing that grows with the archive."""
    model = options.embedding_model or catalog.default_embedding_model()
    # The change log names the photos written since the last grouping (None: an older catalog,
    # every photo's facts are compared).
    logged = catalog.grouping_logged_since()
    changed = set(catalog.grouping_changed_ids(model, among=logged))
    gone = set(catalog.grouping_gone_ids(among=logged))
    if not changed and not gone:
        return [], {}, GroupingRun({}, set(), set(), gone=gone)
    touched = _groups_by_id(catalog, catalog.groups_touching(changed | gone))
    queries = set(changed)
    for group in touched:
        # The rest of a group that changed or lost a member is searched again: the one that went
        # may have linked a duplicate group, and a burst split in two may now hold a near-duplicate
        # pair across the split (frames of one burst are never stored as a duplicate group).
        queries.update(p for p in group.members if p not in gone)
    shots, folders = _shoots_of(catalog, catalog.grouping_photos_of(queries), options)
    # The frames of the changed photos' shoots are searched again too: two unchanged frames of one
    # burst are never stored as a duplicate group, and a new frame may join them to another.
    queries |= shots
    region = queries | folders
    by_id = {g.id: g for g in touched}
    more = set(catalog.groups_touching(region | gone)) - set(by_id)
    by_id.update((g.id, g) for g in _groups_by_id(catalog, more))
    for group in by_id.values():
        region.update(group.members)
    rows = catalog.grouping_photos_of(region - gone)
    vectors = catalog.embeddings(model, [r["id"] for r in rows]) if model else {}
    photos = PhotoSet(rows, vectors)
    # Whether a folder is compared photo by photo depends on its size in the catalog, not on what
    # was read: counted no further than the limit.
    photos.root_sizes = catalog.root_sizes(photos.root, at_most=LINEAR_ROOT)
    queries &= set(photos.index)
    pairs: list[tuple[int, int]] = []
    for group in by_id.values():
        if group.kind == "duplicate" and not (changed | gone).intersection(group.members):
            present = [p for p in group.members if p in photos.index]
            pairs += [(present[0], p) for p in present[1:]]
    pairs += similar_pairs(photos, options, among=sorted(queries), spanning=True)
    groups = _groups_of(find_bursts(photos.rows, options.burst_gap), pairs)
    facts = {pid: _facts(photos, photos.index[pid]) for pid in changed if pid in photos.index}
    run = GroupingRun(facts, queries, changed & set(photos.index), gone=gone)
    return groups, by_id, run


def _groups_by_id(catalog: Catalog, group_ids: Iterable[int]) -> list[Group]:
    """The stored groups with these ids (members best first, frame defects), read by id."""
    return _assemble(catalog.group_rows_of(group_ids))


def _copies(groups: list[Group]) -> list[Group]:
    return [Group(g.kind, list(g.members), g.id, dict(g.frame_defects)) for g in groups]


def _shoots_of(
    catalog: Catalog, rows: list[dict[str, Any]], options: GroupingOptions
) -> tuple[set[int], set[int]]:
    """Every photo that may share a shoot with one of ``rows``: (the frames of the same camera
    within the shoot window; the untimed photos of a timed photo's folder and every photo of an
    untimed one's folder)."""
    spans: dict[str, list[list[float]]] = {}
    whole_roots, untimed_roots = set(), set()
    for r in rows:
        t = capture_time(r.get("taken_at"), r.get("subsec"))
        root = r.get("root") or ""
        if t is None:
            whole_roots.add(root)
        else:
            untimed_roots.add(root)
            spans.setdefault(r.get("camera") or "", []).append(
                [t - options.shoot_window - _TEXT_MARGIN, t + options.shoot_window + _TEXT_MARGIN]
            )
    shots: set[int] = set()
    for camera, intervals in spans.items():
        intervals.sort()
        merged = [intervals[0]]
        for lo, hi in intervals[1:]:
            if lo <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        for lo, hi in merged:
            shots.update(catalog.photos_shot_between(camera, _text_time(lo), _text_time(hi)))
    folders: set[int] = set()
    for root in whole_roots:
        folders.update(catalog.photos_under_root(root))
    for root in untimed_roots - whole_roots:
        folders.update(catalog.photos_under_root(root, untimed_only=True))
    return shots, folders


def _text_time(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "0000" if seconds < 0 else "9999"
    seconds = min(max(seconds, -62135596800.0), 253402300799.0)  # years 1 to 9999
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def find_duplicates(catalog: Catalog, rule: Evidence = STRICT) -> list[dict[str, Any]]:
    """Duplicates across the whole archive (any shoot, any folder), on strict evidence.

    For the ``culler duplicates`` report only: nothing is stored and nothing feeds auto-cull.
    Returns groups as {"members": [photo ids], "reason": ...}, largest first.
    """
    options = GroupingOptions(shoot_window=float("inf"), hash_distance=rule.hash_distance)
    photos = load_photo_set(catalog, options)
    photos.root_code[:] = 0  # every folder is one "shoot" here
    photos.timed[:] = False  # and capture times do not limit the search
    pairs, reasons = [], {}
    linked = _UnionFind()
    candidates = sorted(candidate_pairs(photos, options, range(len(photos.ids))))
    prefetch_thumbnails(photos, candidates, rule)
    for i, j in candidates:
        if linked.find(i) == linked.find(j):
            continue  # already one group: another check would only repeat a reason
        why = evidence(photos, i, j, rule, clip=None)
        if why:
            linked.union(i, j)
            pair = (photos.ids[i], photos.ids[j])
            pairs.append(pair)
            reasons[pair] = why
    result = []
    why_of: dict[int, set[str]] = {}
    for (a, _), why in reasons.items():
        why_of.setdefault(a, set()).add(why)
    for members in components(pairs):
        why = set().union(*(why_of.get(m, ()) for m in members))
        result.append({"members": members, "reason": "; ".join(sorted(why))})
    return sorted(result, key=lambda g: (-len(g["members"]), g["members"]))


def stored_groups(catalog: Catalog) -> list[Group]:
    """The groups in the catalog, members best first, with the frame defects found when ranked."""
    return _assemble(catalog.group_rows())


def _assemble(rows: Iterable[tuple[int, str, int, str | None]]) -> list[Group]:
    """Groups from (group id, kind, photo id, frame defect JSON) rows, members in row order."""
    import json

    groups: dict[int, Group] = {}
    for gid, kind, pid, defect in rows:
        group = groups.setdefault(gid, Group(kind, [], gid))
        group.members.append(pid)
        if defect:
            group.frame_defects[pid] = json.loads(defect)
    return list(groups.values())


def iter_stored_groups(catalog: Catalog) -> Iterator[Group]:
    """:func:`stored_groups` one group at a time, in id order, read from a cursor."""
    import json

    group: Group | None = None
    for gid, kind, pid, defect in catalog.iter_group_rows():
        if group is None or group.id != gid:
            if group is not None:
                yield group
            group = Group(kind, [], gid)
        group.members.append(pid)
        if defect:
            group.frame_defects[pid] = json.loads(defect)
    if group is not None:
        yield group


def write_groups(catalog: Catalog, groups: list[Group], run: GroupingRun) -> dict[str, int]:
    """Store ``groups`` (members best first); unchanged groups keep their ids, so the GUI's open stacks
    stay open. Records every photo's grouping facts for the next incremental run. With
    ``run.partial`` (:func:`compute_group_changes`) ``groups`` replace ``run.stored`` alone and every
    other stored group is left as it is."""
    import json

    before = run.stored if run.stored is not None else stored_groups(catalog)
    stored = {(g.kind, frozenset(g.members)): g for g in before}
    old = {key: g.id for key, g in stored.items()}
    keep, add, placed = {}, [], []
    for group in groups:
        same = stored.get((group.kind, frozenset(group.members)))
        if (
            same is not None
            and same.members == group.members
            and same.frame_defects == group.frame_defects
        ):
            old.pop((group.kind, frozenset(group.members)))  # stored as it is: nothing to write
            group.id = same.id
            continue
        members = [
            (
                pid,
                rank,
                json.dumps(group.frame_defects[pid]) if pid in group.frame_defects else None,
            )
            for rank, pid in enumerate(group.members)
        ]
        gid = old.pop((group.kind, frozenset(group.members)), None)
        if gid is None:
            add.append((group.kind, members))
            placed.append(group)
        else:
            keep[gid] = members
            group.id = gid
    # Only the facts that changed are written: a regroup after one shoot does not rewrite a
    # million rows of unchanged photos.
    facts = {pid: run.facts[pid] for pid in run.changed if pid in run.facts}
    new_ids = catalog.replace_groups(
        keep, add, old.values(), facts, now(), run.watermark, run.log_position, run.gone
    )
    for group, gid in zip(placed, new_ids):
        group.id = gid
    return {
        # A partial run wrote only its groups: the others, unread, are still stored.
        "groups": catalog.group_total() if run.partial else len(groups),
        "added": len(add),
        "removed": len(old),
        "examined": len(run.examined),
    }
