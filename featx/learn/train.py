"""Fit heads on a feature file: grid search, held-out evaluation, reports and the model bundle.

The held-out set is the file's ``test`` split, else its ``val`` split (training on ``train``),
or a stratified random ``test_size`` fraction of the labelled rows when asked or when the file
has no such split.

>>> results = train("hymenoptera.h5", ["logreg", "knn"], "runs/hym", cv=5)  # doctest: +SKIP
>>> best(results).head, best(results).test_accuracy  # doctest: +SKIP
('logreg', 0.954)
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    accuracy_score,
    classification_report,
    confusion_matrix,
)
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split

from featx.errors import FeatxError
from featx.learn import bundle
from featx.learn.heads import head_grid, make_head, quiet_fits
from featx.store import read as store

HELD_OUT_SPLITS = ("test", "val", "valid", "validation", "dev")
DEFAULT_TEST_SIZE = 0.25
SEED = 0


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


@dataclass
class Result:
    """One head's grid search and its held-out evaluation."""

    head: str
    search: GridSearchCV
    test_accuracy: float
    y_pred: np.ndarray
    seconds: float

    @property
    def cv_score(self) -> float:
        return float(self.search.best_score_)


def load_dataset(path: str | os.PathLike, test_size: float | None = None,
                 seed: int = SEED) -> Dataset:
    """Split the labelled rows of a feature file into train and held-out sets."""
    feats = store.load(path)
    labelled = feats.y >= 0
    if not labelled.any():
        raise FeatxError(f"{path}: no labelled rows to train on")
    y = np.asarray(feats.label_names, dtype=object)[np.maximum(feats.y, 0)]
    held = next((s for s in HELD_OUT_SPLITS if (labelled & (feats.split == s)).any()), None)
    if test_size is None and held:
        train, test = (np.flatnonzero(labelled & (feats.split == s)) for s in ("train", held))
        if not len(train):
            raise FeatxError(f"{path}: has a {held!r} split but no labelled 'train' rows")
        how = f"split {held!r}"
    else:
        size = test_size or DEFAULT_TEST_SIZE
        train, test = train_test_split(np.flatnonzero(labelled), test_size=size,
                                       stratify=y[labelled], random_state=seed)
        how = f"stratified random {size:g} of the labelled rows (seed {seed})"
    X = feats.X  # noqa: N806
    classes = sorted(set(y[train]))
    return Dataset(X[train], y[train], X[test], y[test], classes, how, feats.meta)


def search(name: str, X: np.ndarray, y: np.ndarray, *, cv: int = 5,  # noqa: N803
           scoring: str = "accuracy", n_jobs: int | None = None, grid: Mapping | None = None,
           seed: int = SEED) -> GridSearchCV:
    """Grid-search head ``name`` with stratified ``cv``-fold cross-validation; refit the best."""
    smallest = min(np.unique(y, return_counts=True)[1])
    if cv > smallest:
        raise FeatxError(f"--cv {cv} needs at least {cv} training examples per class; the "
                         f"smallest class has {smallest}")
    folds = StratifiedKFold(cv, shuffle=True, random_state=seed)
    gs = GridSearchCV(make_head(name), head_grid(name, grid), cv=folds, scoring=scoring,
                      n_jobs=n_jobs)
    with quiet_fits():
        return gs.fit(X, y)


def train(features: str | os.PathLike, heads: Sequence[str], out: str | os.PathLike, *,
          cv: int = 5, scoring: str = "accuracy", n_jobs: int | None = None,
          test_size: float | None = None, grids: Mapping[str, Mapping] | None = None,
          seed: int = SEED, log: Callable[[str], object] = print) -> list[Result]:
    """Search, evaluate and report every head; write the best one's bundle to ``out``."""
    data = load_dataset(features, test_size, seed)
    log(f"{features}: train {len(data.y_train)}, held out {len(data.y_test)} "
        f"({data.held_out}); classes {', '.join(data.classes)}")
    results = []
    for name in heads:
        start = time.perf_counter()
        gs = search(name, data.X_train, data.y_train, cv=cv, scoring=scoring, n_jobs=n_jobs,
                    grid=(grids or {}).get(name), seed=seed)
        y_pred = gs.predict(data.X_test)
        result = Result(name, gs, float(accuracy_score(data.y_test, y_pred)), y_pred,
                        time.perf_counter() - start)
        results.append(result)
        folder = os.path.join(out, name) if len(heads) > 1 else out
        write_report(folder, result, data, scoring)
        log(f"\n{name}: {cv}-fold CV ({scoring})\n{cv_table(gs)}\nbest {gs.best_params_}: "
            f"CV {result.cv_score:.4f}, held-out accuracy {result.test_accuracy:.4f} "
            f"({result.seconds:.1f} s)")
    chosen = best(results)
    summary = _summary(chosen, data, scoring)
    if len(results) > 1:
        rows = [comparison_row(r) for r in results]
        write_csv(os.path.join(out, "comparison.csv"), rows)
        summary["comparison"] = rows
        log(f"\n{format_table(rows)}\nbest head by CV score: {chosen.head}")
    _write_json(os.path.join(out, "summary.json"), summary)
    bundle.save(os.path.join(out, "model.skops"), chosen.search.best_estimator_, data.meta,
                chosen.head)
    folder = os.path.join(out, chosen.head) if len(heads) > 1 else out
    log(f"best head {chosen.head}: held-out accuracy {chosen.test_accuracy:.3f} on "
        f"{len(data.y_test)} images ({data.held_out})\nwrote {out}/summary.json, the model "
        f"bundle {out}/model.skops and the confusion matrix {folder}/confusion_matrix.png")
    return results


def best(results: Sequence[Result]) -> Result:
    """The result with the highest cross-validation score (the first on ties)."""
    return max(results, key=lambda r: r.cv_score)


def comparison_row(result: Result) -> dict:
    return {"head": result.head, "cv_score": round(result.cv_score, 4),
            "test_accuracy": round(result.test_accuracy, 4),
            "seconds": round(result.seconds, 1), "best_params": _params(result.search.best_params_)}


def cv_table(gs: GridSearchCV) -> str:
    """The grid-search results, best first: parameters, mean and std of the CV score, rank."""
    res = gs.cv_results_
    rows = [{**_params(p), "mean": round(float(m), 4), "std": round(float(s), 4), "rank": int(r)}
            for p, m, s, r in zip(res["params"], res["mean_test_score"], res["std_test_score"],
                                  res["rank_test_score"], strict=True)]
    return format_table(sorted(rows, key=lambda row: row["rank"]))


def write_report(folder: str | os.PathLike, result: Result, data: Dataset, scoring: str) -> None:
    """summary.json, classification_report.txt, confusion_matrix.{txt,png}, cv_results.csv."""
    os.makedirs(folder, exist_ok=True)
    _write_json(os.path.join(folder, "summary.json"), _summary(result, data, scoring))
    report = classification_report(data.y_test, result.y_pred, labels=data.classes,
                                   zero_division=0)
    _write_text(os.path.join(folder, "classification_report.txt"), report)
    matrix = confusion_matrix(data.y_test, result.y_pred, labels=data.classes)
    _write_text(os.path.join(folder, "confusion_matrix.txt"),
                format_confusion(matrix, data.classes))
    plot_confusion(matrix, data.classes, os.path.join(folder, "confusion_matrix.png"),
                   f"{result.head}: held-out accuracy {result.test_accuracy:.3f}")
    res = result.search.cv_results_
    write_csv(os.path.join(folder, "cv_results.csv"),
              [{**_params(p), "mean_test_score": m, "std_test_score": s, "rank": r}
               for p, m, s, r in zip(res["params"], res["mean_test_score"],
                                     res["std_test_score"], res["rank_test_score"], strict=True)])


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


def format_table(rows: Sequence[Mapping]) -> str:
    """Rows of dicts as an aligned plain-text table (columns of the first row)."""
    if not rows:
        return "(empty)"
    columns = list(rows[0])
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = [columns, *cells]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip()
                     for line in lines)


def write_csv(path: str | os.PathLike, rows: Sequence[Mapping]) -> None:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        writer.writerows(rows)


def _summary(result: Result, data: Dataset, scoring: str) -> dict:
    return {
        "head": result.head,
        "best_params": _params(result.search.best_params_),
        "scoring": scoring,
        "cv_score": result.cv_score,
        "test_accuracy": result.test_accuracy,
        "n_train": len(data.y_train),
        "n_test": len(data.y_test),
        "held_out": data.held_out,
        "classes": data.classes,
        "seconds": round(result.seconds, 2),
    }


def _params(params: Mapping) -> dict:
    """Grid parameters made readable and JSON-safe (estimators by their repr)."""
    return {k: v if isinstance(v, str | int | float | bool | None) else repr(v)
            for k, v in params.items()}


def _write_json(path: str, data: dict) -> None:
    _write_text(path, json.dumps(data, indent=2) + "\n")


def _write_text(path: str, text: str) -> None:
    with open(path, "w") as fh:
        fh.write(text if text.endswith("\n") else text + "\n")
