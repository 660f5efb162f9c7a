"""Culling quality on real photographs: scan → groups → cull on a shoot built from installed photos.

The shoot is made of real photographs that install with packages — scikit-image's and scikit-learn's
sample data, matplotlib's sample data and, when present, Debian's wallpaper packages (install them with
``apt-get install gnome-backgrounds desktop-base mate-backgrounds ukui-wallpapers lomiri-wallpapers``) —
plus what a photographer's folder really holds next to them:

- web exports of some photos (half size, JPEG quality 75, one brightened, one lightly cropped), without
  EXIF, as an export from an editor has;
- handheld bursts of five frames from one camera 0.3 s apart: small drift (shift and zoom) between the
  frames, one frame defocused, one with horizontal motion blur, the rest sharp;
- a blink burst: a real face with the eyes closed in one frame.

Then it runs the real CLI (``culler scan``, ``culler groups --json``, ``culler cull --dry-run --json``)
and prints:

- false pairs: two photos put in one group that are not copies or frames of one moment (goal 0);
- duplicate recall: export/original pairs found in one group (goal 100 %);
- bursts grouped whole (all five frames in one group, nothing else) and ordered right (every sharp
  frame ranked above the defocused and the motion-blurred one);
- wrongful rejects: photos ``culler cull`` would reject that it should keep (a distinct photo with no
  defect, the best frame of a moment);
- faces found on photos without people (goal 0);
- share of the distinct photos at the technical score ceiling (≥ 9.9; goal under 10 %);
- images/s of the default scan and of ``--scorer technical`` alone, and their ratio;
- named defects on the distinct real photos: how many carry each defect a scorer named in the scan
  (a photographer's good photos should carry none), with the photos listed;
- named defects on every real photo found, each re-saved at JPEG quality 92 and scored by the
  technical scorer alone, and the names the burst comparison gives a Gaussian-defocused and a
  horizontally moved frame of each (``--defects-only`` prints just these, in a minute).

Run: ``python benchmarks/culling_quality.py [--keep DIR] [--max-side 2000] [--defects-only]``.
Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import itertools
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from culler_plugins.faces.testing import close_eyes
from PIL import Image, ImageEnhance, ImageFilter

from culler.catalog import score_json

#: Folders where Debian's wallpaper packages put their pictures.
WALLPAPER_DIRS = ["/usr/share/backgrounds", "/usr/share/desktop-base", "/usr/share/wallpapers"]
#: scikit-image samples that are photographs (or scans) of real scenes, not test patterns. Not ``cat``:
#: it is ``chelsea`` again, which a burst is made from, so it would be a true duplicate counted as false.
SKIMAGE_PHOTOS = [
    "astronaut", "camera", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry",
    "moon", "coins", "brick", "grass", "gravel", "retina", "page", "text",
]  # fmt: skip
#: Photos with people in them (faces may be found there); every other photo has none.
PEOPLE = {"astronaut", "camera", "grace_hopper"}
#: Wallpapers that are one artwork in several colourings (MATE's "Ubuntu-Mate-*-no-logo"): edited
#: copies of one picture, so grouping them is right; they count as one moment, and the report says so.
VARIANTS = [{"wall-ubuntu-mate-cold", "wall-ubuntu-mate-warm", "wall-ubuntu-mate-radioactive"}]
EXPORTS = 6
#: Only culler's own plugins take part, so an installed third-party scorer does not change the figures.
FIRST_PARTY = "technical,clip,emotion,saan,charlenet,faces,grouping,formats"
BURSTS = 4


@dataclass
class Shoot:
    """What the benchmark knows to be true about the photos it wrote."""

    root: Path
    distinct: dict[str, str] = field(default_factory=dict)  # file name -> source photo name
    moments: list[set[str]] = field(default_factory=list)  # files that belong together
    sharp: dict[str, set[str]] = field(default_factory=dict)  # burst id -> its sharp frames
    flawed: dict[str, set[str]] = field(default_factory=dict)  # burst id -> defocused/blurred/blink
    keep: set[str] = field(default_factory=set)  # files a cull must never reject
    alternatives: list[set[str]] = field(default_factory=list)  # keep one of each, any one
    named: dict[str, list[str]] = field(default_factory=dict)  # file -> defects a scorer named


# -- photos ----------------------------------------------------------------------------------------


def _rgb(a: np.ndarray) -> Image.Image:
    if a.dtype != np.uint8:
        a = (255 * (a - a.min()) / max(1e-9, float(a.max() - a.min()))).astype(np.uint8)
    im = Image.fromarray(a)
    return im.convert("RGB")


def real_photos(max_side: int) -> dict[str, Image.Image]:
    """Every real photograph found on this machine, by a short unique name."""
    photos: dict[str, Image.Image] = {}
    from skimage import data

    for name in SKIMAGE_PHOTOS:
        try:
            photos[name] = _rgb(getattr(data, name)())
        except Exception:
            pass
    try:  # a stereo pair: two real shots of one scene from a few centimetres apart
        left, right, _ = data.stereo_motorcycle()
        photos["motorcycle_left"], photos["motorcycle_right"] = _rgb(left), _rgb(right)
    except Exception:
        pass
    try:
        from sklearn.datasets import load_sample_images

        for name, a in zip(("china", "flower"), load_sample_images().images):
            photos[name] = _rgb(a)
    except Exception:
        pass
    try:
        from matplotlib import cbook

        with cbook.get_sample_data("grace_hopper.jpg") as fh:
            photos["grace_hopper"] = Image.open(fh).convert("RGB")
    except Exception:
        pass
    photos.update(_wallpapers())
    for im in photos.values():
        im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return photos


def _wallpapers() -> dict[str, Image.Image]:
    """Debian wallpapers: one per design (light/dark and size variants are the same picture)."""
    found: dict[str, Image.Image] = {}
    seen: set[str] = set()
    for folder in WALLPAPER_DIRS:
        for path in sorted(Path(folder).rglob("*")) if Path(folder).is_dir() else []:
            if path.suffix.lower() not in {".jpg", ".jpeg", ".png", ".webp"} or path.is_symlink():
                continue
            design = path.stem.lower()
            for suffix in ("-d", "-l", "-dark", "-light", "-no-logo", "-nologo"):
                design = design.removesuffix(suffix)
            design = design.split("_")[0]
            if design in seen or "logo" in path.parts[-2] or "grub" in path.parts:
                continue
            try:
                with Image.open(path) as im:
                    if min(im.size) < 480:
                        continue
                    im.draft("RGB", (2048, 2048))
                    if _is_overlay(im):
                        continue
                    found[f"wall-{design}"] = im.convert("RGB")
                    seen.add(design)
            except Exception:
                continue
    return found


def _is_overlay(im: Image.Image) -> bool:
    """Whether a wallpaper is a see-through overlay (MATE's Silk, Waves, Spring, Stripes: white
    shapes on transparency, meant to lie over a desktop colour) rather than a picture. Flattened
    they are all the same blank white frame, identical files that are not distinct photos."""
    if "A" not in im.getbands() and "transparency" not in im.info:
        return False
    alpha = im.convert("RGBA").getchannel("A")
    return alpha.getextrema()[0] < 250


def exif_bytes(camera: str | None, seconds: float | None) -> bytes:
    """EXIF with camera model and capture time (DateTimeOriginal + SubsecTimeOriginal)."""
    exif = Image.Exif()
    if camera:
        exif[0x0110] = camera
    if seconds is not None:
        whole, frac = int(seconds), round((seconds % 1) * 100)
        ifd = exif.get_ifd(0x8769)
        ifd[0x9003] = f"2026:06:01 {10 + whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"
        ifd[0x9291] = f"{frac:02d}"
    return exif.tobytes()


def drift(im: Image.Image, dx: int, dy: int, zoom: float) -> Image.Image:
    """A handheld frame: the same scene shifted by (dx, dy) pixels and zoomed slightly."""
    w, h = im.size
    cw, ch = int(w / zoom * 0.92), int(h / zoom * 0.92)
    x0, y0 = (w - cw) // 2 + dx, (h - ch) // 2 + dy
    return im.crop((x0, y0, x0 + cw, y0 + ch)).resize((int(w * 0.92), int(h * 0.92)))


def motion_blur(im: Image.Image, length: int) -> Image.Image:
    """Horizontal motion blur: the mean of ``length`` copies shifted one pixel apart."""
    a = np.asarray(im, dtype=np.float32)
    out = np.zeros_like(a)
    for k in range(length):
        out += np.roll(a, k - length // 2, axis=1)
    return Image.fromarray((out / length).clip(0, 255).astype(np.uint8))


# -- the shoot -------------------------------------------------------------------------------------


def build_shoot(root: Path, photos: dict[str, Image.Image]) -> Shoot:
    shoot = Shoot(root)
    rng = np.random.default_rng(7)
    burst_sources = [
        n for n in ("chelsea", "coffee", "china", "rocket", "wall-dune") if n in photos
    ]
    burst_sources = burst_sources[:BURSTS]
    # A photo that becomes a burst (or the blink) is not also a single: its frames would be copies of it.
    names = sorted(set(photos) - set(burst_sources) - {"astronaut"})
    clock = 0.0
    (root / "originals").mkdir(parents=True)
    for i, name in enumerate(names):
        # Half the photos carry a capture time (minutes apart, one camera), half none (graphics,
        # scans): both kinds must be compared with their neighbours without false pairs.
        clock += float(rng.uniform(40, 240))
        when = clock if i % 2 == 0 else None
        file = f"originals/{name}.jpg"
        photos[name].save(root / file, quality=92, exif=exif_bytes("Bench Cam", when))
        shoot.distinct[file] = name
        shoot.keep.add(file)
    for variants in VARIANTS:
        files = {f"originals/{n}.jpg" for n in variants if n in photos}
        if len(files) > 1:
            shoot.moments.append(files)
            shoot.alternatives.append(files)  # keeping one colouring of an artwork is a fair cull
    if "motorcycle_right" in photos:
        shoot.moments.append({"originals/motorcycle_left.jpg", "originals/motorcycle_right.jpg"})
        shoot.keep.discard("originals/motorcycle_right.jpg")  # one of the pair may go
    exported = [n for n in names if not n.startswith("motorcycle")]
    _add_exports(shoot, photos, exported[:EXPORTS])
    for b, name in enumerate(burst_sources):
        clock += 600
        _add_burst(shoot, f"burst{b}", photos[name], clock, rng)
    if "astronaut" in photos:
        clock += 600
        _add_blink(shoot, photos["astronaut"], clock)
    return shoot


def _add_exports(shoot: Shoot, photos: dict[str, Image.Image], names: list[str]) -> None:
    (shoot.root / "exports").mkdir()
    for i, name in enumerate(names):
        im = photos[name]
        im = im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS)
        if i == 1:
            im = ImageEnhance.Brightness(im).enhance(1.2)
        if i == 2:
            w, h = im.size
            im = im.crop((w // 20, h // 20, w - w // 20, h - h // 20))
        file = f"exports/{name}-web.jpg"
        im.save(shoot.root / file, quality=75)
        shoot.moments.append({file, f"originals/{name}.jpg"})


def _add_burst(shoot: Shoot, bid: str, im: Image.Image, start: float, rng) -> None:
    folder = shoot.root / bid
    folder.mkdir()
    frames = {}
    for k in range(5):
        dx, dy = (int(v) for v in rng.integers(-12, 13, size=2))
        frame = drift(im, dx, dy, 1.0 + 0.01 * float(rng.uniform(-1, 1)))
        if k == 1:
            frame = frame.filter(ImageFilter.GaussianBlur(max(2.0, frame.width / 400)))
        elif k == 3:
            frame = motion_blur(frame, max(9, frame.width // 60))
        file = f"{bid}/frame{k}.jpg"
        frame.save(shoot.root / file, quality=92, exif=exif_bytes("Burst Cam", start + 0.3 * k))
        frames[k] = file
    shoot.moments.append(set(frames.values()))
    shoot.flawed[bid] = {frames[1], frames[3]}
    shoot.sharp[bid] = {frames[0], frames[2], frames[4]}
    shoot.keep |= shoot.sharp[bid]


def _add_blink(shoot: Shoot, im: Image.Image, start: float) -> None:
    (shoot.root / "blink").mkdir()
    eyes = [(202, 101, 26), (247, 103, 26)]  # the astronaut's eyes at 512 px
    scale = im.width / 512
    eyes = [(int(x * scale), int(y * scale), int(w * scale)) for x, y, w in eyes]
    frames = [im, close_eyes(im, eyes), im.filter(ImageFilter.GaussianBlur(0.6))]
    files = []
    for k, frame in enumerate(frames):
        file = f"blink/frame{k}.jpg"
        frame.save(shoot.root / file, quality=92, exif=exif_bytes("Portrait Cam", start + 0.4 * k))
        files.append(file)
    shoot.moments.append(set(files))
    shoot.flawed["blink"] = {files[1]}
    shoot.sharp["blink"] = {files[0], files[2]}
    shoot.keep |= {files[0]}


# -- running culler --------------------------------------------------------------------------------


def culler(*args: str) -> str:
    env = {**os.environ, "CULLER_LOAD_PLUGINS": os.environ.get("CULLER_LOAD_PLUGINS", FIRST_PARTY)}
    done = subprocess.run(
        [sys.executable, "-m", "culler", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        raise SystemExit(f"culler {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def scan(root: Path, db: Path, *extra: str) -> dict:
    out = culler("scan", str(root), "--db", str(db), "--json", *extra)
    return json.loads(out[out.index("{") :])


def rel(root: Path, path: str) -> str:
    return os.path.relpath(path, root)


def judge(shoot: Shoot, db: Path) -> dict[str, float | str]:
    root = shoot.root
    groups = json.loads(culler("groups", "--db", str(db), "--json"))
    plan = json.loads(culler("cull", "--db", str(db), "--dry-run", "--json"))["plan"]
    members = [[rel(root, m["path"]) for m in g["members"]] for g in groups]
    moment_of = {f: i for i, files in enumerate(shoot.moments) for f in files}
    false_pairs = sum(
        1
        for group in members
        for a, b in itertools.combinations(group, 2)
        if moment_of.get(a, a) != moment_of.get(b, b)
    )
    together = {frozenset(p) for g in members for p in itertools.combinations(g, 2)}
    export_pairs = [m for m in shoot.moments if any(f.startswith("exports/") for f in m)]
    found = sum(frozenset(m) in together for m in export_pairs)
    whole = ordered = 0
    for bid in shoot.sharp:
        frames = shoot.sharp[bid] | shoot.flawed[bid]
        home = [g for g in members if frames & set(g)]
        if len(home) == 1 and set(home[0]) == frames:
            whole += 1
            rank = {f: i for i, f in enumerate(home[0])}
            ordered += max(rank[f] for f in shoot.sharp[bid]) < min(
                rank[f] for f in shoot.flawed[bid]
            )
    decisions = {rel(root, p["path"]): p for p in plan}
    wrongful = [
        f"{f}: {decisions[f]['reason']}"
        for f in sorted(shoot.keep)
        if decisions.get(f, {}).get("decision") == "reject"
        and not (moment_of.get(f) is not None and _best_of_moment_kept(f, shoot, decisions))
    ]
    by_frames = {rel(root, m["path"]) for g in groups for m in g["members"] if m["frame_defect"]}
    # A blink read "unknown" on the frame alone is named by the cull beside an open-eyed sibling.
    by_frames |= {f for f, p in decisions.items() if "eyes closed, open in" in p.get("reason", "")}
    faces, ceiling, flagged = _scores(shoot, db, by_frames)
    return {
        "groups": len(members),
        "false_pairs": false_pairs,
        "duplicate_recall": f"{found}/{len(export_pairs)}",
        "bursts_whole": f"{whole}/{len(shoot.sharp)}",
        "bursts_ordered_right": f"{ordered}/{len(shoot.sharp)}",
        "wrongful_rejects": len(wrongful),
        "wrongful_reject_list": wrongful,
        "phantom_faces": len(faces),
        "phantom_face_list": faces,
        "at_ceiling": f"{ceiling[0]}/{ceiling[1]}",
        "flawed_frames_with_a_named_defect": f"{flagged[0]}/{flagged[1]}",
        **{
            f"distinct photos named {name}": f"{count}/{len(shoot.distinct)}"
            for name, count in _count_names(shoot.named).items()
        },
        "distinct_photos_with_a_defect": [
            f"{f}: {', '.join(names)}" for f, names in sorted(shoot.named.items())
        ],
    }


def _count_names(named: dict[str, list[str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for names in named.values():
        for name in names:
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


def named_defects(photos: dict[str, Image.Image]) -> dict[str, object]:
    """Defects the technical scorer names on each real photo re-saved at JPEG quality 92 (decoded
    through culler at 1,024 px, as a scan does), and what the burst comparison calls a
    Gaussian-defocused and a horizontally moved frame of each, against its sharp sibling."""
    from culler_plugins.technical import TechnicalScorer

    from culler.decide.frames import compare_frames
    from culler.imaging.images import decode_pil

    scorer = TechnicalScorer()
    named: dict[str, list[str]] = {}
    frames = {"defocus": {}, "motion": {}}
    for name, im in sorted(photos.items()):
        buffer = io.BytesIO()
        im.save(buffer, "JPEG", quality=92)
        buffer.seek(0)
        result = scorer.score_one(decode_pil(buffer, 1024)[0])
        found = sorted({d["defect"] for d in result.extra["defects"]})
        if found:
            named[name] = found
        sharp = im.copy()
        sharp.thumbnail((1024, 1024))
        grey = np.asarray(sharp.convert("L"), dtype=np.float32)
        soft = sharp.filter(ImageFilter.GaussianBlur(max(2.0, sharp.width / 400)))
        length = max(9, sharp.width // 60)
        moved = np.mean([np.roll(grey, k - length // 2, axis=1) for k in range(length)], axis=0)
        report = compare_frames(
            {0: grey, 1: np.asarray(soft.convert("L"), np.float32), 2: moved.astype(np.float32)}
        )
        for kind, pid in (("defocus", 1), ("motion", 2)):
            verdict = report.get(pid, {}).get("defect", "none")
            frames[kind][verdict] = frames[kind].get(verdict, 0) + 1
    out: dict[str, object] = {"photos re-saved at q92": len(photos)}
    for defect, count in _count_names(named).items():
        out[f"q92 photos named {defect}"] = f"{count}/{len(photos)}"
    out["q92_photos_with_a_defect"] = [f"{n}: {', '.join(d)}" for n, d in named.items()]
    for kind, verdicts in frames.items():
        out[f"burst frame, {kind}: named"] = ", ".join(
            f"{v} {c}" for v, c in sorted(verdicts.items())
        )
    return out


def _print(result: dict) -> None:
    for key, value in result.items():
        if isinstance(value, list):
            for item in value:
                print(f"  - {item}")
        else:
            print(f"{key:36s} {value}")


def _best_of_moment_kept(file: str, shoot: Shoot, decisions: dict) -> bool:
    """A sharp frame rejected because a sibling sharp frame was kept is a right decision (so is one
    colouring of an artwork rejected when another is kept)."""
    for sharp in [*shoot.sharp.values(), *shoot.alternatives]:
        if file in sharp:
            return any(decisions.get(f, {}).get("decision") == "pick" for f in sharp - {file})
    return False


def _scores(
    shoot: Shoot, db: Path, by_frames: set[str]
) -> tuple[list[str], tuple[int, int], tuple[int, int]]:
    """Phantom faces, photos at the technical ceiling, and flawed burst frames whose defect is named
    (by a scorer on the frame alone, or by comparing it with its burst: ``by_frames``)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = con.execute(
        "SELECT p.path, s.scorer_id, s.score, s.extra FROM current_scores s"
        " JOIN photos p ON p.id = s.photo_id"
    ).fetchall()
    con.close()
    faces, technical, defects = [], {}, {}
    for path, scorer, score, extra in rows:
        f = rel(shoot.root, path)
        extra = score_json.load(extra) if extra else {}  # packed binary or JSON
        if extra.get("defects"):
            defects.setdefault(f, []).extend(d.get("defect") for d in extra["defects"])
        if scorer == "technical":
            technical[f] = score
        name = shoot.distinct.get(f)
        found = extra.get("faces") if scorer == "faces" else None
        if found and name is not None and name not in PEOPLE:
            faces.append(f"{f}: {len(found)}")
    distinct = [technical[f] for f in shoot.distinct if technical.get(f) is not None]
    ceiling = (sum(v >= 9.9 for v in distinct), len(distinct))
    flawed = [f for fs in shoot.flawed.values() for f in fs]
    flagged = (sum(bool(defects.get(f)) or f in by_frames for f in flawed), len(flawed))
    shoot.named = {f: sorted(set(defects[f])) for f in shoot.distinct if defects.get(f)}
    return faces, ceiling, flagged


#: Edits an editor's export may carry, each applied to every distinct photo: (name, crop per side,
#: brightness). All are also halved in size and saved at JPEG quality 75.
COPY_EDITS = [
    ("half size", 0.0, 1.0),
    ("crop 5 %", 0.05, 1.0),
    ("crop 7 %, +15 % light", 0.07, 1.15),
]


def copies_found(photos: dict[str, Image.Image], shoot: Shoot) -> dict[str, str]:
    """Duplicate recall over every distinct photo, not only the six exports in the shoot: each edit
    of :data:`COPY_EDITS` is made of each photo and checked against its original the way grouping
    checks an untimed export (candidate index, then the evidence), with the original among all the
    distinct photos as competitors."""
    from culler.decide.grouping import (
        NEAR,
        GroupingOptions,
        PhotoSet,
        candidate_pairs,
        signature_match,
    )
    from culler.imaging.signatures import compute

    names = sorted(set(shoot.distinct.values()))
    originals = [compute(photos[n]) for n in names]
    found: dict[str, str] = {}
    for edit, crop, light in COPY_EDITS:
        copies = [compute(_edited(photos[n], crop, light)) for n in names]
        rows = [
            {"id": i, "signature": s.to_bytes(), "root": "/shoot"}
            for i, s in enumerate(originals + copies)
        ]
        queries = range(len(names), 2 * len(names))
        pairs = candidate_pairs(PhotoSet(rows, {}), GroupingOptions(), queries)
        hits = 0
        for k in range(len(names)):
            if (k, len(names) + k) in pairs and signature_match(originals[k], copies[k], NEAR):
                hits += 1
        found[f"copies_found ({edit})"] = f"{hits}/{len(names)}"
    return found


def _edited(im: Image.Image, crop: float, light: float) -> Image.Image:
    w, h = im.size
    dx, dy = int(w * crop), int(h * crop)
    im = im.crop((dx, dy, w - dx, h - dy)).resize(((w - 2 * dx) // 2, (h - 2 * dy) // 2))
    im = ImageEnhance.Brightness(im).enhance(light) if light != 1.0 else im
    buffer = io.BytesIO()
    im.save(buffer, "JPEG", quality=75)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="build the shoot here and keep it")
    parser.add_argument("--max-side", type=int, default=2000, help="longer side of the originals")
    parser.add_argument("--workers", type=int, default=None, help="decode processes (default: all)")
    parser.add_argument(
        "--defects-only", action="store_true", help="only the named-defect counts (no scan)"
    )
    args = parser.parse_args(argv)
    if args.defects_only:
        _print(named_defects(real_photos(args.max_side)))
        return
    base = args.keep or Path(tempfile.mkdtemp(prefix="culling-quality-"))
    root = base / "shoot"
    photos = real_photos(args.max_side)
    shoot = build_shoot(root, photos)
    files = sum(1 for _ in root.rglob("*.jpg"))
    print(f"shoot: {len(shoot.distinct)} distinct real photos, {files} files in all ({root})")
    workers = () if args.workers is None else ("--workers", str(args.workers))
    db, tech_db = base / "culler.db", base / "technical.db"
    started = time.perf_counter()
    default = scan(root, db, *workers)
    default_s = time.perf_counter() - started
    technical = scan(root, tech_db, "--scorer", "technical", *workers)
    result = judge(shoot, db)
    result.update(
        scorers=",".join(default["scorers"]),
        default_images_per_s=default["images_per_second"],
        technical_images_per_s=technical["images_per_second"],
        default_vs_technical=round(
            default["images_per_second"] / max(1e-9, technical["images_per_second"]), 2
        ),
        default_scan_wall_s=round(default_s, 1),
    )
    result.update(copies_found(photos, shoot))
    result.update(named_defects(photos))
    _print(result)
    digest = hashlib.sha256(json.dumps(sorted(shoot.distinct.values())).encode()).hexdigest()[:12]
    print(f"photo set {digest}: {', '.join(sorted(shoot.distinct.values()))}")


if __name__ == "__main__":
    main()
