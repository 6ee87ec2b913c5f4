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

from featx._text import format_table, write_csv, write_json, write_text
from featx.learn.dataset import Dataset
from featx.learn.predictions import Predictions, predict_rows
from featx.learn.search import Result

HELDOUT_PREDICTIONS = "heldout_predictions.csv"


def write_report(folder: str | os.PathLike, result: Result, data: Dataset, scoring: str,
                 figure: bool = True) -> Predictions:
    """summary.json, classification_report.txt, confusion_matrix.txt (and, with ``figure``,
    confusion_matrix.png: see :func:`plot_report`), cv_results.csv and heldout_predictions.csv
    (every held-out image: true and predicted class, scores); returns the held-out
    predictions."""
    os.makedirs(folder, exist_ok=True)
    write_json(os.path.join(folder, "summary.json"), summary(result, data, scoring))
    note = untrained_note(data)
    report = classification_report(data.y_test, result.y_pred, labels=data.labels,
                                   zero_division=0)
    write_text(os.path.join(folder, "classification_report.txt"), report + note)
    matrix = confusion_matrix(data.y_test, result.y_pred, labels=data.labels)
    write_text(os.path.join(folder, "confusion_matrix.txt"),
               format_confusion(matrix, data.labels) + note)
    if figure:
        plot_report(folder, result, data)
    write_csv(os.path.join(folder, "cv_results.csv"),
              [{**params, "mean_test_score": m, "std_test_score": s, "rank": r}
               for params, m, s, r in _cv_rows(result.search)])
    table = heldout(result, data)
    table.write_csv(os.path.join(folder, HELDOUT_PREDICTIONS))
    return table


def plot_report(folder: str | os.PathLike, result: Result, data: Dataset) -> None:
    """confusion_matrix.png of a head's held-out predictions (``featx train`` draws the chosen
    head's only: a 17-class matrix takes half a second of CPU, as much as a head's search)."""
    title = (f"{result.head}: held-out accuracy {result.test_accuracy:.3f}, balanced "
             f"{result.test_balanced_accuracy:.3f}")
    if data.untrained:
        title += f"\nnever trained on: {', '.join(data.untrained)}"
    matrix = confusion_matrix(data.y_test, result.y_pred, labels=data.labels)
    plot_confusion(matrix, data.labels, os.path.join(folder, "confusion_matrix.png"), title)


def heldout(result: Result, data: Dataset) -> Predictions:
    """The refitted best model's prediction and scores for every held-out image."""
    return predict_rows(result.search.best_estimator_, data.X_test, data.paths_test,
                        [str(label) for label in data.y_test], result.y_pred)


def summary(result: Result, data: Dataset, scoring: str) -> dict:
    """The summary.json of one head: its best parameters, scores and the data it saw."""
    return {
        "head": result.head,
        "best_params": _params(best_params(result)),
        "scoring": scoring,
        "cv_score": result.cv_score,
        "cv_std": result.cv_std,
        "test_accuracy": result.test_accuracy,
        "test_balanced_accuracy": result.test_balanced_accuracy,
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
    """One head's line of the comparison of several; its seconds come last."""
    return {"head": result.head, "cv_score": round(result.cv_score, 4),
            "cv_std": round(result.cv_std, 4), "test_accuracy": round(result.test_accuracy, 4),
            "test_balanced_accuracy": round(result.test_balanced_accuracy, 4),
            "best_params": _params(best_params(result)), "seconds": round(result.seconds, 1)}


def best_params(result: Result) -> dict:
    """The chosen grid parameters, and what the fitted head chose itself (ridge's penalty,
    chosen by leave-one-out: ``alpha_ (leave-one-out)``)."""
    clf = result.search.best_estimator_[-1]
    chosen = {f"{name} (leave-one-out)": float(getattr(clf, name))
              for name in ("alpha_",) if hasattr(clf, name)}
    return {**result.search.best_params_, **chosen}


def format_confusion(matrix: np.ndarray, classes: Sequence[str]) -> str:
    """A confusion matrix as text: rows are true classes, columns predicted ones."""
    rows = [{"true \\ predicted": c, **dict(zip(classes, map(int, row), strict=True))}
            for c, row in zip(classes, matrix, strict=True)]
    return format_table(rows)


def plot_confusion(matrix: np.ndarray, classes: Sequence[str], path: str, title: str) -> None:
    """Save the confusion matrix as a PNG (no pyplot state, so safe in any backend).

    Zero cells are left blank: easier to read, and text is most of the drawing time (a 17-class
    matrix drew in 2.2 s at 23 x 23 in and 120 dpi, 0.5 s so).
    """
    from matplotlib.figure import Figure

    size = max(5.0, 0.5 * len(classes) + 3)
    fig = Figure(figsize=(size, size - 0.5))
    ax = fig.subplots()
    display = ConfusionMatrixDisplay(matrix, display_labels=list(classes)).plot(
        ax=ax, colorbar=False, xticks_rotation="vertical" if len(classes) > 8 else "horizontal")
    for text, count in zip(display.text_.ravel(), matrix.ravel(), strict=True):
        text.set_visible(bool(count))
    ax.set_title(title)
    fig.savefig(path, dpi=100, bbox_inches="tight")


def _cv_rows(found):
    """(readable parameters, mean, std, rank) of every candidate of a search."""
    res = found.cv_results_
    return zip(map(_params, res["params"]), res["mean_test_score"], res["std_test_score"],
               res["rank_test_score"], strict=True)


def _params(params: Mapping) -> dict:
    """Grid parameters made readable and JSON-safe (estimators by their repr)."""
    return {k: v if isinstance(v, str | int | float | bool | None) else repr(v)
            for k, v in params.items()}
