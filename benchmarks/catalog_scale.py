"""A 100,000-photo catalog: first scan, no-change rescan, ``culler list --sort`` and GUI model load times.

Writes N small JPEGs (64×48, a few hundred distinct images cycled with a per-file EXIF-free comment so
every file has its own content hash) into 100 folders of a temp directory, then times, each as a user
runs it (a fresh ``culler`` process):

* first scan (technical scorer only, thumbnails written: the whole pipeline);
* rescan with nothing changed (goals: under 5 s for 100,000 files, under 10 s for 1,000,000), with
  the CPU seconds (user + system) of the ``culler scan`` process and, for comparison, the same rescan
  through the planner (discovery and ``plan_scan`` of every file, as scans did before the folder-by-
  folder proof of ``culler.scan.unchanged``);
* ``culler list --sort technical --json`` (all rows, written to /dev/null);
* the GUI grid's model load (``culler.gui.records.load_records`` + ``PhotoListModel.set_records``), or
  ``culler.catalog.queries.list_photos`` when the GUI is not installed.

Usage: python benchmarks/catalog_scale.py [--photos 100000] [--repeat 3] [--keep DIR] [--db PATH]
    [--rescan-only]

``--keep DIR`` keeps the files (generated once), ``--db PATH`` the catalog (scanned once: a first scan
of 100,000 files takes about 12 minutes on the shared 2-core machine); ``--rescan-only`` times the
no-change rescans only. ``--copies K`` times the rescans of K copies of that scanned archive: the
folders copied with their files' sizes and mtimes (``shutil.copytree``), the catalog's photo and score
rows copied with the new paths, into ``DIR-xK`` and ``PATH-xK.db`` (kept): real files on disk and the
catalog a scan of them leaves, at sizes whose first scan the shared machine cannot afford.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PER_FOLDER = 1000


def generate(root: Path, count: int) -> None:
    """Write ``count`` distinct 64×48 JPEGs (skipped when a kept folder already has them)."""
    import numpy as np
    from PIL import Image

    from culler.testing import available_samples

    marker = root / f".generated-{count}"
    if marker.exists():
        return
    rng = np.random.default_rng(0)
    variants = []
    for _, image in available_samples():
        small = image.resize((64, 48))
        for _ in range(50):
            shifted = np.asarray(small, dtype=np.int16) + rng.integers(-20, 20, 3)
            buf = io.BytesIO()
            Image.fromarray(shifted.clip(0, 255).astype(np.uint8)).save(buf, "JPEG", quality=90)
            variants.append(buf.getvalue())
    for i in range(count):
        folder = root / f"day{i // PER_FOLDER:03d}"
        if i % PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        data = variants[i % len(variants)]
        # A JPEG comment segment after SOI makes each file's bytes (and content hash) unique.
        comment = f"culler benchmark {i}".encode()
        segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
        (folder / f"IMG_{i:06d}.jpg").write_bytes(data[:2] + segment + data[2:])
    marker.touch()


#: A ``culler scan`` whose folder-by-folder proof is switched off: every file discovered and planned.
PLANNER_ONLY = (
    "import sys\n"
    "from culler.scan import pipeline\n"
    "pipeline.unchanged_files = lambda *a, **k: None\n"
    "from culler.cli import cli\n"
    "cli.main(sys.argv[1:], prog_name='culler')\n"
)


def run_cli(
    args: list[str], stdout=subprocess.PIPE, planner_only: bool = False
) -> tuple[float, str, float]:
    """Run ``culler ARGS`` in a fresh process: (wall seconds, stdout, CPU seconds of the child)."""
    import resource

    env = {**os.environ, "CULLER_LOAD_PLUGINS": "technical"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # time an installed culler: bytecode cached
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    command = ["-c", PLANNER_ONLY] if planner_only else ["-m", "culler"]
    done = subprocess.run(
        [sys.executable, *command, *args], env=env, check=True, stdout=stdout, text=True
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, done.stdout or "", cpu


def gui_model_load(db: Path) -> tuple[str, float]:
    """Seconds to load the GUI grid's model (or the CLI list query when the GUI is absent)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from culler.catalog import open_catalog

    catalog = open_catalog(db)
    try:
        try:
            from PySide6.QtCore import QCoreApplication

            from culler.gui.item_models import PhotoListModel
            from culler.gui.records import load_records
        except ImportError:
            from culler.catalog.queries import list_photos

            start = time.perf_counter()
            list_photos(catalog, sort_by="technical")
            return "culler.catalog.queries.list_photos", time.perf_counter() - start
        _app = QCoreApplication.instance() or QCoreApplication([])
        start = time.perf_counter()
        model = PhotoListModel()
        model.set_records(load_records(catalog))
        assert model.rowCount() > 0
        return "GUI PhotoListModel", time.perf_counter() - start
    finally:
        catalog.close()


def replicate(root: Path, db: Path, copies: int) -> tuple[Path, Path]:
    """``copies`` copies of the scanned archive ``root`` (catalog ``db``), made once and kept."""
    import sqlite3

    out_root = root.with_name(f"{root.name}-x{copies}")
    out_db = db.with_name(f"{db.stem}-x{copies}.db")
    if out_db.exists():
        return out_root, out_db
    real_root = os.path.realpath(root)
    for i in range(copies):
        target = out_root / f"copy{i:03d}"
        if not target.exists():
            shutil.copytree(root, target)  # copy2: sizes and mtimes kept
    tmp = out_db.with_suffix(".building")
    shutil.copyfile(db, tmp)
    conn = sqlite3.connect(tmp)
    columns = [r[1] for r in conn.execute("PRAGMA table_info(photos)") if r[1] != "id"]
    rest = ", ".join(c for c in columns if c not in ("path", "root"))
    score_cols = ", ".join(
        r[1] for r in conn.execute("PRAGMA table_info(scores)") if r[1] != "photo_id"
    )
    (n,) = conn.execute("SELECT max(id) FROM photos").fetchone()
    with conn:
        for i in range(1, copies):
            new_root = os.path.realpath(out_root / f"copy{i:03d}")
            conn.execute(
                f"INSERT INTO photos (id, path, root, {rest}) SELECT id + ?, ? || substr(path, ?),"
                f" ?, {rest} FROM photos WHERE id <= ?",
                [i * n, new_root, len(real_root) + 1, new_root, n],
            )
            conn.execute(
                f"INSERT INTO scores (photo_id, {score_cols}) SELECT photo_id + ?, {score_cols}"
                " FROM scores WHERE photo_id <= ?",
                [i * n, n],
            )
            print(f"  catalog copy {i + 1}/{copies}", file=sys.stderr)
        first = os.path.realpath(out_root / "copy000")
        conn.execute(
            "UPDATE photos SET path = ? || substr(path, ?), root = ? WHERE id <= ?",
            [first, len(real_root) + 1, first, n],
        )
    conn.close()
    tmp.rename(out_db)
    return out_root, out_db


def rescans(root: Path, db: Path, photos: int, repeat: int, planner_only: bool) -> str:
    walls, cpus, inside = [], [], []
    for _ in range(repeat):
        seconds, out, cpu = run_cli(
            ["scan", str(root), "--db", str(db), "--json"], planner_only=planner_only
        )
        summary = json.loads(out)
        assert summary["skipped"] == photos and summary["decoded"] == 0, summary
        walls.append(seconds)
        cpus.append(cpu)
        inside.append(summary["seconds"])
    return (
        f"best {min(walls):.2f} s wall, {min(cpus):.2f} s CPU "
        f"(median {statistics.median(walls):.2f} s wall, {statistics.median(cpus):.2f} s CPU; "
        f"inside the scan: best {min(inside):.2f} s)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="Generate into (and reuse) DIR.")
    parser.add_argument("--db", type=Path, default=None, help="Scan into (and reuse) this catalog.")
    parser.add_argument(
        "--rescan-only", action="store_true", help="Time the no-change rescans only."
    )
    parser.add_argument(
        "--copies", type=int, default=0, help="Time K copies of the scanned archive (kept)."
    )
    parser.add_argument(
        "--skip-planner", action="store_true", help="Leave out the rescan through the planner."
    )
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="culler-scale-"))
    root = args.keep or tmp / "photos"
    db = args.db or tmp / "culler.db"
    try:
        start = time.perf_counter()
        generate(root, args.photos)
        print(f"{args.photos} files of 64×48 ready in {time.perf_counter() - start:.1f} s")

        if not db.exists():
            seconds, out, _ = run_cli(["scan", str(root), "--db", str(db), "--json"])
            summary = json.loads(out)
            assert summary["decoded"] == args.photos, summary
            print(
                f"first scan: {seconds:.1f} s ({args.photos / seconds:.0f} files/s), "
                f"{summary['errors']} errors"
            )
        if args.copies:
            root, db = replicate(root, db, args.copies)
            args.photos *= args.copies
            print(f"{args.photos:,} files: {args.copies} copies of the scanned archive")
        print(f"no-change rescan: {rescans(root, db, args.photos, args.repeat, False)}")
        if not args.skip_planner:
            print(
                "no-change rescan through the planner (before): "
                f"{rescans(root, db, args.photos, args.repeat, True)}"
            )
        if args.rescan_only:
            return
        lists = []
        for _ in range(args.repeat):
            with open(os.devnull, "w") as sink:
                seconds, _, _ = run_cli(
                    ["list", "--db", str(db), "--sort", "technical", "--json"], stdout=sink
                )
            lists.append(seconds)
        print(
            f"culler list --sort technical --json: best {min(lists):.2f} s, "
            f"median {statistics.median(lists):.2f} s"
        )
        loads = [gui_model_load(db) for _ in range(args.repeat)]
        times = [t for _, t in loads]
        print(
            f"{loads[0][0]} load: best {min(times):.2f} s, median {statistics.median(times):.2f} s"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
