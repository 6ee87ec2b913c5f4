"""The network to fine-tune: a backbone cut at its feature layer, a named pooling layer, a new head.

``pixels`` (RGB, 0..255) -> the backbone's preprocessing (Keras ops, inside the model) -> the base
layers up to the feature layer -> the pooling layer (the features; named) -> ``Dropout`` ->
``Dense`` softmax (``classes``). The graph is flat (the base is not a nested model), so any layer
can be cut at later: ``featx embed --backbone OUT.keras --layer <features layer>``.

The base runs as it does at inference: its BatchNormalization layers stay frozen (Keras runs a
non-trainable BatchNormalization in inference mode) and its own noise layers (dropout, Gaussian
noise), identities at inference, are left out of the graph. Unfreezing makes the weights of the top
blocks trainable; BatchNormalization stays frozen there too.

>>> from featx.backbones.config import resolve
>>> net = build(resolve("mobilenetv2", weights=None, input_size=32), n_classes=3)
>>> [layer.name for layer in net.model.layers][-4:], net.features_layer
(['out_relu', 'features', 'head_dropout', 'classes'], 'features')
>>> [name for name, _ in unfreeze(net, 2)]  # MobileNetV2's top: Conv_1, then block_16_...
['Conv', 'block_16']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from featx import SEED
from featx.backbones.build import cut_model, model_input_size, preprocess_fn, quiet_start
from featx.backbones.config import FeatureConfig
from featx.errors import FeatxError

POOL_LAYER = "features"
DROPOUT_LAYER = "head_dropout"
CLASSES_LAYER = "classes"
POOLING_LAYERS = {"avg": "GlobalAveragePooling2D", "max": "GlobalMaxPooling2D",
                  "flatten": "Flatten"}
NOISE_LAYERS = ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
                "GaussianDropout", "GaussianNoise", "AlphaDropout")
_BLOCK = re.compile(r"^(.*?block_?\d+[a-z]?)(?:_|$)")


@dataclass
class Network:
    """The Keras model, its resolved feature configuration and the name of its features layer."""

    model: object  # keras.Model
    config: FeatureConfig
    features_layer: str

    @property
    def base_layers(self) -> list:
        """The backbone's layers with weights, input to output (the head not included)."""
        names = [layer.name for layer in self.model.layers]
        end = names.index(self.features_layer)
        return [layer for layer in self.model.layers[:end + 1] if layer.weights]

    def head(self):
        """The ``classes`` Dense layer."""
        return self.model.get_layer(CLASSES_LAYER)


def build(config: FeatureConfig, n_classes: int, dropout: float = 0.2,
          seed: int = SEED) -> Network:
    """The base of ``config`` (frozen) with a pooling layer and a new softmax head, initialised
    from ``seed`` (TensorFlow's start-up log filtered as
    :func:`~featx.backbones.build.quiet_start` does)."""
    with quiet_start():
        import keras

        base, layer = cut_model(config)
    keras.utils.set_random_seed(seed)
    height, width = model_input_size(base, config)
    cut = keras.Model(base.input, base.get_layer(layer).output)
    pixels = keras.Input((height, width, 3), name="pixels")
    flat = keras.models.clone_model(cut, input_tensors=pixels,
                                    call_function=_base_call(pixels, config.preprocess))
    flat.set_weights(cut.get_weights())
    x = flat.output
    features = layer
    if len(x.shape) > 2:
        features = _free_name(POOL_LAYER, flat)
        x = getattr(keras.layers, POOLING_LAYERS[config.pooling])(name=features)(x)
    x = keras.layers.Dropout(dropout, name=DROPOUT_LAYER)(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name=CLASSES_LAYER,
                                 dtype="float32")(x)
    model = keras.Model(pixels, outputs, name="featx_finetuned")
    for item in model.layers[:-1]:
        item.trainable = False
    return Network(model, config.resolved(layer, (height, width)), features)


def _base_call(pixels, preprocess: str):
    """``clone_model``'s call function: preprocessing after the input, noise layers left out."""
    import keras

    preprocessed = {}

    def call(layer, *args, **kwargs):
        if type(layer).__name__ in NOISE_LAYERS:
            return args[0]

        def swap(tensor):
            if tensor is not pixels:
                return tensor
            if "x" not in preprocessed:
                preprocessed["x"] = preprocess_fn(preprocess)(pixels)
            return preprocessed["x"]

        return layer(*keras.tree.map_structure(swap, args), **kwargs)

    return call


def _free_name(name: str, model) -> str:
    taken = {layer.name for layer in model.layers}
    return next(n for n in [name, *(f"{name}_{i}" for i in range(1, len(taken) + 2))]
                if n not in taken)


def block_of(name: str) -> str:
    """The block a layer belongs to, from its name: ``block7a_project_conv`` -> ``block7a``,
    ``conv5_block3_2_conv`` -> ``conv5_block3``, ``block_16_expand`` -> ``block_16``; names
    without a block number give their first word (``top_conv`` -> ``top``)."""
    match = _BLOCK.match(name)
    return match.group(1) if match else name.split("_")[0]


def unfreeze(net: Network, count: int | str, by: str = "block") -> list[tuple[str, list[str]]]:
    """Make the top ``count`` blocks (or layers) of the base trainable (``"all"``: every one).

    Returns the unfrozen groups, top first: ``(block name, layer names)``. BatchNormalization
    layers stay frozen. Blocks are runs of consecutive layers with the same :func:`block_of`.
    """
    layers = [layer for layer in net.base_layers if not _is_batch_norm(layer)]
    if by == "layer":
        groups = [(layer.name, [layer.name]) for layer in reversed(layers)]
    else:
        if not any(_BLOCK.match(layer.name) for layer in layers):
            raise FeatxError(f"backbone {net.config.model_file or net.config.backbone} has no "
                             "layers named by block (block7a_..., conv5_block3_...); unfreeze "
                             "by layer instead (--unfreeze-by layer)")
        groups = []
        for layer in reversed(layers):
            key = block_of(layer.name)
            if groups and groups[-1][0] == key:
                groups[-1][1].append(layer.name)
            else:
                groups.append((key, [layer.name]))
    n = len(groups) if count == "all" else int(count)
    if n > len(groups):
        unit = "blocks" if by == "block" else "layers with weights"
        raise FeatxError(f"cannot unfreeze {n} {unit}: the base has {len(groups)}")
    chosen = groups[:n]
    for _, names in chosen:
        for name in names:
            net.model.get_layer(name).trainable = True
    return chosen


def _is_batch_norm(layer) -> bool:
    return "BatchNormalization" in type(layer).__name__


def split(model, features_layer: str) -> tuple[object, object, str]:
    """``(trunk, top, cut)``: the frozen part up to layer ``cut``, where training begins, and
    the rest.

    ``top(trunk(x))`` is ``model(x)``; ``top`` shares its layers with ``model``, so training
    ``top`` on stored trunk outputs trains ``model``. The cut is the latest tensor before the first
    trainable layer (and before the head's dropout) that separates the graph.
    """
    import keras

    layers = model.layers
    names = [layer.name for layer in layers]
    trainable = [i for i, layer in enumerate(layers) if layer.trainable_weights]
    end = min([*trainable, names.index(DROPOUT_LAYER)])
    end = min(end, names.index(features_layer) + 1)
    for j in range(end - 1, -1, -1):
        try:
            top = keras.Model(layers[j].output, model.output)
        except ValueError:
            continue
        return keras.Model(model.input, layers[j].output), top, layers[j].name
    raise FeatxError("cannot split the network before its trainable layers")  # unreachable


def init_head(net: Network, coef: np.ndarray, intercept: np.ndarray,
              mean: np.ndarray, scale: np.ndarray) -> None:
    """Set the softmax head to a logistic regression fitted on standardised features.

    ``coef`` (K x D, or 1 x D for two classes) and ``intercept`` act on ``(x - mean) / scale``;
    the standardisation is folded into the Dense weights, so the head reproduces the regression's
    probabilities on the raw pooled features.
    """
    coef = np.atleast_2d(coef)
    intercept = np.atleast_1d(intercept)
    if coef.shape[0] == 1:  # binary: softmax over (-z/2, z/2) is the sigmoid of z
        coef = np.vstack([-coef / 2, coef / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    kernel = (coef / scale).T
    bias = intercept - (coef * (mean / scale)).sum(axis=1)
    net.head().set_weights([kernel.astype(np.float32), bias.astype(np.float32)])


def with_precision(model, policy: str):
    """The same model (weights, trainable flags) rebuilt under dtype ``policy``; the softmax
    head stays float32."""
    import keras

    config = model.get_config()
    for layer in config["layers"]:
        inner = layer.get("config", {})
        if layer.get("class_name") == "InputLayer" or "dtype" not in inner:
            continue
        if layer.get("name") != CLASSES_LAYER:
            inner["dtype"] = policy
    rebuilt = keras.Model.from_config(config)
    rebuilt.set_weights(model.get_weights())
    for old, new in zip(model.layers, rebuilt.layers, strict=True):
        new.trainable = old.trainable
    return rebuilt


def auto_precision() -> str:
    """Mixed float16 on a GPU that computes faster in it (compute capability >= 7.0), else
    float32 (CPUs, and older GPUs, gain nothing: see benchmarks/README.md)."""
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        if capability and capability >= (7, 0):
            return "mixed_float16"
    return "float32"


def trainable_summary(groups: Sequence[tuple[str, list[str]]], model) -> str:
    """One line: the unfrozen blocks and how many weights they train."""
    count = sum(int(np.prod(w.shape)) for name in (n for _, names in groups for n in names)
                for w in model.get_layer(name).trainable_weights)
    listed = ", ".join(f"{key} ({', '.join(names)})" for key, names in groups)
    return f"{listed}: {count:,} weights"
