"""Hand-checked face boxes on real photos with people that install with packages.

Each box is (x, y, w, h) in the photo's own pixels, drawn around the face from brow to chin and ear
to ear (the way dlib's detectors box a face), checked by cropping and looking at each one. ``eyes`` is
what a person sees: "open", "closed", or "unsure" (looking down, laughing squint: a detector may say
open or unknown, never closed). ``smile`` marks a smiling or laughing face.

Also, read from face_recognition's sdist when ``benchmarks/faces_people.py --sdist`` names it:
three different photos of Barack Obama and one of Joe Biden (White House photos, their test images).

Sources: ``insightface`` (``insightface/data/images/t1.jpg``, six people at a card table;
``pip install --no-deps insightface``), scikit-image (astronaut, camera man), matplotlib (Grace
Hopper).
"""

from __future__ import annotations

LABELS: dict[str, list[dict]] = {
    "insightface:t1.jpg": [
        {"box": (57, 282, 112, 112), "eyes": "unsure", "smile": True},  # looking down at her cards
        {"box": (265, 172, 93, 93), "eyes": "unsure", "smile": False},  # looking down
        {"box": (452, 296, 112, 112), "eyes": "open", "smile": True},
        {"box": (727, 360, 112, 112), "eyes": "unsure", "smile": True},  # laughing squint
        {"box": (880, 80, 110, 110), "eyes": "open", "smile": False},
        {"box": (1111, 283, 112, 112), "eyes": "unsure", "smile": True},  # smiling, looking down
    ],
    "skimage:astronaut": [{"box": (172, 80, 93, 93), "eyes": "open", "smile": True}],
    "skimage:camera": [
        {"box": (178, 110, 82, 82), "eyes": "unsure", "smile": False}
    ],  # looking down,
    "matplotlib:grace_hopper.jpg": [{"box": (194, 145, 166, 166), "eyes": "open", "smile": True}],
}

#: In ``face_recognition-1.3.0.tar.gz`` (``tests/test_images/``); ``who`` names the person for the
#: clustering figures. A shoulder at obama.jpg's and obama2.jpg's right edges is not a visible face.
SDIST_LABELS: dict[str, list[dict]] = {
    "obama.jpg": [{"box": (334, 125, 273, 273), "eyes": "open", "smile": True, "who": "Obama"}],
    "obama2.jpg": [{"box": (146, 248, 288, 288), "eyes": "open", "smile": False, "who": "Obama"}],
    "obama3.jpg": [{"box": (645, 257, 324, 326), "eyes": "open", "smile": True, "who": "Obama"}],
    "biden.jpg": [{"box": (439, 241, 256, 256), "eyes": "open", "smile": False, "who": "Biden"}],
}
