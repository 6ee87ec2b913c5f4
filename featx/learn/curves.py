"""Few-shot learning curves: held-out accuracy against labelled examples per class.

For each number of shots, ``draws`` random training subsets with that many examples of every class
are drawn (seeded) from the training rows, a head with its default parameters is fitted on each,
and its held-out accuracy recorded; the table gives mean and standard deviation per shot count.

>>> from featx.learn.dataset import load_dataset
>>> rows = learning_curve(load_dataset("features.h5"), "logreg", shots=(1, 2, None), draws=3)
>>> [(r["shots"], r["n_train"], r["draws"]) for r in rows]
[('1', 2, 3), ('2', 4, 3), ('all', 8, 1)]
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from sklearn.base import clone

from featx import SEED
from featx.learn.dataset import Dataset
from featx.learn.heads import make_head, quiet_fits

SHOTS = (1, 2, 5, 10, 20, None)
DRAWS = 10


def learning_curve(data: Dataset, head: str, shots: Sequence[int | None] = SHOTS,
                   draws: int = DRAWS, seed: int = SEED) -> list[dict]:
    """Rows ``shots, n_train, draws, mean, std`` (``None`` shots: all training rows, one fit)."""
    rng = np.random.default_rng(seed)
    model = make_head(head)
    smallest = min(np.unique(data.y_train, return_counts=True)[1])
    rows = []
    for k in shots:
        if k is not None and k > smallest:
            continue
        subsets = [np.arange(len(data.y_train))] if k is None else [
            _draw(data.y_train, k, rng) for _ in range(draws)]
        scores = [_score(model, data, idx) for idx in subsets]
        rows.append({"shots": "all" if k is None else str(k), "n_train": len(subsets[0]),
                     "draws": len(scores), "mean": float(np.mean(scores)),
                     "std": float(np.std(scores))})
    return rows


def _draw(y: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``k`` random examples of every class."""
    return np.concatenate([rng.choice(np.flatnonzero(y == c), k, replace=False)
                           for c in np.unique(y)])


def _score(model, data: Dataset, idx: np.ndarray) -> float:
    fitted = clone(model)
    if "n_neighbors" in fitted.named_steps["clf"].get_params():
        fitted.set_params(clf__n_neighbors=min(fitted.get_params()["clf__n_neighbors"], len(idx)))
    with quiet_fits():
        fitted.fit(data.X_train[idx], data.y_train[idx])
    return float(fitted.score(data.X_test, data.y_test))


def plot_curve(rows: Sequence[dict], path: str | os.PathLike, title: str) -> None:
    """Mean accuracy against examples per class, with a band of one standard deviation."""
    from matplotlib.figure import Figure

    x = np.arange(len(rows))
    mean = np.array([r["mean"] for r in rows])
    std = np.array([r["std"] for r in rows])
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    ax.plot(x, mean, "o-", label="mean")
    ax.fill_between(x, mean - std, mean + std, alpha=0.25, label="± 1 std over draws")
    ax.set_xticks(x, [r["shots"] for r in rows])
    ax.set_xlabel("labelled examples per class")
    ax.set_ylabel("held-out accuracy")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.savefig(path, dpi=120)
