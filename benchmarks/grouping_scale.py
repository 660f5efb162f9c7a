"""Grouping a large catalog: how long near-duplicate search and burst detection take, and what they find.

Builds a synthetic catalog of N photos (default 100,000) whose signatures come from real photos
(random crops of the Debian wallpapers and scikit-image samples, then perturbed so every photo is
distinct), shot by a few cameras in dense shoots, with 10 % untimed exports in a few folders and a known
set of planted copies (half size, JPEG q75, brightened). Prints the time for a full grouping, for an
incremental one after a scan adds 200 photos, the candidate pairs checked, and how many planted copies
were found and how many unplanted pairs were reported.

    python benchmarks/grouping_scale.py [--photos 100000] [--copies 500] [--unbounded]

``--unbounded`` lifts the per-photo candidate bounds (``WINDOW_NEIGHBOURS``, ``BUCKET_NEIGHBOURS``,
``MAX_CANDIDATES``): run it beside a bounded run to see what the bounds cost in recall.
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import io
import random
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from culler.catalog import open_catalog
from culler.decide import grouping
from culler.decide.cull import update_groups
from culler.imaging import signatures


def base_images(limit: int = 25) -> list[Image.Image]:
    from skimage import data

    images = []
    for name in ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "moon", "camera"):
        a = np.asarray(getattr(data, name)())
        images.append(Image.fromarray(a).convert("RGB"))
    for path in sorted(glob.glob("/usr/share/backgrounds/**/*.jpg", recursive=True))[:limit]:
        image = Image.open(path)
        image.draft("RGB", (1024, 1024))
        image = image.convert("RGB")
        image.thumbnail((1024, 1024))
        images.append(image)
    return images


#: Where each base picture was cut from: (source image index, crop box).
CROP_BOXES: list[tuple[int, tuple[int, int, int, int]]] = []


def crops(images: list[Image.Image], n: int, rng: random.Random) -> list[Image.Image]:
    out = []
    for _ in range(n):
        source = rng.randrange(len(images))
        image = images[source]
        w, h = image.size
        cw, ch = int(w * rng.uniform(0.3, 0.7)), int(h * rng.uniform(0.3, 0.7))
        x, y = rng.randrange(0, w - cw), rng.randrange(0, h - ch)
        out.append(image.crop((x, y, x + cw, y + ch)).resize((256, int(256 * ch / cw))))
        CROP_BOXES.append((source, (x, y, x + cw, y + ch)))
    return out


def same_scene(bases: set[int]) -> bool:
    """Whether base pictures are crops of one source image, each overlapping the first by more than
    half of the smaller one (the same scene reframed, not distinct photos)."""
    first, *rest = sorted(bases)
    source, box = CROP_BOXES[first]
    for other in rest:
        s, (x0, y0, x1, y1) = CROP_BOXES[other]
        if s != source:
            return False
        ix = max(0, min(box[2], x1) - max(box[0], x0))
        iy = max(0, min(box[3], y1) - max(box[1], y0))
        smaller = min((box[2] - box[0]) * (box[3] - box[1]), (x1 - x0) * (y1 - y0))
        if ix * iy <= 0.5 * smaller:
            return False
    return True


def export_of(image: Image.Image) -> Image.Image:
    small = image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    ImageEnhance.Brightness(small).enhance(1.2).save(buffer, "JPEG", quality=75)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def build_rows(
    n: int, copies: int, seed: int = 0
) -> tuple[list[tuple], set[frozenset], dict[int, int]]:
    """Photo rows (path, root, taken_at, camera, content_hash, signature), the planted pairs, and the
    base picture of each row id (rows drawn from one base are one picture, shifted or not)."""
    rng = random.Random(seed)
    bases = crops(base_images(), 800, rng)
    base_sigs = [signatures.compute(b) for b in bases]
    start = dt.datetime(2020, 1, 1)
    rows, planted, base_of = [], set(), {}
    t, shoot = start, 0
    for k in range(copies):  # planted copies: an original and its web export, untimed, one folder
        image = bases[k % len(bases)].copy()
        image = ImageEnhance.Contrast(image).enhance(1.0 + 0.001 * k)  # distinct originals
        for j, version in enumerate((image, export_of(image))):
            rows.append(
                (
                    f"/photos/web/{k}_{j}.jpg",
                    "/photos/web",
                    None,
                    "",
                    f"c{k}_{j}",
                    signatures.compute_bytes(version),
                )
            )
        planted.add(frozenset((len(rows) - 1, len(rows))))  # row ids start at 1
        base_of[len(rows) - 1] = base_of[len(rows)] = k % len(bases)
    for i in range(n - 2 * copies):
        if i % 400 == 0:  # a new shoot: another day, one of four cameras
            shoot += 1
            t = start + dt.timedelta(days=shoot)
        t += dt.timedelta(seconds=rng.expovariate(1 / 8.0))
        base = rng.randrange(len(base_sigs))
        sig = base_sigs[base]
        flip = np.array([rng.getrandbits(64) & rng.getrandbits(64) for _ in range(4)], np.uint64)
        thumb = np.roll(sig.thumb, rng.randrange(1, 31), axis=rng.randrange(2))
        perturbed = signatures.Signature(sig.dct ^ flip, sig.layout, thumb)
        untimed = rng.random() < 0.1
        rows.append(
            (
                f"/photos/{'exports' if untimed else f'shoot{shoot}'}/{i}.jpg",
                f"/photos/{'exports' if untimed else 'raw'}",
                None if untimed else t.isoformat(),
                f"cam{shoot % 4}",
                f"h{i}",
                perturbed.to_bytes(),
            )
        )
        base_of[len(rows)] = base
    return rows, planted, base_of


def insert(catalog, rows: list[tuple]) -> None:
    catalog.insert_signed_photos(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--copies", type=int, default=500)
    parser.add_argument(
        "--unbounded",
        action="store_true",
        help="lift the per-photo candidate bounds (to measure what they cost in recall)",
    )
    args = parser.parse_args()
    if args.unbounded:
        grouping.WINDOW_NEIGHBOURS = grouping.BUCKET_NEIGHBOURS = grouping.MAX_CANDIDATES = None
    print(f"candidate search: {'unbounded' if args.unbounded else 'bounded per photo'}")
    t0 = time.perf_counter()
    rows, planted, base_of = build_rows(args.photos, args.copies)
    print(f"built {len(rows)} photo rows in {time.perf_counter() - t0:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        catalog = open_catalog(Path(tmp) / "culler.db")
        insert(catalog, rows[:-200])
        t0, c0 = time.perf_counter(), time.process_time()
        groups, run = grouping.compute_groups(catalog, full=True)
        full_s, full_cpu = time.perf_counter() - t0, time.process_time() - c0
        photos = grouping.load_photo_set(catalog, grouping.GroupingOptions())
        t0, c0 = time.perf_counter(), time.process_time()
        n_candidates = len(
            grouping.candidate_pairs(photos, grouping.GroupingOptions(), range(len(photos.ids)))
        )
        cand_s, cand_cpu = time.perf_counter() - t0, time.process_time() - c0
        duplicates = [frozenset(g.members) for g in groups if g.kind == "duplicate"]
        found = sum(1 for p in planted if any(p <= d for d in duplicates))
        # Two photos drawn from one base signature are one picture (its thumbnail rolled): grouping
        # them is right when the roll is small. A group mixing two bases is a false pair.
        mixed = [d for d in duplicates if len({base_of[m] for m in d}) > 1]
        reframed = [d for d in mixed if same_scene({base_of[m] for m in d})]
        false = [d for d in mixed if d not in reframed]
        same_base = [d for d in duplicates if d not in planted and d not in mixed]
        print(f"full grouping of {len(photos.ids)} photos: {full_s:.1f} s ({full_cpu:.1f} s CPU)")
        print(
            f"  candidate search alone: {cand_s:.1f} s ({cand_cpu:.1f} s CPU),"
            f" {n_candidates} pairs passed the hash/time prefilter"
        )
        print(f"  bursts: {sum(g.kind == 'burst' for g in groups)}")
        print(
            f"  near-duplicate groups: {len(duplicates)},"
            f" photos in them: {sum(len(d) for d in duplicates)}"
        )
        print(f"  planted copies found: {found} of {len(planted)}")
        print(
            f"  groups mixing two base pictures: {len(mixed)}, of which {len(reframed)} are crops"
        )
        print(f"    of one scene overlapping by more than half; false pairs: {len(false)}")
        print(f"  other groups of one base picture (shifted copies): {len(same_base)}")
        update_groups(catalog, full=True)  # store, so the next run is incremental
        insert(catalog, rows[-200:])
        t0, c0 = time.perf_counter(), time.process_time()
        counts = update_groups(catalog)
        print(
            f"incremental regroup after adding 200 photos: {time.perf_counter() - t0:.1f} s"
            f" ({time.process_time() - c0:.1f} s CPU, examined {counts['examined']})"
        )
        t0, c0 = time.perf_counter(), time.process_time()
        counts = update_groups(catalog)
        print(
            f"regroup with nothing changed (what a no-change scan runs): "
            f"{time.perf_counter() - t0:.2f} s ({time.process_time() - c0:.2f} s CPU,"
            f" examined {counts['examined']})"
        )
        catalog.close()


if __name__ == "__main__":
    main()
