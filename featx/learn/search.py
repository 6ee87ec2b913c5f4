"""Grid search of one head with stratified k-fold cross-validation, and its held-out result.

>>> from featx.learn.dataset import load_dataset
>>> data = load_dataset("features.h5")
>>> result = evaluate("logreg", data, cv=2)
>>> sorted(result.search.best_params_), len(result.y_pred) == len(data.y_test)
(['clf__C', 'norm'], True)
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, RepeatedStratifiedKFold, StratifiedKFold

from featx import SEED
from featx.errors import FeatxError
from featx.learn.dataset import Dataset
from featx.learn.heads import HEADS, head_grid, make_head, quiet_fits


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

    @property
    def cv_std(self) -> float:
        """How much the best candidate's score varies across the folds (standard deviation)."""
        return float(self.search.cv_results_["std_test_score"][self.search.best_index_])


def search(name: str, X: np.ndarray, y: np.ndarray, *, cv: int = 5,  # noqa: N803
           scoring: str = "accuracy", n_jobs: int | None = None, grid: Mapping | None = None,
           seed: int = SEED, repeats: int = 1) -> GridSearchCV:
    """Grid-search head ``name`` with stratified ``cv``-fold cross-validation (``repeats`` times,
    on different shuffles, averaged: steadier scores to compare many candidates on few images);
    refit the best."""
    smallest = min(np.unique(y, return_counts=True)[1])
    if cv > smallest:
        raise FeatxError(f"--cv {cv} needs at least {cv} training examples per class; the "
                         f"smallest class has {smallest}")
    folds = (StratifiedKFold(cv, shuffle=True, random_state=seed) if repeats == 1 else
             RepeatedStratifiedKFold(n_splits=cv, n_repeats=repeats, random_state=seed))
    gs = GridSearchCV(make_head(name), head_grid(name, grid), cv=folds, scoring=scoring,
                      n_jobs=n_jobs)
    with quiet_fits():
        return gs.fit(X, y)


def evaluate(name: str, data: Dataset, **options) -> Result:
    """:func:`search` head ``name`` on the training rows (``options``: its keywords), then score
    the refitted best on the held-out rows."""
    start = time.perf_counter()
    gs = search(name, data.X_train, data.y_train, **options)
    y_pred = gs.predict(data.X_test)
    return Result(name, gs, float(accuracy_score(data.y_test, y_pred)), y_pred,
                  time.perf_counter() - start)


def best(results: Sequence[Result]) -> Result:
    """The result with the highest mean cross-validation score. Ties (scores equal to nine
    decimals) go to the head whose score varies least across the folds, then to the head listed
    first in :data:`featx.learn.heads.HEADS`, whatever order the heads were given in."""
    order = list(HEADS)
    return min(results, key=lambda r: (-round(r.cv_score, 9), round(r.cv_std, 9),
                                       order.index(r.head)))
