"""``featx train --adapt-to TARGET``: training rows mapped onto a target domain by CORAL.

The heads train on the source file's training rows (those :func:`featx.learn.dataset.
load_dataset` picks, so the numbers compare with a plain ``featx train``) and are scored on the
target file's labelled rows. :func:`adapt` gives two data sets with the same held-out rows: one
whose training rows :class:`~featx.learn.coral.CORAL` has mapped onto the target domain (fitted
once, on the training rows and every target row; no target label is seen), and one with the
training rows as they are. The ordinary grid search runs on each, so the two accuracies differ by
the adaptation alone; the head fitted on adapted rows applies to target features as they are.

>>> from featx.learn.dataset import load_dataset
>>> adapted, plain = adapt(load_dataset("features.h5"), "features.h5")
>>> adapted.held_out
'target features.h5: 16 labelled of 16 rows'
>>> adapted.X_train.shape == plain.X_train.shape, bool((adapted.X_test == plain.X_test).all())
(True, True)
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np

from featx.backbones.config import FeatureConfig
from featx.errors import FeatxError
from featx.learn.coral import CORAL
from featx.learn.dataset import Dataset, check_finite
from featx.store.read import configs, load


def adapt(data: Dataset, target: str | os.PathLike) -> tuple[Dataset, Dataset]:
    """``(adapted, plain)``: ``data`` with the labelled rows of the feature file ``target`` held
    out, and its training rows mapped by CORAL onto the target domain (``adapted``) or not."""
    X_target, labels, paths = target_rows(target, data.meta)  # noqa: N806
    known = np.flatnonzero(labels != "")
    if not len(known):
        raise FeatxError(f"{target}: no labelled rows to evaluate on (CORAL needs no target "
                         "labels, the accuracy does)")
    if len(X_target) < 2:
        raise FeatxError(f"{target}: CORAL needs at least 2 target rows, the file has "
                         f"{len(X_target)}")
    plain = replace(data, X_test=X_target[known], y_test=labels[known],
                    held_out=f"target {target}: {len(known)} labelled of {len(labels)} rows",
                    paths_test=[paths[i] for i in known])
    coral = CORAL(target=X_target).fit(data.X_train)
    return replace(plain, X_train=coral.transform(data.X_train)), plain


def target_rows(path: str | os.PathLike,
                meta: dict) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Every row of the target feature file ``path`` with the source's configuration (``meta``):
    features, class names ("" where unlabelled) and paths. A target computed otherwise is
    refused, naming how it differs."""
    source = FeatureConfig.from_attrs(meta)
    held = configs(path)
    if len(held) == 1:
        lines = source.mismatches(next(iter(held.values())))
        if lines:
            raise FeatxError(f"{path}: the target features were computed otherwise than the "
                             "source's: " + "; ".join(
                                 line.replace("this run asks for", "the source has")
                                 for line in lines))
    with load(path, source) as feats:
        paths = [str(p) for p in feats.paths]
        X = feats.X  # noqa: N806
        check_finite(X, paths, path)
        names = np.asarray([*feats.label_names, ""], dtype=object)
        return X, names[feats.y], paths
