"""The default face search: MTCNN's P-Net and R-Net propose, dlib's HOG decides.

Real faces (scikit-image's astronaut, matplotlib's Grace Hopper) placed so the face is 3.5 % of
the scan's 1024 px frame (36 px: the distant group photo) are found with the default settings and
given no eye or focus verdict (too few pixels to judge); real photos without people give no face.
The weights ship in the ``facenet-pytorch`` wheel (``pip install --no-deps facenet-pytorch``);
without it these tests skip, saying so, and the scorer falls back to the "hog" search (tested).
"""

from __future__ import annotations

import numpy as np
import pytest
from culler_plugins.faces import FacesScorer, candidates
from culler_plugins.faces.testing import people_photo
from PIL import Image

from culler.testing import sample_image

pytest.importorskip("dlib")
pytest.importorskip("cv2")
needs_weights = pytest.mark.skipif(
    not candidates.available(), reason=f"MTCNN's weights: {candidates.INSTALL_HINT}"
)

#: Where the face is in each photo at its own size (x, y, side): the hand-checked boxes of
#: benchmarks/faces_people_labels.py.
FACES = {
    "skimage:astronaut": (172, 80, 93),
    "matplotlib:grace_hopper.jpg": (194, 145, 166),
}


def distant(name: str, share: float) -> tuple[Image.Image, tuple[int, int, int]]:
    """The photo shrunk into the middle of a 1024 × 683 frame of its mean colour so its face
    is ``share`` of the frame's longer side; and where the face now is (x, y, side)."""
    photo = people_photo(name)
    if photo is None:
        pytest.skip(f"{name} is not installed")
    x, y, side = FACES[name]
    k = share * 1024 / side
    mean = tuple(int(v) for v in np.asarray(photo).reshape(-1, 3).mean(axis=0))
    frame = Image.new("RGB", (1024, 683), mean)
    small = photo.resize((round(photo.width * k), round(photo.height * k)), Image.LANCZOS)
    ox, oy = (1024 - small.width) // 2, (683 - small.height) // 2
    frame.paste(small, (ox, oy))
    return frame, (ox + round(x * k), oy + round(y * k), round(side * k))


@needs_weights
@pytest.mark.parametrize("name", list(FACES))
def test_a_face_at_3_5_percent_of_the_frame_is_found_by_default_and_not_judged(run_scorer, name):
    image, (x, y, side) = distant(name, 0.035)
    (result,) = run_scorer(FacesScorer, [image])
    faces = result.extra["faces"]
    assert len(faces) == 1
    bx, by, bw, bh = faces[0]["box"]
    assert abs(bx + bw / 2 - (x + side / 2)) < side / 2
    assert abs(by + bh / 2 - (y + side / 2)) < side / 2
    assert 0.6 * side <= bw <= 1.6 * side
    # 36 px: too few pixels for eyes (80 px): no verdict, never "closed"; focus is judged from
    # 40 px (HOG's box can be that wide here), else "unknown"; the photo is sharp: never "soft".
    assert faces[0]["eyes"] == "unknown"
    assert faces[0]["focus"] == ("unknown" if bw < 40 else "sharp")
    assert result.extra["defects"] == [] and result.score == 10
    # Version 4's default search does not reach it.
    (hog,) = run_scorer(FacesScorer, [image], config={"search": "hog"})
    assert hog.extra["faces"] == []


@needs_weights
@pytest.mark.parametrize("name", ["coffee", "chelsea", "rocket", "immunohistochemistry", "coins"])
def test_real_photos_without_people_have_no_face(run_scorer, name):
    """A cup, a cat's face, a launch, stained tissue, coins: round, face-sized, skin-coloured."""
    photo = sample_image(name)
    k = 1024 / max(photo.size)
    photo = photo.resize((round(photo.width * k), round(photo.height * k)), Image.LANCZOS)
    (result,) = run_scorer(FacesScorer, [photo])
    assert result.extra["faces"] == [] and result.score is None


@needs_weights
def test_proposals_cover_the_face_and_the_pyramid_packs_without_overlap():
    image, (x, y, side) = distant("skimage:astronaut", 0.05)
    rgb = np.asarray(image.resize((400, 267), Image.BOX))
    k = 400 / 1024
    proposals = candidates.propose(rgb, 15)
    assert proposals and proposals[0][1] >= candidates.RNET_THRESHOLD
    (x0, y0, x1, y1), _ = proposals[0]
    assert abs((x0 + x1) / 2 - (x + side / 2) * k) < side * k / 2
    assert abs((y0 + y1) / 2 - (y + side / 2) * k) < side * k / 2
    assert candidates.mosaic(400, 13, 15)[1] == []  # a strip narrower than a face: nothing to run
    assert candidates.propose(np.zeros((13, 400, 3), np.uint8), 15) == []
    for width, height in ((400, 267), (267, 400), (400, 400), (400, 20)):
        (cw, ch), levels = candidates.mosaic(width, height, 15)
        assert levels[0][0] == pytest.approx(0.8)
        for i, (scale, lx, ly, lw, lh) in enumerate(levels):
            assert lx % 2 == 0 and ly % 2 == 0  # P-Net's stride: windows line up with each level
            assert lx + lw <= cw and ly + lh <= ch and min(lw, lh) >= 12
            if i:
                assert scale == pytest.approx(levels[i - 1][0] * candidates.FACTOR)
            for _, ox, oy, ow, oh in levels[:i]:  # no two levels share a pixel
                assert lx >= ox + ow or ox >= lx + lw or ly >= oy + oh or oy >= ly + lh


@needs_weights
def test_r_net_reads_any_number_of_crops_in_a_few_fixed_batches_without_padding():
    for count in (0, 1, 5, 31, 32, 33, 75, 200):
        sizes = candidates.batches(count)
        assert sum(sizes) == count
        assert set(sizes) <= {32, 16, 8, 4, 2, 1}  # one network each, set up once per worker
    crops = np.random.default_rng(3).normal(0, 0.5, (75, 24, 24, 3)).astype(np.float32)
    one_by_one = [candidates.rnet(crops[i : i + 1]) for i in range(len(crops))]
    starts = np.cumsum([0] + candidates.batches(len(crops)))
    batched = [candidates.rnet(crops[a:b]) for a, b in zip(starts[:-1], starts[1:])]
    for part in (0, 1):  # a crop's result does not depend on the batch it is read in
        np.testing.assert_allclose(
            np.concatenate([b[part] for b in batched]),
            np.concatenate([o[part] for o in one_by_one]),
            atol=1e-5,
        )


def test_the_networks_match_the_reference_implementation():
    """P-Net and R-Net as run here (OpenCV's DNN on the weights read without PyTorch) against
    facenet-pytorch's own PyTorch modules on the same input."""
    mtcnn = pytest.importorskip("facenet_pytorch.models.mtcnn", reason="needs facenet-pytorch")
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    image = rng.uniform(-1, 1, (57, 43, 3)).astype(np.float32)
    crops = rng.uniform(-1, 1, (5, 24, 24, 3)).astype(np.float32)
    with torch.no_grad():
        reg, prob = mtcnn.PNet().eval()(torch.from_numpy(image).permute(2, 0, 1)[None])
        rreg, rprob = mtcnn.RNet().eval()(torch.from_numpy(crops).permute(0, 3, 1, 2))
    ours, our_reg = candidates.pnet(image)
    assert np.abs(ours - prob[0, 1].numpy()).max() < 1e-4
    assert np.abs(our_reg - reg[0].permute(1, 2, 0).numpy()).max() < 1e-4
    ours, our_reg = candidates.rnet(crops)
    assert np.abs(ours - rprob[:, 1].numpy()).max() < 1e-4
    assert np.abs(our_reg - rreg.numpy()).max() < 1e-4


def test_a_weights_file_that_is_not_the_known_one_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "pnet.pt").write_bytes(b"not the weights")
    (folder / "rnet.pt").write_bytes(b"nor these")
    monkeypatch.setattr(candidates, "weights_dir", lambda: folder)
    monkeypatch.setattr(candidates, "_NETS", {})
    assert candidates.available()
    with pytest.raises(RuntimeError, match="reinstall it"):
        candidates.net("pnet")


def test_without_the_weights_the_scorer_searches_with_hog(run_scorer, monkeypatch):
    from culler_plugins.faces import detect

    monkeypatch.setattr(candidates, "weights_dir", lambda: None)
    assert not candidates.available()
    assert detect.search_mode() == "hog" and detect.search_mode("candidates") == "hog"
    astronaut = sample_image("astronaut").resize((1024, 1024), Image.LANCZOS)
    (result,) = run_scorer(FacesScorer, [astronaut])
    assert len(result.extra["faces"]) == 1 and result.extra["faces"][0]["eyes"] == "open"


@needs_weights
def test_a_large_proposal_is_searched_at_its_own_size_only_where_hog_found_a_face(monkeypatch):
    from culler_plugins.faces import detect

    photo = people_photo("matplotlib:grace_hopper.jpg")
    if photo is None:
        pytest.skip("matplotlib's Grace Hopper is not installed")
    rgb = np.asarray(photo.convert("RGB"))
    gray = np.asarray(photo.convert("L"))
    x, y, side = FACES["matplotlib:grace_hopper.jpg"]  # 166 px: larger than 1.2 × VERIFY_FACE
    searched = []
    real = detect._faces_in_crop

    def counting(crop, *args, **kwargs):
        searched.append(crop.shape)
        return real(crop, *args, **kwargs)

    monkeypatch.setattr(detect, "_faces_in_crop", counting)
    face = ((x, y, x + side, y + side), 0.995)
    found = detect.verify_candidates(gray, rgb, proposals=[face])
    assert found and len(searched) == 2  # at VERIFY_FACE px, then from its own size
    searched.clear()
    corner = ((0.0, 0.0, float(side), float(side)), 0.995)  # a large place with no face
    assert detect.verify_candidates(gray, rgb, proposals=[corner]) == []
    assert len(searched) == 1  # HOG rejected it at VERIFY_FACE px: not searched again


@needs_weights
@pytest.mark.parametrize("name", ["coffee", "chelsea", "astronaut"])
def test_p_nets_threshold_drops_exactly_the_places_under_it(monkeypatch, name):
    """Raising P-Net's threshold (0.6 → 0.7, version 6) only takes away the places under it: the
    windows of 0.7 or more are the ones the lower threshold re-read too, because non-maximum
    suppression keeps or drops a window by its more probable neighbours only. So R-Net's verdict on
    every place it still reads is the one it gave before, on real photos with and without a face."""
    photo = sample_image(name)
    k = 400 / max(photo.size)
    rgb = np.asarray(photo.resize((round(photo.width * k), round(photo.height * k)), Image.BOX))
    read: list[tuple[float, ...]] = []
    crop = candidates._crop
    monkeypatch.setattr(
        candidates, "_crop", lambda norm, *box: read.append(tuple(box)) or crop(norm, *box)
    )

    def places(threshold: float) -> set[tuple[float, ...]]:
        read.clear()
        candidates.propose(rgb, 15, pnet_threshold=threshold)
        return set(read)

    before, now = places(0.6), places(candidates.PNET_THRESHOLD)
    assert candidates.PNET_THRESHOLD == 0.7
    assert now <= before and len(now) < len(before)


@needs_weights
@pytest.mark.parametrize("name", list(FACES))
def test_the_photo_as_a_pil_image_gives_the_faces_of_its_array(name):
    """The scan hands the faces scorer a PIL image: HOG verifies the proposals on grey crops of it
    (the photo is read out of PIL and made grey whole only once a face is found), with the same
    pixels, so the same faces as from the grey photo; and a photo without a proposal is never
    read out of PIL at all."""
    import cv2
    from culler_plugins.faces import detect

    image, _ = distant(name, 0.07)
    rgb = np.asarray(image)
    small = np.asarray(image.resize((400, 267), Image.BOX))
    proposals = candidates.propose(small, 15)
    assert proposals
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    from_grey = detect.verify_candidates(grey, small, proposals=proposals)
    assert from_grey  # the face
    assert detect.verify_candidates(image, small, proposals=proposals) == from_grey
    assert detect.verify_candidates(rgb, small, proposals=proposals) == from_grey
    faces = detect.analyse(image, small=small)
    assert [f.to_json() for f in faces] == [f.to_json() for f in detect.analyse(rgb, small=small)]

    class Unread:  # a photo that fails if anything reads its pixels
        width, height, mode = image.width, image.height, "RGB"

        def crop(self, box):
            raise AssertionError("a photo without proposals was read")

        def __array__(self, *args, **kwargs):
            raise AssertionError("a photo without proposals was read")

    blank = np.full_like(small, 128)
    assert detect.analyse(Unread(), small=blank) == []
