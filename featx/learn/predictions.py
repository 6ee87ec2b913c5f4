"""Per-image predictions of a fitted head: the predicted class and the head's scores, as a table.

One table serves ``featx predict`` (``predictions.csv``) and the held-out images of ``featx
train`` (``heldout_predictions.csv``): ``path, label, predicted`` and the head's scores. A head
with ``predict_proba`` gives ``proba_<class>`` for every class; one without (a linear or RBF SVM)
gives its ``decision_function``: ``decision_<class>`` for every class, or with two classes one
column ``decision_<second class>``, positive for that class (scikit-learn's convention). Images
that could not be predicted keep their row, with an empty prediction and the reason in ``error``.

>>> import numpy as np
>>> from sklearn.svm import LinearSVC
>>> X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array(["ants", "ants", "bees", "bees"])
>>> table = predict_rows(LinearSVC().fit(X, y), X[1:3], ["a.jpg", "b.jpg"], ["ants", "ants"])
>>> table.columns(), table.predicted, table.misclassified()
(['path', 'label', 'predicted', 'decision_bees'], ['ants', 'bees'], ['b.jpg'])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator

from featx._text import write_csv
from featx.errors import FeatxError
from featx.store.schema import Failure, path_text


@dataclass
class Predictions:
    """One row per image: ``labels`` ("" when unknown), ``predicted`` ("" where the image
    failed), ``scores`` (one column per ``score_names``, NaN where it failed) and, for images
    embedded on the way, ``errors`` (the reason, "" where predicted)."""

    paths: list[str]
    labels: list[str]
    predicted: list[str]
    score_names: list[str]
    scores: np.ndarray
    errors: list[str] | None = None

    @property
    def failures(self) -> list[Failure]:
        return [Failure(p, e) for p, e in zip(self.paths, self.errors or [], strict=False) if e]

    def accuracy(self) -> float | None:
        """Accuracy on the predicted images with a known label (``None`` when none has one)."""
        known = [i for i, label in enumerate(self.labels) if label and self.predicted[i]]
        if not known:
            return None
        return float(np.mean([self.predicted[i] == self.labels[i] for i in known]))

    def misclassified(self) -> list[str]:
        """Paths of the labelled images predicted as another class."""
        return [p for p, label, pred in zip(self.paths, self.labels, self.predicted, strict=True)
                if label and pred and pred != label]

    def columns(self) -> list[str]:
        return ["path", "label", "predicted", *self.score_names,
                *(["error"] if self.errors is not None else [])]

    def write_csv(self, path: str | os.PathLike) -> None:
        """The table as CSV, scores to six significant digits (a strongly regularised SVM's
        decision values can be 1e-10: their sign is the prediction), empty where the image
        failed; paths as the feature file stores them (undecodable name bytes as ``\\xNN``)."""
        rows = []
        for i, p in enumerate(self.paths):
            scores = ["" if np.isnan(v) else f"{v:.6g}" for v in self.scores[i]]
            error = [self.errors[i]] if self.errors is not None else []
            rows.append(dict(zip(self.columns(),
                                 [path_text(p), self.labels[i], self.predicted[i], *scores, *error],
                                 strict=True)))
        write_csv(path, rows, self.columns())


def predict_rows(model: BaseEstimator, X: np.ndarray, paths: Sequence[str],  # noqa: N803
                 labels: Sequence[str], predicted: Sequence | None = None) -> Predictions:
    """The predictions and scores of ``model`` for the feature rows ``X`` (``predicted``: its
    predictions of ``X`` where already made, so an SVM's kernel rows are not computed again)."""
    classes = [str(c) for c in model.classes_]
    names, scores = score_columns(model, X, classes)
    if predicted is None:
        predicted = model.predict(X) if len(X) else []
    predicted = [str(c) for c in predicted]
    return Predictions(list(paths), list(labels), predicted, names, scores)


def score_columns(model: BaseEstimator, X: np.ndarray,  # noqa: N803
                  classes: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Column names and values of the head's scores: probabilities, else decision scores."""
    if hasattr(model, "predict_proba"):
        names, score = [f"proba_{c}" for c in classes], model.predict_proba
    elif hasattr(model, "decision_function"):
        binary = len(classes) == 2
        names = [f"decision_{classes[1]}"] if binary else [f"decision_{c}" for c in classes]
        score = model.decision_function
    else:
        raise FeatxError(f"{type(model).__name__} gives neither probabilities nor decision "
                         "scores")
    values = np.asarray(score(X), dtype=float) if len(X) else np.empty((0, len(names)))
    return names, values.reshape(len(X), len(names))


def with_failures(preds: Predictions, order: Sequence[str], labels: Sequence[str],
                  failures: Sequence[Failure]) -> Predictions:
    """One row for each listed path of ``order`` (whose labels are ``labels``), in that order:
    its prediction from ``preds``, else the reason it failed."""
    reasons = {f.path: f.reason for f in failures}
    index = {p: i for i, p in enumerate(preds.paths)}
    blank = np.full(len(preds.score_names), np.nan)
    table = Predictions([], [], [], preds.score_names, preds.scores[:0], [])
    scores = []
    for path, label in zip(order, labels, strict=True):
        i = index.get(path)
        table.paths.append(path)
        table.labels.append(label)
        table.predicted.append(preds.predicted[i] if i is not None else "")
        table.errors.append("" if i is not None else
                            reasons.get(path, "not embedded, and no reason was recorded"))
        scores.append(preds.scores[i] if i is not None else blank)
    table.scores = np.array(scores).reshape(len(scores), len(blank))
    return table
