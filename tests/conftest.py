"""Shared fixtures: tiny generated image trees, tiny Keras model files and feature files (fast,
offline). Helpers that tests import live in :mod:`tests.helpers`."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import key_of, write_features, write_store, write_tree

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture
def class_tree(tmp_path: Path) -> Path:
    """``train/{cats,dogs}`` and ``val/{cats,dogs}``, 3 JPEGs each (12 images)."""
    return write_tree(tmp_path / "images", ("cats", "dogs"), 3)


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


@pytest.fixture
def features_file(tmp_path: Path) -> Path:
    """Synthetic features: train and val splits, 20 rows of each of two classes, 16-d."""
    return write_features(tmp_path / "synthetic.h5")


@pytest.fixture
def tree_features(tmp_path: Path, class_tree: Path, tiny_model_file: Path) -> Path:
    """``class_tree`` embedded with the tiny model (train/val, 3 images per class each)."""
    from featx.embedding.run import embed

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


@pytest.fixture
def small_feature_file(tmp_path: Path) -> Path:
    """A feature file of 3 rows (keys of k0..k2, labels b, none, a), 4-d."""
    features = np.random.default_rng(0).normal(size=(3, 4))
    return write_store(tmp_path / "f.h5", features, [f"/img/k{i}.jpg" for i in range(3)],
                       ["b", None, "a"], ["train"] * 3, keys=[key_of(f"k{i}") for i in range(3)])
