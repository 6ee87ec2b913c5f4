"""featx.images.decode: any image file -> RGB uint8 array of the requested (height, width)."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin, UnidentifiedImageError

from featx.errors import FeatxError
from featx.images.decode import (
    DEFAULT_MAX_PIXELS,
    RESIZE_POLICIES,
    PixelLimitError,
    decode_image,
    describe_error,
    max_pixels,
    stale_refusal,
)
from tests.helpers import REPO, write_image

RED, GREEN, BLUE, WHITE, BLACK = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255,) * 3, (0,) * 3


def close_to(pixel, colour, tol: int = 40) -> bool:
    """JPEG and resampling blur colours a little; compare with a tolerance."""
    return bool(np.all(np.abs(np.asarray(pixel, dtype=int) - np.asarray(colour)) <= tol))


def halves(width: int, height: int, left, right, mode: str = "RGB") -> Image.Image:
    img = Image.new(mode, (width, height), left)
    img.paste(right, (width // 2, 0, width, height))
    return img


def saved(img: Image.Image, path: Path, fmt: str, **kwargs) -> Path:
    img.save(path, fmt, **kwargs)
    return path


def check_rgb(array: np.ndarray, size: tuple[int, int]) -> None:
    assert array.dtype == np.uint8
    assert array.shape == (*size, 3)


def decoded_halves(img: Image.Image, path: Path, **save_options) -> tuple[tuple, tuple]:
    """``img`` saved as PNG and decoded at 10x20 (checked RGB): a pixel of each half."""
    out = decode_image(saved(img, path, "PNG", **save_options), (10, 20))
    check_rgb(out, (10, 20))
    return tuple(out[5, 2]), tuple(out[5, 17])


# --- colour rule: every mode becomes 8-bit RGB ------------------------------------------------


def test_rgb_jpeg_becomes_uint8_array_of_requested_height_and_width(tmp_path):
    path = write_image(tmp_path / "a.jpg", seed=1, size=(48, 40))
    check_rgb(decode_image(path, (30, 20)), (30, 20))


def test_grey_l_image_is_replicated_into_three_equal_channels(tmp_path):
    path = saved(Image.new("L", (20, 10), 100), tmp_path / "grey.png", "PNG")
    out = decode_image(path, (10, 20))
    check_rgb(out, (10, 20))
    assert np.all(out == 100)


def test_one_bit_image_becomes_black_and_white_rgb(tmp_path):
    assert decoded_halves(halves(20, 10, 0, 1, "1"), tmp_path / "bits.png") == (BLACK, WHITE)


def test_la_image_is_composited_over_white(tmp_path):
    img = halves(20, 10, (0, 0), (0, 255), "LA")  # black: fully transparent | opaque
    assert decoded_halves(img, tmp_path / "la.png") == (WHITE, BLACK)


def test_rgba_image_is_composited_over_white(tmp_path):
    img = halves(20, 10, (255, 0, 0, 0), (0, 255, 0, 255), "RGBA")  # transparent red | green
    assert decoded_halves(img, tmp_path / "rgba.png") == (WHITE, GREEN)


def test_half_transparent_black_rgba_blends_to_mid_grey(tmp_path):
    path = saved(Image.new("RGBA", (8, 8), (0, 0, 0, 128)), tmp_path / "half.png", "PNG")
    out = decode_image(path, (8, 8))
    assert np.all(np.abs(out.astype(int) - 127) <= 2)


def test_palette_image_with_transparent_index_is_composited_over_white(tmp_path):
    img = halves(20, 10, 0, 1, "P")
    img.putpalette([255, 0, 0, 0, 0, 255] + [0] * (254 * 3))
    left, right = decoded_halves(img, tmp_path / "pal.png", transparency=0)
    with Image.open(tmp_path / "pal.png") as check:
        assert check.mode == "P" and "transparency" in check.info
    assert (left, right) == (WHITE, BLUE)  # index 0 (red) is transparent


def test_palette_image_without_transparency_keeps_its_colours(tmp_path):
    img = Image.new("P", (20, 10), 0)
    img.putpalette([255, 0, 0, 0, 0, 255] + [0] * (254 * 3))
    path = saved(img, tmp_path / "pal.gif", "GIF")
    out = decode_image(path, (10, 20))
    assert tuple(out[5, 5]) == RED


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    img = Image.new("CMYK", (40, 20), (0, 255, 255, 0))  # pure red in CMYK
    path = saved(img, tmp_path / "cmyk.jpg", "JPEG", quality=95)
    with Image.open(path) as check:
        assert check.mode == "CMYK"
    out = decode_image(path, (20, 40))
    check_rgb(out, (20, 40))
    assert close_to(out[10, 20], RED)


def test_sixteen_bit_png_is_scaled_down_to_eight_bits(tmp_path):
    pixels = np.zeros((10, 20), dtype=np.uint16)
    pixels[:, 10:] = 65535
    path = saved(Image.fromarray(pixels), tmp_path / "deep.png", "PNG")
    with Image.open(path) as check:
        assert check.mode.startswith("I")
    out = decode_image(path, (10, 20))
    check_rgb(out, (10, 20))
    assert tuple(out[5, 2]) == BLACK                  # 0 -> 0
    assert tuple(out[5, 17]) == WHITE                 # 65535 -> 255


def test_thirty_two_bit_integer_tiff_is_scaled_like_sixteen_bit(tmp_path):
    pixels = np.full((8, 8), 65535, dtype=np.int32)
    pixels[:, :4] = 257 * 10
    path = saved(Image.fromarray(pixels), tmp_path / "int.tif", "TIFF")
    out = decode_image(path, (8, 8))
    assert tuple(out[4, 1]) == (10, 10, 10)
    assert tuple(out[4, 6]) == WHITE


def test_float_tiff_is_clipped_to_0_255(tmp_path):
    pixels = np.full((8, 8), 1000.0, dtype=np.float32)
    pixels[:, :4] = -5.0
    path = saved(Image.fromarray(pixels), tmp_path / "float.tif", "TIFF")
    out = decode_image(path, (8, 8))
    assert tuple(out[4, 1]) == BLACK
    assert tuple(out[4, 6]) == WHITE


def test_file_objects_decode_like_paths():
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), BLUE).save(buf, "PNG")
    buf.seek(0)
    out = decode_image(buf, (8, 8))
    assert tuple(out[4, 4]) == BLUE


# --- EXIF orientation and animation ---------------------------------------------------------


def exif_jpeg(path: Path, orientation: int) -> Path:
    """A 40x20 JPEG, left half red, right half blue, with an EXIF orientation tag."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return saved(halves(40, 20, RED, BLUE), path, "JPEG", exif=exif, quality=95)


def test_exif_orientation_6_rotates_clockwise_so_left_lands_on_top(tmp_path):
    out = decode_image(exif_jpeg(tmp_path / "o6.jpg", 6), (40, 20))  # portrait after rotation
    check_rgb(out, (40, 20))
    assert close_to(out[5, 10], RED)      # left half of the stored image -> top
    assert close_to(out[34, 10], BLUE)    # right half -> bottom


def test_exif_orientation_8_rotates_counter_clockwise_so_left_lands_at_bottom(tmp_path):
    out = decode_image(exif_jpeg(tmp_path / "o8.jpg", 8), (40, 20))
    assert close_to(out[5, 10], BLUE)
    assert close_to(out[34, 10], RED)


def test_jpeg_without_exif_orientation_is_not_rotated(tmp_path):
    out = decode_image(exif_jpeg(tmp_path / "o1.jpg", 1), (20, 40))
    assert close_to(out[10, 5], RED)
    assert close_to(out[10, 34], BLUE)


def test_animated_gif_gives_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (16, 16), colour) for colour in (RED, BLUE, GREEN)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], duration=50)
    with Image.open(path) as check:
        assert check.n_frames == 3
    out = decode_image(path, (8, 8))
    assert close_to(out[4, 4], RED, tol=10)


def test_animated_png_gives_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (16, 16), colour) for colour in (GREEN, RED)]
    path = tmp_path / "anim.png"
    frames[0].save(path, "PNG", save_all=True, append_images=frames[1:])
    out = decode_image(path, (8, 8))
    assert tuple(out[4, 4]) == GREEN


# --- resize policies ---------------------------------------------------------------------------


def thirds(path: Path, size=(300, 100), colours=(RED, GREEN, BLUE)) -> Path:
    """A wide image: left 30 %, centre 40 %, right 30 % in three colours.

    The centre band is a little wider than the centred square, so a centre crop is all centre
    colour even at its edges (where bilinear resampling reaches a few pixels beyond the crop).
    """
    width, height = size
    img = Image.new("RGB", size, colours[0])
    img.paste(colours[1], (width * 3 // 10, 0, width * 7 // 10, height))
    img.paste(colours[2], (width * 7 // 10, 0, width, height))
    return saved(img, path, "PNG")


def test_resize_policies_are_squash_center_crop_and_pad():
    assert set(RESIZE_POLICIES) == {"squash", "center-crop", "pad"}


def test_squash_gives_the_exact_size_and_keeps_the_whole_image(tmp_path):
    out = decode_image(thirds(tmp_path / "w.png"), (50, 50), "squash")
    check_rgb(out, (50, 50))
    assert tuple(out[25, 2]) == RED and tuple(out[25, 25]) == GREEN and tuple(out[25, 47]) == BLUE


def test_squash_is_the_default_policy(tmp_path):
    path = thirds(tmp_path / "w.png")
    assert np.array_equal(decode_image(path, (50, 50)), decode_image(path, (50, 50), "squash"))


def test_center_crop_keeps_only_the_centre_of_a_wide_image(tmp_path):
    out = decode_image(thirds(tmp_path / "w.png"), (50, 50), "center-crop")
    check_rgb(out, (50, 50))
    for pixel in (out[0, 0], out[0, 49], out[49, 0], out[49, 49], out[25, 25]):
        assert tuple(pixel) == GREEN


def test_center_crop_keeps_the_centre_of_a_tall_image(tmp_path):
    img = thirds(tmp_path / "w.png")
    with Image.open(img) as wide:
        tall = saved(wide.rotate(90, expand=True), tmp_path / "t.png", "PNG")
    out = decode_image(tall, (40, 40), "center-crop")
    assert np.all(out == np.array(GREEN, dtype=np.uint8))


def test_pad_fits_a_wide_image_and_pads_top_and_bottom_with_black(tmp_path):
    path = saved(Image.new("RGB", (200, 100), WHITE), tmp_path / "wide.png", "PNG")
    out = decode_image(path, (100, 100), "pad")
    check_rgb(out, (100, 100))
    assert tuple(out[0, 50]) == BLACK and tuple(out[99, 50]) == BLACK
    assert tuple(out[50, 0]) == WHITE and tuple(out[50, 99]) == WHITE
    assert np.all(out[30:70] == 255)          # the image: rows 25..74
    assert np.all(out[:20] == 0) and np.all(out[80:] == 0)


def test_pad_fits_a_tall_image_and_pads_left_and_right_with_black(tmp_path):
    path = saved(Image.new("RGB", (50, 100), WHITE), tmp_path / "tall.png", "PNG")
    out = decode_image(path, (60, 60), "pad")
    assert np.all(out[:, :10] == 0) and np.all(out[:, 50:] == 0)
    assert np.all(out[:, 20:40] == 255)


def test_non_square_target_size_is_height_then_width(tmp_path):
    path = write_image(tmp_path / "a.jpg", seed=3, size=(64, 64))
    for policy in RESIZE_POLICIES:
        check_rgb(decode_image(path, (24, 40), policy), (24, 40))


def test_unknown_resize_policy_raises_value_error(tmp_path):
    path = write_image(tmp_path / "a.jpg", seed=4)
    with pytest.raises(ValueError, match="resize must be one of"):
        decode_image(path, (32, 32), "stretch")


# --- JPEG draft mode ----------------------------------------------------------------------------


def test_large_jpeg_is_decoded_in_draft_mode_to_the_requested_size(tmp_path, monkeypatch):
    path = saved(halves(3000, 2000, RED, BLUE), tmp_path / "big.jpg", "JPEG")
    drafted = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        result = original(self, mode, size)
        drafted.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    out = decode_image(path, (224, 224))
    check_rgb(out, (224, 224))
    assert close_to(out[112, 20], RED) and close_to(out[112, 200], BLUE)
    # decoded at a reduced scale, still at least the target size on both axes
    (reduced,) = drafted
    assert reduced[0] < 3000 and reduced[1] < 2000
    assert min(reduced) >= 224
    assert reduced == (375, 250)                # 1/8 is the smallest reduction >= 224 px


# --- the pixel limit --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory) -> Path:
    """A real 12000 x 9000 PNG (108 Mpx, between Pillow's warning and error limits): 1-bit, so
    it takes 14 MB to make and 13 KB on disk."""
    return saved(Image.new("1", (12000, 9000), 1),
                 tmp_path_factory.mktemp("huge") / "huge.png", "PNG")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_an_image_over_the_pixel_limit_is_refused_with_the_limit_named(huge_png):
    assert max_pixels() == DEFAULT_MAX_PIXELS == 8192 * 8192
    with pytest.raises(PixelLimitError) as info:
        decode_image(huge_png, (32, 32))
    reason = describe_error(info.value)
    assert reason.startswith("refused over the pixel limit: 12000x9000 = 108.0 Mpx to decode")
    assert "FEATX_MAX_PIXELS=67108864" in reason


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_refusal_is_stale_once_its_limit_has_changed(huge_png, tmp_path, monkeypatch):
    with pytest.raises(PixelLimitError) as info:
        decode_image(huge_png, (32, 32))
    over = describe_error(info.value)
    bomb_png = saved(Image.new("RGB", (100, 100)), tmp_path / "bomb.png", "PNG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(Image.DecompressionBombError) as info:
        decode_image(bomb_png, (32, 32))
    bomb = describe_error(info.value)
    assert not stale_refusal(over) and not stale_refusal(bomb)   # same limits: they stand
    assert not stale_refusal("not an image Pillow can identify (corrupt, or not an image format)")
    monkeypatch.setenv("FEATX_MAX_PIXELS", str(200_000_000))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)
    assert stale_refusal(over) and stale_refusal(bomb)


def test_the_pixel_limit_is_set_by_featx_max_pixels(tmp_path, monkeypatch):
    path = saved(Image.new("RGB", (40, 30), RED), tmp_path / "small.png", "PNG")
    monkeypatch.setenv("FEATX_MAX_PIXELS", "1199")
    with pytest.raises(PixelLimitError, match="40x30"):
        decode_image(path, (8, 8))
    monkeypatch.setenv("FEATX_MAX_PIXELS", "1_200")
    check_rgb(decode_image(path, (8, 8)), (8, 8))


@pytest.mark.parametrize("value", ["0", "-5", "lots", "1e6"])
def test_a_bad_featx_max_pixels_is_one_clear_error(monkeypatch, value):
    monkeypatch.setenv("FEATX_MAX_PIXELS", value)
    with pytest.raises(FeatxError, match=f"FEATX_MAX_PIXELS must be .* got '{value}'"):
        max_pixels()


def test_a_jpeg_counts_at_the_size_draft_mode_decodes_it_to(tmp_path, monkeypatch):
    monkeypatch.setenv("FEATX_MAX_PIXELS", "100000")
    photo = halves(1600, 1200, RED, BLUE)                       # 1.92 Mpx
    jpeg = saved(photo, tmp_path / "photo.jpg", "JPEG")
    out = decode_image(jpeg, (64, 64))                           # decoded at 1/8: 200x150
    assert close_to(out[32, 5], RED) and close_to(out[32, 60], BLUE)
    with pytest.raises(PixelLimitError, match="1600x1200"):      # no reduction at this size
        decode_image(jpeg, (1024, 1024))
    with pytest.raises(PixelLimitError, match="1600x1200"):      # PNG has no draft mode
        decode_image(saved(photo, tmp_path / "photo.png", "PNG"), (64, 64))


PEAK_SCRIPT = """
import resource, sys
from concurrent.futures import ThreadPoolExecutor
from featx.images.decode import decode_image

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def attempt(path):
    try:
        return decode_image(path, (32, 32)).shape
    except Exception as exc:
        return type(exc).__name__

base = peak_mb()
with ThreadPoolExecutor(2) as pool:
    print(list(pool.map(attempt, sys.argv[1:5])))
refusing = peak_mb() - base
print(decode_image(sys.argv[5], (32, 32)).shape)
print(refusing, peak_mb() - base - refusing)
"""


def test_decoding_stays_memory_light(huge_png, tmp_path):
    """Four 108-Mpx PNGs on two threads are refused before decoding (main: 1.3 GB), and a
    16-Mpx RGBA PNG decodes with under 10 bytes per pixel at the peak (main: 17)."""
    rgba = saved(Image.new("RGBA", (4000, 4000), (200, 30, 40, 128)), tmp_path / "rgba.png",
                 "PNG")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("FEATX_MAX_PIXELS", None)
    done = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, *[str(huge_png)] * 4, str(rgba)],
                          capture_output=True, text=True, env=env, cwd=REPO, check=True)
    refused, shape, peaks = done.stdout.splitlines()
    assert refused == str(["PixelLimitError"] * 4) and shape == "(32, 32, 3)"
    refusing_mb, decoding_mb = map(float, peaks.split())
    assert refusing_mb < 100
    assert decoding_mb * 2**20 / 16e6 < 10


# --- unreadable files --------------------------------------------------------------------------


def truncated_jpeg(tmp_path: Path) -> Path:
    path = write_image(tmp_path / "full.jpg", seed=5, size=(200, 200))
    data = path.read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    return cut


def test_truncated_jpeg_raises_and_is_described_as_truncated(tmp_path):
    with pytest.raises(OSError) as info:
        decode_image(truncated_jpeg(tmp_path), (32, 32))
    assert describe_error(info.value).startswith("truncated image data")


def test_zero_byte_file_raises_and_is_described_as_not_an_image(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(UnidentifiedImageError) as info:
        decode_image(path, (32, 32))
    assert "not an image" in describe_error(info.value)


def test_text_file_named_png_raises_and_is_described_as_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("these are not pixels\n")
    with pytest.raises(UnidentifiedImageError) as info:
        decode_image(path, (32, 32))
    assert "not an image" in describe_error(info.value)


def test_decompression_bomb_is_refused(tmp_path, monkeypatch):
    path = saved(Image.new("RGB", (100, 100), RED), tmp_path / "bomb.png", "PNG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)   # 10_000 px > 2 * limit
    with pytest.raises(Image.DecompressionBombError) as info:
        decode_image(path, (32, 32))
    assert describe_error(info.value).startswith("refused as a decompression bomb")


def test_missing_file_is_described_as_vanished(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        decode_image(tmp_path / "gone.jpg", (32, 32))
    assert describe_error(info.value) == "file vanished before it could be read"


def test_missing_file_from_a_list_is_described_as_listed_but_absent(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        decode_image(tmp_path / "gone.jpg", (32, 32))
    assert describe_error(info.value, "l.csv (line 3)") == \
        "listed in l.csv (line 3) but does not exist"


def test_directory_is_described_as_a_directory(tmp_path):
    folder = tmp_path / "folder.jpg"
    folder.mkdir()
    with pytest.raises(IsADirectoryError) as info:
        decode_image(folder, (32, 32))
    assert describe_error(info.value) == "is a directory, not an image file"


def test_symlink_loop_is_described_as_a_loop(tmp_path):
    link = tmp_path / "loop.jpg"
    os.symlink(link.name, link)                             # loop.jpg -> loop.jpg
    with pytest.raises(OSError) as info:
        decode_image(link, (32, 32))
    assert info.value.errno == errno.ELOOP
    assert describe_error(info.value) == "symbolic link loop"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root reads files regardless of permissions")
def test_unreadable_file_is_described_as_permission_denied(tmp_path):
    path = write_image(tmp_path / "locked.jpg", seed=6)
    path.chmod(0)
    try:
        with pytest.raises(PermissionError) as info:
            decode_image(path, (32, 32))
    finally:
        path.chmod(0o644)
    assert describe_error(info.value) == "permission denied"


def test_permission_error_is_described_as_permission_denied():
    # the mapping itself, also checked when running as root (where chmod 0 does not deny)
    exc = PermissionError(errno.EACCES, "Permission denied", "/data/locked.jpg")
    assert describe_error(exc) == "permission denied"


def test_other_errors_are_described_with_their_type_and_message():
    assert describe_error(ValueError("odd")) == "cannot decode image: ValueError: odd"
