"""featx.report.thumbnails: small JPEGs made once, as featx reads images, placeholders otherwise."""

from __future__ import annotations

import os

from PIL import Image

from featx.report.thumbnails import Thumbnails


def test_thumbnails_are_made_once_and_follow_exif_orientation(tmp_path):
    photo = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.new("RGB", (400, 200), "red").save(photo, exif=exif)
    thumbs = Thumbnails(tmp_path / "thumbs", size=100)
    first = thumbs.get(str(photo))
    with Image.open(first.file) as img:
        assert img.size == (50, 100)
    again = Thumbnails(tmp_path / "thumbs", size=100)
    assert again.get(str(photo)) == first and (again.made, again.reused) == (0, 1)
    os.utime(photo, ns=(1, 1))  # edited since: a new thumbnail
    edited = Thumbnails(tmp_path / "thumbs", size=100)
    assert edited.get(str(photo)).file != first.file and edited.made == 1


def test_modes_other_than_rgb_become_thumbnails(tmp_path):
    thumbs = Thumbnails(tmp_path / "thumbs", size=32)
    for mode in ("L", "RGBA", "P", "I;16", "CMYK", "1"):
        path = tmp_path / f"{mode.replace(';', '')}.{'jpg' if mode == 'CMYK' else 'png'}"
        Image.new(mode, (64, 48)).save(path)
        thumb = thumbs.get(str(path))
        assert thumb.file, (mode, thumb.problem)
        with Image.open(thumb.file) as img:
            assert img.mode == "RGB" and img.size == (32, 24)


def test_images_that_cannot_be_shown_are_placeholders_with_the_reason(tmp_path, monkeypatch):
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    thumbs = Thumbnails(tmp_path / "t")
    assert "not an image Pillow can identify" in thumbs.get(str(bad)).problem
    assert thumbs.get(str(tmp_path / "gone.jpg")).problem == "image no longer at this path"
    big = tmp_path / "big.png"
    Image.new("RGB", (300, 200)).save(big)
    monkeypatch.setenv("FEATX_MAX_PIXELS", "1000")
    assert "refused over the pixel limit" in thumbs.get(str(big)).problem
    assert not os.path.exists(tmp_path / "t") or not os.listdir(tmp_path / "t")
