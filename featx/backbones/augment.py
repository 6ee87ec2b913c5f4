"""Test-time augmentation of features: the views of an image whose features are averaged.

* ``none``: the image itself (one view).
* ``flip``: the image and its horizontal mirror (two views).
* ``five-crop``: the four corner crops and the centre crop of the input size, cut from the image
  decoded at :func:`decode_size`, the input size divided by :data:`CROP_FRACTION` (224 -> 256):
  torchvision's ``Resize(256)`` + ``FiveCrop(224)``, the evaluation protocol of ImageNet models
  and of the off-the-shelf CNN-feature literature (Razavian et al. 2014 jitter crops and
  mirrors). The resize policy decides how the image fills the larger square (``squash``,
  ``center-crop`` or ``pad``), so the corners are corners of what the policy keeps.
* ``ten-crop``: those five crops and their horizontal mirrors (ten views).

A stored row is the mean of the features of the views (each pooled first), computed inside the
compiled forward pass (:mod:`featx.backbones.build`) on the decoded batch: decoding is done once
per image, at :func:`decode_size`. The augmentation is part of a configuration's identity, so
rows of one augmentation are never served to another.

>>> decode_size((224, 224), "five-crop")
(256, 256)
>>> crop_boxes((256, 256), (224, 224))
[(0, 0), (0, 32), (32, 0), (32, 32), (16, 16)]
>>> views("ten-crop")
10
"""

from __future__ import annotations

AUGMENTATIONS = ("none", "flip", "five-crop", "ten-crop")
CROP_FRACTION = 0.875
"""The crop's share of the decoded side: 224 of 256, the ImageNet evaluation convention."""
_CROPS = ("five-crop", "ten-crop")


def decode_size(input_size: tuple[int, int], augment: str) -> tuple[int, int]:
    """The size an image is decoded at (height, width): the input size, or for crops the size
    the crops are cut from."""
    if augment not in _CROPS:
        return input_size
    return tuple(int(round(side / CROP_FRACTION)) for side in input_size)


def crop_boxes(decoded: tuple[int, int], size: tuple[int, int]) -> list[tuple[int, int]]:
    """``(top, left)`` of the top-left, top-right, bottom-left, bottom-right and centre crops of
    ``size`` in an image of ``decoded`` (the order and the centre rounding of torchvision's
    ``FiveCrop``)."""
    (dh, dw), (h, w) = decoded, size
    centre = (int(round((dh - h) / 2)), int(round((dw - w) / 2)))
    return [(0, 0), (0, dw - w), (dh - h, 0), (dh - h, dw - w), centre]


def views(augment: str) -> int:
    """How many views of an image an augmentation averages (forward passes per image)."""
    return {"none": 1, "flip": 2, "five-crop": 5, "ten-crop": 10}[augment]
