"""Images per second of the saan and charlenet scorers on the CPU (or another torch device).

TIMING ONLY: the networks have RANDOM weights (no trained SAAN or CharLeNet is published), so the scores
printed along the way mean nothing. The timed path is the scorer's own ``score_batch`` — preprocessing
(resize, normalisation) plus the forward pass and, for SAAN, the logit split behind its reasons — on
decoded sample photos, as in a scan; decoding itself is not timed.

Usage: python benchmarks/scorer_throughput.py [--device cpu] [--batch 8] [--images 32] [--threads N]
"""

from __future__ import annotations

import argparse
import time

import torch
from culler_plugins.charlenet import CharLeNetScorer
from culler_plugins.charlenet.model import build_charlenet
from culler_plugins.saan import SaanScorer
from culler_plugins.saan.model import build_saan

from culler.devices import place_conv_net
from culler.testing import available_samples


def random_weight_scorer(cls, model, device: str):
    """A scorer instance holding a random-initialised network (bypasses ``load``: timing only)."""
    scorer = cls()
    scorer.model, scorer.memory_format = place_conv_net(model, device)  # as load() does
    scorer.device = device
    return scorer


def images_per_second(scorer, images: list, batch: int, repeats: int = 1) -> float:
    scorer.score_batch(images[:batch])  # warm-up: allocator, oneDNN kernels
    start = time.perf_counter()
    done = 0
    for _ in range(repeats):
        for i in range(0, len(images), batch):
            done += len(scorer.score_batch(images[i : i + batch]))
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    samples = [im for _, im in available_samples()]
    # Decoded the way a scan hands them over: longer side about the scorer's input size.
    images = [samples[i % len(samples)] for i in range(args.images)]
    torch.manual_seed(0)
    runs = [
        ("saan (bn)", SaanScorer, build_saan("bn", pretrained=False)),
        ("charlenet (2-way)", CharLeNetScorer, build_charlenet(2)),
    ]
    print(
        f"RANDOM WEIGHTS — timing only. device={args.device} threads={torch.get_num_threads()} "
        f"batch={args.batch} images={args.images} torch={torch.__version__}"
    )
    for name, cls, model in runs:
        scorer = random_weight_scorer(cls, model, args.device)
        side = cls.input_size
        resized = [im.copy() for im in images]
        for im in resized:
            im.thumbnail((side, side))
        with torch.inference_mode():
            rate = images_per_second(scorer, resized, args.batch)
        params = sum(p.numel() for p in model.parameters()) / 1e6
        print(f"{name:20s} {params:6.1f} M params  {rate:7.2f} images/s")


if __name__ == "__main__":
    main()
