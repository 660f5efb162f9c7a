"""Images per second of the CLIP scorers (clip-aesthetic, emotion) on the current device.

Three figures, because they bound a scan differently:

* decode — JPEG → PIL at the reduced size the scan asks for (``draft``), one process;
* embed — open_clip's transform plus the image tower, in the scorer's batch size (the expensive part,
  done once per photo and cached in the catalog);
* heads — LAION MLP, 10-bin distribution, score prompts and zero-shot emotion on cached embeddings
  (what a rescan with a new head or a personal model costs).

The scan overlaps decoding (worker processes) with inference, so its rate is about
min(decode × workers, embed); the estimate without overlap is printed for comparison.

TIMING ONLY unless ``--weights`` names a real checkpoint: by default the architecture is built with
random values (ViT-L-14's file is 1.7 GB and cannot be downloaded here), which costs exactly as much
compute as the real weights; the scores mean nothing.

Usage: python benchmarks/clip_throughput.py [--model ViT-L-14] [--pretrained openai] [--device auto]
       [--batch N] [--images 32] [--threads N] [--autocast none|bf16|fp16] [--weights FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from pathlib import Path

import torch
from culler_plugins.clip import heads
from culler_plugins.clip.backbone import Backbone, batch_size_for, build_model, load_weights
from culler_plugins.emotion import MIKELS_LABELS
from culler_plugins.emotion.zeroshot import ZeroShotTagger

from culler.devices import pick_device
from culler.imaging.images import open_photo
from culler.testing import write_photos


def rate(fn, items: list, batch: int, repeats: int = 1) -> float:
    """Items per second of ``fn`` over ``items`` in batches (one warm-up batch first)."""
    fn(items[:batch])
    start = time.perf_counter()
    done = 0
    for _ in range(repeats):
        for i in range(0, len(items), batch):
            fn(items[i : i + batch])
            done += len(items[i : i + batch])
    return done / (time.perf_counter() - start)


def autocast_for(device: str, mode: str) -> contextlib.AbstractContextManager:
    if mode == "none":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if mode == "bf16" else torch.float16
    return torch.autocast(device.split(":")[0], dtype=dtype)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="ViT-L-14")
    parser.add_argument("--pretrained", default="openai")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch", type=int, default=0, help="0: the scorer's size for the device")
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument(
        "--autocast",
        choices=("default", "none", "bf16", "fp16"),
        default="default",
        help="default: what the scorer does (fp16 on CUDA, nothing elsewhere)",
    )
    parser.add_argument("--weights", type=Path, default=None, help="a real checkpoint to load")
    args = parser.parse_args()

    device = pick_device(None if args.device == "auto" else args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    batch = args.batch or batch_size_for(device)
    model = build_model(args.model, args.pretrained)
    if args.weights:
        load_weights(model, args.weights)
    backbone = Backbone.from_model(model, args.model, args.pretrained, device)
    if args.autocast != "default":
        mode = args.autocast
        backbone._autocast = lambda: autocast_for(device, mode)  # type: ignore[method-assign]
    name = torch.cuda.get_device_name() if device.startswith("cuda") else "cpu"
    print(
        f"{'RANDOM WEIGHTS — timing only. ' if not args.weights else ''}model={args.model} "
        f"({args.pretrained}) device={device} [{name}] threads={torch.get_num_threads()} "
        f"batch={batch} images={args.images} autocast={args.autocast} torch={torch.__version__}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        paths = write_photos(Path(tmp))
        paths = [paths[i % len(paths)] for i in range(args.images)]
        side = max(backbone.model.visual.image_size) * 3 // 2  # the scorer's decode size
        decode = rate(lambda ps: [open_photo(p, side) for p in ps], paths, batch)
        images = [open_photo(p, side)[0] for p in paths]
    print(f"decode (draft to {side} px, 1 process): {decode:8.1f} images/s")

    embed = rate(backbone.embed, images, batch)
    print(f"embed (transform + image tower):     {embed:8.2f} images/s")
    print(
        f"scan estimate: {1 / (1 / decode + 1 / embed):.2f} images/s without overlap, "
        f"≤ {min(decode, embed):.2f} with decoding in parallel"
    )

    vectors = torch.from_numpy(backbone.embed(images[:batch])).repeat(4096 // batch + 1, 1)[:4096]
    mlp = heads.MLPRegressor(backbone.dim).to(device).eval()
    dist = heads.DistributionHead(backbone.dim).to(device).eval()
    prompt = heads.PromptHead(
        backbone.encode_prompt_sets(heads.score_prompts()), backbone.logit_scale
    ).to(device)
    tagger = ZeroShotTagger(backbone, list(MIKELS_LABELS))
    on_device = vectors.to(device)
    with torch.inference_mode():
        for label, head in (
            ("LAION MLP", mlp),
            ("distribution", dist),
            ("score prompts", prompt),
            ("emotion zero-shot", tagger),
        ):
            x = vectors if head is tagger else on_device
            print(f"head {label:<18} {rate(head, x, 1024, repeats=5):12.0f} embeddings/s")


if __name__ == "__main__":
    main()
