"""Fixtures of the fine-tuning tests: a tiny CNN with named blocks, a tree of photos whose two
classes differ in colour, and one fine-tuning run of the two (shared by the tests that only read
its output)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers import TINY_FINETUNE, write_image


@pytest.fixture(scope="session")
def blocks_model_file(tmp_path_factory) -> Path:
    """A tiny CNN with named blocks, BatchNorm and a dropout (32x32 input, ``pool`` is 8-d)."""
    import keras

    keras.utils.set_random_seed(1)
    inputs = keras.Input((32, 32, 3), name="pixels")
    x = keras.layers.Rescaling(1 / 255.0, name="scale")(inputs)
    x = keras.layers.Conv2D(8, 3, name="block1_conv")(x)
    x = keras.layers.BatchNormalization(name="block1_bn")(x)
    x = keras.layers.Activation("relu", name="block1_relu")(x)
    x = keras.layers.Conv2D(8, 3, name="block2_conv")(x)
    x = keras.layers.BatchNormalization(name="block2_bn")(x)
    x = keras.layers.Dropout(0.5, name="block2_drop")(x)
    x = keras.layers.Conv2D(8, 1, activation="relu", name="top_conv")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(3, name="logits")(x)
    path = tmp_path_factory.mktemp("model") / "blocks.keras"
    keras.Model(inputs, outputs).save(path)
    return path


@pytest.fixture(scope="session")
def photo_tree(tmp_path_factory) -> Path:
    """``train`` and ``val`` with 6 PNGs of each of two classes, ``reds`` and ``blues``: their
    colours differ, so they can be learned."""
    root = tmp_path_factory.mktemp("photos")
    for s, split in enumerate(("train", "val")):
        for c, label in enumerate(("reds", "blues")):
            for i in range(6):
                path = write_image(root / split / label / f"{label}{i}.png", 100 * c + 10 * s + i,
                                   size=(40, 36), fmt="PNG")
                pixels = np.asarray(Image.open(path)).copy()
                pixels[..., 2 * c] = 255
                Image.fromarray(pixels).save(path)
    return root


@pytest.fixture(scope="session")
def finetuned(tmp_path_factory, photo_tree, blocks_model_file):
    """One fine-tuning run of the tiny model: ``(out, result, logged lines)``."""
    from featx.finetuning import finetune

    out = tmp_path_factory.mktemp("run") / "tiny.keras"
    lines: list[str] = []
    result = finetune(photo_tree, out, backbone=str(blocks_model_file), progress=False,
                      log=lines.append, **TINY_FINETUNE)
    return out, result, lines
