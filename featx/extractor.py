"""scikit-learn glue: a transformer from image paths to cached features, and feature-file loaders.

:class:`FeatureExtractor` takes a sequence of image paths and returns their feature rows, read from
the HDF5 cache where present and embedded (through :func:`featx.embedding.run.run`) where not, so a
grid search over a head embeds every image once, however many folds and candidates it fits.

>>> from sklearn.linear_model import LogisticRegression
>>> from sklearn.pipeline import Pipeline
>>> from featx.images.sources import list_images
>>> items = list_images("images/train").items
>>> paths, labels = [item.path for item in items], [item.label for item in items]
>>> backbone = FeatureExtractor("mobilenetv2", weights=None, input_size=32, cache="cache.h5")
>>> model = Pipeline([("features", backbone), ("clf", LogisticRegression())]).fit(paths, labels)
>>> model.predict(paths[:2]).shape
(2,)

Pure-feature pipelines start from a file written by ``featx embed``:

>>> X, y = load_xy("features.h5", split="train")
>>> X.shape, y[:2]
((8, 1280), array(['ants', 'ants'], dtype=object))
"""

from __future__ import annotations

import os

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from featx.backbones.config import OPTIONS, resolve
from featx.backbones.registry import DEFAULT_BACKBONE
from featx.embedding.options import RunOptions
from featx.errors import FeatxError
from featx.store.read import load

LOCK_TIMEOUT = 3600.0


class FeatureExtractor(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Image paths -> backbone features, cached in the HDF5 file ``cache``.

    ``X`` is a sequence of image paths: a list, a 1-D array, a pandas Series, or a 2-D array or
    DataFrame with one column. ``transform`` returns one float32 row per path, in order. The
    parameters are those of :func:`featx.embed`; ``fit`` embeds (or finds) the images of
    ``X`` and learns only the feature size (``n_features_in_`` is 1: one column of paths).
    An image that cannot be embedded raises a ``ValueError`` naming the file and the reason.
    The cache may be a labelled ``featx embed`` file of the same configuration: paths given here
    carry no labels, and rows keep the labels and splits they have.

    Its tags declare string input, so ``check_estimator`` runs the API checks only and skips the
    numeric-array ones (they feed random floats where image paths belong); the tests run the
    applicable checks one by one (see ``tests/test_extractor.py``).

    >>> fx = FeatureExtractor("mobilenetv2", weights=None, input_size=32, cache="cache.h5")
    >>> fx.fit_transform(["images/train/ants/ants0.jpg", "images/val/bees/bees1.jpg"]).shape
    (2, 1280)
    >>> fx.get_feature_names_out()[:2]
    array(['featureextractor0', 'featureextractor1'], dtype=object)
    """

    def __init__(self, backbone: str = DEFAULT_BACKBONE, layer: str | None = None,
                 pooling: str = "avg", input_size: int | tuple[int, int] | None = None,
                 weights: str | None = "imagenet", preprocess: str | None = None,
                 resize: str = "squash", augment: str = "none",
                 cache: str | os.PathLike = "features.h5", batch_size: int = 32):
        self.backbone = backbone
        self.layer = layer
        self.pooling = pooling
        self.input_size = input_size
        self.weights = weights
        self.preprocess = preprocess
        self.resize = resize
        self.augment = augment
        self.cache = cache
        self.batch_size = batch_size

    def fit(self, X, y=None):  # noqa: N803 (scikit-learn naming)
        """Embed the images of ``X`` into the cache (if not there yet); learn the feature size."""
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X, y=None, **fit_params):  # noqa: N803
        features = self._features(image_paths(X))
        self.n_features_in_ = 1
        self.feature_dim_ = features.shape[1]
        return features

    def transform(self, X):  # noqa: N803
        """The feature rows of the images of ``X``, in order (embedding those not cached yet)."""
        check_is_fitted(self)
        return self._features(image_paths(X))

    @property
    def _n_features_out(self) -> int:
        return self.feature_dim_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = []
        return tags

    def _features(self, paths: list[str]) -> np.ndarray:
        from featx.embedding.run import run

        options = RunOptions(batch_size=self.batch_size, progress=False, lock_timeout=LOCK_TIMEOUT)
        config = resolve(**{name: getattr(self, name) for name in OPTIONS})
        result = run(config, paths, self.cache, options, entries=False)
        if result.failures:
            first = result.failures[0]
            more = f" (and {len(result.failures) - 1} more)" if len(result.failures) > 1 else ""
            raise ValueError(f"cannot embed image {first.path}: {first.reason}{more}")
        key_of = {item.path: key for item, key in zip(result.items, result.keys, strict=True)}
        with load(self.cache, result.config) as feats:
            return feats.by_keys([key_of[os.path.abspath(p)] for p in paths])


def image_paths(X) -> list[str]:  # noqa: N803
    """``X`` as a list of path strings; a clear ``ValueError`` for anything else."""
    values = np.asarray(X, dtype=object)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError("X must be a sequence of image paths (1-D, or 2-D with one column); "
                         f"got an array of shape {values.shape}")
    if not len(values):
        raise ValueError("X holds no image paths (0 samples)")
    for i, value in enumerate(values):
        if not isinstance(value, str | os.PathLike):
            raise ValueError(f"X must hold image paths (str or path-like); row {i} is "
                             f"{type(value).__name__} {value!r}")
    return [os.fspath(value) for value in values]


def load_xy(path: str | os.PathLike, split: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The labelled rows of a feature file as ``(X, y)``, ``y`` the class names.

    ``split`` keeps the rows of one split (see :func:`splits` for those in the file).
    """
    feats = load(path)
    keep = feats.y >= 0
    if split is not None:
        keep &= feats.split == split
    if not keep.any():
        known = ", ".join(splits(path)) or "none"
        where = f" in split {split!r} (splits: {known})" if split else ""
        raise FeatxError(f"{path}: no labelled rows{where}")
    names = np.asarray(feats.label_names, dtype=object)
    return feats.rows(np.flatnonzero(keep)), names[feats.y[keep]]


def splits(path: str | os.PathLike) -> list[str]:
    """The split names (``train``, ``val``, ...) that rows of a feature file carry."""
    return sorted({s for s in load(path).split if s})

