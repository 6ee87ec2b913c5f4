"""The report files of one head's search and evaluation, and the tables printed about them.

>>> from featx.learn.dataset import load_dataset
>>> from featx.learn.search import evaluate
>>> data = load_dataset("features.h5")
>>> result = evaluate("centroid", data, cv=2)
>>> table = write_report("runs/centroid", result, data, "accuracy")
>>> table.paths == data.paths_test
True
>>> sorted(os.listdir("runs/centroid"))  # doctest: +NORMALIZE_WHITESPACE
['classification_report.txt', 'confusion_matrix.png', 'confusion_matrix.txt', 'cv_results.csv',
 'heldout_predictions.csv', 'summary.json']
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay, classification_report, confusion_matrix
from sklearn.model_selection import GridSearchCV

from featx._text import format_table, write_csv, write_json, write_text
from featx.learn.dataset import Dataset
from featx.learn.predictions import Predictions, predict_rows
from featx.learn.search import Result

HELDOUT_PREDICTIONS = "heldout_predictions.csv"


def write_report(folder: str | os.PathLike, result: Result, data: Dataset,
                 scoring: str) -> Predictions:
    """summary.json, classification_report.txt, confusion_matrix.{txt,png}, cv_results.csv and
    heldout_predictions.csv (every held-out image: true and predicted class, scores); returns
    the held-out predictions."""
    os.makedirs(folder, exist_ok=True)
    write_json(os.path.join(folder, "summary.json"), summary(result, data, scoring))
    note = untrained_note(data)
    report = classification_report(data.y_test, result.y_pred, labels=data.labels,
                                   zero_division=0)
    write_text(os.path.join(folder, "classification_report.txt"), report + note)
    matrix = confusion_matrix(data.y_test, result.y_pred, labels=data.labels)
    write_text(os.path.join(folder, "confusion_matrix.txt"),
               format_confusion(matrix, data.labels) + note)
    title = f"{result.head}: held-out accuracy {result.test_accuracy:.3f}"
    if data.untrained:
        title += f"\nnever trained on: {', '.join(data.untrained)}"
    plot_confusion(matrix, data.labels, os.path.join(folder, "confusion_matrix.png"), title)
    write_csv(os.path.join(folder, "cv_results.csv"),
              [{**params, "mean_test_score": m, "std_test_score": s, "rank": r}
               for params, m, s, r in _cv_rows(result.search)])
    table = heldout(result, data)
    table.write_csv(os.path.join(folder, HELDOUT_PREDICTIONS))
    return table


def heldout(result: Result, data: Dataset) -> Predictions:
    """The refitted best model's prediction and scores for every held-out image."""
    return predict_rows(result.search.best_estimator_, data.X_test, data.paths_test,
                        [str(label) for label in data.y_test])


def summary(result: Result, data: Dataset, scoring: str) -> dict:
    """The summary.json of one head: its best parameters, scores and the data it saw."""
    return {
        "head": result.head,
        "best_params": _params(result.search.best_params_),
        "scoring": scoring,
        "cv_score": result.cv_score,
        "cv_std": result.cv_std,
        "test_accuracy": result.test_accuracy,
        "n_train": len(data.y_train),
        "n_test": len(data.y_test),
        "held_out": data.held_out,
        "classes": data.classes,
        "untrained_classes": data.untrained,
        "seconds": round(result.seconds, 2),
    }


def untrained_note(data: Dataset) -> str:
    """A line about held-out classes the model never saw in training ("" when there is none)."""
    if not data.untrained:
        return ""
    count = sum(int(np.sum(data.y_test == c)) for c in data.untrained)
    return (f"\nnever trained on: {', '.join(data.untrained)} (no training images; their "
            f"{count} held-out image{'s' * (count != 1)} all count as errors)\n")


def comparison_row(result: Result) -> dict:
    """One head's line of the comparison of several."""
    return {"head": result.head, "cv_score": round(result.cv_score, 4),
            "cv_std": round(result.cv_std, 4), "test_accuracy": round(result.test_accuracy, 4),
            "seconds": round(result.seconds, 1), "best_params": _params(result.search.best_params_)}


def format_confusion(matrix: np.ndarray, classes: Sequence[str]) -> str:
    """A confusion matrix as text: rows are true classes, columns predicted ones."""
    rows = [{"true \\ predicted": c, **dict(zip(classes, map(int, row), strict=True))}
            for c, row in zip(classes, matrix, strict=True)]
    return format_table(rows)


def plot_confusion(matrix: np.ndarray, classes: Sequence[str], path: str, title: str) -> None:
    """Save the confusion matrix as a PNG (no pyplot state, so safe in any backend)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1.2 * len(classes) + 3, 1.2 * len(classes) + 2.5), layout="constrained")
    ax = fig.subplots()
    ConfusionMatrixDisplay(matrix, display_labels=list(classes)).plot(ax=ax, colorbar=False)
    ax.set_title(title)
    fig.savefig(path, dpi=120)


def _cv_rows(gs: GridSearchCV):
    """(readable parameters, mean, std, rank) of every candidate of a grid search."""
    res = gs.cv_results_
    return zip(map(_params, res["params"]), res["mean_test_score"], res["std_test_score"],
               res["rank_test_score"], strict=True)


def _params(params: Mapping) -> dict:
    """Grid parameters made readable and JSON-safe (estimators by their repr)."""
    return {k: v if isinstance(v, str | int | float | bool | None) else repr(v)
            for k, v in params.items()}
