"""A scan on this machine's process pool against the same scan on a local Ray instance.

Generates N camera-sized (24 MP) JPEGs (as ``scan_throughput.py`` does), then scans them with the
technical scorer into fresh catalogs three ways, each with the same number of CPUs:

* local: ``scan_folders`` with ``--workers W`` (spawned worker processes);
* ray: the same with ``--ray`` on a local Ray instance of W CPUs (workers read the shared path);
* ray, ship bytes: ``--ray --ray-ship-bytes`` (the driver reads every file into the object store).

and prints images/s of each, over the whole scan and steady (from a quarter of the files on), and
the overhead ratio: local steady images/s ÷ Ray steady images/s (1.0: Ray costs nothing; above: it
costs).
Starting Ray and its workers is timed apart (a cluster is up before a scan starts, and keeps its
workers); the local scans include their worker start-up, as a user's scan does. It also prints the per-photo costs that ``docs/scale.md``
sizes a cluster with: decode at reduced size and the technical scorer, in ms of one CPU core.

Usage: python benchmarks/ray_scan.py [--images 32] [--workers 2] [--repeat 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from scan_throughput import generate  # noqa: E402


def scan_once(folder: Path, db: Path, workers: int, backend=None) -> tuple[dict, float]:
    """The scan's summary, and its steady rate: images/s from a quarter of the files to the end,
    which leaves out the start-up (worker processes, first batches) an archive-sized scan amortises.
    """
    from culler.catalog import open_catalog
    from culler.scan import ScanOptions, scan_folders

    marks: list[float] = []
    catalog = open_catalog(db)
    try:
        options = ScanOptions(
            scorer_ids=["technical"],
            workers=workers,
            on_progress=lambda done, total, path: marks.append(time.perf_counter()),
        )
        summary = scan_folders(catalog, [folder], options, echo=lambda m: None, backend=backend)
    finally:
        catalog.close()
    quarter = len(marks) // 4
    steady = (len(marks) - 1 - quarter) / (marks[-1] - marks[quarter]) if quarter else 0.0
    return summary, steady


def rates(
    folder: Path, tmp: Path, name: str, repeat: int, workers: int, backend=None
) -> tuple[float, float]:
    """Best whole-scan and steady images/s of ``repeat`` scans, each into a fresh catalog."""
    best, steady = 0.0, 0.0
    for i in range(repeat):
        run = tmp / f"{name}-{i}"
        run.mkdir()
        summary, rate = scan_once(folder, run / "culler.db", workers, backend)
        assert summary["errors"] == 0 and summary["decoded"] > 0, summary
        best, steady = max(best, summary["images_per_second"]), max(steady, rate)
        shutil.rmtree(run)
    return best, steady


def per_photo_ms(paths: list[Path]) -> dict[str, float]:
    """Median ms of one core per photo: decode at the scan's size, the technical scorer."""
    from culler_plugins.technical import TechnicalScorer

    from culler.imaging.images import decode_pil
    from culler.scan.decode import THUMB_SIDE

    scorer = TechnicalScorer()
    scorer.load("cpu")
    side = max(scorer.input_size, THUMB_SIDE)
    decode, technical = [], []
    for path in paths:
        start = time.perf_counter()
        image, _ = decode_pil(path, side)
        decode.append(1000 * (time.perf_counter() - start))
        start = time.perf_counter()
        scorer.score_batch([image])
        technical.append(1000 * (time.perf_counter() - start))
    return {
        f"decode at {side} px": statistics.median(decode),
        "technical": statistics.median(technical),
    }


def writer_rate(paths: list[Path], tmp: Path, photos: int = 4000) -> float:
    """Photos/s the driver's one writer stores: photo rows with technical scores, 32 per commit
    (the pipeline's batch), into a fresh catalog. A cluster scans no faster than this."""
    import dataclasses

    from culler.catalog import open_catalog
    from culler.scan.decode import DecodeJob, decode_one, init_worker
    from culler.scan.scoring import checked_worker_results, load_scorers
    from culler.scan.work import ScanOptions, WorkItem
    from culler.scan.writer import ScanWriter

    catalog = open_catalog(tmp / "writer.db")
    try:
        scorers, _ = load_scorers(catalog, ScanOptions(scorer_ids=["technical"]), print)
        init_worker([(s.id, s.scorer.config) for s in scorers])
        decoded = []
        for path in paths[:4]:
            one = decode_one(DecodeJob(str(path), 1024, 0, ("technical",)))
            one.worker_results = checked_worker_results(one.worker_results)
            decoded.append(one)
        writer = ScanWriter(catalog, scorers)
        start = time.perf_counter()
        for first in range(0, photos, 32):
            rows = []
            for i in range(first, min(first + 32, photos)):
                path = f"/archive/{i // 1000:04d}/IMG_{i:07d}.jpg"
                item = WorkItem(path, "/archive", 9_000_000, i, None, scorers, "new")
                one = decoded[i % len(decoded)]
                rows.append((item, dataclasses.replace(one, path=path, content_hash=f"{i:032x}")))
            writer.write_decoded(rows)
        return photos / (time.perf_counter() - start)
    finally:
        catalog.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="CPUs for both the pool and Ray")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="keep the generated photos in this folder")
    args = parser.parse_args()
    os.environ["CULLER_LOAD_PLUGINS"] = "technical"
    import ray

    from culler.scan.distributed import open_ray_backend

    tmp = Path(tempfile.mkdtemp(prefix="culler-ray-bench-"))
    folder = args.keep or tmp / "photos"
    try:
        paths = generate(folder, args.images)
        print(f"{len(paths)} JPEGs of 24 MP, {args.workers} CPUs, ray {ray.__version__}")
        for stage, ms in per_photo_ms(paths[:8]).items():
            print(f"  per photo, one core: {stage:22s} {ms:7.1f} ms")
        print(f"  the driver's writer: {writer_rate(paths, tmp):7.0f} photos/s (32 per commit)")
        local = rates(folder, tmp, "local", args.repeat, args.workers)
        start = time.perf_counter()
        ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
        started = time.perf_counter() - start
        try:
            # Ray starts a job's worker processes once and keeps them; a cluster scanning an archive
            # pays that once, so a two-photo scan starts them before the timed ones.
            warm = tmp / "warm"
            warm.mkdir()
            for path in paths[:2]:
                shutil.copy(path, warm / path.name)
            scan_once(warm, tmp / "warm.db", args.workers, open_ray_backend())
            on_ray = rates(folder, tmp, "ray", args.repeat, args.workers, open_ray_backend())
            shipped = rates(
                folder, tmp, "ship", args.repeat, args.workers, open_ray_backend(ship_bytes=True)
            )
        finally:
            ray.shutdown()
        print(f"  starting the local Ray instance: {started:.1f} s (not in the rates below)")
        print("                  whole scan          steady (after a quarter of the files)")
        for name, (whole, steady) in (("local pool", local), ("ray", on_ray), ("ship", shipped)):
            print(
                f"  {name:14s}  {whole:6.2f} images/s  {steady:6.2f} images/s"
                + ("" if name == "local pool" else f"   overhead ratio {local[1] / steady:.2f}")
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
