"""Apply a model bundle to images (embedded with the bundle's configuration) or a feature file.

>>> from featx.learn.train import train
>>> _ = train("features.h5", ["centroid"], "runs/centroid", cv=2, log=lambda line: None)
>>> preds = predict("runs/centroid/model.skops", "images/val", cache="features.h5")
>>> preds.write_csv("predictions.csv")
>>> len(preds.paths), preds.classes, preds.failures
(8, ['ants', 'bees'], [])
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import numpy as np

from featx._text import write_csv
from featx.embedding.options import RunOptions
from featx.embedding.run import run
from featx.learn import bundle as bundles
from featx.store.read import load
from featx.store.schema import Failure

FEATURE_SUFFIXES = (".h5", ".hdf5")


@dataclass
class Predictions:
    """Predicted labels (and class probabilities where the head has them) per image."""

    paths: list[str]
    labels: list[str]
    predicted: np.ndarray
    classes: list[str]
    proba: np.ndarray | None
    failures: list[Failure]

    def accuracy(self) -> float | None:
        """Accuracy on the images with a known label (``None`` when none has one)."""
        known = [i for i, label in enumerate(self.labels) if label]
        if not known:
            return None
        return float(np.mean([self.predicted[i] == self.labels[i] for i in known]))

    def write_csv(self, path: str | os.PathLike) -> None:
        """``path, label, predicted`` and one ``proba_<class>`` column per class if known."""
        columns = ["path", "label", "predicted"]
        if self.proba is not None:
            columns += [f"proba_{c}" for c in self.classes]
        rows = []
        for i, p in enumerate(self.paths):
            probs = [f"{v:.6f}" for v in self.proba[i]] if self.proba is not None else []
            rows.append(dict(zip(columns, [p, self.labels[i], self.predicted[i], *probs],
                                 strict=True)))
        write_csv(path, rows, columns)


def predict(bundle_path: str | os.PathLike, source, cache: str | os.PathLike | None = None,
            batch_size: int = 32, progress: bool = False) -> Predictions:
    """Predict every image of ``source`` (folder, list, paths) or every row of a feature file.

    Images are embedded into ``cache`` (a temporary file when ``None``) with the bundle's
    configuration; a cache or feature file computed otherwise is refused.
    """
    model = bundles.load(bundle_path)
    if isinstance(source, str | os.PathLike) and os.fspath(source).endswith(FEATURE_SUFFIXES):
        feats = load(source)
        model.check(feats.meta, f"feature file {source}")
        names = feats.label_names
        labels = [names[i] if i >= 0 else "" for i in feats.y]
        return _predict(model, feats.X, list(feats.paths), labels, [])
    if cache is None:
        with tempfile.TemporaryDirectory(prefix="featx-") as tmp:
            return predict(bundle_path, source, os.path.join(tmp, "features.h5"), batch_size,
                           progress)
    if os.path.exists(cache):
        model.check(load(cache).meta, f"cache {cache}")
    config = model.feature_config()
    result = run(config, source, cache, RunOptions(batch_size=batch_size, progress=progress))
    failed = {f.path for f in result.failures}
    done = [(item, key) for item, key in zip(result.items, result.keys, strict=True)
            if key is not None and item.path not in failed]
    X = load(cache).by_keys([key for _, key in done])  # noqa: N806
    return _predict(model, X, [item.path for item, _ in done],
                    [item.label or "" for item, _ in done], result.failures)


def _predict(model: bundles.Bundle, X: np.ndarray, paths: list[str],  # noqa: N803
             labels: list[str], failures: list[Failure]) -> Predictions:
    head = model.model
    proba = head.predict_proba(X) if hasattr(head, "predict_proba") and len(X) else None
    predicted = head.predict(X) if len(X) else np.empty(0, dtype=object)
    return Predictions(paths, labels, predicted, model.classes, proba, failures)
