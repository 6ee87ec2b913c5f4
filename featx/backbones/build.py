"""Build a backbone and cut it into a compiled feature function h = f(x; W).

TensorFlow is imported here only (with the builders of the registry it calls, such as
:mod:`featx.backbones.lite0`), and only when :func:`load_backbone` is called.

TensorFlow's C++ start-up log is written by Abseil before anything configures it: Abseil
writes every message to stderr until ``absl::InitializeLog()`` is called, which TensorFlow
never does, so ``TF_CPP_MIN_LOG_LEVEL`` does not reach those lines (and TensorFlow's two copies
of Abseil, in ``libtensorflow_framework`` and the profiler plugin, write them twice). While a
backbone is built, :func:`quiet_start` therefore applies ``TF_CPP_MIN_LOG_LEVEL`` (default 1:
no INFO) to what is written to stderr, and drops the failed ``cuInit`` of a machine without an
NVIDIA GPU; every other line passes through. ``TF_CPP_MIN_LOG_LEVEL=0`` shows everything.

>>> from featx.backbones.config import resolve
>>> net = load_backbone(resolve("mobilenetv2", weights=None, input_size=32))
>>> net(np.zeros((2, 32, 32, 3), np.uint8)).shape
(2, 1280)
"""

from __future__ import annotations

import difflib
import functools
import glob
import importlib
import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

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
        import keras
        import tensorflow as tf

        model, layer = cut_model(config)
        height, width = model_input_size(model, config)
        self.config = config.resolved(layer, (height, width))
        features = keras.Model(model.inputs, model.get_layer(layer).output)
        preprocess = preprocess_fn(config.preprocess)
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
    with quiet_start():
        return Backbone(config)


LOG_LEVEL = "1"
"""``TF_CPP_MIN_LOG_LEVEL`` unless the user sets it: warnings and errors, no INFO lines."""
_ABSL_LINE = re.compile(r"([IWEF])\d{4} [\d:.]+ +\d+ [^\]]+\] ")
_ABSL_PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called are written"
_NO_GPU_CUINIT = "failed call to cuInit"


@contextmanager
def quiet_start() -> Iterator[None]:
    """Import and start TensorFlow inside the block with its start-up log filtered by
    :func:`keep_line` (see the module docstring). ``TF_CPP_MIN_LOG_LEVEL`` is set before the
    first import of TensorFlow; ``0`` turns the filter off."""
    text = os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", LOG_LEVEL)
    level = int(text) if text.isdigit() else 0
    if level == 0:
        yield
        return
    no_gpu = not has_nvidia_gpu()
    with _filtered_stderr(lambda line: keep_line(line, level, no_gpu)):
        yield


def keep_line(line: str, level: int, no_gpu: bool) -> bool:
    """Whether a line TensorFlow writes to stderr while starting reaches the user: Abseil lines
    below ``level`` (0 INFO, 1 WARNING, 2 ERROR, 3 FATAL) and Abseil's note about
    ``InitializeLog`` are dropped, and so is a failed ``cuInit`` where ``no_gpu``."""
    if line.startswith(_ABSL_PREAMBLE):
        return False
    match = _ABSL_LINE.match(line)
    if not match:
        return True
    if no_gpu and _NO_GPU_CUINIT in line:
        return False
    return "IWEF".index(match.group(1)) >= level


def has_nvidia_gpu() -> bool:
    """Whether this machine has an NVIDIA GPU device visible to this process."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return bool(glob.glob("/dev/nvidia[0-9]*"))


@contextmanager
def _filtered_stderr(keep) -> Iterator[None]:
    """Route file descriptor 2 (C++ and Python writes alike) through a pipe inside the block;
    a thread forwards each line for which ``keep(line)`` holds to the real stderr, at once."""
    sys.stderr.flush()
    real = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def forward() -> None:
        with os.fdopen(read_end, "rb") as pipe:
            for raw in pipe:
                if keep(raw.decode(errors="replace")):
                    os.write(real, raw)

    thread = threading.Thread(target=forward, name="featx-stderr", daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(real, 2)  # closes the pipe's write end: the thread reads to its end and stops
        thread.join(timeout=10)
        if not thread.is_alive():  # else a child process still holds the pipe: leave it be
            os.close(real)


def model_layers(config: FeatureConfig) -> tuple[list[dict], str | None]:
    """Every layer of a backbone's model (``layer``, ``type``, ``output shape``) and the one
    features are cut at by default (``None``: the output of the headless model). A built-in
    backbone is built with random weights (nothing is downloaded) and its classifier top, whose
    layers are cut points too; a model file is loaded."""
    with quiet_start():
        if config.is_file:
            model = load_model_file(config.model_file)
            pools = _pooling_layers(model)
            default = config.layer or (pools[-1] if pools else None)
        else:
            model = _build(registry.get(config.backbone),
                           replace(config, weights="none", input_size=None), include_top=True)
            default = config.layer or None
    rows = [{"layer": layer.name, "type": type(layer).__name__, "output shape": _shape(layer)}
            for layer in model.layers]
    return rows, default


def _shape(layer) -> str:
    try:
        return str(tuple(layer.output.shape))
    except (AttributeError, ValueError):  # a layer without a single output tensor
        return "?"


def cut_model(config: FeatureConfig):
    """``(model, layer)``: the Keras model of ``config`` (built with its weights, or loaded from
    its file) and the name of the layer features are cut at (the configured one, else the
    backbone's default: a registry entry's layer or output, a model file's last pooling layer).
    A layer the model lacks is a :class:`FeatxError` naming the closest ones."""
    if config.is_file:
        model = load_model_file(config.model_file)
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


def load_model_file(path: str):
    """A Keras model file loaded without compiling it; an unreadable one is a
    :class:`FeatxError` naming the file."""
    import keras

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:
        raise FeatxError(f"cannot load Keras model file {path}: {exc}") from None


def _pooling_layers(model) -> list[str]:
    return [layer.name for layer in model.layers if type(layer).__name__ in POOLING_LAYERS]


def _last_pooling_layer(model, path: str) -> str:
    pools = _pooling_layers(model)
    if not pools:
        raise FeatxError(f"model file {path} has no pooling layer; choose one with --layer")
    return pools[-1]


def _layer_names(model) -> list[str]:
    return [layer.name for layer in model.layers]


def model_input_size(model, config: FeatureConfig) -> tuple[int, int]:
    """``(height, width)`` images enter ``model`` at: the configured input size, which must
    agree with a fixed model input, else the model's fixed input size."""
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


def preprocess_fn(module: str):
    """The ``preprocess_input`` of ``keras.applications.<module>`` (float RGB 0..255 in), or the
    identity for ``none``."""
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
