"""Scan throughput on 24 MP JPEGs against the JPEG decoder's own floor, RAW and HEIC, and peak memory.

Generates N camera-sized (6000×4000) JPEGs in a temp folder: real sample photos (scikit-image) scaled
up, each with its own crop, tint and sensor-like noise so they compress like real photos (about 9 MB
each at quality 94). Beyond ``--distinct`` files, the rest are byte-different copies (a JPEG comment
segment with the copy's number), so a 1,000-file run needs no hour of encoding and nothing is skipped
as unchanged. Then prints, each measured ``--repeat`` times, interleaved (the machine may be shared:
medians and pairwise ratios are what to quote):

* decoder floor: the same worker count, each file read and decoded at the size the scorers need
  (JPEG DCT scaling), nothing else;
* ``culler scan --scorer technical`` and the default in-worker scorers (technical + faces) in fresh
  catalogs, as a user runs them (a subprocess, start-up included), their ratio to each other and to
  the floor, and the peak memory of all scan processes together (the scan and its workers);
* a rescan with nothing changed;
* per photo, the cost of each in-worker scorer and of each step of the decode worker (one core);
* with ``--formats``: RAW files with an embedded preview (as cameras write them) and 12 MP HEIC
  files (as phones write them), scanned with the default scorers.

``--save-scores FILE`` / ``--compare-scores FILE`` store and compare the in-worker scores of real
photos (sample photos and installed wallpapers) as the scan's decode worker computes them: run once
on one version, once on another, and the largest difference per scorer is printed.

Usage: python benchmarks/scan_throughput.py [--images 64] [--repeat 3] [--workers N] [--formats]
       [--config faces.search=hog]
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
import threading
import time
from pathlib import Path

WIDTH, HEIGHT = 6000, 4000
#: ``--config SCORER.KEY=VALUE`` settings handed to the ``culler scan`` runs of that scorer.
SCAN_CONFIG: list[str] = []
#: The default scan's in-worker scorers and the plugins they need.
DEFAULT = ("technical", "faces")


def generate(folder: Path, count: int, seed: int = 0, distinct: int = 64) -> list[Path]:
    """``count`` 24 MP JPEGs in a folder of their own under ``folder``; return their paths.

    At most ``distinct`` files are encoded (into ``folder/encoded``, reused by later runs with
    ``--keep``) and hard-linked; the rest are byte-different copies of them (see :func:`_variant`).
    """
    encoded = folder / "encoded"
    encoded.mkdir(parents=True, exist_ok=True)
    sources = _encode(encoded, min(count, distinct), seed)
    scan = folder / f"scan-{count}"
    scan.mkdir(exist_ok=True)
    paths = []
    for i in range(count):
        path = scan / f"IMG_{i:04d}.jpg"
        paths.append(path)
        if path.exists():
            continue
        if i < len(sources):
            os.link(sources[i], path)
        else:
            _variant(sources[i % len(sources)], path, i)
    return paths


def _encode(folder: Path, count: int, seed: int) -> list[Path]:
    """Real sample photos scaled to 24 MP with their own crop, tint and sensor-like noise."""
    import numpy as np
    from PIL import Image

    from culler.testing import available_samples

    rng = np.random.default_rng(seed)
    bases = [im for _, im in available_samples()]
    noise = None
    paths = []
    for i in range(count):
        path = folder / f"IMG_{i:04d}.jpg"
        paths.append(path)
        if path.exists():
            continue
        if noise is None:  # one noise field, shifted per image: 24 MP of random numbers cost more
            noise = rng.normal(0, 6, (HEIGHT + 64, WIDTH + 64, 1)).astype(np.int16)
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


def _variant(source: Path, target: Path, number: int) -> None:
    """A copy of the JPEG ``source`` with a comment segment after SOI: same pixels, other bytes."""
    data = source.read_bytes()
    text = f"culler benchmark copy {number}".encode()
    segment = b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text
    target.write_bytes(data[:2] + segment + data[2:])


# -- the decoder floor ------------------------------------------------------------------------------
def _floor_one(path: str, side: int) -> int:
    """Read and decode one file as the scan's worker does (DCT-scaled to at least ``side``), only."""
    import io

    from PIL import Image

    with open(path, "rb") as fh:
        data = fh.read()
    with Image.open(io.BytesIO(data)) as im:
        long_side = max(im.size)
        im.draft("RGB", (im.width * side // long_side, im.height * side // long_side))
        im.load()
        return im.width


def _ready(_: int) -> int:
    time.sleep(0.05)
    return os.getpid()


def decoder_floor(paths: list[Path], workers: int, side: int) -> tuple[float, float]:
    """Images/s of the decode alone in ``workers`` processes already started, and the CPU seconds
    per photo they spent."""
    import concurrent.futures as cf
    import multiprocessing

    with cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_ready, range(workers)))
        before = _cpu_of(pool)
        start = time.perf_counter()
        list(pool.map(_floor_one, [str(p) for p in paths], [side] * len(paths)))
        seconds = time.perf_counter() - start
        return len(paths) / seconds, (_cpu_of(pool) - before) / len(paths)


def _cpu_of(pool) -> float:
    """CPU seconds the pool's worker processes have used so far."""
    return sum(sum(tree_usage(pid)[1].values()) for pid in list(pool._processes))


# -- culler scan as a user runs it ------------------------------------------------------------------
def culler_scan(
    folder: Path, db: Path, workers: int | None, scorers: tuple[str, ...], plugins: str = ""
) -> tuple[float, dict, _PeakMemory]:
    """Wall-clock seconds of ``culler scan`` (start-up included), its JSON summary, and what the
    scan and all its processes used together (peak resident memory, CPU seconds)."""
    cmd = [sys.executable, "-m", "culler", "scan", str(folder), "--db", str(db), "--json"]
    for scorer in scorers:
        cmd += ["--scorer", scorer]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    for setting in SCAN_CONFIG:  # e.g. faces.search=hog, for the scans that run that scorer
        if setting.split(".", 1)[0] in scorers:
            cmd += ["--config", setting]
    env = dict(os.environ)
    if plugins or scorers:  # else every installed plugin loads, as for a user
        env["CULLER_LOAD_PLUGINS"] = plugins or ",".join(scorers)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = _PeakMemory(proc.pid)
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    sampler.stop()
    if proc.returncode:
        raise RuntimeError(f"culler scan failed ({proc.returncode}): {err[-2000:]}")
    return seconds, json.loads(out), sampler


class _PeakMemory:
    """Samples a process and its descendants every 50 ms in a thread: the peak of their summed PSS,
    and the CPU seconds each used (its last sample), which on a shared machine say more about cost
    than the wall clock does."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, 0
        self._cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            try:
                rss, cpu = tree_usage(self.pid)
            except Exception:
                continue  # the process ended between two samples
            self.peak = max(self.peak, rss)
            for pid, seconds in cpu.items():
                self._cpu[pid] = max(self._cpu.get(pid, 0.0), seconds)

    @property
    def cpu_seconds(self) -> float:
        return sum(self._cpu.values())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def tree_usage(pid: int) -> tuple[int, dict[int, float]]:
    """Resident bytes of ``pid`` and all its descendants together, and each one's CPU seconds
    (psutil when installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        return _proc_tree_usage(pid)
    root = psutil.Process(pid)
    total, cpu = 0, {}
    for p in [root, *root.children(recursive=True)]:
        try:
            total += _resident(p)
            times = p.cpu_times()
            cpu[p.pid] = times.user + times.system
        except psutil.Error:
            pass
    return total, cpu


def _resident(process) -> int:
    """Proportional set size where the system reports it (Linux): pages the workers share with the
    fork server they came from (the faces model) count once in the sum, not once per process. Else RSS."""
    try:
        return int(process.memory_full_info().pss)
    except (AttributeError, OSError):
        return process.memory_info().rss


def _proc_tree_usage(pid: int) -> tuple[int, dict[int, float]]:
    parents: dict[int, int] = {}
    usage: dict[int, tuple[int, float]] = {}
    page, tick = os.sysconf("SC_PAGE_SIZE"), os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
            usage[int(entry)] = (int(fields[21]) * page, (int(fields[11]) + int(fields[12])) / tick)
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent and p not in tree]
        tree.update(children)
        frontier += children
    found = [p for p in tree if p in usage]
    return sum(usage[p][0] for p in found), {p: usage[p][1] for p in found}


def _catalog(tmp: Path, name: str) -> Path:
    """A new catalog path in a folder of its own: its thumbnail cache starts empty too."""
    folder = tmp / "catalogs" / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder / "culler.db"


def compare_scans(
    folder: Path, tmp: Path, paths: list[Path], workers: int, repeat: int, side: int
) -> dict[str, list[float]]:
    """Floor, technical-only and default scans, interleaved ``repeat`` times; prints each round."""
    runs: dict[str, list[float]] = {}
    for i in range(repeat):
        rate, cpu = decoder_floor(paths, workers, side)
        runs.setdefault("floor", []).append(rate)
        runs.setdefault("floor cpu", []).append(1000 * cpu)
        scans = [("technical", ("technical",)), ("default", DEFAULT)]
        for name, scorers in scans if i % 2 == 0 else scans[::-1]:  # neither always goes first
            seconds, summary, used = culler_scan(folder, _catalog(tmp, name), workers, scorers)
            assert summary["decoded"] == len(paths) and summary["errors"] == 0, summary
            runs.setdefault(name, []).append(len(paths) / seconds)
            runs.setdefault(f"{name} cpu", []).append(1000 * used.cpu_seconds / len(paths))
            runs.setdefault(f"{name} memory", []).append(used.peak / 1e6)
        print(
            f"  round {i + 1}: floor {runs['floor'][-1]:.1f}, technical {runs['technical'][-1]:.1f}, "
            f"default {runs['default'][-1]:.1f} images/s; CPU per photo: floor "
            f"{runs['floor cpu'][-1]:.0f}, technical {runs['technical cpu'][-1]:.0f}, default "
            f"{runs['default cpu'][-1]:.0f} ms; peak memory {runs['default memory'][-1]:.0f} MB"
        )
    return runs


def report_scans(runs: dict[str, list[float]], workers: int) -> None:
    floor, tech, default = runs["floor"], runs["technical"], runs["default"]
    print(f"decoder floor ({workers} processes, read + decode at the scorers' size, nothing else): "
          f"{describe(floor, 'images/s')}")  # fmt: skip
    print(f"culler scan --scorer technical: {describe(tech, 'images/s')}")
    print(f"culler scan, default (technical + faces): {describe(default, 'images/s')}")
    print(f"default / technical alone (pairwise): {describe(_ratios(default, tech), '×')}")
    print(f"default scan / decoder floor (pairwise): {describe(_ratios(default, floor), '×')}")
    print(f"technical scan / decoder floor (pairwise): {describe(_ratios(tech, floor), '×')}")
    # CPU time is what a busy machine cannot distort: the share of it that is the decoder's own.
    for name in ("floor", "technical", "default"):
        print(f"CPU per photo, all processes, {name}: {describe(runs[f'{name} cpu'], 'ms', min)}")
    cpu_ratio = _ratios(runs["floor cpu"], runs["default cpu"])
    print(f"default scan / decoder floor, by CPU time: {describe(cpu_ratio, '×')}")
    cpu_ratio = _ratios(runs["technical cpu"], runs["default cpu"])
    print(f"default / technical alone, by CPU time: {describe(cpu_ratio, '×')}")
    for name in ("technical", "default"):
        idle = [workers * 1000 / ms for ms in runs[f"{name} cpu"]]
        print(f"{name} scan on {workers} idle cores (from CPU time): {describe(idle, 'images/s')}")
    print(
        f"peak memory, scan + workers (default scan): {describe(runs['default memory'], 'MB', max)}"
    )


def _ratios(a: list[float], b: list[float]) -> list[float]:
    return [x / y for x, y in zip(a, b)]


def memory_run(folder: Path, tmp: Path, workers: int, count: int) -> None:
    """One default scan of every file: the peak memory of all its processes together."""
    seconds, summary, used = culler_scan(folder, _catalog(tmp, "memory"), workers, DEFAULT)
    assert summary["decoded"] == count and summary["errors"] == 0, summary
    print(
        f"default scan of {count} files: {count / seconds:.2f} images/s, CPU per photo "
        f"{1000 * used.cpu_seconds / count:.0f} ms, peak memory of the scan and its workers "
        f"together {used.peak / 1e6:.0f} MB"
    )


def rescan(folder: Path, tmp: Path, workers: int | None) -> None:
    db = _catalog(tmp, "rescan")
    culler_scan(folder, db, workers, DEFAULT)
    times = [culler_scan(folder, db, workers, DEFAULT)[0] for _ in range(3)]
    print(f"rescan, nothing changed: {describe(times, 's', best=min)}")


def describe(values: list[float], unit: str, best=max) -> str:
    return (
        f"median {statistics.median(values):.2f} {unit} (best {best(values):.2f}, n={len(values)})"
    )


# -- cost per photo, one core -----------------------------------------------------------------------
def per_photo_cost(paths: list[Path]) -> dict[str, float]:
    """Median ms per photo (CPU time) of each step of the decode worker and each in-worker scorer,
    with one OpenCV thread, as in the scan's decode workers (``use_one_opencv_thread``): OpenCV's
    default of one thread per core spends more CPU time on the same work (its threads wait for
    each other), which a worker never pays. Then, a second pass under cProfile: where the faces
    scorer's time goes (:func:`report_faces_profile`)."""
    import io

    import cv2
    from culler_plugins.faces import FacesScorer
    from culler_plugins.technical import TechnicalScorer

    from culler.imaging.images import decode_pil
    from culler.scan.decode import SMALL_COPY_KEY, THUMB_SIDE, small_copy

    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    scorers = [cls() for cls in (TechnicalScorer, FacesScorer)]
    for scorer in scorers:
        scorer.load("cpu")
    steps: dict[str, list[float]] = {}

    def timed(name, fn, *args):
        start = time.process_time()
        out = fn(*args)
        steps.setdefault(name, []).append(1000 * (time.process_time() - start))
        return out

    images = []
    try:
        for i, path in enumerate(paths):
            data = timed("read file", Path(path).read_bytes)
            image, _ = timed(
                "decode at 1024 px (DCT scaling + resize)", decode_pil, io.BytesIO(data), 1024
            )
            small = timed(f"small copy ({THUMB_SIDE} px)", small_copy, image, THUMB_SIDE)
            image.info[SMALL_COPY_KEY] = small
            timed("thumbnail JPEG", _save_jpeg, small)
            timed("dHash + signature", _hashes, image)
            for scorer in scorers:
                if i == 0:
                    scorer.score_batch([image])  # the first call reads models (dlib's landmarks)
                timed(f"scorer {scorer.id}", scorer.score_batch, [image])
            images.append(image)
        report_faces_profile(scorers[1], images)
    finally:
        cv2.setNumThreads(threads)
    return {name: statistics.median(ms) for name, ms in steps.items()}


#: The faces scorer's steps that :func:`report_faces_profile` names: (label, the function's module
#: file, its name); each with the time of what it calls.
FACES_STEPS = (
    ("P-Net (one run on the pyramid mosaic)", "candidates.py", "pnet"),
    ("R-Net (the places P-Net proposes)", "candidates.py", "rnet"),
    ("R-Net's 24 px crops", "candidates.py", "_crop"),
    ("non-maximum suppression", "candidates.py", "nms"),
    (
        "HOG verification (dlib, on crops of the 1024 px decode)",
        "detect.py",
        "_faces_in_crop",
    ),
)


def report_faces_profile(scorer, images: list) -> None:
    """The faces scorer on ``images`` again under cProfile (CPU time): mean ms a photo of each of
    :data:`FACES_STEPS`, the rest of the candidate stage (the pyramid's resizes into one mosaic,
    box arithmetic) and of the scorer (face measures when there are faces, conversions); and how
    many places R-Net read and HOG verified a photo. Means, not medians: a photo with people pays
    the per-face steps, and the mean is what a shoot costs."""
    import cProfile
    import pstats

    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for image in images:
        scorer.score_batch([image])
    profile.disable()
    stats = pstats.Stats(profile).stats  # (file, line, name) -> (calls, _, own, cumulative, _)

    def find(module: str, name: str) -> tuple[int, float]:
        rows = [v for (f, _, n), v in stats.items() if f.endswith(module) and n == name]
        return sum(r[1] for r in rows), sum(r[3] for r in rows)

    n, total = len(images), find("__init__.py", "score_one")[1]
    _, propose = find("candidates.py", "propose")
    print(f"faces scorer under cProfile: {1000 * total / n:.1f} ms a photo (mean of {n}):")
    named = 0.0
    for label, module, name in FACES_STEPS:
        calls, seconds = find(module, name)
        named += seconds
        extra = ""
        if name == "_crop":
            extra = f" ({calls / n:.1f} places a photo)"
        elif name == "_faces_in_crop":
            extra = f" ({calls / n:.1f} searches a photo)"
        print(f"  {label}: {1000 * seconds / n:.2f} ms{extra}")
    in_propose = sum(find("candidates.py", name)[1] for name in ("pnet", "rnet", "_crop", "nms"))
    print(f"  pyramid resizes and box arithmetic: {1000 * (propose - in_propose) / n:.2f} ms")
    rest = total - named - (propose - in_propose)
    print(f"  the rest (per-face measures, conversions): {1000 * rest / n:.2f} ms")


def report_cost(costs: dict[str, float]) -> None:
    """The cost table, and the two scans' ratio per photo once started (no start-up costs)."""
    for name, ms in costs.items():
        print(f"per photo, {name}: {ms:.1f} ms (median CPU time, one core)")
    technical = sum(ms for name, ms in costs.items() if name != "scorer faces")
    default = technical + costs["scorer faces"]
    print(
        f"per photo once started: technical-only scan {technical:.0f} ms, default {default:.0f} ms "
        f"({technical / default:.2f}× the throughput)"
    )


def _save_jpeg(array) -> None:
    import io

    from PIL import Image

    Image.fromarray(array).save(io.BytesIO(), "JPEG", quality=85)


def _hashes(image) -> None:
    from culler.imaging import signatures

    signatures.compute_bytes(image)


# -- RAW and HEIC -----------------------------------------------------------------------------------
def other_formats(tmp: Path, count: int, workers: int | None) -> None:
    """Scan RAW files with an embedded preview and phone-sized HEIC files with the default scorers."""
    from PIL import Image

    from culler.testing import available_samples
    from culler.testing.formats import write_dng, write_heic

    bases = [im for _, im in available_samples()]
    raw, heic = tmp / "raw", tmp / "heic"
    raw.mkdir()
    heic.mkdir()
    for i in range(count):
        base = bases[i % len(bases)]
        # 24 MP mosaic with a camera-style 2048 px preview; 12 MP HEIC as phones write them.
        big = base.resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC)
        write_dng(raw / f"RAW_{i:04d}.dng", big, preview_side=2048)
        write_heic(heic / f"IMG_{i:04d}.heic", base.resize((4032, 3024)), quality=80)
    plugins = ",".join((*DEFAULT, "formats"))
    for name, folder in (("RAW (DNG, embedded preview)", raw), ("HEIC (12 MP)", heic)):
        rates, cpu = [], []
        for _ in range(3):
            db = _catalog(tmp, folder.name)
            seconds, summary, used = culler_scan(folder, db, workers, DEFAULT, plugins)
            assert summary["decoded"] == count and summary["errors"] == 0, summary
            rates.append(count / seconds)
            cpu.append(1000 * used.cpu_seconds / count)
        decode = decode_cost(sorted(p for p in folder.iterdir() if p.is_file()))
        print(f"{name}: decode at 1024 px {decode:.0f} ms per photo (median CPU time, one core)")
        size = statistics.mean(p.stat().st_size for p in folder.iterdir() if p.is_file()) / 1e6
        print(f"{name}, {size:.1f} MB each, default scan: {describe(rates, 'images/s')}; CPU per "
              f"photo {describe(cpu, 'ms', min)}")  # fmt: skip


def decode_cost(paths: list[Path]) -> float:
    """Median CPU ms to open one file at the scorers' size through the load_image hook."""
    from culler.imaging.images import open_photo

    open_photo(paths[0], 1024)  # imports rawpy / pillow-heif
    times = []
    for path in paths:
        start = time.process_time()
        open_photo(path, 1024)
        times.append(1000 * (time.process_time() - start))
    return statistics.median(times)


# -- scores stay the same ---------------------------------------------------------------------------
def real_photos(folder: Path) -> list[Path]:
    """Real photographs that install with packages: the sample photos (as JPEGs), matplotlib's
    portrait of Grace Hopper (a face), and up to 40 installed wallpapers (Debian packages)."""
    from culler.testing import write_photos

    paths = write_photos(folder)
    try:
        import matplotlib.cbook

        paths.append(Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    except (ImportError, OSError):
        pass
    wallpapers = []
    for root in (Path("/usr/share/backgrounds"), Path("/usr/share/desktop-base")):
        if root.is_dir():
            wallpapers += sorted(p for p in root.rglob("*.jpg") if p.is_file())
    return paths + wallpapers[:40]


def worker_scores(paths: list[Path]) -> dict[str, dict[str, float | None]]:
    """In-worker scores of each photo as the scan's decode worker computes them, in this process."""
    from culler.scan.decode import DecodeJob, decode_one, init_worker

    init_worker([(s, {}) for s in DEFAULT])
    scores = {}
    for path in paths:
        decoded = decode_one(DecodeJob(str(path), 1024, 0, DEFAULT, None))
        scores[path.name] = {
            sid: (r if isinstance(r, str) else r.score) for sid, r in decoded.worker_results.items()
        }
    return scores


def score_check(tmp: Path, save: Path | None, compare: Path | None) -> None:
    scores = worker_scores(real_photos(tmp / "real"))
    if save:
        save.write_text(json.dumps(scores, indent=1, sort_keys=True))
        print(f"in-worker scores of {len(scores)} real photos saved to {save}")
    if compare:
        before = json.loads(compare.read_text())
        for sid in DEFAULT:
            diffs = [
                abs((scores[n][sid] or 0) - (before[n][sid] or 0))
                for n in scores
                if n in before and not isinstance(scores[n][sid], str)
            ]
            changed = sum(
                (scores[n][sid] is None) != (before[n][sid] is None) for n in scores if n in before
            )
            print(f"scores vs {compare.name}, {sid}: max difference {max(diffs, default=0):.4f} "
                  f"over {len(diffs)} photos; {changed} photos gained or lost a score")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument(
        "--distinct", type=int, default=64, help="Encoded files; the rest are copies."
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="SCORER.KEY=VALUE",
        help="a scorer setting for the culler scan runs (faces.search=hog: version 4's search)",
    )
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="Generate into (and reuse) DIR.")
    parser.add_argument("--formats", type=int, default=0, metavar="N", help="Also N RAW + N HEIC.")
    parser.add_argument("--no-cost", action="store_true", help="Skip the per-photo cost table.")
    parser.add_argument(
        "--cost-photos", type=int, default=32, help="Photos the cost table measures (32)."
    )
    parser.add_argument("--formats-only", action="store_true", help="Only the RAW and HEIC part.")
    parser.add_argument("--no-rescan", action="store_true")
    parser.add_argument("--save-scores", type=Path, default=None)
    parser.add_argument("--compare-scores", type=Path, default=None)
    parser.add_argument("--scores-only", action="store_true")
    # Older command lines (docs) name it: the default scan is always measured now.
    parser.add_argument("--default-scorers", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--skip-naive", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--memory-only",
        action="store_true",
        help="Only the default scan, once: images/s, CPU per photo and peak memory (for 1,000 files).",
    )
    args = parser.parse_args(argv)
    SCAN_CONFIG[:] = args.config
    workers = args.workers if args.workers is not None else os.cpu_count() or 1

    tmp = Path(tempfile.mkdtemp(prefix="culler-throughput-"))
    folder = args.keep or tmp / "photos"
    try:
        if args.save_scores or args.compare_scores:
            score_check(tmp, args.save_scores, args.compare_scores)
        if args.scores_only:
            return
        if args.formats_only:
            other_formats(tmp, args.formats or 8, workers)
            return
        start = time.perf_counter()
        paths = generate(folder, args.images, distinct=args.distinct)
        folder = paths[0].parent
        sizes = [p.stat().st_size for p in paths]
        print(
            f"{len(paths)} JPEGs of {WIDTH}×{HEIGHT}, {statistics.mean(sizes) / 1e6:.1f} MB mean, "
            f"ready in {time.perf_counter() - start:.1f} s; {os.cpu_count()} CPU cores, "
            f"{workers} workers"
        )
        if args.memory_only:
            memory_run(folder, tmp, workers, len(paths))
            return
        if not args.no_cost:
            report_cost(per_photo_cost(paths[: args.cost_photos]))
        report_scans(compare_scans(folder, tmp, paths, workers, args.repeat, 1024), workers)
        if not args.no_rescan:
            rescan(folder, tmp, workers)
        if args.formats:
            other_formats(tmp, args.formats, workers)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
