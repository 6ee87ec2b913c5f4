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


SYNTHETIC_ATTRS = {"backbone": "file", "model_file": "/nowhere/synthetic.keras", "layer": "pool",
                   "pooling": "avg", "input_size": [32, 32], "resize": "squash",
                   "preprocess": "none", "weights": "", "weights_fingerprint": "sha256:synthetic"}


def write_features(path: Path, n_per_class: int = 20, dim: int = 16, splits=("train", "val"),
                   seed: int = 0, attrs: dict | None = None) -> Path:
    """A feature file of two well-separated Gaussian classes (``ants``, ``bees``) per split."""
    import h5py

    from featx import store

    rng = np.random.default_rng(seed)
    rows = store.Rows(np.empty((0, dim), np.float32), [], [], [], [], [], [])
    blocks = []
    for split in splits:
        for c, label in enumerate(("ants", "bees")):
            centre = np.zeros(dim)
            centre[c] = 4.0
            blocks.append(rng.normal(centre, 1.0, (n_per_class, dim)))
            for i in range(n_per_class):
                rows.paths.append(f"/photos/{split}/{label}/{i}.jpg")
                rows.labels.append(label)
                rows.split.append(split)
                rows.keys.append(f"{split}-{label}-{i}")
                rows.sizes.append(1)
                rows.mtimes.append(1)
    rows.features = np.concatenate(blocks).astype(np.float32)
    with h5py.File(path, "w") as h5:
        store.create(h5, attrs or SYNTHETIC_ATTRS, dim)
        store.append(h5, rows)
    return path


@pytest.fixture
def features_file(tmp_path: Path) -> Path:
    """Synthetic features: train and val splits, 20 rows of each of two classes, 16-d."""
    return write_features(tmp_path / "synthetic.h5")


@pytest.fixture
def tree_features(tmp_path: Path, class_tree: Path, tiny_model_file: Path) -> Path:
    """``class_tree`` embedded with the tiny model (train/val, 3 images per class each)."""
    from featx.engine import embed

    out = tmp_path / "tree.h5"
    embed(class_tree, out, backbone=str(tiny_model_file), layer="pool", progress=False)
    return out


@pytest.fixture(scope="session")
def nan_model_file(tmp_path_factory) -> Path:
    """A Keras model file whose conv weights are NaN: every feature it computes is NaN."""
    import keras

    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D(name="pool")(x))
    kernel, bias = model.get_layer("conv").get_weights()
    model.get_layer("conv").set_weights([np.full_like(kernel, np.nan), bias])
    path = tmp_path_factory.mktemp("model") / "nan.keras"
    model.save(path)
    return path
