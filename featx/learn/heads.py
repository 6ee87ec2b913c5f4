"""Built-in classifier heads: one table of scikit-learn pipelines, each with a default grid.

Every head is ``Pipeline([("norm", ...), ("pca", ...), ("clf", ...)])``. ``norm`` is L2
(:class:`~sklearn.preprocessing.Normalizer`), standard scaling or ``"passthrough"``; ``pca`` is
``"passthrough"`` or a :class:`~sklearn.decomposition.PCA`. Both are ordinary grid parameters.

>>> from sklearn.model_selection import GridSearchCV
>>> head = make_head("logreg", norm="standard", pca=16)
>>> [name for name, _ in head.steps]
['norm', 'pca', 'clf']
>>> sorted(head_grid("logreg"))
['clf__C', 'norm']
>>> search = GridSearchCV(make_head("knn"), head_grid("knn"), cv=5)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from sklearn.base import BaseEstimator
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier, NearestCentroid
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Normalizer, StandardScaler
from sklearn.svm import SVC, LinearSVC

from featx import SEED
from featx.errors import FeatxError

NORMS: dict[str, Callable[[], BaseEstimator] | None] = {
    "l2": Normalizer, "standard": StandardScaler, "none": None}


@dataclass(frozen=True)
class Head:
    """A named classifier, its default normalisation and its default hyper-parameter grid."""

    name: str
    help: str
    make: Callable[[], BaseEstimator]
    grid: dict = field(default_factory=dict)
    norm: str = "l2"


HEADS: dict[str, Head] = {head.name: head for head in [
    Head("logreg", "logistic regression",
         lambda: LogisticRegression(max_iter=5000, random_state=SEED),
         {"clf__C": [0.01, 0.1, 1.0, 10.0, 100.0], "norm": ["l2", "standard", "none"]}),
    Head("linear-svm", "linear support vector machine",
         lambda: LinearSVC(max_iter=20000, random_state=SEED),
         {"clf__C": [0.001, 0.01, 0.1, 1.0, 10.0], "norm": ["l2", "standard", "none"]}),
    Head("rbf-svm", "support vector machine with an RBF kernel",
         lambda: SVC(kernel="rbf", random_state=SEED),
         {"clf__C": [0.1, 1.0, 10.0, 100.0], "clf__gamma": ["scale", 0.1, 1.0]}),
    Head("knn", "k nearest neighbours, cosine distance",
         lambda: KNeighborsClassifier(n_neighbors=5, metric="cosine"),
         {"clf__n_neighbors": [1, 3, 5, 10, 20], "clf__weights": ["uniform", "distance"]}),
    Head("centroid", "nearest class mean (few-shot)", NearestCentroid,
         {"norm": ["l2", "standard", "none"]}),
]}


def head_names() -> list[str]:
    return list(HEADS)


def select_heads(names: str | Sequence[str]) -> list[str]:
    """Head names as a user gives them: one name, a list, or ``"all"`` (every head, in table
    order); unknown names are refused, repeats dropped."""
    names = [names] if isinstance(names, str) else list(names)
    if "all" in names:
        return head_names()
    if not names:
        raise FeatxError(f"no head given; choose from {', '.join(HEADS)}, or all")
    return list(dict.fromkeys(get_head(name).name for name in names))


def get_head(name: str) -> Head:
    if name not in HEADS:
        raise FeatxError(f"unknown head {name!r}; choose from {', '.join(HEADS)}")
    return HEADS[name]


def make_head(name: str, norm: str | None = None, pca: int | float | None = None) -> Pipeline:
    """A fresh, unfitted pipeline for head ``name`` (``norm``: l2, standard or none;
    ``pca``: number of components or explained-variance fraction, ``None``/0 for no PCA)."""
    head = get_head(name)
    return Pipeline([("norm", norm_step(norm or head.norm)), ("pca", pca_step(pca)),
                     ("clf", head.make())])


def head_grid(name: str, overrides: Mapping[str, list] | None = None) -> dict[str, list]:
    """The search grid of head ``name``, with ``overrides`` replacing or adding entries.

    ``norm`` takes names (``"l2"``, ``"standard"``, ``"none"``) and ``pca`` numbers (0: none);
    both become pipeline steps, so a grid can be written in TOML or JSON.
    """
    grid = {**get_head(name).grid, **(overrides or {})}
    steps = {"norm": norm_step, "pca": pca_step}
    return {key: [steps[key](v) for v in values] if key in steps else list(values)
            for key, values in grid.items()}


def norm_step(norm: str | BaseEstimator) -> BaseEstimator | str:
    """The normalisation step for a name: an estimator, or ``"passthrough"`` for ``none``."""
    if not isinstance(norm, str) or norm == "passthrough":
        return norm
    if norm not in NORMS:
        raise FeatxError(f"unknown normalisation {norm!r}; choose from {', '.join(NORMS)}")
    make = NORMS[norm]
    return make() if make else "passthrough"


def pca_step(pca: int | float | BaseEstimator | str | None) -> BaseEstimator | str:
    """A PCA step for ``n_components`` (``None`` or 0: ``"passthrough"``)."""
    if isinstance(pca, str | BaseEstimator):
        return pca
    if not pca or pca <= 0:
        return "passthrough"
    return PCA(pca if pca < 1 else int(pca), random_state=SEED)


@contextmanager
def quiet_fits() -> Iterator[None]:
    """Silence NearestCentroid's constant-feature warning inside the block, here and in the
    joblib workers of scikit-learn's ``n_jobs`` (scikit-learn hands them the caller's warning
    filters); the filters are restored on exit, and the environment is left alone.

    The warning comes when a feature is constant within a class (common after ReLU pooling); the
    class spread is unused without shrinkage, so it is noise in every CV fit.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="sklearn.neighbors._nearest_centroid")
        yield
