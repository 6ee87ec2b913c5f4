"""The held-out split of a feature file: train and held-out rows, labels as class names.

The held-out set is the file's ``test`` split, else its ``val`` split (training on ``train``),
or a stratified random ``test_size`` fraction of the labelled rows when asked or when the file
has no such split. Split names match in any case (``Train``, ``VAL``), as
:func:`featx.images.sources.split_name` writes them, so files listed before that rule train the
same way.

Exact duplicates are never dropped on their own: held-out images whose content is also among the
training rows (a leak), and one content under two labels (a conflict), each give a warning, and
``drop_leaks=True`` removes the leaked held-out copies (and says so).

>>> data = load_dataset("features.h5")
>>> len(data.y_train), len(data.y_test), data.held_out, data.classes, data.warnings
(8, 8, "split 'val'", ['ants', 'bees'], [])
>>> data.paths_test[0].endswith(".jpg")
True
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import train_test_split

from featx import SEED
from featx.errors import FeatxError
from featx.images.sources import split_name
from featx.store.groups import duplicate_groups
from featx.store.read import Features, load

HELD_OUT_SPLITS = ("test", "val", "valid", "validation", "dev")
DEFAULT_TEST_SIZE = 0.25
FEATURE_SUFFIXES = (".h5", ".hdf5")


@dataclass
class Dataset:
    """Train and held-out rows of a feature file, labels as class names."""

    X_train: np.ndarray  # noqa: N815 (scikit-learn naming)
    y_train: np.ndarray
    X_test: np.ndarray  # noqa: N815
    y_test: np.ndarray
    classes: list[str]
    held_out: str
    meta: dict
    paths_test: list[str]
    warnings: list[str] = field(default_factory=list)
    paths_train: list[str] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        """Every class of the training and held-out rows: the rows and columns of a report."""
        return sorted(set(self.classes) | set(self.y_test))

    @property
    def untrained(self) -> list[str]:
        """Held-out classes without a training row: the model never learnt them, so each of
        their held-out images counts as an error."""
        return sorted(set(self.y_test) - set(self.classes))


def load_dataset(path: str | os.PathLike, test_size: float | None = None,
                 seed: int = SEED, config: str | None = None,
                 drop_leaks: bool = False) -> Dataset:
    """Split the labelled rows of a feature file (its configuration ``config``, when it holds
    several) into train and held-out sets."""
    if test_size is not None and not 0 < test_size < 1:
        raise FeatxError(f"test size must be a fraction between 0 and 1 (exclusive), got "
                         f"{test_size:g}")
    with load(path, config) as feats:
        return _split(feats, path, test_size, seed, drop_leaks)


def _split(feats: Features, path, test_size: float | None, seed: int,
           drop_leaks: bool) -> Dataset:
    paths = [str(p) for p in feats.paths]
    names = np.asarray([*feats.label_names, ""], dtype=object)
    y = names[feats.y]  # -1 (unlabelled) picks ""
    rows = hold_out(y, feats.split, feats.keys, test_size, seed, drop_leaks, path)
    X = feats.X  # noqa: N806
    check_finite(X, paths, path)
    train, test = rows.train, rows.test
    return Dataset(X[train], y[train], X[test], y[test], sorted(set(y[train])), rows.how,
                   feats.meta, [paths[i] for i in test], rows.warnings,
                   [paths[i] for i in train])


@dataclass
class HeldOut:
    """Row indices to train on and to hold out, how the held-out rows were chosen, and the
    warnings about exact duplicates."""

    train: np.ndarray
    test: np.ndarray
    how: str
    warnings: list[str]


def hold_out(labels: Sequence[str], splits: Sequence[str], keys: Sequence[str],
             test_size: float | None = None, seed: int = SEED, drop_leaks: bool = False,
             source: str | os.PathLike = "") -> HeldOut:
    """The held-out rule of this module for labelled rows (``labels``: class names, "" where
    unlabelled), their ``splits`` and content ``keys``; ``source`` names them in errors."""
    labels = np.asarray(labels, dtype=object)
    labelled = labels != ""
    if not labelled.any():
        raise FeatxError(f"{source}: no labelled rows to train on")
    split = np.array([split_name(s) for s in splits], dtype=object)
    held = next((s for s in HELD_OUT_SPLITS if (labelled & (split == s)).any()), None)
    if test_size is None and held:
        train, test = (np.flatnonzero(labelled & (split == s)) for s in ("train", held))
        if not len(train):
            raise FeatxError(f"{source}: has a {held!r} split but no labelled 'train' rows")
        how = f"split {held!r}"
    else:
        size = test_size or DEFAULT_TEST_SIZE
        train, test = train_test_split(np.flatnonzero(labelled), test_size=size,
                                       stratify=labels[labelled], random_state=seed)
        how = f"stratified random {size:g} of the labelled rows (seed {seed})"
    test, warnings = _duplicates(np.asarray(keys), labels, split, train, test, drop_leaks,
                                 source)
    return HeldOut(train, test, how, warnings)


def _duplicates(keys: np.ndarray, labels: np.ndarray, split: np.ndarray, train: np.ndarray,
                test: np.ndarray, drop_leaks: bool, source) -> tuple[np.ndarray, list[str]]:
    """The held-out rows (without leaked copies if ``drop_leaks``) and the warnings to give."""
    warnings = []
    leaked = test[np.isin(keys[test], keys[train])]
    if len(leaked) and drop_leaks:
        test = np.setdiff1d(test, leaked)
        warnings.append(f"held-out images with an exact copy among the training images: "
                        f"{len(leaked)}, left out (--drop-leaks)")
    elif len(leaked):
        warnings.append(f"held-out images with an exact copy among the training images: "
                        f"{len(leaked)} (a leak: held-out accuracy is optimistic; --drop-leaks "
                        "leaves them out)")
    labelled = labels != ""
    conflicts = [g for g in duplicate_groups(keys, labels, split)
                 if g.conflict and labelled[g.rows].sum() > 1]
    if conflicts:
        hint = f"; `featx info {source}` lists them" if str(source).endswith(FEATURE_SUFFIXES) \
            else ""
        warnings.append(f"exact copies under different labels (label conflicts): "
                        f"{sum(len(g.rows) for g in conflicts)} images in {len(conflicts)} "
                        f"group(s){hint}")
    return test, warnings


def check_finite(X: np.ndarray, paths: Sequence[str], source) -> None:  # noqa: N803
    """Refuse feature rows holding NaN or Inf (no head can fit or predict them)."""
    bad = np.flatnonzero(~np.isfinite(X).all(axis=1)) if X.size else []
    if len(bad):
        raise FeatxError(f"{source}: {len(bad)} row(s) hold NaN or Inf features, e.g. "
                         f"{paths[bad[0]]}; `featx check {source}` lists them")
