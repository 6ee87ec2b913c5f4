"""Shared fixtures: tiny generated image trees and a tiny Keras model file (fast, offline)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
LITE0_FILE = SHARED / "backbones" / "efficientnet_lite0_imagenet.keras"
HYMENOPTERA = SHARED / "data" / "hymenoptera"

needs_shared = pytest.mark.skipif(not LITE0_FILE.exists() or not HYMENOPTERA.is_dir(),
                                  reason="../shared (backbones and hymenoptera) not present")


def write_image(path: Path, seed: int, size: tuple[int, int] = (48, 40), fmt: str = "JPEG") -> Path:
    """A small random-but-structured RGB image (different seeds give different bytes)."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, fmt)
    return path


@pytest.fixture
def class_tree(tmp_path: Path) -> Path:
    """``train/{cats,dogs}`` and ``val/{cats,dogs}``, 3 JPEGs each (12 images)."""
    root = tmp_path / "images"
    seed = 0
    for split in ("train", "val"):
        for label in ("cats", "dogs"):
            for i in range(3):
                seed += 1
                write_image(root / split / label / f"{label}{i}.jpg", seed)
    return root


@pytest.fixture(scope="session")
def tiny_model_file(tmp_path_factory) -> Path:
    """A small deterministic Keras CNN saved as ``.keras`` (32x32 input, ``pool`` is 8-d)."""
    import keras

    keras.utils.set_random_seed(1)
    inputs = keras.Input((32, 32, 3), name="pixels")
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = keras.layers.Conv2D(8, 3, activation="relu", name="conv")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(2, name="logits")(x)
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    keras.Model(inputs, outputs).save(path)
    return path
