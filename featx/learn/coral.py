"""CORAL: correlation alignment of source features to a target domain (Sun, Feng, Saenko 2016).

Fitted on source-domain features, :class:`CORAL` whitens them with their own covariance and
recolours them with the covariance of the unlabelled ``target`` features; a classifier trained on
the result applies to target-domain features as they are. The mean is aligned as well (centred on
the source mean, moved to the target mean); ``align_mean=False`` keeps the paper's exact map,
``X @ Cs^-1/2 @ Ct^1/2``. Both covariances get ``regularization`` times their mean variance added
to the diagonal: 1.0 is the paper's ``+ eye(d)`` on standardised features, at any feature scale.

``transform`` maps *source-domain* rows. Target-domain rows need no mapping: score them with the
steps after CORAL, e.g. ``pipe[1:]``.

>>> from sklearn.linear_model import LogisticRegression
>>> from sklearn.pipeline import make_pipeline
>>> rng = np.random.default_rng(0)
>>> X_source, y_source = rng.normal(size=(100, 5)), rng.integers(0, 2, 100)
>>> X_target = 0.5 * rng.normal(size=(80, 5)) + 1.0
>>> pipe = make_pipeline(CORAL(target=X_target), LogisticRegression()).fit(X_source, y_source)
>>> pipe[1:].predict(X_target).shape
(80,)
>>> np.allclose(np.cov(pipe[0].transform(X_source).T), np.cov(X_target.T), atol=0.1)
True
"""

from __future__ import annotations

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data


class CORAL(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Align source features to the covariance (and mean) of ``target`` features.

    Parameters
    ----------
    target : array-like of shape (n_target, n_features), default=None
        Unlabelled features of the target domain. ``None`` aligns to a white domain (zero mean,
        identity covariance): the whitening half of CORAL.
    regularization : float, default=1.0
        Added to both covariance diagonals, as a multiple of each one's mean variance.
    align_mean : bool, default=True
        Also move the source mean to the target mean.

    Attributes
    ----------
    source_mean_, target_mean_ : ndarray of shape (n_features,)
    source_power_, target_power_ : tuple ``(components, scales, identity)``
        ``Cs^-1/2`` and ``Ct^1/2`` in low-rank form: ``V.T @ diag(scales) @ V + identity * I``
        with ``V`` the principal axes of the centred rows, so memory and time grow with
        ``n_samples * n_features``, never ``n_features ** 2`` (25088-d flattened VGG features
        fit).
    matrix_ : ndarray of shape (n_features, n_features)
        ``Cs^-1/2 @ Ct^1/2``, the map applied on the right, built on request (for inspection).
    n_features_in_ : int
    """

    def __init__(self, target=None, regularization: float = 1.0, align_mean: bool = True):
        self.target = target
        self.regularization = regularization
        self.align_mean = align_mean

    def fit(self, X, y=None):  # noqa: N803
        """Learn the map from the source features ``X`` to the target domain."""
        X = validate_data(self, X, dtype=[np.float64, np.float32],  # noqa: N806
                          ensure_min_samples=2)
        if self.regularization <= 0:
            raise ValueError(f"regularization must be positive, got {self.regularization}")
        if self.target is None:
            self.target_mean_ = np.zeros(X.shape[1])
            self.target_power_ = (np.zeros((0, X.shape[1])), np.zeros(0), 1.0)
        else:
            target = check_array(self.target, dtype=[np.float64, np.float32],
                                 ensure_min_samples=2, input_name="target")
            if target.shape[1] != X.shape[1]:
                raise ValueError(f"X has {X.shape[1]} features, but the target has "
                                 f"{target.shape[1]}")
            self.target_mean_ = target.mean(axis=0)
            self.target_power_ = self._covariance_power(target, 0.5)
        self.source_mean_ = X.mean(axis=0)
        self.source_power_ = self._covariance_power(X, -0.5)
        return self

    def transform(self, X):  # noqa: N803
        """Map source-domain features ``X`` into the target domain."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)  # noqa: N806
        Z = X - self.source_mean_ if self.align_mean else X.astype(np.float64)  # noqa: N806
        Z = _apply(self.target_power_, _apply(self.source_power_, Z))  # noqa: N806
        if self.align_mean:
            Z += self.target_mean_  # noqa: N806
        return Z.astype(X.dtype, copy=False)

    @property
    def matrix_(self) -> np.ndarray:
        check_is_fitted(self)
        return _apply(self.target_power_, _apply(self.source_power_, np.eye(self.n_features_in_)))

    @property
    def _n_features_out(self) -> int:
        return self.n_features_in_

    def _covariance_power(self, X: np.ndarray, exponent: float) -> tuple:  # noqa: N803
        """``(cov(X) + ridge * I) ** exponent`` in low-rank form: the principal axes come from
        the eigenvectors of the smaller Gram matrix (n x n rows, or d x d features), so time is
        O(min(n, d)^2 max(n, d)) and memory O(n d)."""
        centred = np.asarray(X, dtype=np.float64) - X.mean(axis=0)
        wide = len(X) < X.shape[1]
        values, vectors = linalg.eigh(centred @ centred.T if wide else centred.T @ centred)
        keep = values > values.max(initial=0.0) * 1e-12
        values, vectors = values[keep], vectors[:, keep]
        axes = (centred.T @ vectors / np.sqrt(values)).T if wide else vectors.T
        variances = values / (len(X) - 1)
        ridge = self.regularization * max(float(np.sum(centred**2)) / (len(X) - 1) / X.shape[1],
                                          np.finfo(float).tiny)
        return axes, (variances + ridge) ** exponent - ridge**exponent, ridge**exponent

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _apply(power: tuple, Z: np.ndarray) -> np.ndarray:  # noqa: N803
    """``Z @ (V.T @ diag(scales) @ V + identity * I)`` without forming the matrix."""
    components, scales, identity = power
    return ((Z @ components.T) * scales) @ components + identity * Z
