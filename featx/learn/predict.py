"""Apply a model bundle to images (embedded with the bundle's configuration) or a feature file,
or a fine-tuned ``.keras`` classifier to images.

>>> from featx.learn.train import train
>>> _ = train("features.h5", ["centroid"], "runs/centroid", cv=2, log=lambda line: None)
>>> preds = predict("runs/centroid/model.skops", "images/val", cache="features.h5")
>>> preds.write_csv("predictions.csv")
>>> len(preds.paths), preds.columns(), preds.failures
(8, ['path', 'label', 'predicted', 'proba_ants', 'proba_bees', 'error'], [])
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from featx.embedding.options import RunOptions
from featx.embedding.run import run
from featx.errors import FeatxError
from featx.learn import bundle as bundles
from featx.learn.classifier import is_classifier_path
from featx.learn.classifier import predict as classify
from featx.learn.dataset import FEATURE_SUFFIXES, check_finite
from featx.learn.predictions import Predictions, predict_rows, with_failures
from featx.store.read import Features, configs, load


def predict(bundle_path: str | os.PathLike, source, cache: str | os.PathLike | None = None,
            batch_size: int = 32, progress: bool = False) -> Predictions:
    """Predict every image of ``source`` (folder, list, paths) or every row of a feature file.

    Images are embedded into ``cache`` (a temporary file when ``None``) with the bundle's
    configuration, as content only: a cache that is a data set's feature file (the training
    file, say) gains content but keeps its entries, labels and splits. A feature file given as
    ``source`` must hold the bundle's configuration. Every listed image has a row, those that
    failed (here, or when the feature file was made) with their reason.

    A fine-tuned ``.keras`` classifier (written by ``featx finetune``) classifies the images'
    pixels itself (:func:`featx.learn.classifier.predict`); it takes no feature file or cache.
    """
    if is_classifier_path(bundle_path):
        if cache is not None:
            raise FeatxError(f"{bundle_path} classifies pixels directly: a cache of features "
                             "(--cache) applies to model bundles only")
        return classify(bundle_path, source, batch_size, progress)
    model = bundles.load(bundle_path)
    if isinstance(source, str | os.PathLike) and os.fspath(source).endswith(FEATURE_SUFFIXES):
        with _trained_features(model, source) as feats:
            paths = [str(p) for p in feats.paths]
            check_finite(feats.X, paths, source)
            names = feats.label_names
            labels = [names[i] if i >= 0 else "" for i in feats.y]
            failed = [f.path for f in feats.errors]
            return with_failures(predict_rows(model.model, feats.X, paths, labels),
                                 paths + failed, labels + [""] * len(failed), feats.errors)
    if cache is None:
        with tempfile.TemporaryDirectory(prefix="featx-") as tmp:
            return predict(bundle_path, source, os.path.join(tmp, "features.h5"), batch_size,
                           progress)
    options = RunOptions(batch_size=batch_size, progress=progress)
    results = [run(config, source, cache, options, entries=False)
               for config in model.feature_configs()]
    result = results[0]
    failures = list({f.path: f for r in results for f in r.failures}.values())
    failed = {f.path for f in failures}
    done = [(item, key) for item, key in zip(result.items, result.keys, strict=True)
            if key is not None and item.path not in failed]
    X = np.hstack([_rows(cache, r.config, [k for _, k in done]) for r in results])  # noqa: N806
    paths = [item.path for item, _ in done]
    check_finite(X, paths, cache)
    preds = predict_rows(model.model, X, paths, [item.label or "" for item, _ in done])
    return with_failures(preds, [item.path for item in result.items],
                         [item.label or "" for item in result.items], failures)


def _rows(cache: str | os.PathLike, config: str, keys: list[str]) -> np.ndarray:
    """The feature rows of content ``keys`` of configuration ``config`` in ``cache``."""
    with load(cache, config) as feats:
        return feats.by_keys(keys) if keys else np.empty((0, feats.dim), np.float32)


def _trained_features(model: bundles.Bundle, path: str | os.PathLike) -> Features:
    """The features of ``path`` computed as the model's training ones, or a clear error naming
    how they differ."""
    held = configs(path)
    if len(held) == 1:
        model.check(next(iter(held.values())), f"feature file {path}")
    return load(path, model.stored_config())
