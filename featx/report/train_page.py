"""``report.html``: what a trained head gets right and wrong on the held-out images, with the
images themselves.

Sections: the comparison of heads, held-out metrics (accuracy, balanced accuracy, per-class
precision and recall), the confusion matrix, the misclassified held-out images with their three
nearest training images, a 2-D map of the features, and the learning curve when there is one.

>>> from featx.learn.train import train
>>> _ = train("features.h5", ["centroid"], "runs/demo", cv=2, log=lambda line: None,
...           report=report_training)
>>> sorted(name for name in os.listdir("runs/demo") if name.endswith(".html"))
['report.html']
"""

from __future__ import annotations

import os
import shutil

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
)
from sklearn.neighbors import NearestNeighbors

from featx.report.data import ReportData
from featx.report.page import MAX_PAGES, PER_PAGE, Card, Page
from featx.report.plots import feature_map

PAGE = "report.html"
LEARNING_CURVE = "learning_curve.png"  # as `featx learning-curve --out DIR` writes it
NEIGHBOURS = 3
SECTIONS = {"comparison": "Heads compared", "metrics": "Held-out metrics",
            "confusion": "Confusion matrix", "mistakes": "Misclassified held-out images",
            "map": "Feature map", "curve": "Learning curve"}
CONFIG_KEYS = ("backbone", "model_file", "layer", "pooling", "input_size", "resize", "preprocess",
               "weights")


def report_training(training, feature_map: str = "pca") -> str:
    """Write ``report.html`` of a finished training (a :class:`featx.learn.train.Training`)
    beside its outputs, showing the learning curve a ``featx learning-curve`` run left in the
    same folder; return the page's path."""
    curve = os.path.join(training.out, LEARNING_CURVE)
    data = ReportData.from_training(training, feature_map,
                                    curve if os.path.isfile(curve) else None)
    return write_train_report(data, training.out)


def write_train_report(data: ReportData, folder: str | os.PathLike, name: str = PAGE,
                       per_page: int = PER_PAGE, max_pages: int = MAX_PAGES) -> str:
    """Write the report page of ``data`` into ``folder``; return its path. Galleries show
    ``per_page`` items a page on at most ``max_pages`` pages (the predictions file lists every
    image)."""
    page = Page(folder, name, per_page, max_pages)
    wrong = data.mistakes()
    mistakes = page.galleries("mistakes", _mistake_cards(page, data, wrong[:page.capacity]),
                              f"{data.title}: {SECTIONS['mistakes']}", total=len(wrong))
    X = np.concatenate([data.X_train, data.X_test])  # noqa: N806
    held = np.r_[np.zeros(len(data.X_train), bool), np.ones(len(data.X_test), bool)]
    marked = np.zeros(len(X), bool)
    marked[len(data.X_train) + wrong] = True
    drawn = feature_map(X, np.concatenate([data.y_train, data.y_true]), data.classes, held,
                          marked, data.feature_map, page.asset("feature_map.png"))
    curve = ""
    if data.learning_curve and os.path.isfile(data.learning_curve):
        curve = page.asset(LEARNING_CURVE)
        if os.path.abspath(data.learning_curve) != os.path.abspath(curve):
            shutil.copyfile(data.learning_curve, curve)
    assets = os.path.basename(page.assets)
    html = page.render(
        "train.html.j2", title=f"featx report: {data.title}", data=data,
        sections={k: v for k, v in SECTIONS.items() if k != "curve" or curve},
        config=[(k, data.config[k]) for k in CONFIG_KEYS if data.config.get(k) not in
                (None, "")],
        metrics=_metrics(data), confusion=_confusion(data), comparison=data.comparison,
        best=data.best, mistakes=mistakes, n_train=len(data.y_train), n_test=len(data.y_true),
        n_wrong=len(wrong), map_src=f"{assets}/feature_map.png", feature_map=drawn,
        curve_src=f"{assets}/{LEARNING_CURVE}" if curve else "", neighbours=NEIGHBOURS)
    page.write(page.path, html)
    return page.path


def _metrics(data: ReportData) -> dict:
    precision, recall, f1, support = precision_recall_fscore_support(
        data.y_true, data.y_pred, labels=data.classes, zero_division=0)
    rows = [{"class": c, "precision": f"{p:.3f}", "recall": f"{r:.3f}", "f1": f"{f:.3f}",
             "support": int(s)}
            for c, p, r, f, s in zip(data.classes, precision, recall, f1, support, strict=True)]
    if not len(data.y_true):
        return {"accuracy": float("nan"), "balanced": float("nan"), "rows": rows}
    return {"accuracy": accuracy_score(data.y_true, data.y_pred),
            "balanced": balanced_accuracy_score(data.y_true, data.y_pred), "rows": rows}


def _confusion(data: ReportData) -> list[dict]:
    """Rows of the confusion matrix: counts and the share of the true class, for shading."""
    matrix = confusion_matrix(data.y_true, data.y_pred, labels=data.classes)
    rows = []
    for i, (name, counts) in enumerate(zip(data.classes, matrix, strict=True)):
        total = max(1, counts.sum())
        rows.append({"name": name, "cells": [{"count": int(n), "share": n / total,
                                              "diagonal": i == j}
                                             for j, n in enumerate(counts)]})
    return rows


def _mistake_cards(page: Page, data: ReportData, wrong: np.ndarray) -> list[Card]:
    if not len(wrong) or not len(data.X_train):
        return []
    name, confidence = data.confidence()
    k = min(NEIGHBOURS, len(data.X_train))
    index = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute")
    distances, neighbours = index.fit(data.X_train).kneighbors(data.X_test[wrong])
    cards = []
    for row, dist, near in zip(wrong, distances, neighbours, strict=True):
        sure = (f"{name} {confidence[row]:.2f}" if confidence is not None
                else "no scores from this head")
        tile = page.tile(data.test_paths[row], [f"true {data.y_true[row]}",
                                                f"predicted {data.y_pred[row]}"], "wrong")
        near_tiles = [page.tile(data.train_paths[j], [f"{data.y_train[j]} · d={d:.2f}"],
                                "right" if data.y_train[j] == data.y_true[row] else "wrong")
                      for j, d in zip(near, dist, strict=True)]
        cards.append(Card(f"{data.y_true[row]} predicted as {data.y_pred[row]}", [tile],
                          [sure], neighbours=near_tiles,
                          neighbours_title="Nearest training images:"))
    return cards
