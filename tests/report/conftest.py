"""Fixtures of the report tests: feature files whose paths are real small images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import write_image, write_store


def write_photo_features(root: Path, n: int = 12, dim: int = 8, noise: float = 1.3,
                         seed: int = 0, missing: int = 0) -> Path:
    """A feature file of two overlapping Gaussian classes whose paths are real small JPEGs
    (train and val, ``n`` per class each); the last ``missing`` images are deleted after."""
    rng = np.random.default_rng(seed)
    paths, labels, splits, features = [], [], [], []
    for split in ("train", "val"):
        for c, label in enumerate(("ants", "bees")):
            for i in range(n):
                paths.append(str(write_image(root / split / label / f"{label}{i}.jpg",
                                             seed=len(paths))))
                centre = np.zeros(dim)
                centre[c] = 2.0
                features.append(rng.normal(centre, noise))
                labels.append(label)
                splits.append(split)
    out = write_store(root / "features.h5", np.array(features), paths, labels, splits)
    for path in paths[len(paths) - missing:]:
        os.remove(path)
    return out


@pytest.fixture
def photo_features(tmp_path):
    """:func:`write_photo_features` under ``tmp_path/photos``, with its keywords."""
    return lambda **kwargs: write_photo_features(tmp_path / "photos", **kwargs)
