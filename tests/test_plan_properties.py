"""The scan planner against a reference model: random sequences of new files, same-size edits, moves,
renames of files and sub-folders, deletions, unreadable files, ratings and rescans, each followed by
a real scan (culler.scan, which plans with culler.scan.plan.plan_scan) and compared row by row.

Every photo is an uncompressed TIFF of the same dimensions, so every file has the same size and
only the content hash tells two photos apart: a move must be recognised by its bytes, never by its
size, and a same-size edit must be rescored. Each photo is a crop of a real sample photograph whose
first pixel carries a content number; the test scorer reports that number, so the expected score of
every row follows from the model, not from the code under test.

The model (what the planner's docstring promises):
- a file at a path the catalog knows: unchanged (same size and mtime) is skipped; an error row for
  the same bytes is retried; anything else changed: rescored, rating kept;
- a new path whose bytes are those of a vanished row (not already missing) is that row moved: it
  keeps its scores and rating; otherwise it is a new row;
- vanished rows are marked missing, never dropped; a file that cannot be decoded has one error row.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from PIL import Image

import culler
from culler.catalog import open_catalog
from culler.plugin.scorers import Scorer, ScoreResult
from culler.scan import ScanOptions, scan_folders
from culler.testing import sample_image

SIZE = (48, 32)
BROKEN = -1  # the content number of a file that cannot be decoded
SUBFOLDERS = ("a", "a/b", "c")
_BASE = np.asarray(sample_image("astronaut").convert("RGB"))


class Marker(Scorer):
    """Reports the content number carried by the first pixel (0-255) on the 0-10 scale."""

    id = "marker"
    description = "content number of a test photo"

    def score_batch(self, images):
        return [
            ScoreResult(score=int(im.convert("RGB").getpixel((0, 0))[0]) / 25.5) for im in images
        ]


class MarkerPlugin:
    @staticmethod
    @culler.hookimpl
    def register_scorers(register):
        register(Marker)


def photo_bytes(content: int) -> bytes:
    """The bytes of photo number ``content`` (or of a broken file): always the same length."""
    if content == BROKEN:
        return b"not an image " * 400
    y, x = (content * 7) % 400, (content * 13) % 400
    pixels = _BASE[y : y + SIZE[1], x : x + SIZE[0]].copy()
    pixels[0, 0] = (content, 0, 0)
    path = Path(tempfile.mkstemp(suffix=".tif")[1])
    try:
        Image.fromarray(pixels).save(path, compression=None)
        data = path.read_bytes()
    finally:
        path.unlink()
    return data


_LENGTH = len(photo_bytes(1))


@dataclass
class Row:
    """What the catalog should hold for one photo row."""

    path: str
    content: int  # the bytes last scanned at ``path`` (BROKEN for an error row)
    mtime_ns: int
    status: str  # ok, error, missing
    score: float | None
    stars: int | None = None


class World:
    """The folder on disk and the model of the catalog, changed together by the operations."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, tuple[int, int]] = {}  # relative path -> (content, mtime_ns)
        self.rows: list[Row] = []
        self.clock = 1_700_000_000 * 10**9
        self.next_content = 1
        self.next_name = 0
        self.folders = {"", *SUBFOLDERS}

    # -- operations on disk ----------------------------------------------------------------------
    def _write(self, rel: str, content: int) -> None:
        self.clock += 10**9  # every write is a later edit: its mtime differs
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = photo_bytes(content)
        if content == BROKEN:  # as long as a photo: only its bytes tell it apart
            data = (data * (_LENGTH // len(data) + 1))[:_LENGTH]
        path.write_bytes(data)
        os.utime(path, ns=(self.clock, self.clock))
        self.files[rel] = (content, self.clock)

    def _fresh(self) -> int:
        content, self.next_content = self.next_content, self.next_content + 1
        return content

    def add(self, folder: int, broken: bool) -> None:
        folders = sorted(self.folders)
        name = f"IMG_{self.next_name:03d}.tif"
        self.next_name += 1
        rel = os.path.join(folders[folder % len(folders)], name)
        self._write(rel, BROKEN if broken else self._fresh())

    def edit(self, pick: int, broken: bool) -> None:
        if self.files:
            rel = sorted(self.files)[pick % len(self.files)]
            self._write(rel, BROKEN if broken else self._fresh())

    def move(self, pick: int, folder: int) -> None:
        """Move a file to another folder (or rename it in its own): bytes and mtime unchanged."""
        if not self.files:
            return
        rel = sorted(self.files)[pick % len(self.files)]
        folders = sorted(self.folders)
        name = f"IMG_{self.next_name:03d}.tif"
        self.next_name += 1
        target = os.path.join(folders[folder % len(folders)], name)
        (self.root / target).parent.mkdir(parents=True, exist_ok=True)
        os.rename(self.root / rel, self.root / target)
        self.files[target] = self.files.pop(rel)

    def rename_folder(self, pick: int) -> None:
        """Rename a sub-folder of the scanned root, with everything under it."""
        folders = sorted(f for f in self.folders if f and (self.root / f).is_dir())
        if not folders:
            return
        old = folders[pick % len(folders)]
        new = f"{old}-{self.next_name}"
        self.next_name += 1
        os.rename(self.root / old, self.root / new)
        prefix = old + os.sep
        self.files = {
            (new + rel[len(old) :] if rel.startswith(prefix) else rel): v
            for rel, v in self.files.items()
        }
        self.folders = {
            (new + f[len(old) :] if f == old or f.startswith(prefix) else f) for f in self.folders
        }

    def delete(self, pick: int) -> None:
        if self.files:
            rel = sorted(self.files)[pick % len(self.files)]
            (self.root / rel).unlink()
            del self.files[rel]

    # -- the model of a scan ---------------------------------------------------------------------
    def expect_scan(self) -> dict[str, int]:
        """Apply a scan to the model rows; return the summary counts it should print."""
        counts = dict(new=0, changed=0, moved=0, skipped=0, missing=0)
        by_path = {r.path: r for r in self.rows}
        live = {str(self.root / rel): v for rel, v in self.files.items()}
        fresh = []
        for path, (content, mtime) in sorted(live.items()):
            row = by_path.get(path)
            if row is None:
                fresh.append(path)
            elif row.status == "ok" and row.mtime_ns == mtime:
                counts["skipped"] += 1
            elif row.status == "error" and row.mtime_ns == mtime:
                pass  # the same unreadable bytes: retried, still an error
            else:
                counts["changed"] += 1
                self._scanned(row, content, mtime)
        gone = [r for r in self.rows if r.path not in live and r.status != "missing"]
        for path in fresh:
            content, mtime = live[path]
            match = next(
                (
                    r
                    for r in gone
                    if content != BROKEN and r.status == "ok" and r.content == content
                ),
                None,
            )
            if match is None:
                counts["new"] += 1
                row = Row(path, content, mtime, "ok", None)
                self._scanned(row, content, mtime)
                self.rows.append(row)
            else:
                counts["moved"] += 1
                gone.remove(match)
                match.path, match.mtime_ns = path, mtime
        for row in gone:
            row.status = "missing"
            counts["missing"] += 1
        return counts

    @staticmethod
    def _scanned(row: Row, content: int, mtime: int) -> None:
        row.content, row.mtime_ns = content, mtime
        row.status = "error" if content == BROKEN else "ok"
        row.score = None if content == BROKEN else content / 25.5


def catalog_rows(catalog) -> dict[str, tuple]:
    scores = catalog.current_scores()
    rows = {}
    for r in catalog.query("SELECT id, path, status FROM photos"):
        rating = catalog.current_rating(r["id"])
        score = scores.get(r["id"], {}).get("marker")
        rows[r["path"]] = (r["status"], None if score is None else round(score, 4), rating["stars"])
    return rows


def model_rows(world: World) -> dict[str, tuple]:
    return {
        r.path: (r.status, None if r.score is None else round(r.score, 4), r.stars)
        for r in world.rows
    }


OPERATIONS = st.one_of(
    st.tuples(st.just("add"), st.integers(0, 9), st.just(False)),
    st.tuples(st.just("add"), st.integers(0, 9), st.just(False)),
    st.tuples(st.just("add"), st.integers(0, 9), st.just(True)),
    st.tuples(st.just("edit"), st.integers(0, 99), st.booleans()),
    st.tuples(st.just("move"), st.integers(0, 99), st.integers(0, 9)),
    st.tuples(st.just("rename_folder"), st.integers(0, 9), st.none()),
    st.tuples(st.just("delete"), st.integers(0, 99), st.none()),
    st.tuples(st.just("rate"), st.integers(0, 99), st.integers(0, 5)),
    st.tuples(st.just("scan"), st.none(), st.none()),
)


def _rate(world: World, catalog, pick: int, stars: int) -> None:
    """Rate a photo the last scan left readable, by its catalog row (as the GUI does)."""
    rated = sorted(r.path for r in world.rows if r.status == "ok")
    if not rated:
        return
    path = rated[pick % len(rated)]
    catalog.rate(catalog.photo_by_path(path)["id"], stars=stars, source="cli")
    next(r for r in world.rows if r.path == path).stars = stars


@pytest.fixture
def marker_scorer(register_test_plugin):
    register_test_plugin(MarkerPlugin, "marker-test")


@settings(
    max_examples=12,
    deadline=None,
    # Under mutation testing (scripts/mutation.py) a failure only has to be found, not shrunk.
    phases=[Phase.explicit, Phase.reuse, Phase.generate]
    if os.environ.get("MUTANT_UNDER_TEST")
    else list(Phase),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(OPERATIONS, min_size=3, max_size=14))
def test_scans_follow_the_reference_model(marker_scorer, steps):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "shoot"
        root.mkdir()
        world = World(root)
        catalog = open_catalog(Path(tmp) / "culler.db")
        options = ScanOptions(scorer_ids=["marker"], workers=0, thumbnails=False)
        # A scanned shoot to start from, so that every example edits, moves and deletes photos
        # the catalog already knows: six photos across the folders and one unreadable file.
        start = [("add", folder, False) for folder in range(4)] + [("add", 1, False)]
        start += [("add", 3, False), ("add", 0, True), ("scan", None, None)]
        try:
            # Two scans at the end: the second one, with nothing changed, must change nothing.
            end = [("scan", None, None), ("scan", None, None)]
            for kind, a, b in [*start, *steps, *end]:
                if kind == "scan":
                    expected = world.expect_scan()
                    summary = scan_folders(catalog, [root], options, echo=lambda m: None)
                    assert {k: summary[k] for k in expected} == expected, steps
                    assert catalog_rows(catalog) == model_rows(world), steps
                elif kind == "rate":
                    _rate(world, catalog, a, b)
                elif kind in ("add", "edit"):
                    getattr(world, kind)(a, b)
                elif kind == "move":
                    world.move(a, b)
                else:
                    getattr(world, kind)(a)
        finally:
            catalog.close()
            shutil.rmtree(root, ignore_errors=True)
