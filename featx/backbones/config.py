"""The feature configuration: everything that decides what ``f(x; W)`` computes.

It is resolved without importing TensorFlow, so a fully cached rerun can check it against the file
and stop. Two configurations are compatible when their identity fields match; values that only
the built model can tell (the default layer and input size of a model file) are ``None`` until then,
and a model file's own hash stands for them.

>>> cfg = resolve("vgg16", weights=None)
>>> cfg.layer, cfg.input_size, cfg.preprocess
('block5_pool', (224, 224), 'vgg16')
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

from featx import __version__
from featx.backbones import registry
from featx.errors import FeatxError
from featx.images.decode import RESIZE_POLICIES

POOLINGS = ("avg", "max", "flatten")
RANDOM_SEED = 0
IDENTITY = ("backbone", "layer", "pooling", "input_size", "resize", "preprocess",
            "weights_fingerprint")
MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")


@dataclass(frozen=True)
class FeatureConfig:
    """What a feature file's rows were computed with; stored as the file's attributes."""

    backbone: str
    layer: str | None
    pooling: str
    input_size: tuple[int, int] | None
    resize: str
    preprocess: str
    weights: str
    weights_fingerprint: str
    model_file: str = ""

    @property
    def is_file(self) -> bool:
        return bool(self.model_file)

    def attrs(self) -> dict:
        """HDF5 attributes: the configuration plus software versions and a timestamp."""
        values = {k: v for k, v in asdict(self).items() if v is not None}
        return {**values, **software_versions(), "created": now()}

    def mismatches(self, stored: dict) -> list[str]:
        """Identity fields that differ from a stored file's attributes, as readable lines."""
        lines = []
        for name in IDENTITY:
            mine = getattr(self, name)
            theirs = stored.get(name)
            if name == "input_size" and theirs is not None:
                theirs = tuple(int(v) for v in theirs)
            if mine is not None and mine != theirs:
                lines.append(f"{name}: file has {theirs!r}, this run asks for {mine!r}")
        return lines

    def resolved(self, layer: str, input_size: tuple[int, int]) -> FeatureConfig:
        return replace(self, layer=layer, input_size=input_size)


def resolve(
    backbone: str,
    *,
    layer: str | None = None,
    pooling: str = "avg",
    input_size: int | tuple[int, int] | None = None,
    weights: str | os.PathLike | None = "imagenet",
    preprocess: str | None = None,
    resize: str = "squash",
) -> FeatureConfig:
    """Check the options and build the configuration of a backbone name or a Keras model file."""
    if pooling not in POOLINGS:
        raise FeatxError(f"pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
    if resize not in RESIZE_POLICIES:
        raise FeatxError(f"resize must be one of {', '.join(RESIZE_POLICIES)}, got {resize!r}")
    size = _size(input_size)
    if _looks_like_file(backbone):
        return _file_config(os.fspath(backbone), layer, pooling, size, preprocess, resize)
    spec = registry.get(backbone)
    weights_text, fingerprint = _weights(weights)
    return FeatureConfig(
        backbone=spec.name,
        layer=layer or spec.layer or "",
        pooling=pooling,
        input_size=size or (spec.input_size, spec.input_size),
        resize=resize,
        preprocess=registry.preprocess_module(preprocess) if preprocess else spec.preprocess,
        weights=weights_text,
        weights_fingerprint=fingerprint,
    )


def _file_config(path, layer, pooling, size, preprocess, resize) -> FeatureConfig:
    if not os.path.isfile(path):
        raise FeatxError(f"backbone model file {path} does not exist")
    return FeatureConfig(
        backbone="file",
        layer=layer,
        pooling=pooling,
        input_size=size,
        resize=resize,
        preprocess=registry.preprocess_module(preprocess or registry.PREPROCESS_NONE),
        weights="",
        weights_fingerprint=f"sha256:{file_sha256(path)}",
        model_file=os.path.abspath(path),
    )


def _looks_like_file(backbone: str | os.PathLike) -> bool:
    text = os.fspath(backbone)
    return text.lower().endswith(MODEL_SUFFIXES) or os.sep in text or os.path.isfile(text)


def _weights(weights: str | os.PathLike | None) -> tuple[str, str]:
    keras = _version("keras")
    if weights is None or str(weights).lower() == "none":
        return "none", f"random/seed={RANDOM_SEED}/keras-{keras}"
    if str(weights).lower() == "imagenet":
        return "imagenet", f"imagenet/keras-{keras}"
    path = os.fspath(weights)
    if not os.path.isfile(path):
        raise FeatxError(f"weights must be 'imagenet', 'none' or a weights file; {path} not found")
    return os.path.abspath(path), f"sha256:{file_sha256(path)}"


def _size(input_size: int | tuple[int, int] | None) -> tuple[int, int] | None:
    if input_size is None:
        return None
    size = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
    if len(size) != 2 or min(size) < 32:
        raise FeatxError(f"input size must be one or two integers >= 32, got {input_size!r}")
    return int(size[0]), int(size[1])


def file_sha256(path: str | os.PathLike) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def software_versions() -> dict[str, str]:
    return {
        "featx_version": __version__,
        "keras_version": _version("keras"),
        "tensorflow_version": _version("tensorflow", "tensorflow-cpu"),
    }


def _version(*packages: str) -> str:
    for package in packages:
        try:
            return version(package)
        except PackageNotFoundError:
            continue
    return "not installed"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
