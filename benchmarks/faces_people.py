"""Every face found, every face judged: the faces scorer on real photographs with people.

People: the photos of ``benchmarks/faces_people_labels.py`` (a card table of six from
``insightface``'s data folder, scikit-image's astronaut and camera man, matplotlib's Grace Hopper)
with hand-checked boxes, each also placed smaller in a wider frame (a photo at 1024 px whose faces
are 3.5 %, 5.5 % and 7 % of its longer side: the group-photo and event sizes that no installed photo
has at its own size; reported as "scaled" rows apart from the originals). No people: the 56 photos
of ``benchmarks/faces_detectors.py``.

Prints recall per face size band (the face's box over the photo's longer side), phantom faces (on
photos with people: boxes matching no labelled face; on photos without people: any), the eye
verdicts on labelled real faces (smiling ones apart: they must never read "closed"), the eye
verdicts on the synthetic blinks of ``culler_plugins.faces.testing.close_eyes`` (apart), and CPU
milliseconds per photo and per face (``time.process_time``, one thread, least of ``--repeat``),
with the technical scorer's time on the no-people photos as the yardstick.

Clustering: the descriptors of the labelled faces found on the original photos, plus, with
``--sdist FILE``, face_recognition's test photos (three different photos of Barack Obama and one of
Joe Biden, read from ``face_recognition-1.3.0.tar.gz``: ``pip download --no-deps --no-binary :all:
face_recognition==1.3.0``; nothing is unpacked), clustered as a scan does; pairwise precision and
recall against who each face is, and the descriptor distances of one person and of two.

Usage: python benchmarks/faces_people.py [--config detect_side=640] [--small-faces] [--repeat 1]
       [--sdist face_recognition-1.3.0.tar.gz] [--verbose]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from collections import Counter

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
from faces_people_labels import LABELS, SDIST_LABELS  # noqa: E402

SIDE = 1024
BANDS = (
    (0.03, 0.05, "3-5 %"),
    (0.05, 0.10, "5-10 %"),
    (0.10, 0.20, "10-20 %"),
    (0.20, 9, "> 20 %"),
)
#: Scaled copies: the photo shrunk until its median labelled face is this share of a 1024 px frame.
SCALED_FACE = (0.035, 0.055, 0.07)


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
    ap.add_argument("--sdist", default=None, help="face_recognition-1.3.0.tar.gz, for clustering")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    config = {k: int(v) for k, v in (c.split("=", 1) for c in args.config)}
    config["small_faces"] = args.small_faces
    scorer = FacesScorer(config)
    scorer.load()
    scorer.score_one(Image.new("RGB", (64, 64)))  # import dlib and OpenCV before timing
    from culler_plugins.faces import detect

    detect.predictor()

    sets: list[tuple[str, Image.Image, list[dict]]] = []
    missing = []
    for name, faces in LABELS.items():
        image = people_photo(name)
        if image is None:
            missing.append(name)
            continue
        sets.append((name, image, faces))
        for share in SCALED_FACE:
            im, moved = scaled(image, faces, share)
            if im is not image:
                sets.append((f"{name} scaled to {share:.1%}", im, moved))
    if args.sdist:
        for name, image in sdist_photos(args.sdist):
            faces = SDIST_LABELS[name]
            sets.append((f"face_recognition:{name}", image, faces))
            for share in SCALED_FACE:
                im, moved = scaled(image, faces, share)
                if im is not image:
                    sets.append((f"face_recognition:{name} scaled to {share:.1%}", im, moved))
    if missing:
        print(f"left out (package not installed): {', '.join(missing)}")

    found, total, phantoms_people = Counter(), Counter(), 0
    identities: list[tuple[str, np.ndarray]] = []
    eye_table: Counter = Counter()
    people_ms, n_faces = [], 0
    for name, image, faces in sets:
        copy, k = scan_copy(image)
        result, ms = timed(scorer, copy, args.repeat)
        people_ms.append(ms)
        got = result.extra["faces"]
        n_faces += len(got)
        used = set()
        origin = "scaled" if "scaled" in name else "original"
        for face in faces:
            box = tuple(v * k for v in face["box"])
            share = face["box"][2] / max(image.size)
            key = (origin, band(share))
            total[key] += 1
            best = max(range(len(got)), key=lambda i: iou(box, got[i]["box"]), default=None)
            if best is not None and iou(box, got[best]["box"]) >= 0.3 and best not in used:
                used.add(best)
                found[key] += 1
                if origin == "original":
                    kind = "smiling" if face["smile"] else "not smiling"
                    eye_table[(face["eyes"], kind, got[best]["eyes"])] += 1
                    if got[best].get("descriptor"):
                        who = face.get("who", f"{name}#{faces.index(face)}")
                        identities.append((who, np.asarray(got[best]["descriptor"])))
            elif args.verbose:
                print(f"  missed: {name} {face['box']} ({share:.1%})")
        phantoms_people += len(got) - len(used)
        if args.verbose:
            print(f"{name}: {len(got)} faces, {result.reasons}, {ms:.0f} ms")

    print("\nRecall per face size band (share of the photo's longer side)")
    print("| photos | " + " | ".join(b[2] for b in BANDS) + " | all |")
    print("|---|" + "---|" * (len(BANDS) + 1))
    for origin in ("original", "scaled"):
        cells = []
        for *_, b in BANDS:
            t = total[(origin, b)]
            cells.append(f"{found[(origin, b)]}/{t}" if t else "–")
        f_all = sum(v for (o, _), v in found.items() if o == origin)
        t_all = sum(v for (o, _), v in total.items() if o == origin)
        print(f"| {origin} | " + " | ".join(cells) + f" | {f_all}/{t_all} ({f_all / t_all:.0%}) |")
    print(f"phantom faces on the {len(sets)} photos with people: {phantoms_people}")

    print("\nEye verdicts on labelled real faces found (original photos)")
    for (truth, kind, verdict), n in sorted(eye_table.items()):
        print(f"  {truth:7} {kind:12} -> {verdict:8} {n}")
    closed_smiles = sum(n for (t, k, v), n in eye_table.items() if k == "smiling" and v == "closed")
    print(f"  smiling faces read 'closed': {closed_smiles}")

    blinks = Counter()
    for name, eyes in (
        ("skimage:astronaut", ASTRONAUT_EYES),
        ("matplotlib:grace_hopper.jpg", GRACE_HOPPER_EYES),
    ):
        image = people_photo(name)
        if image is None:
            continue
        for variant, im in (("open", image), ("closed (synthetic)", close_eyes(image, eyes))):
            result = scorer.score_one(scan_copy(im)[0])
            main = [f for f in result.extra["faces"] if f.get("main")]
            blinks[(variant, main[0]["eyes"] if main else "no face")] += 1
    print(
        "\nSynthetic blinks (reported apart): "
        + ", ".join(f"{k[0]} -> {k[1]}: {v}" for k, v in sorted(blinks.items()))
    )

    clustering(identities)

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


def sdist_photos(sdist: str) -> list[tuple[str, Image.Image]]:
    """face_recognition's labelled test photos, read from its sdist without unpacking it."""
    import tarfile

    out = []
    with tarfile.open(sdist) as tar:
        root = tar.getnames()[0].split("/")[0]
        for name in SDIST_LABELS:
            data = tar.extractfile(f"{root}/tests/test_images/{name}").read()
            out.append((name, Image.open(io.BytesIO(data)).convert("RGB")))
    return out


def clustering(identities: list) -> None:
    """Pairwise precision and recall of the scan's clustering of these faces into people."""
    from culler.decide.people import JOIN, cluster, pairwise_scores

    faces = list(identities)
    if len(faces) < 2:
        print("\nClustering: fewer than two faces described")
        return
    names = [w for w, _ in faces]
    groups = cluster(np.stack([v for _, v in faces]))
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
    if same:
        print(f"  one person: distances {min(same):.2f}–{max(same):.2f} over {len(same)} pairs")
    print(f"  two people: nearest {min(other):.2f}, median {statistics.median(other):.2f}")


if __name__ == "__main__":
    main()
