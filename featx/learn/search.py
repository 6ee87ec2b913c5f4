"""Cross-validated search of the heads' grids, fast by design; results read like GridSearchCV's.

:func:`search_heads` scores every candidate of every head on the same stratified folds as
``GridSearchCV(make_head(name), head_grid(name), cv=StratifiedKFold(cv, shuffle=True))`` and
refits the best on all training rows, to the same answer (within solver tolerance), computed so
(:mod:`featx.learn._folds`):

* **per-fold work once**: each fold's ``norm`` and ``pca`` are fitted once, and the transformed
  rows, their inner products and their row-space coordinates shared by every candidate and head
  that uses them;
* **row space**: with fewer training rows than features, L2-penalised linear heads (``logreg``,
  ``ridge``, ``lda``) are fitted on the rows' coordinates in an orthonormal basis of their span,
  where they reach the same solution with far less arithmetic;
* **regularisation paths** (``logreg``): the candidates that differ only in C are fitted in
  ascending C, each warm-started from the previous solution;
* **kernel matrices** (SVMs): libsvm is given each fold's kernel matrix (linear or RBF, from the
  shared inner products), so no fit touches the feature vectors; C ascends, and once no dual
  coefficient reaches its bound C the solution is the hard-margin one, which every larger C
  repeats, so it is not refitted;
* **distance matrices** (k-NN): one per fold for all k and weights;
* **parallel**: heads x folds x candidate groups are tasks on ``n_jobs`` threads (BLAS one
  thread each) or, inside :func:`featx.dask_backend`, on Dask; each head is refitted and
  handed on (to be reported) as soon as its tasks are in, while the others' go on;
* **successive halving** (``halving=True``): scikit-learn's ``HalvingGridSearchCV`` per head, for
  grids too large to score in full.

Warnings raised by a fit are caught per thread and summarised as one line naming the head and
its parameters (:mod:`featx.learn._warnings`); those a head declares benign are left out.

The best head of several is the one :func:`best` picks: the highest mean CV score, ties to the
smaller spread across folds, then to the table order.

>>> from featx.learn.dataset import load_dataset
>>> data = load_dataset("features.h5")
>>> result = evaluate("logreg", data, cv=2)
>>> sorted(result.search.best_params_), len(result.y_pred) == len(data.y_test)
(['clf__C'], True)
>>> results = search_heads(["ridge", "lda"], data.X_train, data.y_train, cv=2)
>>> sorted(results), results["ridge"].best_estimator_.steps[-1][0]
(['lda', 'ridge'], 'clf')
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from joblib import Parallel, delayed, parallel_config
from scipy.stats import rankdata
from sklearn import config_context
from sklearn.base import clone
from sklearn.metrics import accuracy_score, get_scorer, recall_score
from sklearn.model_selection import ParameterGrid, RepeatedStratifiedKFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from featx import SEED
from featx.errors import FeatxError
from featx.learn._folds import STRATEGIES, Candidate, FoldCache, View, failure, make_view
from featx.learn._warnings import Caught, catching, fitting, summarize
from featx.learn.dataset import Dataset
from featx.learn.heads import HEADS, Head, describe, get_head, head_grid, make_head

PREP_KEYS = ("norm", "pca")


@dataclass
class SearchResult:
    """One head's search: ``best_params_``, ``best_score_``, ``best_estimator_`` (a fitted plain
    scikit-learn Pipeline) and ``cv_results_`` as in GridSearchCV, plus the head's seconds (the
    CPU time of its fits, summed over the threads that ran them: heads share the cores, so no
    head has a wall time of its own) and its warnings, one line each."""

    head: str
    cv_results_: dict
    best_index_: int
    best_params_: dict
    best_score_: float
    n_splits_: int
    scoring: str
    best_estimator_: Pipeline | None = None
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def predict(self, X: np.ndarray) -> np.ndarray:  # noqa: N803
        return self.best_estimator_.predict(X)


class Scored:
    """The cross-validation score of the best candidate of ``self.search`` (a
    :class:`SearchResult`, or scikit-learn's search with ``--halving``) and its spread."""

    search: SearchResult

    @property
    def cv_score(self) -> float:
        return float(self.search.best_score_)

    @property
    def cv_std(self) -> float:
        """How much the best candidate's score varies across the folds (standard deviation)."""
        return float(self.search.cv_results_["std_test_score"][self.search.best_index_])

    @property
    def rank_score(self) -> float:
        """The CV score to rank by: NaN (a fit failed on some fold) ranks below every score."""
        return self.cv_score if np.isfinite(self.cv_score) else -np.inf


@dataclass
class Result(Scored):
    """One head's search and its held-out evaluation."""

    head: str
    search: SearchResult
    test_accuracy: float
    y_pred: np.ndarray
    seconds: float
    test_balanced_accuracy: float
    """Mean per-class recall on the held-out rows (the linear-probe protocol's "mean per-class
    accuracy")."""



@dataclass
class Plan:
    """A head's pipeline, candidates, and candidate groups solved together in one task."""

    head: Head
    estimator: Pipeline
    grid: dict
    candidates: list[Candidate]
    groups: list[tuple[str, tuple[int, ...]]]


@dataclass(frozen=True)
class Task:
    """One group of a head's candidates scored on one fold."""

    head: str
    fold: int
    prep_key: str
    indices: tuple[int, ...]


def search(name: str, X: np.ndarray, y: np.ndarray, *, grid: Mapping | None = None,  # noqa: N803
           **options) -> SearchResult:
    """Search one head (``grid``: overrides of its grid); see :func:`search_heads` for the
    other options."""
    return search_heads([name], X, y, grids={name: grid} if grid else None, **options)[name]


def search_heads(names: Sequence[str], X: np.ndarray, y: np.ndarray, *,  # noqa: N803
                 cv: int = 5, scoring: str = "accuracy", n_jobs: int | None = None,
                 grids: Mapping[str, Mapping] | None = None, seed: int = SEED,
                 halving: bool = False, progress: bool = False, repeats: int = 1,
                 on_result: Callable[[SearchResult], object] | None = None
                 ) -> dict[str, SearchResult]:
    """Cross-validate every candidate of every head in ``names`` and refit each head's best.

    ``on_result`` is called in this thread with each head's result as soon as it is refitted,
    while the other heads' tasks go on (reports drawn there overlap with them).
    ``progress`` shows a bar per head on stderr: candidates x folds, elapsed, remaining.
    ``repeats`` > 1 scores on that many shuffles of the ``cv`` folds, averaged: steadier scores
    to compare many candidates on few images.
    """
    get_scorer(scoring)  # an unknown name fails before any work
    unsearched = sorted(set(grids or {}) - set(names))
    if unsearched:
        raise FeatxError(f"grids given for heads not searched: {', '.join(unsearched)} "
                         f"(searched: {', '.join(names)})")
    folds = stratified_folds(y, cv, seed, repeats)
    plans = {name: plan(name, (grids or {}).get(name)) for name in names}
    results = {}
    with threadpool_limits(1), parallel_config(prefer="threads"):
        if halving:
            for name, p in plans.items():
                results[name] = _halving(p, X, y, folds, scoring, n_jobs, seed)
                if on_result:
                    on_result(results[name])
            return results
        bars = {name: tqdm(total=len(p.candidates) * len(folds) + 1, unit="fit",
                           position=i, desc=f"{name} {len(p.candidates)}x{len(folds)}",
                           disable=not progress, leave=True)
                for i, (name, p) in enumerate(plans.items())}
        try:
            for result in _searched(plans, X, y, folds, scoring, n_jobs, bars):
                results[result.head] = result
                if on_result:
                    on_result(result)
        finally:
            for bar in bars.values():
                bar.close()
    return {name: results[name] for name in names}


def stratified_folds(y: np.ndarray, cv: int, seed: int,
                     repeats: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    """``cv`` shuffled stratified folds (``repeats`` shuffles of them, one after the other);
    refused when a class has fewer than ``cv`` examples."""
    classes, counts = np.unique(y, return_counts=True)
    if cv < 2:
        raise FeatxError(f"--cv {cv}: cross-validation needs at least 2 folds")
    if cv > counts.min():
        raise FeatxError(f"--cv {cv} needs at least {cv} training examples per class; the "
                         f"smallest class, {classes[counts.argmin()]!r}, has {counts.min()}")
    if repeats < 1:
        raise FeatxError(f"--repeats {repeats}: at least 1")
    folds = (StratifiedKFold(cv, shuffle=True, random_state=seed) if repeats == 1 else
             RepeatedStratifiedKFold(n_splits=cv, n_repeats=repeats, random_state=seed))
    return list(folds.split(np.zeros(len(y)), y))


def plan(name: str, grid: Mapping | None = None) -> Plan:
    """Candidates of head ``name``'s grid (with ``grid`` overrides), grouped for its search."""
    head = get_head(name)
    estimator = make_head(name)
    grid = head_grid(name, grid)
    candidates = []
    for i, params in enumerate(ParameterGrid(grid)):
        try:
            clone(estimator).set_params(**params)
        except ValueError as exc:
            raise FeatxError(f"{name}: invalid grid parameter ({exc})") from None
        prep = {k: v for k, v in params.items() if k.split("__")[0] in PREP_KEYS}
        clf = {k.removeprefix("clf__"): v for k, v in params.items() if k not in prep}
        candidates.append(Candidate(i, params, prep, clf, f"{name} {describe(params)}"))
    groups: dict[tuple[str, str], list[int]] = {}
    for c in candidates:
        prep_key = repr(clone(estimator).set_params(**c.prep).steps[:-1])  # the steps themselves
        groups.setdefault((prep_key, _group_key(head, c)), []).append(c.index)
    return Plan(head, estimator, grid, candidates,
                [(prep_key, tuple(ix)) for (prep_key, _), ix in groups.items()])


def _group_key(head: Head, c: Candidate) -> str:
    """Candidates with the same key are solved together: a path along C, one kernel, one metric."""
    if head.search in ("path", "kernel"):
        return repr(sorted((k, v) for k, v in c.clf.items() if k != head.along))
    if head.search == "neighbours":
        return repr(sorted((k, v) for k, v in c.clf.items()
                           if k in ("metric", "p", "metric_params")))
    return str(c.index)


@dataclass
class _Head:
    """What a head's tasks have brought in so far."""

    scores: np.ndarray
    pending: int
    seconds: float = 0.0
    errors: dict = field(default_factory=dict)
    caught: list = field(default_factory=list)
    refit: tuple | None = None


def _searched(plans: dict[str, Plan], X, y, folds, scoring: str, n_jobs, bars):  # noqa: N803
    """Run every (head, fold, group) task and yield each head's result once its tasks are in,
    refitted on all rows, while the other heads' tasks go on.

    Heads with more candidates go first; a head with a single candidate is refitted as a task
    at the start (it needs no scores to choose), so the last heads to finish only report.
    """
    scorer = get_scorer(scoring)
    codes = np.unique(y, return_inverse=True)[1]  # integer labels: cheaper for every fit
    order = sorted(plans, key=lambda name: -len(plans[name].candidates))
    tasks = [Task(name, f, prep_key, indices) for name in order for f in range(len(folds))
             for prep_key, indices in plans[name].groups]
    single = [name for name in order if len(plans[name].candidates) == 1]
    cache = FoldCache(Counter((t.fold, t.prep_key) for t in tasks))
    token = cache.register()
    state = {name: _Head(np.full((len(p.candidates), len(folds)), np.nan),
                         sum(t.head == name for t in tasks) + (name in single))
             for name, p in plans.items()}
    try:
        calls = [delayed(_refit)(name, plans[name].estimator, plans[name].candidates[0].params,
                                 X, y) for name in single]
        calls += [delayed(_run_task)(token, t, plans[t.head], X, codes, folds[t.fold], scorer)
                  for t in tasks]
        for name, done, seconds, caught in Parallel(n_jobs=n_jobs,
                                                    return_as="generator_unordered")(calls):
            head = state[name]
            head.seconds += seconds
            head.caught += caught
            if isinstance(done, Pipeline):
                head.refit = done
            else:
                task, outcomes = done
                for index, value, error in outcomes:
                    head.scores[index, task.fold] = value
                    if error:
                        head.errors.setdefault((index, error), []).append(task.fold)
                bars[name].update(len(task.indices))
            head.pending -= 1
            if not head.pending:
                yield _finished(plans[name], head, X, y, bars[name], scoring, len(folds))
    finally:
        cache.unregister(token)


def _finished(p: Plan, head: _Head, X, y, bar, scoring: str, cv: int) -> SearchResult:  # noqa: N803
    """A head's result from its scores, refitted here unless a task did it."""
    result = _result(p, head.scores, head.seconds, head.errors, scoring, cv)
    if head.refit is None:
        _, head.refit, seconds, caught = _refit(p.head.name, p.estimator, result.best_params_,
                                                X, y)
        result.seconds += seconds
        head.caught += caught
    result.best_estimator_ = head.refit
    result.warnings += summarize(head.caught, p.head.benign)
    bar.update()
    return result


def _run_task(token: str, task: Task, p: Plan, X, y, fold, scorer):  # noqa: N803
    """Score one group of candidates on one fold: [(index, score, error)], seconds, warnings."""
    start = time.thread_time()
    candidates = [p.candidates[i] for i in task.indices]
    prep = clone(p.estimator).set_params(**candidates[0].params)[:-1]
    key = (task.fold, task.prep_key)
    cache = FoldCache.find(token)
    with catching() as caught, config_context(assume_finite=True):
        fitting(f"{candidates[0].label} ({describe(candidates[0].prep) or 'features'} on a fold)")
        try:  # a failure here leaves the group's candidates unscored, like error_score=nan
            view = _fold_view(cache, key, lambda: make_view(prep, X, y, *fold))
            clf = p.estimator.named_steps["clf"]
            outcomes = STRATEGIES[p.head.search](clf, candidates, view, scorer, p.head.along)
        except Exception as exc:  # noqa: BLE001
            outcomes = [(c.index, math.nan, failure(exc)) for c in candidates]
    return task.head, (task, outcomes), time.thread_time() - start, caught


def _fold_view(cache: FoldCache | None, key, compute: Callable[[], View]) -> View:
    """A fold's view, from the cache shared by this search's tasks when there is one (this
    task's use of it released)."""
    if cache is None:
        return compute()
    try:
        return cache.view(key, compute)
    finally:
        cache.release(key)


def _result(p: Plan, scores: np.ndarray, seconds: float, errors: dict, scoring: str,
            cv: int) -> SearchResult:
    """GridSearchCV's table and best candidate from the fold scores (NaN: the fit failed)."""
    name = p.head.name
    if np.isnan(scores).all():
        (index, error), _ = next(iter(errors.items()))
        raise FeatxError(f"{name}: every candidate failed; {p.candidates[index].label}: {error}")
    mean = scores.mean(axis=1)
    rank = rankdata(-np.where(np.isnan(mean), -np.inf, mean), method="min").astype(int)
    best_index = int(np.argmin(rank))
    table = {"params": [c.params for c in p.candidates], "mean_test_score": mean,
             "std_test_score": scores.std(axis=1), "rank_test_score": rank,
             **{f"split{f}_test_score": scores[:, f] for f in range(cv)}}
    failed = [Caught(p.candidates[i].label, "not scored", "", error)
              for (i, error), folds in errors.items() for _ in folds]
    return SearchResult(name, table, best_index, p.candidates[best_index].params,
                        float(mean[best_index]), cv, scoring, seconds=seconds,
                        warnings=summarize(failed))


def _refit(name: str, estimator: Pipeline, params: dict, X, y):  # noqa: N803
    start = time.thread_time()
    with catching() as caught:
        fitting(f"{name} {describe(params)}")
        try:
            fitted = clone(estimator).set_params(**params).fit(X, y)
        except Exception as exc:  # noqa: BLE001
            raise FeatxError(f"{name}: {describe(params) or 'its default'} cannot be fitted on "
                             f"the training rows; {failure(exc)}") from None
    return name, fitted, time.thread_time() - start, caught


def _halving(p: Plan, X, y, folds, scoring: str, n_jobs, seed: int):  # noqa: N803
    """scikit-learn's successive halving over the head's whole pipeline and grid (heads one
    after the other, so ``seconds`` is the wall time of each)."""
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingGridSearchCV

    name = p.head.name
    start = time.perf_counter()
    with catching() as caught:
        fitting(name)
        found = HalvingGridSearchCV(p.estimator, p.grid, cv=folds, scoring=scoring,
                                    n_jobs=n_jobs, random_state=seed).fit(X, y)
    found.head, found.seconds = name, time.perf_counter() - start
    found.warnings = summarize(caught, p.head.benign)
    return found


# -- held-out evaluation and the choice of head --------------------------------------------------


def held_out(found: SearchResult, data: Dataset) -> Result:
    """The searched head's predictions and scores on the held-out rows."""
    name = found.head
    start = time.thread_time()
    with catching() as caught:
        fitting(f"{name} (held-out evaluation)")
        y_pred = found.best_estimator_.predict(data.X_test)
        accuracy = float(accuracy_score(data.y_test, y_pred))
        # balanced accuracy: the mean recall of the held-out classes (balanced_accuracy_score,
        # without its warning when the model predicts a class the held-out rows lack)
        balanced = float(recall_score(data.y_test, y_pred, labels=np.unique(data.y_test),
                                      average="macro", zero_division=0))
    found.warnings += summarize(caught, get_head(name).benign)
    return Result(name, found, accuracy, y_pred, found.seconds + time.thread_time() - start,
                  balanced)


def evaluate(name: str, data: Dataset, **options) -> Result:
    """:func:`search` head ``name`` on the training rows (``options``: its keywords), then score
    the refitted best on the held-out rows."""
    return held_out(search(name, data.X_train, data.y_train, **options), data)


def best(results: Sequence[Result]) -> Result:
    """The result with the highest mean cross-validation score. Ties (scores equal to nine
    decimals) go to the head whose score varies least across the folds, then to the head listed
    first in :data:`featx.learn.heads.HEADS`, whatever order the heads were given in. A NaN
    score (a fit failed on some fold) ranks last."""
    order = list(HEADS)
    return min(results, key=lambda r: (-round(r.rank_score, 9), np.nan_to_num(
        round(r.cv_std, 9), nan=np.inf), order.index(r.head)))
