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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

import numpy as np

from featx import SEED
from featx.backbones import registry
from featx.backbones.augment import crop_boxes
from featx.backbones.config import FeatureConfig
from featx.errors import FeatxError

POOLING_LAYERS = ("GlobalAveragePooling2D", "GlobalMaxPooling2D", "MaxPooling2D",
                  "AveragePooling2D", "GlobalAveragePooling1D", "GlobalMaxPooling1D")
AUTO_LAYERS = 4
"""How many candidate layers ``--layer auto`` picks in a model file (see :func:`stage_ends`)."""
_NOT_STAGE_ENDS = ("InputLayer", "ZeroPadding2D", "Cropping2D")
_POINTWISE = ("BatchNormalization", "LayerNormalization", "Activation", "ReLU")


class Backbone:
    """A Keras model cut at the layers of one or more configurations, pooled, behind one
    ``tf.function`` per batch.

    Configurations that share a forward pass (equal :meth:`FeatureConfig.forward_pass`: they differ
    only in layer and pooling) are computed together: each image is decoded once, the backbone
    runs once to the deepest layer asked for, and each configuration's layer is pooled as it says.
    The augmentation's views (:mod:`featx.backbones.augment`) are cut from the decoded batch and
    run in the same pass; each row is the mean of its views' pooled features.

    Call it with a uint8 batch ``(n, height, width, 3)`` of RGB pixels at ``decode_size``:
    :meth:`outputs` returns one float32 ``(n, D_i)`` array per configuration, and calling a
    backbone of one configuration returns its array. ``configs`` are the resolved configurations
    (layer and input size filled in), in the order given.
    """

    def __init__(self, configs: FeatureConfig | Sequence[FeatureConfig]):
        import keras
        import tensorflow as tf

        configs = (configs,) if isinstance(configs, FeatureConfig) else tuple(configs)
        _check_one_pass(configs)
        model, layers = cut_models(configs)
        height, width = model_input_size(model, configs[0])
        self.configs = tuple(config.resolved(layer if config.layer is None else config.layer,
                                             (height, width))
                             for config, layer in zip(configs, layers, strict=True))
        names = list(dict.fromkeys(layers))
        features = keras.Model(model.inputs, [model.get_layer(name).output for name in names])
        preprocess = preprocess_fn(configs[0].preprocess)
        views = _views_fn(configs[0].augment, (height, width))
        reducers = [(names.index(layer), _pooling_fn(config.pooling))
                    for config, layer in zip(configs, layers, strict=True)]
        self.decode_size = self.configs[0].decode_size

        @tf.function(input_signature=[tf.TensorSpec([None, *self.decode_size, 3], tf.uint8)])
        def forward(pixels):
            x, n_views = views(tf.cast(pixels, tf.float32))
            maps = features(preprocess(x), training=False)
            maps = maps if isinstance(maps, list | tuple) else [maps]
            return [_mean_of_views(reduce(maps[i]), n_views) for i, reduce in reducers]

        self._forward = forward
        outputs = forward.get_concrete_function().structured_outputs
        self.dims = [int(out.shape[-1]) for out in outputs]

    @property
    def config(self) -> FeatureConfig:
        """The configuration of a backbone of one configuration."""
        return self._one(self.configs)

    @property
    def dim(self) -> int:
        """The feature size of a backbone of one configuration."""
        return self._one(self.dims)

    def outputs(self, pixels: np.ndarray) -> list[np.ndarray]:
        """The features of a batch, one ``(n, D_i)`` array per configuration."""
        return [out.numpy() for out in self._forward(pixels)]

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        return self._one(self.outputs(pixels))

    def _one(self, values: Sequence):
        if len(values) != 1:
            raise ValueError(f"this backbone computes {len(values)} configurations; "
                             "use .configs, .dims and .outputs()")
        return values[0]


@functools.lru_cache(maxsize=2)
def load_backbone(configs: FeatureConfig | tuple[FeatureConfig, ...]) -> Backbone:
    """Build (downloading or reading weights as configured) and compile the feature function of
    one configuration, or of several that share a forward pass (a tuple).

    Built once per process and configuration: later calls (the fits of a grid search, the shards
    of a Dask worker) reuse it.
    """
    with quiet_start():
        return Backbone(configs)


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


def _check_one_pass(configs: Sequence[FeatureConfig]) -> None:
    if not configs:
        raise FeatxError("no feature configuration to build a backbone for")
    passes = {config.forward_pass() for config in configs}
    if len(passes) > 1:
        raise FeatxError("configurations computed in one forward pass may differ only in layer "
                         "and pooling")


def cut_model(config: FeatureConfig):
    """``(model, layer)``: the Keras model of ``config`` (built with its weights, or loaded from
    its file) and the name of the layer features are cut at (the configured one, else the
    backbone's default: a registry entry's layer or output, a model file's last pooling layer).
    A layer the model lacks is a :class:`FeatxError` naming the closest ones."""
    model, (layer,) = cut_models([config])
    return model, layer


def cut_models(configs: Sequence[FeatureConfig]):
    """:func:`cut_model` for configurations of one backbone: ``(model, layers)``, one layer name
    per configuration."""
    config = configs[0]
    if config.is_file:
        model = load_model_file(config.model_file)
        default = _last_pooling_layer(model, config.model_file)
        layers = [c.layer or default() for c in configs]
    else:
        spec = registry.get(config.backbone)
        model = _build(spec, config, include_top=False)
        layers = [c.layer or model.layers[-1].name for c in configs]
        if not set(layers) <= set(_layer_names(model)):
            model = _build(spec, config, include_top=True)
    for layer in layers:
        if layer not in _layer_names(model):
            close = difflib.get_close_matches(layer, _layer_names(model), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise FeatxError(f"backbone {config.model_file or config.backbone} has no layer "
                             f"{layer!r}{hint}")
    return model, layers


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


def _last_pooling_layer(model, path: str):
    """A function giving the model file's default layer, its last pooling layer (or an error
    when it has none; called only when a configuration needs the default)."""
    pools = _pooling_layers(model)

    def default() -> str:
        if not pools:
            raise FeatxError(f"model file {path} has no pooling layer; choose one with --layer")
        return pools[-1]

    return default


def model_stage_ends(config: FeatureConfig) -> list[str]:
    """:func:`stage_ends` of a configuration's model file (loaded once per file and content)."""
    return list(_file_stage_ends(config.model_file, config.weights_fingerprint))


@functools.lru_cache(maxsize=8)
def _file_stage_ends(path: str, fingerprint: str) -> tuple[str, ...]:
    with quiet_start():
        return tuple(stage_ends(load_model_file(path), path))


def stage_ends(model, path: str, count: int = AUTO_LAYERS) -> list[str]:
    """The candidate feature layers of a Keras model file, shallow to deep: the end of the last
    stage at each of the last ``count`` feature-map scales, the deepest replaced by the model's
    last pooling layer where it has one (its default layer).

    A stage end is a layer that no skip connection crosses (every path from the input passes
    through it) and the last such layer at its scale (the input size over its feature-map size,
    rounded to a power of two); where a stage ends in a residual addition followed by the next
    block's pointwise expansion (1x1 convolution, normalisation, activation: inverted residuals,
    as in MobileNetV2 and EfficientNet), the addition is the end. This finds the registry's
    choices on the Keras applications (``conv4_block6_out`` of ResNet50, ``block5c_add`` of
    EfficientNet-B0).
    """
    config = model.get_config()
    if "layers" not in config or not isinstance(model.input_shape, tuple):
        raise FeatxError(f"model file {path}: --layer auto needs a functional or sequential "
                         "Keras model with one input; list the layers to use")
    if None in model.input_shape[1:3]:
        raise FeatxError(f"model file {path}: its input size is not fixed, so --layer auto cannot "
                         "tell the scales of its feature maps; list the layers to use")
    order = [layer["name"] for layer in config["layers"]]
    inputs = {name: _inbound(layer) for name, layer in zip(order, config["layers"], strict=True)}
    if not any(inputs.values()):  # a Sequential model: a chain
        inputs = {order[0]: set(), **{name: {before} for before, name in zip(order, order[1:],
                                                                         strict=False)}}
    pools = _pooling_layers(model)
    if pools:  # what follows the last pooling layer is the classifier
        order = order[:order.index(pools[-1]) + 1]
        inputs = {name: inputs[name] & set(order) for name in order}
    known = set(_layer_names(model))
    groups: list[tuple[int, list[str]]] = []
    for name in _cuts(order, inputs):
        scale = _scale(model, model.get_layer(name)) if name in known else None
        if scale is None:
            continue
        if groups and groups[-1][0] == scale:
            groups[-1][1].append(name)
        else:
            groups.append((scale, [name]))
    if not groups:
        raise FeatxError(f"model file {path}: found no feature maps; list the layers to use")
    ends = [_stage_end(model, group) for _, group in groups[:-1]] + [groups[-1][1][-1]]
    if pools and type(model.get_layer(pools[-1])).__name__.startswith("Global"):
        ends[-1] = pools[-1]  # the global pooling of the last feature map: the default layer
    return ends[-count:]


def _inbound(layer_config: dict) -> set[str]:
    """The names of the layers feeding a layer, from its (public) functional-model config."""
    found: set[str] = set()

    def walk(value) -> None:
        if isinstance(value, dict):
            history = value.get("keras_history") or value.get("config", {}).get("keras_history")
            if history and value.get("class_name", "__keras_tensor__") == "__keras_tensor__":
                found.add(history[0])
                return
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(layer_config.get("inbound_nodes", []))
    return found


def _cuts(order: list[str], inputs: dict[str, set[str]]) -> list[str]:
    """The layers, in order, that no connection crosses (no edge from before to after them)."""
    position = {name: i for i, name in enumerate(order)}
    crossing = [0] * (len(order) + 1)
    for name, sources in inputs.items():
        for source in sources:
            if position[name] - position[source] > 1:
                crossing[position[source] + 1] += 1
                crossing[position[name]] -= 1
    cuts, open_edges = [], 0
    for i, name in enumerate(order):
        open_edges += crossing[i]
        if not open_edges:
            cuts.append(name)
    return cuts


def _scale(model, layer) -> int | None:
    """log2 of the input size over a layer's feature-map size, rounded; ``None`` for layers that
    are no feature map (or only pad one)."""
    shape = layer.output.shape if hasattr(layer, "output") else None
    if (shape is None or len(shape) != 4 or shape[1] is None or model.input_shape[1] is None
            or type(layer).__name__ in _NOT_STAGE_ENDS
            or type(layer).__name__.startswith("Global")):
        return None
    return int(round(np.log2(model.input_shape[1] / shape[1])))


def _stage_end(model, group: list[str]) -> str:
    """The last layer of a scale, or the residual addition before a trailing pointwise
    expansion (1x1 convolution, normalisation, activation) that opens the next block."""
    i = len(group) - 1
    while i > 0 and type(model.get_layer(group[i])).__name__ in _POINTWISE:
        i -= 1
    layer = model.get_layer(group[i])
    if (i > 0 and type(layer).__name__ == "Conv2D" and tuple(layer.kernel_size) == (1, 1)
            and type(model.get_layer(group[i - 1])).__name__ in ("Add", "BatchNormalization")):
        return group[i - 1]
    return group[-1]


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


def _views_fn(augment: str, size: tuple[int, int]):
    """``x -> (views, n)``: a decoded float batch ``(b, H, W, 3)`` to its augmentation's views
    stacked view-major ``(n * b, h, w, 3)`` (see :mod:`featx.backbones.augment`)."""
    import tensorflow as tf

    def mirror(x):
        return tf.reverse(x, axis=[2])

    def crops(x):
        decoded = (int(x.shape[1]), int(x.shape[2]))
        return [x[:, top:top + size[0], left:left + size[1], :]
                for top, left in crop_boxes(decoded, size)]

    make = {"none": lambda x: [x],
            "flip": lambda x: [x, mirror(x)],
            "five-crop": crops,
            "ten-crop": lambda x: [*crops(x), *(mirror(c) for c in crops(x))]}[augment]

    def views(x):
        stacked = make(x)
        return tf.concat(stacked, axis=0), len(stacked)

    return views


def _mean_of_views(features, n_views: int):
    """The mean over views of view-major rows ``(n_views * b, D)`` -> ``(b, D)``."""
    import tensorflow as tf

    if n_views == 1:
        return features
    return tf.reduce_mean(tf.reshape(features, [n_views, -1, features.shape[-1]]), axis=0)
