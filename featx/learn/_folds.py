"""The work one cross-validation fold shares among candidates, and the fast ways to score them.

A fold's ``norm`` and ``pca`` steps are fitted once and its rows transformed once (:class:`View`);
what is derived from them is computed once and shared by every candidate and head that needs it:

* **inner products** (:meth:`View.gram`): training x training and validation x training; the
  linear kernel, and (with the rows' norms) the RBF kernel's squared distances and the cosine
  distances;
* **row-space coordinates** (:meth:`View.row_space`): with fewer training rows ``n`` than
  features ``d``, the rows written in an orthonormal basis ``Q`` of their span
  (``X_train.T = Q R``, Householder QR): ``Z_train = R.T``, ``Z_val = X_val Q``, both ``n``
  wide. An L2-penalised linear model's weights lie in that span (the gradients of its loss and
  of its penalty are combinations of the training rows), so fitted on ``Z`` it reaches the same
  optimum, and gives every validation row the same decision, at a fraction of the work.
  :func:`row_space_twin` says which estimators this holds for, with which parameters.

Each strategy scores a group of candidates on one view and returns ``(index, score, error)``
per candidate (``error``: why it was not scored). Kernel and distance matrices stand in for the
rows up to :data:`KERNEL_MAX_ROWS` training rows per fold.

>>> from sklearn.linear_model import LogisticRegression
>>> row_space_twin(LogisticRegression(C=10.0), 1280) is not None
True
>>> row_space_twin(LogisticRegression(solver="liblinear"), 1280) is None  # coordinate descent
True
"""

from __future__ import annotations

import math
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import qr_multiply
from sklearn.base import BaseEstimator, clone
from sklearn.covariance import OAS, empirical_covariance
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, RidgeClassifierCV
from sklearn.metrics.pairwise import pairwise_distances, pairwise_kernels
from sklearn.pipeline import Pipeline

from featx.learn._warnings import fitting, forget

KERNEL_MAX_ROWS = 6000
"""Kernel and distance matrices are precomputed up to this many training rows per fold (a float64
n x n matrix of 288 MB); beyond, libsvm and k-NN compute them as they go, as GridSearchCV does."""
ROW_SPACE_MAX_SHARE = 0.8
"""Fits move to row-space coordinates when the training rows are at most this share of the
features (below it the QR pays for itself many times over; above, there is little to gain)."""
GRADIENT_SOLVERS = ("lbfgs", "newton-cg", "newton-cholesky", "sag", "saga")


@dataclass(frozen=True)
class Candidate:
    """One grid point: its pipeline parameters, split into the ``norm``/``pca`` part and the
    classifier's part (without ``clf__``), and its label in messages."""

    index: int
    params: dict
    prep: dict
    clf: dict
    label: str  # "logreg C=0.1, norm=l2"


@dataclass
class View:
    """One fold's training and validation rows after ``norm`` and ``pca``, and what is derived
    from them, each computed once (thread-safe)."""

    X_train: np.ndarray  # noqa: N815 (scikit-learn naming)
    y_train: np.ndarray
    X_val: np.ndarray  # noqa: N815
    y_val: np.ndarray
    _memo: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def memo(self, key, compute: Callable):
        """``compute()``, once per key; other keys may be computed meanwhile (and inside)."""
        with self._lock:
            slot = self._memo.setdefault(key, [threading.Lock(), None, False])
        with slot[0]:
            if not slot[2]:
                slot[1], slot[2] = compute(), True
            return slot[1]

    def float64(self) -> tuple[np.ndarray, np.ndarray]:
        return self.memo("float64", lambda: (self.X_train.astype(np.float64),
                                             self.X_val.astype(np.float64)))

    def gram(self) -> tuple[np.ndarray, np.ndarray]:
        """Inner products: training x training and validation x training."""
        def compute():
            train, val = self.float64()
            return train @ train.T, val @ train.T
        return self.memo("gram", compute)

    def norms(self) -> tuple[np.ndarray, np.ndarray]:
        """Squared norms of the training and validation rows."""
        def compute():
            train, val = self.float64()
            return np.einsum("ij,ij->i", train, train), np.einsum("ij,ij->i", val, val)
        return self.memo("norms", compute)

    def row_space(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Training and validation rows in an orthonormal basis of the training rows' span, or
        None where that would not be narrower by :data:`ROW_SPACE_MAX_SHARE`."""
        n, d = self.X_train.shape
        if n > ROW_SPACE_MAX_SHARE * d:
            return None

        def compute():
            train, val = self.float64()
            val_q, r = qr_multiply(train.T, val, mode="right")  # X_val Q, Q never formed
            dtype = self.X_train.dtype if self.X_train.dtype == np.float32 else np.float64
            # in the rows' own precision, as scikit-learn would fit them (float32 features:
            # single-precision products, half the time of double)
            return np.ascontiguousarray(r.T, dtype=dtype), val_q.astype(dtype)
        return self.memo("row_space", compute)


class FoldCache:
    """Fold views shared by the tasks of one search in this process, dropped after their last use.

    Tasks find it through a token (:meth:`register`), so a task shipped to another process
    (Dask) simply finds none and computes its own view.
    """

    _registry: dict[str, FoldCache] = {}

    def __init__(self, uses: Counter):
        self._uses = uses
        self._slots: dict = {}
        self._lock = threading.Lock()

    def register(self) -> str:
        token = uuid.uuid4().hex
        FoldCache._registry[token] = self
        return token

    @staticmethod
    def unregister(token: str) -> None:
        FoldCache._registry.pop(token, None)

    @staticmethod
    def find(token: str) -> FoldCache | None:
        return FoldCache._registry.get(token)

    def view(self, key, compute: Callable[[], View]) -> View:
        with self._lock:
            slot = self._slots.setdefault(key, [threading.Lock(), None])
        with slot[0]:
            if slot[1] is None:
                slot[1] = compute()
            return slot[1]

    def release(self, key) -> None:
        with self._lock:
            self._uses[key] -= 1
            if self._uses[key] <= 0:
                self._slots.pop(key, None)


def make_view(prep: Pipeline, X, y, train, val) -> View:  # noqa: N803
    """Fit ``prep`` (the ``norm`` and ``pca`` steps) on a fold's training rows; transform both."""
    X_train = prep.fit_transform(X[train], y[train])  # noqa: N806
    return View(X_train, y[train], prep.transform(X[val]), y[val])


# -- the row space ------------------------------------------------------------------------------


class SubspaceOAS(BaseEstimator):
    """:class:`~sklearn.covariance.OAS` of ``n_features``-dimensional rows given by their
    coordinates in an orthonormal basis of a subspace holding them: the covariance in those
    coordinates, shrunk exactly as OAS shrinks the full one.

    OAS needs the trace and Frobenius norm of the empirical covariance, which the coordinates
    keep, and the number of features, which they do not; outside the subspace the full shrunk
    covariance is the multiple of the identity that a linear discriminant's solve never reaches
    from class means inside it.
    """

    def __init__(self, n_features: int = 1):
        self.n_features = n_features

    def fit(self, X, y=None):  # noqa: N803
        emp_cov = empirical_covariance(X)
        p = self.n_features
        mu = np.trace(emp_cov) / p
        alpha = np.sum(emp_cov**2) / p**2  # OAS's mean of the full covariance's squares
        num = alpha + mu**2
        den = (len(X) + 1) * (alpha - mu**2 / p)
        self.shrinkage_ = 1.0 if den == 0 else min(num / den, 1.0)
        self.covariance_ = (1.0 - self.shrinkage_) * emp_cov
        self.covariance_.flat[:: len(emp_cov) + 1] += self.shrinkage_ * mu
        return self


def row_space_twin(clf: BaseEstimator, n_features: int) -> BaseEstimator | None:
    """The estimator to fit on row-space coordinates of ``n_features``-dimensional rows, giving
    the same decisions as ``clf`` on the rows themselves; None where that does not hold.

    Exactly so: logistic regression with an L2 penalty and a gradient-based solver (not
    liblinear's coordinate descent, whose steps follow the features' axes); RidgeClassifierCV
    (its leave-one-out errors and solution depend on inner products only); linear discriminant
    analysis with the lsqr solver and an OAS covariance, fitted with :class:`SubspaceOAS`.
    """
    params = clf.get_params()
    if isinstance(clf, LogisticRegression):
        l2 = params["penalty"] in ("l2", "deprecated") and not params["l1_ratio"]
        gradient = params["solver"] in GRADIENT_SOLVERS
        return clf if l2 and gradient and np.isfinite(params["C"]) else None
    if isinstance(clf, RidgeClassifierCV):
        return clf
    if isinstance(clf, LinearDiscriminantAnalysis):
        estimator = params["covariance_estimator"]
        if (params["solver"] == "lsqr" and type(estimator) is OAS
                and not estimator.assume_centered):
            return clone(clf).set_params(covariance_estimator=SubspaceOAS(n_features))
    return None


def _fit_rows(clf: BaseEstimator, view: View) -> tuple[BaseEstimator, np.ndarray, np.ndarray,
                                                       np.ndarray]:
    """The estimator and the training and validation rows to fit and score it on: row-space
    coordinates where :func:`row_space_twin` allows, else the rows."""
    twin = row_space_twin(clf, view.X_train.shape[1])
    coordinates = view.row_space() if twin is not None else None
    if coordinates is None:
        return clf, view.X_train, view.X_val, view.y_val
    return twin, coordinates[0], coordinates[1], view.y_val


# -- strategies ---------------------------------------------------------------------------------


def score(estimator, X_train, y_train, X_val, y_val, scorer) -> tuple[float, str | None]:  # noqa: N803
    """Fit and score; a failure is (NaN, its message) rather than an exception."""
    try:
        estimator.fit(X_train, y_train)
        return float(scorer(estimator, X_val, y_val)), None
    except Exception as exc:  # noqa: BLE001 (reported per candidate, like error_score=nan)
        return math.nan, failure(exc)


def failure(exc: Exception) -> str:
    """Why a fit failed, in one line."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def fit_each(clf, candidates: list[Candidate], view: View, scorer, along=None) -> list:
    """Every candidate fitted from scratch on the fold (in row-space coordinates where exact)."""
    outcomes = []
    for c in candidates:
        fitting(c.label)
        estimator, X_train, X_val, y_val = _fit_rows(clf_with(clf, c), view)  # noqa: N806
        outcomes.append((c.index, *score(estimator, X_train, view.y_train, X_val, y_val,
                                         scorer)))
    return outcomes


def path(clf, candidates: list[Candidate], view: View, scorer, along: str) -> list:
    """Ascending ``along`` (C), each fit warm-started from the previous solution (in row-space
    coordinates where exact)."""
    estimator, X_train, X_val, y_val = _fit_rows(  # noqa: N806
        clone(clf).set_params(warm_start=True, **candidates[0].clf), view)
    outcomes = []
    for c in sorted(candidates, key=lambda c: c.clf[along]):
        fitting(c.label)
        estimator.set_params(**{along: c.clf[along]})
        outcomes.append((c.index, *score(estimator, X_train, view.y_train, X_val, y_val,
                                         scorer)))
    return outcomes


def kernel(clf, candidates: list[Candidate], view: View, scorer, along: str) -> list:
    """SVMs on the fold's kernel matrix, C ascending.

    Once no dual coefficient reaches its bound C, the solution is the hard-margin one, which
    every larger C repeats: it is not refitted. Where the classes overlap there is no such
    point, and libsvm's iterations grow with C; a fit that needs more than
    :func:`svm_budget` iterations stops the path there, and larger C are reported unscored.
    A ``max_iter`` of the user's grid is obeyed instead: a fit it cuts short is scored as it is
    (and its ConvergenceWarning reported), as scikit-learn's search would.
    """
    params = clf_with(clf, candidates[0]).get_params()
    if callable(params["kernel"]) or len(view.y_train) > KERNEL_MAX_ROWS:
        return fit_each(clf, candidates, view, scorer)
    K_train, K_val = kernels(view, params)  # noqa: N806
    ours = params["max_iter"] == -1
    budget = svm_budget(len(view.y_train)) if ours else params["max_iter"]
    outcomes, carried = [], None
    for c in sorted(candidates, key=lambda c: c.clf[along]):
        fitting(c.label)
        if carried is not None:
            outcomes.append((c.index, *carried))
            continue
        estimator = clone(clf).set_params(**{"max_iter": budget, **c.clf,
                                             "kernel": "precomputed"})
        value, error = score(estimator, K_train, view.y_train, K_val, view.y_val, scorer)
        if ours and error is None and estimator.n_iter_.max() >= budget:
            forget(ConvergenceWarning)
            error = (f"libsvm did not converge within {budget} iterations (overlapping "
                     f"classes make it slow at large {along}); larger {along} not tried")
            value, carried = math.nan, (math.nan, error)
        elif (error is None and params["class_weight"] is None
                and estimator.n_iter_.max() < budget  # converged: its solution is the optimum
                and np.all(np.abs(estimator.dual_coef_) < c.clf[along])):
            carried = value, None
        outcomes.append((c.index, value, error))
    return outcomes


def svm_budget(n_rows: int) -> int:
    """libsvm iterations allowed per class pair in a search: 20 per row, at least 10,000
    (fits on deep features reach their hard margin in a few hundred)."""
    return max(10_000, 20 * n_rows)


def kernels(view: View, params: dict) -> tuple[np.ndarray, np.ndarray]:
    """Training x training and validation x training kernel matrices, as SVC computes them."""
    name = params["kernel"]
    if name == "linear":
        return view.gram()
    train, val = view.float64()
    gamma = svc_gamma(params["gamma"], train)
    if name == "rbf":
        d_train, d_val = view.memo("sqeuclidean", lambda: squared_distances(view))
        return np.exp(-gamma * d_train), np.exp(-gamma * d_val)
    options = {"gamma": gamma, "degree": params["degree"], "coef0": params["coef0"]}
    return (pairwise_kernels(train, metric=name, filter_params=True, **options),
            pairwise_kernels(val, train, metric=name, filter_params=True, **options))


def squared_distances(view: View) -> tuple[np.ndarray, np.ndarray]:
    """Squared Euclidean distances, training x training (zero diagonal) and validation x
    training, from the inner products and norms."""
    (k_train, k_val), (n_train, n_val) = view.gram(), view.norms()
    d_train = np.maximum(n_train[:, None] + n_train[None, :] - 2 * k_train, 0)
    np.fill_diagonal(d_train, 0)
    return d_train, np.maximum(n_val[:, None] + n_train[None, :] - 2 * k_val, 0)


def svc_gamma(gamma, X: np.ndarray) -> float:  # noqa: N803
    """SVC's ``gamma``, with ``"scale"`` and ``"auto"`` resolved as SVC resolves them."""
    if gamma == "scale":
        var = X.var()
        return 1.0 / (X.shape[1] * var) if var != 0 else 1.0
    if gamma == "auto":
        return 1.0 / X.shape[1]
    return float(gamma)


def neighbours(clf, candidates: list[Candidate], view: View, scorer, along=None) -> list:
    """k-NN on the fold's distance matrix, one for every k and weighting."""
    params = clf_with(clf, candidates[0]).get_params()
    metric = params["metric"]
    if callable(metric) or metric == "precomputed" or len(view.y_train) > KERNEL_MAX_ROWS:
        return fit_each(clf, candidates, view, scorer)
    options = dict(params["metric_params"] or {})
    if metric == "minkowski":
        options.setdefault("p", params["p"])
    d_train, d_val = view.memo(("distance", metric, repr(sorted(options.items()))),
                               lambda: distances(view, metric, options))
    outcomes = []
    for c in candidates:
        fitting(c.label)
        estimator = clone(clf).set_params(**{**c.clf, "metric": "precomputed",
                                                "metric_params": None})
        outcomes.append((c.index, *score(estimator, d_train, view.y_train, d_val, view.y_val,
                                         scorer)))
    return outcomes


def distances(view: View, metric: str, options: dict) -> tuple[np.ndarray, np.ndarray]:
    """Training x training and validation x training distances; cosine and Euclidean from the
    inner products, any other metric by scikit-learn."""
    if metric == "cosine":
        (k_train, k_val), (n_train, n_val) = view.gram(), view.norms()
        r_train, r_val = (1 / np.sqrt(np.where(n == 0, 1, n)) for n in (n_train, n_val))
        d_train = np.clip(1 - k_train * r_train[:, None] * r_train[None, :], 0, 2)
        np.fill_diagonal(d_train, 0)
        return d_train, np.clip(1 - k_val * r_val[:, None] * r_train[None, :], 0, 2)
    if metric in ("euclidean", "l2") or (metric == "minkowski" and options == {"p": 2}):
        return tuple(np.sqrt(d) for d in squared_distances(view))
    train, val = view.float64()
    return (pairwise_distances(train, metric=metric, **options),
            pairwise_distances(val, train, metric=metric, **options))


def clf_with(clf: BaseEstimator, candidate: Candidate) -> BaseEstimator:
    """A fresh copy of the classifier with the candidate's parameters."""
    return clone(clf).set_params(**candidate.clf)


STRATEGIES = {"fit": fit_each, "path": path, "kernel": kernel, "neighbours": neighbours}
