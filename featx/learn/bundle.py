"""The model bundle: a fitted head plus the feature configuration it was trained on, via skops.

Loading asks :func:`skops.io.get_untrusted_types` which types the file holds beyond those skops
trusts by default and loads it only if each is in :data:`TRUSTED_TYPES` (the scikit-learn and
NumPy types the built-in heads are made of, listed so loading stays strict and working whatever
skops trusts by default); any other type is refused by name before anything is built.

>>> save("model.skops", fitted_head, load_meta("train.h5"), "logreg")  # doctest: +SKIP
>>> model = load("model.skops")  # doctest: +SKIP
>>> model.predict(load_xy("new.h5")[0])  # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import skops.io as sio
from sklearn.base import BaseEstimator

from featx import __version__
from featx.backbones.config import FeatureConfig, resolve
from featx.errors import FeatxError

FORMAT = "featx-bundle"
TRUSTED_TYPES = frozenset({
    "builtins.slice",
    "numpy.dtype",
    "numpy.float64",
    "numpy.int64",
    "numpy.ndarray",
    "numpy.random._mt19937.MT19937",
    "numpy.random.mtrand.RandomState",
    "sklearn.decomposition._pca.PCA",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.neighbors._classification.KNeighborsClassifier",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.neighbors._nearest_centroid.NearestCentroid",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.Normalizer",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.svm._classes.LinearSVC",
    "sklearn.svm._classes.SVC",
})


@dataclass
class Bundle:
    """A fitted head, the feature-file attributes it was trained on, and the head's name."""

    model: BaseEstimator
    features: dict
    head: str

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.model.classes_]

    def feature_config(self) -> FeatureConfig:
        """The configuration to embed new images with (refused if the backbone changed)."""
        meta = self.features
        backbone = meta["model_file"] if meta.get("backbone") == "file" else meta["backbone"]
        size = meta.get("input_size")
        config = resolve(backbone, layer=meta.get("layer") or None, pooling=meta["pooling"],
                         input_size=tuple(size) if size else None,
                         weights=meta.get("weights") or "imagenet",
                         preprocess=meta.get("preprocess"), resize=meta["resize"])
        self.check(config.attrs(), f"backbone {backbone}")
        return config

    def check(self, stored: dict, what: str) -> None:
        """Refuse features (attributes ``stored``) computed otherwise than the training ones."""
        trained = resolve_stored(self.features)
        lines = [line.replace("this run asks for", "the model was trained on")
                 for line in trained.mismatches(stored)]
        if lines:
            raise FeatxError(f"{what} does not match the model's feature configuration: "
                             + "; ".join(lines))


def resolve_stored(meta: dict) -> FeatureConfig:
    """The identity fields of stored attributes as a configuration (no file or registry access)."""
    size = meta.get("input_size")
    return FeatureConfig(
        backbone=meta["backbone"], layer=meta.get("layer"), pooling=meta["pooling"],
        input_size=tuple(int(v) for v in size) if size else None, resize=meta["resize"],
        preprocess=meta["preprocess"], weights=meta.get("weights", ""),
        weights_fingerprint=meta["weights_fingerprint"], model_file=meta.get("model_file", ""))


def save(path: str | os.PathLike, model: BaseEstimator, features: dict, head: str) -> None:
    """Write the fitted ``model`` with the feature-file attributes ``features``."""
    sio.dump({"format": FORMAT, "featx_version": __version__, "head": head, "model": model,
              "features": dict(features)}, path)


def load(path: str | os.PathLike) -> Bundle:
    """Read a bundle, refusing any type outside :data:`TRUSTED_TYPES`."""
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except FileNotFoundError:
        raise FeatxError(f"{path}: no such model bundle") from None
    except Exception as exc:  # noqa: BLE001 (any unreadable file is a user error)
        raise FeatxError(f"{path}: not a readable skops model bundle ({exc})") from None
    refused = sorted(set(untrusted) - TRUSTED_TYPES)
    if refused:
        raise FeatxError(f"{path}: refusing to load untrusted type(s) {', '.join(refused)}")
    data = sio.load(path, trusted=untrusted)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise FeatxError(f"{path}: skops file is not a featx model bundle")
    return Bundle(data["model"], data["features"], data["head"])
