"""Images/s of each learned scorer on a GPU with nvJPEG batch decoding, and of a whole ``culler scan``.

For the day a CUDA GPU is available to run it. Per learned scorer (clip-aesthetic's ViT-L-14 image
tower, SAAN, CharLeNet), files are decoded in batches on the GPU (``culler.imaging.gpu_decode``: nvJPEG with
read-ahead on a second CUDA stream, so decoding overlaps inference) and scored under the autocast and
batch size the scan uses (``culler.devices``). Printed per scorer: GPU decode alone, and decode +
score. Then the whole scan (``culler scan --device cuda``, default scorers plus every learned scorer
whose weights are installed) on the same files, and the scan that adds those learned scorers to a
catalog already scanned with the in-worker ones (its JPEGs decoded on the GPU, not by the workers).

The per-scorer figures use the scorers' real architectures with RANDOM weights (timing needs no
trained values, and no trained SAAN or CharLeNet is published): the timing is the real one, the
scores mean nothing, and the output says so. The whole scan uses whatever weights are installed and
names the learned scorers it had to skip. Without CUDA the
script still runs, on the CPU with few images and the smaller ViT-B-32, and says "no CUDA": those
are smoke-test figures, not GPU figures.

Usage: python benchmarks/gpu_scan.py [--images 256] [--device auto] [--keep DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from scan_throughput import culler_scan, generate  # noqa: E402

from culler import devices  # noqa: E402
from culler.imaging.gpu_decode import BatchDecoder, to_pil  # noqa: E402


def learned_scorers(device: str, on_gpu: bool) -> list[tuple[str, int, int, Callable]]:
    """(name, input side, batch size, score function taking PIL images) per learned scorer, each
    with random weights."""
    from culler_plugins.charlenet import CharLeNetScorer
    from culler_plugins.charlenet.model import build_charlenet
    from culler_plugins.clip.backbone import Backbone, batch_size_for, build_model
    from culler_plugins.saan import SaanScorer
    from culler_plugins.saan.model import build_saan

    out = []
    name = "ViT-L-14" if on_gpu else "ViT-B-32"
    backbone = Backbone.from_model(build_model(name, "openai"), name, "openai", device)
    side = max(backbone.model.visual.image_size) * 3 // 2
    out.append((f"clip image tower ({name})", side, batch_size_for(device), backbone.embed))
    for cls, model in (
        (SaanScorer, build_saan("bn", pretrained=False)),
        (CharLeNetScorer, build_charlenet(2)),
    ):
        scorer = cls()
        scorer.model, scorer.memory_format = devices.place_conv_net(model, device)
        scorer.device = device
        out.append((cls.id, cls.input_size, cls.batch_size, scorer.score_batch))
    return out


def time_scorer(
    decoder: BatchDecoder, paths: list[str], batch: int, score: Callable | None, device: str
) -> float:
    """Images/s of decoding ``paths`` in batches (and scoring them when ``score`` is given)."""

    def run(files: list[str]) -> int:
        done = 0
        for decoded in decoder.batches(files, batch):
            images = [to_pil(t) for t in decoded.images if t is not None]
            if score is not None:
                with torch.inference_mode(), devices.inference_autocast(device):
                    score(images)
            done += len(images)
        return done

    run(paths[:batch])  # warm-up: cuDNN autotuning, nvJPEG handles, allocator
    _sync(device)
    start = time.perf_counter()
    done = run(paths)
    _sync(device)
    return done / (time.perf_counter() - start)


def _sync(device: str) -> None:
    if devices.device_kind(device) == "cuda":
        torch.cuda.synchronize()


def describe_device(device: str) -> str:
    if devices.device_kind(device) != "cuda":
        return "no CUDA: CPU smoke run (few images, smaller CLIP model); not GPU figures"
    name = torch.cuda.get_device_name(device)
    free, total = torch.cuda.mem_get_info(torch.device(device))
    dtype = devices.autocast_dtype(device)
    return f"{name}, {free / 2**30:.0f} of {total / 2**30:.0f} GiB free, autocast {dtype}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=0, help="0: 256 on a GPU, 8 on the CPU")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--keep", type=Path, default=None, help="Generate into (and reuse) DIR.")
    parser.add_argument("--no-scan", action="store_true", help="Skip the whole-scan figure.")
    args = parser.parse_args(argv)
    device = devices.pick_device(None if args.device == "auto" else args.device)
    on_gpu = devices.gpu_jpeg_decoding(device)
    count = args.images or (256 if on_gpu else 8)
    print(f"device: {device} — {describe_device(device)}; torch {torch.__version__}")
    with tempfile.TemporaryDirectory(prefix="culler-gpu-") as tmp:
        paths = [str(p) for p in generate(args.keep or Path(tmp) / "photos", count)]
        print(
            f"{len(paths)} JPEGs of 24 MP; JPEG decoding on {'the GPU (nvJPEG)' if on_gpu else 'the CPU (PIL)'}"
        )
        for name, side, base, score in learned_scorers(device, on_gpu):
            batch = devices.batch_size_for(device, base)
            decoder = BatchDecoder(device, side)
            decode = time_scorer(decoder, paths, batch, None, device)
            scored = time_scorer(decoder, paths, batch, score, device)
            weights = " [RANDOM WEIGHTS: timing only]"
            print(f"{name}: batch {batch}, decode at {side} px {decode:.1f} images/s, decode + score "
                  f"{scored:.1f} images/s{weights}")  # fmt: skip
        if not args.no_scan:
            folder = Path(paths[0]).parent
            seconds, summary, used = culler_scan(folder, Path(tmp) / "scan.db", None, ())
            skipped = ", ".join(s["scorer"] for s in summary["skipped_scorers"]) or "none"
            print(f"whole scan (culler scan, scorers {', '.join(summary['scorers'])}; skipped for "
                  f"missing weights: {skipped}): {len(paths) / seconds:.1f} images/s, peak memory "
                  f"{used.peak / 1e6:.0f} MB")  # fmt: skip
            added_later(folder, Path(tmp), summary["scorers"], len(paths))


def added_later(folder: Path, tmp: Path, scorers: list[str], count: int) -> None:
    """A catalog scanned with the in-worker scorers, then the learned ones added: the scan that
    feeds them from JPEGs decoded on the GPU (``culler.scan.gpu_feed``) instead of the workers."""
    learned = [s for s in scorers if s not in ("technical", "faces")]
    if not learned:
        print("learned scorers added to a scanned catalog: none installed, not measured")
        return
    db = tmp / "later.db"
    culler_scan(folder, db, None, ("technical", "faces"))
    every_plugin = "technical,faces,clip,saan,charlenet,emotion,grouping,formats"
    seconds, summary, used = culler_scan(folder, db, None, tuple(learned), plugins=every_plugin)
    print(f"learned scorers added to a scanned catalog ({', '.join(learned)}): "
          f"{count / seconds:.1f} images/s ({summary['scored']} photos scored), peak memory "
          f"{used.peak / 1e6:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
