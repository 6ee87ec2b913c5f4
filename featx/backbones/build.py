"""Build a backbone and cut it into a compiled feature function h = f(x; W).

TensorFlow is imported here only (with the builders of the registry it calls, such as
:mod:`featx.backbones.lite0`), and only when :func:`load_backbone` is called.

>>> from featx.backbones.config import resolve
>>> net = load_backbone(resolve("mobilenetv2", weights=None, input_size=32))
>>> net(np.zeros((2, 32, 32, 3), np.uint8)).shape
(2, 1280)
"""

from __future__ import annotations

import difflib
import functools
import importlib
import os

import numpy as np

from featx import SEED
from featx.backbones import registry
from featx.backbones.config import FeatureConfig
from featx.errors import FeatxError

POOLING_LAYERS = ("GlobalAveragePooling2D", "GlobalMaxPooling2D", "MaxPooling2D",
                  "AveragePooling2D", "GlobalAveragePooling1D", "GlobalMaxPooling1D")


class Backbone:
    """A Keras model cut at ``config.layer``, pooled, behind one ``tf.function`` per batch.

    Call it with a uint8 batch ``(n, height, width, 3)`` of RGB pixels; it returns float32
    ``(n, D)``. ``config`` is the resolved configuration (layer and input size filled in).
    """

    def __init__(self, config: FeatureConfig):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras
        import tensorflow as tf

        model, layer = _cut_model(config)
        height, width = _input_size(model, config)
        self.config = config.resolved(layer, (height, width))
        features = keras.Model(model.inputs, model.get_layer(layer).output)
        preprocess = _preprocess_fn(config.preprocess)
        reduce = _pooling_fn(config.pooling)

        @tf.function(input_signature=[tf.TensorSpec([None, height, width, 3], tf.uint8)])
        def forward(pixels):
            x = preprocess(tf.cast(pixels, tf.float32))
            return reduce(features(x, training=False))

        self._forward = forward
        self.dim = int(forward.get_concrete_function().structured_outputs.shape[-1])

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        return self._forward(pixels).numpy()


@functools.lru_cache(maxsize=2)
def load_backbone(config: FeatureConfig) -> Backbone:
    """Build (downloading or reading weights as configured) and compile the feature function.

    Built once per process and configuration: later calls (the fits of a grid search, the shards
    of a Dask worker) reuse it.
    """
    return Backbone(config)


def _cut_model(config: FeatureConfig):
    """The Keras model to cut and the name of the layer to cut it at."""
    if config.is_file:
        model = _load_model_file(config.model_file)
        layer = config.layer or _last_pooling_layer(model, config.model_file)
    else:
        spec = registry.get(config.backbone)
        model = _build(spec, config, include_top=False)
        layer = config.layer or model.layers[-1].name
        if layer not in _layer_names(model):
            model = _build(spec, config, include_top=True)
    if layer not in _layer_names(model):
        close = difflib.get_close_matches(layer, _layer_names(model), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise FeatxError(f"backbone {config.model_file or config.backbone} has no layer "
                         f"{layer!r}{hint}")
    return model, layer


def _build(spec: registry.BackboneSpec, config: FeatureConfig, include_top: bool):
    import keras

    module, _, name = spec.builder.rpartition(".")
    builder = getattr(importlib.import_module(module), name)
    weights = None if config.weights == "none" else config.weights
    size = config.input_size or (spec.input_size, spec.input_size)
    if include_top and size != (spec.input_size, spec.input_size):
        raise FeatxError(f"layers of the {spec.name} classifier top need the default input size "
                         f"{spec.input_size}, not {size[0]}x{size[1]}")
    if weights is None:
        keras.utils.set_random_seed(SEED)
    try:
        return builder(include_top=include_top, weights=weights, input_shape=(*size, 3))
    except FeatxError:
        raise
    except Exception as exc:
        if weights != "imagenet":
            raise FeatxError(f"cannot build {spec.name} with weights {weights}: {exc}") from None
        raise FeatxError(
            f"cannot get ImageNet weights for {spec.name} ({type(exc).__name__}: {exc}); on a "
            f"machine without internet, pre-fetch them with `featx backbones --fetch {spec.name}` "
            "where there is internet and copy ~/.keras/models, or pass --weights FILE"
        ) from None


def _load_model_file(path: str):
    import keras

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:
        raise FeatxError(f"cannot load Keras model file {path}: {exc}") from None


def _last_pooling_layer(model, path: str) -> str:
    pools = [layer.name for layer in model.layers if type(layer).__name__ in POOLING_LAYERS]
    if not pools:
        raise FeatxError(f"model file {path} has no pooling layer; choose one with --layer")
    return pools[-1]


def _layer_names(model) -> list[str]:
    return [layer.name for layer in model.layers]


def _input_size(model, config: FeatureConfig) -> tuple[int, int]:
    shape = model.input_shape
    if isinstance(shape, list) or len(shape) != 4 or shape[-1] != 3:
        raise FeatxError(f"backbone input must be one (height, width, 3) image, got {shape}")
    fixed = shape[1:3] if None not in shape[1:3] else None
    if config.input_size and fixed and tuple(fixed) != config.input_size:
        raise FeatxError(f"model input is fixed at {fixed[0]}x{fixed[1]}, "
                         f"not {config.input_size[0]}x{config.input_size[1]}")
    size = config.input_size or fixed
    if size is None:
        raise FeatxError("model input size is not fixed; choose one with --input-size")
    return int(size[0]), int(size[1])


def _preprocess_fn(module: str):
    if module == registry.PREPROCESS_NONE:
        return lambda x: x
    return importlib.import_module(f"keras.applications.{module}").preprocess_input


def _pooling_fn(pooling: str):
    import tensorflow as tf

    def reduce(x):
        if x.shape.rank <= 2:
            return x
        if pooling == "flatten":
            return tf.reshape(x, [-1, int(np.prod(x.shape[1:]))])
        axes = list(range(1, x.shape.rank - 1))
        return tf.reduce_mean(x, axes) if pooling == "avg" else tf.reduce_max(x, axes)

    return reduce
