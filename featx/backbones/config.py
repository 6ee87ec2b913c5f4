"""The feature configuration: everything that decides what ``f(x; W)`` computes.

:func:`resolve` builds it once from a user's options (the keywords of :func:`featx.embed`, the
flags of ``featx embed``, a spec's ``[backbone]`` table) without importing TensorFlow, so a fully
cached rerun can check it against the file and stop; from there it is passed whole. A feature file
records it as attributes (:meth:`FeatureConfig.attrs`), and :meth:`FeatureConfig.from_attrs` reads
it back. Two configurations are compatible when their identity fields match; values that only the
built model can tell (the default layer and input size of a model file) are ``None`` until then,
and a model file's own hash stands for them.

>>> cfg = resolve("vgg16", weights=None)
>>> cfg.layer, cfg.input_size, cfg.preprocess, cfg.augment
('block5_pool', (224, 224), 'vgg16', 'none')
>>> FeatureConfig.from_attrs(cfg.attrs()) == cfg
True
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

from featx import SEED, __version__
from featx._hashing import sha256
from featx.backbones import registry
from featx.backbones.augment import AUGMENTATIONS, decode_size
from featx.errors import FeatxError
from featx.images.decode import RESIZE_POLICIES

OPTIONS = ("backbone", "layer", "pooling", "input_size", "weights", "preprocess", "resize",
           "augment")
"""The options :func:`resolve` takes: a feature configuration as users spell it."""
POOLINGS = ("avg", "max", "flatten")
IDENTITY = ("backbone", "layer", "pooling", "input_size", "resize", "augment", "preprocess",
            "weights_fingerprint")
IDENTITY_DEFAULTS = {"augment": "none"}
"""Identity fields that files written before them lack, with the value they were made with."""
MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")


@dataclass(frozen=True, kw_only=True)
class FeatureConfig:
    """What a feature file's rows were computed with; stored as the file's attributes."""

    backbone: str
    model_file: str = ""
    layer: str | None
    pooling: str
    input_size: tuple[int, int] | None
    resize: str
    augment: str = "none"
    preprocess: str
    weights: str
    weights_fingerprint: str

    @property
    def is_file(self) -> bool:
        return bool(self.model_file)

    def describe(self) -> str:
        """``backbone`` (or the model file's name), then its layer, pooling and input size."""
        size = f"{self.input_size[0]}x{self.input_size[1]}" if self.input_size else "its input size"
        return (f"{os.path.basename(self.model_file) if self.is_file else self.backbone} "
                f"({self.layer or 'its last pooling layer'}, {self.pooling} pooling, {size})")

    def attrs(self) -> dict:
        """HDF5 attributes: the configuration plus software versions and a timestamp."""
        values = {k: v for k, v in asdict(self).items() if v is not None}
        return {**values, **software_versions(), "created": now()}

    @classmethod
    def from_attrs(cls, attrs: Mapping) -> FeatureConfig:
        """The configuration recorded in a file's attributes (the inverse of :meth:`attrs`);
        reads no file and no registry."""
        size = attrs.get("input_size")
        return cls(
            backbone=attrs["backbone"], model_file=attrs.get("model_file", ""),
            layer=attrs.get("layer"), pooling=attrs["pooling"],
            input_size=tuple(int(v) for v in size) if size is not None else None,
            resize=attrs["resize"], augment=attrs.get("augment", "none"),
            preprocess=attrs["preprocess"],
            weights=attrs.get("weights", ""), weights_fingerprint=attrs["weights_fingerprint"])

    def refresh(self) -> FeatureConfig:
        """This configuration resolved again, as a new run would: a model or weights file is
        hashed anew and the Keras version read again, so :meth:`mismatches` tells whether
        features computed now would match the ones it describes."""
        return resolve(self.model_file or self.backbone, layer=self.layer or None,
                       pooling=self.pooling, input_size=self.input_size,
                       weights=self.weights or "imagenet", preprocess=self.preprocess,
                       resize=self.resize, augment=self.augment)

    def mismatches(self, stored: Mapping) -> list[str]:
        """Identity fields that differ from a stored file's attributes, as readable lines."""
        lines = []
        for name in IDENTITY:
            mine = getattr(self, name)
            theirs = stored.get(name, IDENTITY_DEFAULTS.get(name))
            if name == "input_size" and theirs is not None:
                theirs = tuple(int(v) for v in theirs)
            if mine is not None and mine != theirs:
                lines.append(f"{name}: file has {theirs!r}, this run asks for {mine!r}")
        return lines

    def resolved(self, layer: str, input_size: tuple[int, int]) -> FeatureConfig:
        """This configuration with the values the built model told (layer, input size)."""
        return replace(self, layer=layer, input_size=input_size)

    @property
    def decode_size(self) -> tuple[int, int] | None:
        """The size images are decoded at: the input size, larger for crop augmentations."""
        return decode_size(self.input_size, self.augment) if self.input_size else None

    def forward_pass(self) -> FeatureConfig:
        """What decides the forward pass: this configuration but its layer and pooling, so
        configurations with equal ``forward_pass()`` are computed by one pass of the backbone
        (:func:`featx.backbones.build.load_backbone` given several)."""
        return replace(self, layer=None, pooling="")


def resolve(
    backbone: str | os.PathLike,
    *,
    layer: str | None = None,
    pooling: str = "avg",
    input_size: int | tuple[int, int] | None = None,
    weights: str | os.PathLike | None = "imagenet",
    preprocess: str | None = None,
    resize: str = "squash",
    augment: str = "none",
) -> FeatureConfig:
    """Check the options and build the configuration of a backbone name or a Keras model file.

    ``augment``: ``none``, ``flip``, ``five-crop`` or ``ten-crop``, see
    :mod:`featx.backbones.augment`.
    """
    if pooling not in POOLINGS:
        raise FeatxError(f"pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
    if resize not in RESIZE_POLICIES:
        raise FeatxError(f"resize must be one of {', '.join(RESIZE_POLICIES)}, got {resize!r}")
    if augment not in AUGMENTATIONS:
        raise FeatxError(f"augment must be one of {', '.join(AUGMENTATIONS)}, got {augment!r}")
    size = _size(input_size)
    if _looks_like_file(backbone):
        return _file_config(os.fspath(backbone), layer, pooling, size, preprocess, resize,
                            augment)
    spec = registry.get(backbone)
    weights_text, fingerprint = _weights(weights)
    return FeatureConfig(
        backbone=spec.name,
        layer=layer or spec.layer or "",
        pooling=pooling,
        input_size=size or (spec.input_size, spec.input_size),
        resize=resize,
        augment=augment,
        preprocess=registry.preprocess_module(preprocess) if preprocess else spec.preprocess,
        weights=weights_text,
        weights_fingerprint=fingerprint,
    )


def _file_config(path, layer, pooling, size, preprocess, resize, augment) -> FeatureConfig:
    if not os.path.isfile(path):
        raise FeatxError(f"backbone model file {path} does not exist")
    return FeatureConfig(
        backbone="file",
        model_file=os.path.abspath(path),
        layer=layer,
        pooling=pooling,
        input_size=size,
        resize=resize,
        augment=augment,
        preprocess=registry.preprocess_module(preprocess or registry.PREPROCESS_NONE),
        weights="",
        weights_fingerprint=f"sha256:{sha256(path)}",
    )


def _looks_like_file(backbone: str | os.PathLike) -> bool:
    text = os.fspath(backbone)
    return text.lower().endswith(MODEL_SUFFIXES) or os.sep in text or os.path.isfile(text)


def _weights(weights: str | os.PathLike | None) -> tuple[str, str]:
    keras = _version("keras")
    if weights is None or str(weights).lower() == "none":
        return "none", f"random/seed={SEED}/keras-{keras}"
    if str(weights).lower() == "imagenet":
        return "imagenet", f"imagenet/keras-{keras}"
    path = os.fspath(weights)
    if not os.path.isfile(path):
        raise FeatxError(f"weights must be 'imagenet', 'none' or a weights file; {path} not found")
    return os.path.abspath(path), f"sha256:{sha256(path)}"


def _size(input_size: int | tuple[int, int] | None) -> tuple[int, int] | None:
    if input_size is None:
        return None
    size = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
    if len(size) != 2 or min(size) < 32:
        raise FeatxError(f"input size must be one or two integers >= 32, got {input_size!r}")
    return int(size[0]), int(size[1])


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
