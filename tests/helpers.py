"""Test helpers (imported by test modules; the fixtures stay in ``conftest.py``): paths of the
repository and of ../shared, tiny generated images, and synthetic feature files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

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


def write_tree(root: Path, labels: tuple[str, ...], per_class: int) -> Path:
    """``train/LABEL/LABELi.jpg`` and ``val/LABEL/LABELi.jpg``: ``per_class`` images of each
    label in each split, all different."""
    seed = 0
    for split in ("train", "val"):
        for label in labels:
            for i in range(per_class):
                seed += 1
                write_image(root / split / label / f"{label}{i}.jpg", seed)
    return root


SYNTHETIC_ATTRS = {"backbone": "file", "model_file": "/nowhere/synthetic.keras", "layer": "pool",
                   "pooling": "avg", "input_size": [32, 32], "resize": "squash",
                   "preprocess": "none", "weights": "", "weights_fingerprint": "sha256:synthetic"}


def write_features(path: Path, n_per_class: int = 20, dim: int = 16, splits=("train", "val"),
                   seed: int = 0, attrs: dict | None = None,
                   classes: dict[str, tuple[str, ...]] | None = None,
                   spread: float = 1.0) -> Path:
    """A feature file of Gaussian classes per split: ``ants`` and ``bees``, or
    ``classes[split]`` (every class its own centre, centres 4 * sqrt(2) apart), each of standard
    deviation ``spread`` (the default 1 keeps them apart)."""
    import h5py

    from featx.store import write
    from featx.store.schema import Rows

    rng = np.random.default_rng(seed)
    rows = Rows(np.empty((0, dim), np.float32), [], [], [], [], [], [])
    blocks = []
    classes = classes or {split: ("ants", "bees") for split in splits}
    names = sorted({label for labels in classes.values() for label in labels})
    for split in splits:
        for label in classes[split]:
            c = names.index(label)
            centre = np.zeros(dim)
            centre[c] = 4.0
            blocks.append(rng.normal(centre, spread, (n_per_class, dim)))
            for i in range(n_per_class):
                rows.paths.append(f"/photos/{split}/{label}/{i}.jpg")
                rows.labels.append(label)
                rows.split.append(split)
                rows.keys.append(f"{split}-{label}-{i}")
                rows.sizes.append(1)
                rows.mtimes.append(1)
    rows.features = np.concatenate(blocks).astype(np.float32)
    with h5py.File(path, "w") as h5:
        write.create(h5, attrs or SYNTHETIC_ATTRS, dim)
        write.append(h5, rows)
    return path


def make_rows(keys, labels, dim=4, seed=0):
    """Rows of random features for ``keys`` with ``labels``, all in split ``train``."""
    from featx.store.schema import Rows

    rng = np.random.default_rng(seed)
    return Rows(
        features=rng.normal(size=(len(keys), dim)).astype(np.float32),
        paths=[f"/img/{k}.jpg" for k in keys], labels=list(labels),
        split=["train"] * len(keys), keys=list(keys), sizes=[1] * len(keys),
        mtimes=[2] * len(keys))


def embed_args(source: Path, out: Path, model: Path, *extra: str) -> list[str]:
    """``featx embed`` arguments for the tiny model file, cut at ``pool``, quiet."""
    return ["embed", str(source), str(out), "--backbone", str(model), "--layer", "pool",
            "--quiet", *extra]
