"""Every bad or unusual input either decodes correctly or lands in ``errors`` with a precise reason.

One generated corpus, embedded once through the CLI (exit status 1: partial failure); each case's
outcome is then asserted from the feature file, and the decoded pixels where the colour rule or
EXIF orientation matters.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import featx
from featx.cli.main import main
from featx.embedding import run as embedding_run
from featx.images import files
from featx.images.decode import decode_image
from featx.store.schema import path_text

BOMB_LIMIT = 100_000  # Pillow refuses images above twice this many pixels
PIXEL_LIMIT = 150_000  # FEATX_MAX_PIXELS: featx refuses images above it
OK = "ok"


def rgb(width: int = 40, height: int = 32, seed: int = 0) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def png_bytes(img: Image.Image, **options) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", **options)
    return buf.getvalue()


def with_bad_crc(data: bytes, chunk: bytes) -> bytes:
    """PNG bytes with the CRC of the first ``chunk`` chunk flipped."""
    at = data.index(chunk)
    length = struct.unpack(">I", data[at - 4:at])[0]
    crc = at + 4 + length
    return data[:crc] + bytes([data[crc] ^ 0xFF]) + data[crc + 1:]


def truncated_jpeg(path: Path) -> None:
    rgb().save(path, "JPEG")
    path.write_bytes(path.read_bytes()[:300])


def exif_rotated(path: Path) -> None:
    """64x32 stored, left half red, right half blue; orientation 6 (display rotated 90° CW)."""
    pixels = np.zeros((32, 64, 3), np.uint8)
    pixels[:, :32] = (255, 0, 0)
    pixels[:, 32:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(pixels).save(path, "JPEG", exif=exif, quality=95)


def palette_with_transparency(path: Path) -> None:
    img = Image.new("P", (32, 32), 0)
    img.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    img.paste(1, (0, 0, 16, 32))
    img.save(path, "PNG", transparency=0)


def rgba(path: Path) -> None:
    img = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    img.paste((0, 0, 255, 255), (0, 0, 16, 32))
    img.save(path, "PNG")


def animated_gif(path: Path) -> None:
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)


def gray16(path: Path) -> None:
    pixels = np.full((32, 32), 65535, np.uint16)
    pixels[:, 16:] = 257 * 100
    Image.fromarray(pixels).save(path, "PNG")


CASES = {  # file name -> (how to make it, "ok" or a substring of its reason in `errors`)
    "truncated.jpg": (truncated_jpeg, "truncated image data"),
    "empty.jpg": (lambda p: p.write_bytes(b""), "empty file (0 bytes)"),
    "random.jpg": (lambda p: p.write_bytes(b"\0" + os.urandom(999)),
                   "not an image Pillow can identify"),
    "text.png": (lambda p: p.write_text("hello, not a PNG"), "not an image Pillow can identify"),
    "bad_crc_header.png": (lambda p: p.write_bytes(with_bad_crc(png_bytes(rgb()), b"IHDR")),
                           "corrupt PNG file"),
    "bad_crc_data.png": (lambda p: p.write_bytes(with_bad_crc(png_bytes(rgb(seed=1)), b"IDAT")),
                         OK),
    "gray16.png": (gray16, OK),
    "cmyk.jpg": (lambda p: rgb(seed=2).convert("CMYK").save(p, "JPEG"), OK),
    "gray.png": (lambda p: rgb(seed=3).convert("L").save(p), OK),
    "palette_transparent.png": (palette_with_transparency, OK),
    "rgba.png": (rgba, OK),
    "animated.gif": (animated_gif, OK),
    "exif_rotated.jpg": (exif_rotated, OK),
    "one_pixel.png": (lambda p: Image.new("RGB", (1, 1), (9, 9, 9)).save(p), OK),
    "wide_10000x10.png": (lambda p: rgb(10000, 10, seed=4).save(p), OK),
    "bomb.png": (lambda p: Image.new("RGB", (500, 500)).save(p), "decompression bomb"),
    "over_pixel_limit.png": (lambda p: Image.new("RGB", (400, 380)).save(p),
                             "refused over the pixel limit: 400x380"),
    "vanished.jpg": (lambda p: rgb(seed=5).save(p), "file vanished before it could be read"),
    "unreadable.jpg": (lambda p: rgb(seed=6).save(p), "permission denied"),
    "loop.jpg": (lambda p: os.symlink(p.name, p), "symbolic link loop"),
    "caf\udce9.jpg": (lambda p: rgb(seed=7).save(p, "JPEG"), OK),
    "bad\udcff.png": (lambda p: p.write_text("not a PNG either"),
                      "not an image Pillow can identify"),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_model_file):
    """The corpus embedded once with `featx embed`: (exit status, stdout, feature file)."""
    root = tmp_path_factory.mktemp("bad")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, (make, _) in CASES.items():
        make(corpus / name)
    unreadable = corpus / "unreadable.jpg"
    unreadable.chmod(0)
    out = root / "f.h5"
    with pytest.MonkeyPatch.context() as mp, io.StringIO() as stdout:
        mp.setattr(Image, "MAX_IMAGE_PIXELS", BOMB_LIMIT)
        mp.setenv("FEATX_MAX_PIXELS", str(PIXEL_LIMIT))
        listed = embedding_run.list_images

        def list_then_delete(*args, **kwargs):
            listing = listed(*args, **kwargs)
            (corpus / "vanished.jpg").unlink()
            return listing

        mp.setattr(embedding_run, "list_images", list_then_delete)
        if os.geteuid() == 0:  # root reads any file: refuse this one as the kernel would
            real = files._open_regular
            mp.setattr(files, "_open_regular", lambda path: _refuse(path, unreadable, real))
        mp.setattr("sys.stdout", stdout)
        status = main(["embed", str(corpus), str(out), "--backbone", str(tiny_model_file),
                       "--layer", "pool", "--quiet"])
        printed = stdout.getvalue()
    unreadable.chmod(0o644)
    return status, printed, featx.load(out), corpus


def _refuse(path, unreadable: Path, real):
    if Path(path) == unreadable:
        raise PermissionError(13, "Permission denied", str(path))
    return real(path)


@pytest.mark.parametrize("name, expected", [(n, e) for n, (_, e) in CASES.items()])
def test_each_input_decodes_or_is_listed_in_errors_with_its_reason(name, expected, run):
    _, _, feats, corpus = run
    path = path_text(str(corpus / name))
    reasons = {f.path: f.reason for f in feats.errors}
    if expected == OK:
        assert path in set(feats.paths) and path not in reasons
    else:
        assert path not in set(feats.paths) and expected in reasons[path]


def test_the_run_finishes_with_exit_1_and_every_image_accounted_for(run):
    status, printed, feats, _ = run
    failed = [n for n, (_, e) in CASES.items() if e != OK]
    assert status == 1
    assert f"embedded {len(CASES) - len(failed)}, reused 0, duplicates 0, failed {len(failed)}" \
        in printed
    assert len(feats) == len(set(feats.keys)) == len(CASES) - len(failed)
    assert len(feats.errors) == len(failed)
    assert "failed: " + path_text(str(run[3] / "bad\udcff.png")) in printed


def test_non_utf8_file_names_are_stored_as_escaped_utf8_and_stay_cached(run, tmp_path,
                                                                        tiny_model_file):
    _, _, feats, corpus = run
    stored = [p for p in feats.paths if "caf" in p]
    assert stored == [str(corpus / "caf\\xe9.jpg")]
    out = tmp_path / "f.h5"
    sources = [str(corpus / "caf\udce9.jpg")]
    featx.embed(sources, out, backbone=str(tiny_model_file), layer="pool", progress=False)
    before = out.stat().st_mtime_ns
    again = featx.embed(sources, out, backbone=str(tiny_model_file), layer="pool",
                        progress=False)
    assert (again.embedded, again.reused) == (0, 1) and out.stat().st_mtime_ns == before


def test_exif_orientation_is_applied_to_the_pixels(run):
    pixels = decode_image(run[3] / "exif_rotated.jpg", (32, 32)).astype(int)
    red, blue = pixels[4, 16], pixels[28, 16]  # the stored left half ends up on top
    assert red[0] > 200 and red[2] < 60 and blue[2] > 200 and blue[0] < 60


@pytest.mark.parametrize("name, top_left, bottom_right", [
    ("gray16.png", (255, 255, 255), (100, 100, 100)),           # 16-bit scaled to 8-bit
    ("palette_transparent.png", (10, 200, 30), (255, 255, 255)),  # transparent -> white
    ("rgba.png", (0, 0, 255), (255, 255, 255)),
    ("animated.gif", (255, 0, 0), (255, 0, 0)),                 # the first frame
    ("one_pixel.png", (9, 9, 9), (9, 9, 9)),
])
def test_colour_rule_gives_8_bit_rgb(name, top_left, bottom_right, run):
    pixels = decode_image(run[3] / name, (32, 32))
    assert pixels.shape == (32, 32, 3) and pixels.dtype == np.uint8
    assert tuple(pixels[0, 0]) == top_left and tuple(pixels[-1, -1]) == bottom_right


def test_cmyk_and_gray_become_rgb(run):
    gray = decode_image(run[3] / "gray.png", (32, 32))
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all()
    assert decode_image(run[3] / "cmyk.jpg", (32, 32)).shape == (32, 32, 3)


def test_a_listed_directory_is_an_error_and_a_folder_named_like_an_image_is_walked(
        tmp_path, tiny_model_file):
    (tmp_path / "x.jpg").mkdir()
    rgb(seed=8).save(tmp_path / "good.jpg")
    (tmp_path / "list.txt").write_text("good.jpg\nx.jpg\n")
    result = featx.embed(tmp_path / "list.txt", tmp_path / "f.h5", backbone=str(tiny_model_file),
                         layer="pool", progress=False)
    assert result.embedded == 1
    assert [(Path(f.path).name, f.reason) for f in result.failures] == [
        ("x.jpg", "is a directory, not an image file")]
