"""The model bundle: a fitted head plus the feature configuration it was trained on, via skops.

Loading asks :func:`skops.io.get_untrusted_types` which types the file holds beyond those skops
trusts by default and loads it only if each is in :data:`TRUSTED_TYPES` (the scikit-learn and
NumPy types the built-in heads are made of, listed so loading stays strict and working whatever
skops trusts by default); any other type is refused by name before anything is built.

Before that, the zip's directory is read: featx writes a bundle's members uncompressed, so they
unpack to about the file's own size. A bundle whose members would unpack to more than its size
plus ``FEATX_MAX_BUNDLE_EXPANSION`` bytes (default :data:`DEFAULT_MAX_EXPANSION`, 64 MiB) is
refused before any member is read, so a zip bomb (a small file unpacking to gigabytes) never
reaches memory, while a large model written by featx always loads. A bundle written by a newer
featx than this one, or by no featx (no ``featx_version``), is refused too.

>>> from featx.learn.heads import make_head
>>> from featx.store.read import load as load_features
>>> feats = load_features("features.h5")
>>> save("model.skops", make_head("logreg").fit(feats.X, feats.y), feats.meta, "logreg")
>>> bundle = load("model.skops")
>>> bundle.head, bundle.feature_config() == FeatureConfig.from_attrs(feats.meta)
('logreg', True)
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass

import skops.io as sio
from packaging.version import InvalidVersion, Version
from sklearn.base import BaseEstimator

from featx import __version__
from featx.backbones.config import FeatureConfig
from featx.errors import FeatxError

FORMAT = "featx-bundle"
DEFAULT_MAX_EXPANSION = 64 << 20
KEYS = ("format", "featx_version", "head", "model", "features")
TRUSTED_TYPES = frozenset({
    "builtins.slice",
    "numpy.dtype",
    "numpy.float64",
    "numpy.int64",
    "numpy.ndarray",
    "numpy.random._mt19937.MT19937",
    "numpy.random.mtrand.RandomState",
    "sklearn.covariance._shrunk_covariance.OAS",
    "sklearn.decomposition._pca.PCA",
    "sklearn.discriminant_analysis.LinearDiscriminantAnalysis",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.linear_model._ridge.RidgeClassifierCV",
    "sklearn.neighbors._classification.KNeighborsClassifier",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.neighbors._nearest_centroid.NearestCentroid",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.Normalizer",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._label.LabelBinarizer",
    "sklearn.svm._classes.LinearSVC",
    "sklearn.svm._classes.SVC",
})


@dataclass
class Bundle:
    """A fitted head, the feature-file attributes it was trained on (a list of them for fused
    features: the configurations concatenated, in order), and the head's name."""

    model: BaseEstimator
    features: dict | list[dict]
    head: str

    @property
    def configurations(self) -> list[dict]:
        """The attributes of each configuration the features concatenate (one, unless fused)."""
        return list(self.features) if isinstance(self.features, list) else [self.features]

    def feature_configs(self) -> list[FeatureConfig]:
        """:meth:`feature_config` of each configuration the features concatenate."""
        return [_refreshed(attrs) for attrs in self.configurations]

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.model.classes_]

    def stored_configs(self) -> list[FeatureConfig]:
        """The configurations the training features were computed with, as recorded."""
        return [FeatureConfig.from_attrs(attrs) for attrs in self.configurations]

    def stored_config(self) -> FeatureConfig:
        """The configuration the training features were computed with (one), as recorded."""
        (attrs,) = self._single("read a feature file")
        return FeatureConfig.from_attrs(attrs)

    def feature_config(self) -> FeatureConfig:
        """The configuration to embed new images with: the training one, resolved again, and
        refused if the backbone changed since (a model or weights file, the Keras version)."""
        (config,) = self._single("embed images with")
        return _refreshed(config)

    def check(self, stored: dict, what: str) -> None:
        """Refuse features (attributes ``stored``) computed otherwise than the training ones."""
        (trained,) = self._single(f"read {what}")
        _check(trained, stored, what)

    def _single(self, task: str) -> list[dict]:
        if len(self.configurations) != 1:
            raise FeatxError(f"the model was trained on {len(self.configurations)} feature "
                             f"configurations concatenated; cannot {task} alone (predict images)")
        return self.configurations


def _refreshed(attrs: dict) -> FeatureConfig:
    """A bundle's configuration resolved again, refused if the backbone changed since."""
    config = FeatureConfig.from_attrs(attrs).refresh()
    _check(attrs, config.attrs(), f"backbone {config.model_file or config.backbone}")
    return config


def _check(trained: dict, stored: dict, what: str) -> None:
    lines = [line.replace("this run asks for", "the model was trained on")
             for line in FeatureConfig.from_attrs(trained).mismatches(stored)]
    if lines:
        raise FeatxError(f"{what} does not match the model's feature configuration: "
                         + "; ".join(lines))


def save(path: str | os.PathLike, model: BaseEstimator, features: dict | list[dict],
         head: str) -> None:
    """Write the fitted ``model`` with the feature-file attributes ``features`` (a list of them
    when the model reads several configurations concatenated)."""
    if isinstance(features, list | tuple):
        features = [dict(attrs) for attrs in features]
        features = features[0] if len(features) == 1 else features
    sio.dump({"format": FORMAT, "featx_version": __version__, "head": head, "model": model,
              "features": dict(features) if isinstance(features, Mapping) else features}, path)


def load(path: str | os.PathLike) -> Bundle:
    """Read a bundle, refusing any type outside :data:`TRUSTED_TYPES`, members that would unpack
    far beyond the file's size, and bundles of a newer featx."""
    try:
        check_unpacked_size(path)
        untrusted = sio.get_untrusted_types(file=path)
    except FileNotFoundError:
        raise FeatxError(f"{path}: no such model bundle") from None
    except FeatxError:
        raise
    except Exception as exc:  # noqa: BLE001 (any unreadable file is a user error)
        raise FeatxError(f"{path}: not a readable skops model bundle ({exc})") from None
    refused = sorted(set(untrusted) - TRUSTED_TYPES)
    if refused:
        raise FeatxError(f"{path}: refusing to load untrusted type(s) {', '.join(refused)}")
    try:
        data = sio.load(path, trusted=untrusted)
    except Exception as exc:  # noqa: BLE001 (a damaged member, e.g. an object array)
        raise FeatxError(f"{path}: not a readable skops model bundle ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise FeatxError(f"{path}: skops file is not a featx model bundle")
    _check_version(path, data.get("featx_version"))
    missing = [key for key in KEYS if key not in data]
    if missing:
        raise FeatxError(f"{path}: model bundle lacks {', '.join(missing)}")
    return Bundle(data["model"], data["features"], data["head"])


def max_expansion() -> int:
    """``FEATX_MAX_BUNDLE_EXPANSION`` (bytes, a non-negative integer), else the default."""
    text = os.environ.get("FEATX_MAX_BUNDLE_EXPANSION", "").strip()
    if not text:
        return DEFAULT_MAX_EXPANSION
    if not text.isdigit():
        raise FeatxError("FEATX_MAX_BUNDLE_EXPANSION must be a number of bytes, got "
                         f"{text!r}")
    return int(text)


def check_unpacked_size(path: str | os.PathLike) -> None:
    """Refuse a bundle whose members would unpack to more than its size plus
    :func:`max_expansion`, from the zip's directory alone (no member is read)."""
    with zipfile.ZipFile(path) as archive:
        unpacked = sum(member.file_size for member in archive.infolist())
    allowed = os.path.getsize(path) + max_expansion()
    if unpacked > allowed:
        raise FeatxError(
            f"{path}: refused: its members would unpack to {unpacked / 2**20:,.0f} MiB, more "
            f"than the file's {os.path.getsize(path) / 2**20:,.1f} MiB plus "
            f"FEATX_MAX_BUNDLE_EXPANSION={max_expansion()} bytes (featx writes bundles "
            "uncompressed; raise it only for a bundle you trust)")


def _check_version(path: str | os.PathLike, version: object) -> None:
    """Refuse a bundle with no featx version, or one newer than this featx."""
    try:
        written = Version(str(version)) if version is not None else None
    except InvalidVersion:
        written = None
    if written is None:
        raise FeatxError(f"{path}: refused: the bundle names no valid featx version "
                         f"({version!r}); it was not written by featx")
    if written > Version(__version__):
        raise FeatxError(f"{path}: refused: written by featx {version}, newer than this featx "
                         f"{__version__}; upgrade featx to load it")
