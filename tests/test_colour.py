"""Colour management: Adobe RGB photos (embedded profile, or only the EXIF tags cameras write) come out
as the sRGB values littlecms gives; sRGB photos and damaged profiles are passed through untouched."""

import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from culler.imaging import colour

#: Debian's icc-profiles-free (installed by .ci/run): a public-domain profile with Adobe RGB's colorants.
PACKAGED_ADOBE_RGB = Path("/usr/share/color/icc/compatibleWithAdobeRGB1998.icc")
GREEN = (100, 200, 50)
#: The issue's reference: Adobe RGB (100, 200, 50) is sRGB (0, 201, 12) (relative colorimetric).
GREEN_IN_SRGB = (0, 201, 12)


@pytest.fixture(scope="module")
def packaged_profile() -> bytes:
    if not PACKAGED_ADOBE_RGB.exists():
        pytest.skip("apt-get install icc-profiles-free")
    return PACKAGED_ADOBE_RGB.read_bytes()


def jpeg(tmp_path: Path, name: str = "green.jpg", **save) -> Path:
    path = tmp_path / name
    Image.new("RGB", (64, 48), GREEN).save(path, quality=97, subsampling=0, **save)
    return path


def test_embedded_adobe_rgb_profile_is_converted(tmp_path, packaged_profile):
    with Image.open(jpeg(tmp_path, icc_profile=packaged_profile)) as im:
        out = colour.to_srgb(im.convert("RGB"), colour.declared_profile(im))
    assert np.abs(np.subtract(out.getpixel((10, 10)), GREEN_IN_SRGB)).max() <= 1
    assert out.info["culler.colour_space"] == "Compatible with Adobe RGB (1998)"


def test_built_profile_matches_the_packaged_one(packaged_profile):
    pixels = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    im = Image.fromarray(pixels)
    built = np.asarray(colour.to_srgb(im, colour.adobe_rgb_profile())).astype(int)
    packaged = np.asarray(colour.to_srgb(im, packaged_profile)).astype(int)
    assert np.abs(built - packaged).max() <= 1
    assert not np.array_equal(built, pixels)  # it did convert


@pytest.mark.skipif(
    shutil.which("exiftool") is None, reason="apt-get install libimage-exiftool-perl"
)
def test_adobe_rgb_declared_only_by_exif_is_converted(tmp_path):
    """Cameras mark Adobe RGB JPEGs with ColorSpace = uncalibrated and interop index R03, no profile."""
    path = jpeg(tmp_path)
    subprocess.run(
        ["exiftool", "-q", "-overwrite_original", "-InteropIndex=R03", "-ColorSpace=Uncalibrated"]
        + [str(path)],
        check=True,
    )
    with Image.open(path) as im:
        assert "icc_profile" not in im.info
        declared = colour.declared_profile(im)
        out = colour.to_srgb(im.convert("RGB"), declared)
    assert declared == colour.adobe_rgb_profile()
    assert np.abs(np.subtract(out.getpixel((10, 10)), GREEN_IN_SRGB)).max() <= 1


def test_srgb_photos_pass_through_unchanged(tmp_path):
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for path in (jpeg(tmp_path, "plain.jpg"), jpeg(tmp_path, "tagged.jpg", icc_profile=srgb)):
        with Image.open(path) as im:
            rgb = im.convert("RGB")
            assert colour.to_srgb(rgb, colour.declared_profile(im)) is rgb


def test_a_damaged_profile_leaves_the_pixels_as_they_are():
    im = Image.new("RGB", (8, 8), GREEN)
    assert colour.to_srgb(im, b"not an icc profile at all") is im
    assert colour.to_srgb(im, colour.adobe_rgb_profile()[:200]) is im


def test_built_profile_is_a_valid_icc_file():
    profile = ImageCms.ImageCmsProfile(io.BytesIO(colour.adobe_rgb_profile()))
    assert profile.profile.xcolor_space.strip() == "RGB"
    assert profile.profile.profile_description.startswith("Adobe RGB (1998)")
    red = profile.profile.red_colorant[0]
    assert red == pytest.approx(colour.ADOBE_RGB_COLORANTS[0], abs=1e-4)


def test_the_scan_decoder_hands_scorers_srgb_pixels(tmp_path, packaged_profile):
    """decode_pil (what the scan and the trainer decode with) converts after its reduced-size decode."""
    from culler.imaging.images import decode_pil

    path = tmp_path / "adobe.jpg"
    Image.new("RGB", (1600, 1200), GREEN).save(path, quality=97, icc_profile=packaged_profile)
    im, info = decode_pil(path, 400)
    assert max(im.size) <= 400
    assert np.abs(np.subtract(im.getpixel((100, 100)), GREEN_IN_SRGB)).max() <= 2
    assert info.extra["colour_space"] == "Compatible with Adobe RGB (1998)"
    plain, plain_info = decode_pil(jpeg(tmp_path, "plain.jpg"), 400)
    assert plain.getpixel((10, 10)) == pytest.approx(GREEN, abs=2)
    assert "colour_space" not in plain_info.extra
