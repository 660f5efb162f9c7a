"""Scan throughput on 24 MP JPEGs: a naive decode-and-score loop against ``culler scan``, and a rescan.

Generates N camera-sized (6000×4000) JPEGs in a temp folder: real sample photos (scikit-image) scaled
up, each with its own crop, tint and sensor-like noise so they compress like real photos (about 8–12 MB
each at quality 94). Then prints, each measured ``--repeat`` times (the machine may be shared, so the
best and the median are both shown):

* naive: one process, full-size ``PIL`` decode, downscale to 1024 px, technical scorer;
* scan: ``culler scan --scorer technical`` in a fresh catalog (a subprocess, as a user runs it);
* rescan: the same command again with nothing changed.

Usage: python benchmarks/scan_throughput.py [--images 48] [--repeat 3] [--keep DIR] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WIDTH, HEIGHT = 6000, 4000


def generate(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """Write ``count`` 24 MP JPEGs (skipping ones already there from a kept run); return their paths."""
    import numpy as np
    from PIL import Image

    from culler.testing import available_samples

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    bases = [im for _, im in available_samples()]
    # One noise field, shifted per image: per-pixel random numbers for 24 MP cost more than encoding.
    noise = rng.normal(0, 6, (HEIGHT + 64, WIDTH + 64, 1)).astype(np.int16)
    paths = []
    for i in range(count):
        path = folder / f"IMG_{i:04d}.jpg"
        paths.append(path)
        if path.exists():
            continue
        base = bases[i % len(bases)]
        w, h = base.size
        crop = int(rng.integers(0, max(1, w // 8)))
        big = base.crop((crop, crop // 2, w - crop // 3, h - crop // 4)).resize(
            (WIDTH, HEIGHT), Image.Resampling.BICUBIC
        )
        dy, dx = (int(v) for v in rng.integers(0, 64, 2))
        tint = rng.integers(-12, 12, 3).astype(np.int16)
        pixels = np.asarray(big, dtype=np.int16) + noise[dy : dy + HEIGHT, dx : dx + WIDTH] + tint
        Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(path, quality=94)
    return paths


def naive(paths: list[Path]) -> float:
    """Images/s of the obvious loop: full-size decode, shrink to the scorer's size, score."""
    from culler_plugins.technical import TechnicalScorer
    from PIL import Image

    scorer = TechnicalScorer()
    scorer.load("cpu")
    start = time.perf_counter()
    for path in paths:
        with Image.open(path) as im:
            im = im.convert("RGB")
            im.thumbnail((scorer.input_size, scorer.input_size))
            scorer.score_batch([im])
    return len(paths) / (time.perf_counter() - start)


def culler_scan(
    folder: Path, db: Path, workers: int | None, scorers: tuple[str, ...] = ("technical",)
) -> tuple[float, dict]:
    """Wall-clock seconds of ``culler scan`` (process start included) and its JSON summary."""
    cmd = [sys.executable, "-m", "culler", "scan", str(folder), "--db", str(db), "--json"]
    for scorer in scorers:
        cmd += ["--scorer", scorer]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    env = {**os.environ, "CULLER_LOAD_PLUGINS": ",".join(scorers)}
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - start, json.loads(out)


def per_photo_cost(paths: list[Path]) -> dict[str, float]:
    """Median ms per photo of each in-worker scorer on the 1024 px copies the scan hands them."""
    from culler_plugins.faces import FacesScorer
    from culler_plugins.technical import TechnicalScorer

    from culler.images import decode_pil

    images = [decode_pil(p, 1024)[0] for p in paths]
    costs = {}
    for cls in (TechnicalScorer, FacesScorer):
        scorer = cls()
        scorer.load("cpu")
        scorer.score_batch(images[:1])  # first call loads models (dlib's landmarks)
        times = []
        for im in images:
            start = time.perf_counter()
            scorer.score_batch([im])
            times.append(1000 * (time.perf_counter() - start))
        costs[cls.id] = statistics.median(times)
    start = time.perf_counter()
    for p in paths:
        decode_pil(p, 1024)
    costs["decode at 1024 px"] = 1000 * (time.perf_counter() - start) / len(paths)
    return costs


def default_vs_technical(folder: Path, tmp: Path, workers: int | None, repeat: int) -> None:
    """The default scan's in-worker scorers (technical + faces) against technical alone."""
    pairs = []
    for i in range(repeat):
        for name, scorers in (("technical", ("technical",)), ("default", ("technical", "faces"))):
            shutil.rmtree(folder / "culler-thumbs", ignore_errors=True)
            seconds, _ = culler_scan(folder, tmp / f"{name}{i}.db", workers, scorers)
            pairs.append((name, len(list(folder.glob("*.jpg"))) / seconds))
    tech = [r for n, r in pairs if n == "technical"]
    default = [r for n, r in pairs if n == "default"]
    ratios = [d / t for d, t in zip(default, tech)]
    print(f"culler scan, technical alone: {describe(tech, 'images/s')}")
    print(f"culler scan, technical + faces (the default): {describe(default, 'images/s')}")
    print(f"default / technical alone: {describe(ratios, '×')}")


def describe(values: list[float], unit: str, best=max) -> str:
    return f"best {best(values):.2f} {unit}, median {statistics.median(values):.2f} {unit}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=48)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="Generate into (and reuse) DIR.")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument(
        "--default-scorers",
        action="store_true",
        help="Also time the default scan (technical + faces) against technical alone, and each "
        "in-worker scorer's cost per photo.",
    )
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="culler-throughput-"))
    folder = args.keep or tmp / "photos"
    try:
        start = time.perf_counter()
        paths = generate(folder, args.images)
        sizes = [p.stat().st_size for p in paths]
        print(
            f"{len(paths)} JPEGs of {WIDTH}×{HEIGHT}, {statistics.mean(sizes) / 1e6:.1f} MB mean, "
            f"ready in {time.perf_counter() - start:.1f} s; {os.cpu_count()} CPU cores"
        )
        if not args.skip_naive:
            rates = [naive(paths[: max(4, len(paths) // 4)]) for _ in range(args.repeat)]
            print(f"naive full decode + technical: {describe(rates, 'images/s')}")
        scan_rates, rescans, ratios, inside = [], [], [], []
        for i in range(args.repeat):
            db = tmp / f"run{i}.db"
            shutil.rmtree(folder / "culler-thumbs", ignore_errors=True)
            seconds, summary = culler_scan(folder, db, args.workers)
            assert summary["decoded"] == len(paths) and summary["errors"] == 0, summary
            scan_rates.append(len(paths) / seconds)
            again, summary2 = culler_scan(folder, db, args.workers)
            assert summary2["decoded"] == 0 and summary2["skipped"] == len(paths), summary2
            rescans.append(again)
            ratios.append(seconds / again)
            inside.append(summary["seconds"] / max(summary2["seconds"], 1e-3))
            print(
                f"  run {i + 1}: scan {seconds:.2f} s ({len(paths) / seconds:.1f} images/s, "
                f"in-process {summary['images_per_second']:.1f}), rescan {again:.2f} s "
                f"({summary2['seconds']:.3f} s inside the scan, the rest is Python start-up)"
            )
        print(f"culler scan (technical): {describe(scan_rates, 'images/s')}")
        print(f"rescan, nothing changed: {describe(rescans, 's', best=min)}")
        print(f"first scan / rescan, wall clock: {describe(ratios, '×')}")
        print(f"first scan / rescan, inside the scan: {describe(inside, '×')}")
        if args.default_scorers:
            for name, ms in per_photo_cost(paths[:8]).items():
                print(f"per photo, {name}: {ms:.1f} ms (median, one core)")
            default_vs_technical(folder, tmp, args.workers, args.repeat)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
