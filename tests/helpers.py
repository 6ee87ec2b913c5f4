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

TINY_FINETUNE = dict(epochs=2, batch_size=8, patience=2, cv=2)
"""Fine-tuning options that keep a test run to seconds."""

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
                   "preprocess": "none", "weights": "", "weights_fingerprint": "sha256:synthetic",
                   "featx_version": "0.1.0", "keras_version": "3", "tensorflow_version": "2",
                   "created": "2026-01-01T00:00:00+00:00"}


def write_features(path: Path, n_per_class: int = 20, dim: int = 16, splits=("train", "val"),
                   seed: int = 0, attrs: dict | None = None,
                   classes: dict[str, tuple[str, ...]] | None = None,
                   spread: float = 1.0) -> Path:
    """A feature file of Gaussian classes per split: ``ants`` and ``bees``, or
    ``classes[split]`` (every class its own centre, centres 4 * sqrt(2) apart), each of standard
    deviation ``spread`` (the default 1 keeps them apart), written through the store's writer."""
    rng = np.random.default_rng(seed)
    classes = classes or {split: ("ants", "bees") for split in splits}
    names = sorted({label for labels in classes.values() for label in labels})
    paths, labels, split_of, blocks = [], [], [], []
    for split in splits:
        for label in classes[split]:
            centre = np.zeros(dim)
            centre[names.index(label)] = 4.0
            blocks.append(rng.normal(centre, spread, (n_per_class, dim)))
            paths += [f"/photos/{split}/{label}/{i}.jpg" for i in range(n_per_class)]
            labels += [label] * n_per_class
            split_of += [split] * n_per_class
    return write_store(path, np.concatenate(blocks), paths, labels, split_of, attrs=attrs)


def write_store(path: Path, features: np.ndarray, paths, labels, splits, keys=None,
                attrs: dict | None = None, source: str = "/photos") -> Path:
    """A store holding ``features`` as one source's entries (``keys`` default to distinct
    hashes of the paths), through the store's own writer."""
    from featx.store.journal import Journal, Update
    from featx.store.schema import config_name
    from featx.store.tables import Table
    from featx.store.write import Batch

    attrs = attrs or SYNTHETIC_ATTRS
    keys = list(keys) if keys is not None else [key_of(p) for p in paths]
    n = len(paths)
    with Journal(path) as journal:
        journal.write_part(attrs, Batch(keys, np.asarray(features, np.float32),
                                        Table.empty("failed")))
        journal.commit(Update(source, Table.make(
            "entries", path=paths, label=labels, split=splits, key=keys, size=[1] * n,
            mtime=[1] * n, error=[""] * n), config_name(attrs)))
    return path


def key_of(name: str) -> str:
    """A content key (32 hex digits) made from a name, for synthetic rows."""
    import hashlib

    return hashlib.blake2b(name.encode(), digest_size=16).hexdigest()


def embed_args(source: Path, out: Path, model: Path, *extra: str) -> list[str]:
    """``featx embed`` arguments for the tiny model file, cut at ``pool``, quiet."""
    return ["embed", str(source), str(out), "--backbone", str(model), "--layer", "pool",
            "--quiet", *extra]


def write_v1_file(path: Path, features: np.ndarray, paths, labels, splits, keys, attrs: dict,
                  errors=()) -> Path:
    """A version-1 feature file laid out exactly as featx 0.1.0 (before the version-2 store)
    wrote it: one row per content, resizable chunked datasets, ``errors`` (path, reason, key)."""
    import h5py

    text = h5py.string_dtype("utf-8")
    names = sorted({label for label in labels if label is not None})
    dim = features.shape[1]
    with h5py.File(path, "w") as h5:
        h5.attrs.update({"format": "featx-features", "format_version": 1, **attrs,
                         "feature_dim": dim, "updated": "2026-01-01T00:00:00+00:00"})
        h5.create_dataset("features", data=np.asarray(features, np.float32),
                          maxshape=(None, dim), chunks=(max(1, len(features)), dim))
        columns = {"paths": (list(paths), text), "split": (list(splits), text),
                   "keys": (list(keys), text), "label_names": (names, text),
                   "labels": ([names.index(x) if x is not None else -1 for x in labels],
                              np.int32),
                   "sizes": ([1] * len(paths), np.int64), "mtimes": ([1] * len(paths), np.int64)}
        for name, (values, dtype) in columns.items():
            h5.create_dataset(name, data=np.array(values, dtype=object if dtype is text
                                                  else dtype), dtype=dtype, maxshape=(None,),
                              chunks=(4096,))
        group = h5.create_group("errors")
        for i, field in enumerate(("path", "reason", "key")):
            group.create_dataset(field, data=np.array([e[i] for e in errors], dtype=object),
                                 dtype=text, maxshape=(None,), chunks=(1024,))
    return path
