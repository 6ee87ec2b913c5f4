"""Built-in classifier heads: one table of scikit-learn pipelines, each with a default grid.

Every head is ``Pipeline([("norm", ...), ("pca", ...), ("clf", ...)])``. ``norm`` is L2
(:class:`~sklearn.preprocessing.Normalizer`), standard scaling or ``"passthrough"``; ``pca`` is
``"passthrough"`` or a :class:`~sklearn.decomposition.PCA`. Both are ordinary grid parameters.

Each head also says how :mod:`featx.learn.search` scores its grid fast (``search``: ``"path"``
warm-starts along ``along``, ``"kernel"`` fits on kernel matrices computed once per fold,
``"neighbours"`` on distance matrices computed once per fold, ``"fit"`` fits each candidate),
which library warnings are noise for it (``benign``), and how few examples per class it needs.

>>> from sklearn.model_selection import GridSearchCV
>>> head = make_head("logreg", norm="standard", pca=16)
>>> [name for name, _ in head.steps]
['norm', 'pca', 'clf']
>>> sorted(head_grid("logreg"))
['clf__C']
>>> len(head_grid("logreg")["clf__C"]), min(C_PATH), max(C_PATH)  # 10 decades, 3 per decade
(31, 1e-05, 100000.0)
>>> search = GridSearchCV(make_head("knn"), head_grid("knn"), cv=5)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.covariance import OAS
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import LogisticRegression, RidgeClassifierCV
from sklearn.neighbors import KNeighborsClassifier, NearestCentroid
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Normalizer, StandardScaler
from sklearn.svm import SVC

from featx import SEED
from featx.errors import FeatxError

NORMS: dict[str, Callable[[], BaseEstimator] | None] = {
    "l2": Normalizer, "standard": StandardScaler, "none": None}


def decades(low: int, high: int, per_decade: int = 3) -> list[float]:
    """``per_decade`` log-spaced values per decade from ``10**low`` to ``10**high``, 3 digits.

    >>> decades(-1, 1)
    [0.1, 0.215, 0.464, 1.0, 2.15, 4.64, 10.0]
    """
    count = (high - low) * per_decade + 1
    return [float(f"{v:.3g}") for v in np.logspace(low, high, count)]


C_PATH = decades(-5, 5)
"""The linear-probe sweep of C (CLIP and DINOv2 sweep many decades): 1e-5 .. 1e5, 3 per decade."""
RIDGE_ALPHAS = decades(-3, 7)
"""Ridge penalties for RidgeClassifierCV's leave-one-out choice: 1e-3 .. 1e7, 3 per decade."""


@dataclass(frozen=True)
class Benign:
    """A library warning that means nothing for a head (matched on its file and message)."""

    file: str
    message: str
    why: str

    def matches(self, filename: str, message: str) -> bool:
        return self.file in filename and self.message in message


@dataclass(frozen=True)
class Head:
    """A named classifier, its default normalisation and grid, and how its grid is searched;
    below ``min_per_class`` training examples per class, ``below_min`` stands in for it."""

    name: str
    help: str
    make: Callable[[], BaseEstimator]
    grid: dict = field(default_factory=dict)
    norm: str = "l2"
    search: str = "fit"
    along: str | None = None
    benign: tuple[Benign, ...] = ()
    min_per_class: int = 1
    below_min: Callable[[], BaseEstimator] | None = None


_CENTROID_NOISE = (
    Benign("_nearest_centroid", "zero standard deviation",
           "a feature constant within a class (common after ReLU pooling); the spread is used "
           "only with shrink_threshold"),
    Benign("_nearest_centroid", "invalid value encountered in divide",
           "one example per class has no spread; it is used only with shrink_threshold"),
)

HEADS: dict[str, Head] = {head.name: head for head in [
    # lbfgs converges to tol=1e-4 along the whole warm-started path (tol=1e-3 cost 2 points of CV
    # accuracy on L2-normalised features); max_iter only guards the cold refit.
    Head("logreg", "logistic regression (C swept over 10 decades)",
         lambda: LogisticRegression(max_iter=10000, random_state=SEED),
         {"clf__C": C_PATH}, search="path", along="C"),
    Head("linear-svm", "linear support vector machine (C swept over 10 decades)",
         lambda: SVC(kernel="linear", random_state=SEED),
         {"clf__C": C_PATH}, search="kernel", along="C"),
    Head("rbf-svm", "support vector machine with an RBF kernel",
         lambda: SVC(kernel="rbf", random_state=SEED),
         {"clf__C": [0.1, 1.0, 10.0, 100.0], "clf__gamma": ["scale", 0.1, 1.0]},
         search="kernel", along="C"),
    Head("knn", "k nearest neighbours, cosine distance",
         lambda: KNeighborsClassifier(n_neighbors=5, metric="cosine"),
         {"clf__n_neighbors": [1, 3, 5, 10, 20], "clf__weights": ["uniform", "distance"]},
         search="neighbours"),
    Head("centroid", "nearest class mean (few-shot)", NearestCentroid,
         {"norm": ["l2", "standard", "none"]}, benign=_CENTROID_NOISE),
    Head("ridge", "ridge classifier, penalty by efficient leave-one-out",
         lambda: RidgeClassifierCV(alphas=RIDGE_ALPHAS)),
    # OAS shrinks each class covariance towards a scaled identity in closed form; it stays sound
    # at 2 examples per class, where sklearn's shrinkage="auto" (Ledoit-Wolf on per-class
    # standardised features) falls below chance. store_precision=False skips a pseudo-inverse
    # per class that LDA never reads. One example per class leaves no within-class covariance
    # (LinearDiscriminantAnalysis refuses it): there the limit of full shrinkage, the nearest
    # class mean, stands in.
    Head("lda", "linear discriminant analysis, OAS-shrunk covariance (few-shot)",
         lambda: LinearDiscriminantAnalysis(solver="lsqr",
                                            covariance_estimator=OAS(store_precision=False)),
         min_per_class=2, below_min=NearestCentroid, benign=_CENTROID_NOISE),
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


def head_for(name: str, per_class: int | None = None) -> tuple[Pipeline, str]:
    """Head ``name``'s pipeline for training rows with ``per_class`` examples of each class
    (``None``: enough), and its classifier's name. Below the head's ``min_per_class`` its
    ``below_min`` stand-in takes the classifier's place, and the name says so.

    >>> head_for("lda", 2)[1]
    'LinearDiscriminantAnalysis'
    >>> head_for("lda", 1)[1]
    'NearestCentroid (stand-in: LinearDiscriminantAnalysis needs 2 per class)'
    """
    head, model = get_head(name), make_head(name)
    own = type(model[-1]).__name__
    if per_class is None or per_class >= head.min_per_class:
        return model, own
    model.steps[-1] = ("clf", head.below_min())
    return model, (f"{type(model[-1]).__name__} (stand-in: {own} needs {head.min_per_class} "
                   "per class)")


def head_grid(name: str, overrides: Mapping[str, list] | None = None) -> dict[str, list]:
    """The search grid of head ``name``, with ``overrides`` replacing or adding entries.

    ``norm`` takes names (``"l2"``, ``"standard"``, ``"none"``) and ``pca`` numbers (0: none);
    both become pipeline steps, so a grid can be written in TOML or JSON.
    """
    for key, values in (overrides or {}).items():
        listed = isinstance(values, Sequence | np.ndarray) and not isinstance(values, str | bytes)
        if not listed or not len(values):
            raise FeatxError(f"{name}: grid entry {key} must be a non-empty list of values, got "
                             f"{values!r}")
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


def describe(params: Mapping) -> str:
    """Grid parameters as a user reads and writes them: ``C=0.1, norm=l2``.

    >>> describe({"clf__C": 0.1, "norm": Normalizer(), "pca": "passthrough"})
    'C=0.1, norm=l2, pca=0'
    """
    return ", ".join(f"{key.removeprefix('clf__')}={_value_name(key, value)}"
                     for key, value in params.items())


def _value_name(key: str, value) -> str:
    """``norm`` and ``pca`` steps by the names a grid gives them; anything else as ``str``."""
    if isinstance(value, str) and value == "passthrough":
        return {"norm": "none", "pca": "0"}.get(key, value)
    norms = {make: name for name, make in NORMS.items() if make}
    if type(value) in norms:
        return norms[type(value)]
    if isinstance(value, PCA):
        return str(value.n_components)
    return str(value)


@contextmanager
def quiet_fits() -> Iterator[None]:
    """Silence NearestCentroid's constant-feature warning inside the block, here and in the
    joblib workers of scikit-learn's ``n_jobs`` (scikit-learn hands them the caller's warning
    filters); the filters are restored on exit, and the environment is left alone.

    The warning comes when a feature is constant within a class (common after ReLU pooling); the
    class spread is unused without shrinkage, so it is noise in every CV fit. (The search and
    the learning curves catch warnings per fit instead: :mod:`featx.learn._warnings`.)
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="sklearn.neighbors._nearest_centroid")
        yield
