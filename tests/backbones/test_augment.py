"""featx.backbones.augment: which views of an image an augmentation averages, and where crops lie
(the forward pass itself is tested in test_build.py)."""

from __future__ import annotations

import pytest

from featx.backbones.augment import AUGMENTATIONS, CROP_FRACTION, crop_boxes, decode_size, views


def test_augmentations_and_their_views():
    assert AUGMENTATIONS == ("none", "flip", "five-crop", "ten-crop")
    assert [views(a) for a in AUGMENTATIONS] == [1, 2, 5, 10]


def test_crops_are_decoded_like_torchvision_resize_256_then_crop_224():
    assert CROP_FRACTION == 0.875
    assert decode_size((224, 224), "five-crop") == decode_size((224, 224), "ten-crop") == (256, 256)
    assert decode_size((299, 299), "five-crop") == (342, 342)


@pytest.mark.parametrize("augment", ["none", "flip"])
def test_whole_image_augmentations_decode_at_the_input_size(augment):
    assert decode_size((96, 128), augment) == (96, 128)


def test_crop_boxes_are_the_four_corners_then_the_centre():
    assert crop_boxes((256, 256), (224, 224)) == [(0, 0), (0, 32), (32, 0), (32, 32), (16, 16)]


def test_crop_boxes_of_a_non_square_size_stay_inside_the_image():
    boxes = crop_boxes((37, 46), (32, 40))
    assert boxes == [(0, 0), (0, 6), (5, 0), (5, 6), (2, 3)]
    assert all(0 <= top <= 5 and 0 <= left <= 6 for top, left in boxes)
