"""Few-shot learning curves: held-out accuracy against labelled examples per class.

For each number of shots, ``draws`` random training subsets with that many examples of every class
are drawn (seeded) from the training rows, a head with its default parameters is fitted on each,
and its held-out accuracy recorded; the table gives mean and standard deviation per shot count.
Every head sees the same draws. There is no grid search (one shot per class leaves nothing to
cross-validate), so the ``all`` point can differ from the grid-searched head of ``featx train``.
Below a head's ``min_per_class`` (``lda`` needs 2: one example per class has no within-class
covariance) its ``below_min`` stand-in is fitted instead, and the row's ``model`` says so.

>>> from featx.learn.dataset import load_dataset
>>> rows = learning_curve(load_dataset("features.h5"), "logreg", shots=(1, 2, None), draws=3)
>>> [(r["head"], r["shots"], r["n_train"], r["draws"], r["model"]) for r in rows]
[('logreg', '1', 2, 3, 'LogisticRegression'), ('logreg', '2', 4, 3, 'LogisticRegression'),
 ('logreg', 'all', 8, 1, 'LogisticRegression')]
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
from sklearn.base import clone

from featx import SEED
from featx.errors import FeatxError
from featx.learn._warnings import catching, fitting, summarize
from featx.learn.dataset import Dataset
from featx.learn.heads import get_head, head_for, select_heads

SHOTS = (1, 2, 5, 10, 20, None)
"""The default shots: those of these the smallest class allows, and all (``None``)."""
DRAWS = 10


def learning_curve(data: Dataset, heads: str | Sequence[str],
                   shots: Sequence[int | None] | None = None, draws: int = DRAWS,
                   seed: int = SEED, log: Callable[[str], object] = print) -> list[dict]:
    """Rows ``head, shots, n_train, draws, mean, std, model`` for every head of ``heads`` (names
    or ``"all"``); ``shots`` ``None`` is all training rows (one fit). Shots beyond the smallest
    training class are refused, except from the default :data:`SHOTS`, which is cut to fit. A
    fit's warning worth acting on is logged as one line (``warning: ...``)."""
    smallest = int(min(np.unique(data.y_train, return_counts=True)[1]))
    shots = check_shots(shots, smallest)
    if draws < 1:
        raise FeatxError(f"draws must be at least 1, got {draws}")
    rows = []
    for head in select_heads(heads):
        rng = np.random.default_rng(seed)
        with catching() as caught:
            for k in shots:
                model, name = head_for(head, k)
                subsets = [np.arange(len(data.y_train))] if k is None else [
                    _draw(data.y_train, k, rng) for _ in range(draws)]
                fitting(f"{head} at {k or 'all'} shots")
                scores = [_score(model, data, idx) for idx in subsets]
                rows.append({"head": head, "shots": "all" if k is None else str(k),
                             "n_train": len(subsets[0]), "draws": len(scores),
                             "mean": float(np.mean(scores)), "std": float(np.std(scores)),
                             "model": name})
        for line in summarize(caught, get_head(head).benign):
            log(f"warning: {line}")
    return rows


def check_shots(shots: Sequence[int | None] | None, smallest: int) -> list[int | None]:
    """The shots to draw: ``shots`` checked against the ``smallest`` training class, or the
    default :data:`SHOTS` that it allows."""
    if shots is None:
        return [k for k in SHOTS if k is None or k <= smallest]
    for k in shots:
        if k is not None and not 1 <= k <= smallest:
            raise FeatxError(f"shots must be between 1 and {smallest} (the smallest class's "
                             f"training examples) or all, got {k}")
    return list(dict.fromkeys(shots))


def _draw(y: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``k`` random examples of every class."""
    return np.concatenate([rng.choice(np.flatnonzero(y == c), k, replace=False)
                           for c in np.unique(y)])


def _score(model, data: Dataset, idx: np.ndarray) -> float:
    fitted = clone(model)
    if "n_neighbors" in fitted.named_steps["clf"].get_params():
        fitted.set_params(clf__n_neighbors=neighbours(fitted.get_params()["clf__n_neighbors"],
                                                      data.y_train[idx]))
    fitted.fit(data.X_train[idx], data.y_train[idx])
    return float(fitted.score(data.X_test, data.y_test))


def neighbours(k: int, y: Sequence) -> int:
    """A k-NN vote that these training labels can decide: at most the smallest class's count,
    and odd when lowered (with 1 or 2 shots, 1-NN: two neighbours of two classes tie, and the tie
    would go to the first class every time).

    >>> [neighbours(5, ["a"] * k + ["b"] * k) for k in (1, 2, 3, 4, 5, 9)]
    [1, 1, 3, 3, 5, 5]
    """
    smallest = int(min(np.unique(np.asarray(y), return_counts=True)[1]))
    if k <= smallest:
        return k
    return smallest if smallest % 2 else smallest - 1


def plot_curve(rows: Sequence[dict], path: str | os.PathLike, title: str) -> None:
    """Mean accuracy against examples per class, one line per head, with a band of one standard
    deviation over the draws."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    for head in dict.fromkeys(r["head"] for r in rows):
        mine = [r for r in rows if r["head"] == head]
        x = np.arange(len(mine))
        mean = np.array([r["mean"] for r in mine])
        std = np.array([r["std"] for r in mine])
        ax.plot(x, mean, "o-", label=head)
        ax.fill_between(x, mean - std, mean + std, alpha=0.2)
    ax.set_xticks(x, [r["shots"] for r in mine])
    ax.set_xlabel("labelled examples per class")
    ax.set_ylabel("held-out accuracy")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", title="head (band: ± 1 std)")
    fig.savefig(path, dpi=120)
