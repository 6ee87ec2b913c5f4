"""featx.backbones.registry: one TF-free table of the built-in backbones."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest

import featx
from featx.backbones import registry
from featx.backbones.registry import BACKBONES, PREPROCESS_NONE, BackboneSpec, get, is_builtin
from featx.errors import FeatxError

REQUIRED = [
    "vgg16", "vgg19",
    "resnet50", "resnet101", "resnet152", "resnet50v2", "resnet101v2", "resnet152v2",
    "inceptionv3", "xception", "mobilenetv2",
    "densenet121", "densenet169", "densenet201",
    *(f"efficientnetb{b}" for b in range(8)),
    "efficientnetv2b0", "efficientnetv2b1", "efficientnetv2b2", "efficientnetv2b3",
    "efficientnetv2s",
    "convnexttiny", "convnextsmall",
    "efficientnet_lite0",
]


@pytest.mark.parametrize("name", REQUIRED)
def test_every_required_backbone_resolves_to_its_own_spec(name):
    spec = get(name)
    assert isinstance(spec, BackboneSpec)
    assert spec.name == name
    assert is_builtin(name)
    assert spec.input_size >= 32 and spec.feature_size > 0
    assert spec.builder.count(".") >= 1 and spec.preprocess


def test_table_is_keyed_by_spec_name():
    assert all(key == spec.name for key, spec in BACKBONES.items())


@pytest.mark.parametrize("spelling",
                         ["ResNet50", "RESNET-50", "res_net_50", "resnet_50", "Res-Net50"])
def test_lookup_ignores_case_dashes_and_underscores(spelling):
    assert get(spelling) is BACKBONES["resnet50"]
    assert is_builtin(spelling)


def test_lookup_of_efficientnet_lite0_ignores_its_underscore():
    assert get("EfficientNet-Lite0") is BACKBONES["efficientnet_lite0"]
    assert get("efficientnetlite0") is BACKBONES["efficientnet_lite0"]


def test_unknown_name_is_an_error_with_close_matches():
    with pytest.raises(FeatxError) as info:
        get("resnt50")
    message = str(info.value)
    assert "unknown backbone 'resnt50'" in message
    assert "did you mean" in message and "resnet50" in message


def test_unknown_name_with_no_close_match_points_to_the_backbones_command():
    assert not is_builtin("banana")
    with pytest.raises(FeatxError, match="see `featx backbones`"):
        get("banana")


def test_documented_cut_layers_and_sizes():
    assert (get("vgg16").layer, get("vgg16").input_size, get("vgg16").feature_size) == \
        ("block5_pool", 224, 512)
    assert get("resnet50").layer == "conv5_block3_out"
    assert get("inceptionv3").input_size == 299
    assert get("efficientnetb7").input_size == 600
    assert get("efficientnetv2s").input_size == 384


def test_every_backbone_names_its_default_layer():
    assert get("vgg16").default_layer() == "block5_pool"
    for spec in BACKBONES.values():
        assert spec.layer or spec.output, spec.name  # a layer, or what the model's output is
    assert get("convnexttiny").default_layer() == (
        "output (LayerNormalization after convnext_tiny_stage_3_block_2_identity)")


def test_the_default_backbone_is_built_in_and_offline():
    assert get(registry.DEFAULT_BACKBONE).builder == "featx.backbones.lite0.EfficientNetLite0"


@pytest.mark.parametrize("name, module", [
    ("resnet50", "resnet"), ("ResNet-101", "resnet"), ("resnet50v2", "resnet_v2"),
    ("mobilenetv2", "mobilenet_v2"), ("efficientnet_lite0", "none"),
])
def test_preprocess_module_accepts_backbone_names(name, module):
    assert registry.preprocess_module(name) == module


@pytest.mark.parametrize("module", ["resnet", "resnet_v2", "inception_v3", "vgg16", "densenet",
                                    "efficientnet", "efficientnet_v2", "convnext"])
def test_preprocess_module_accepts_module_names(module):
    assert registry.preprocess_module(module) == module


def test_preprocess_module_accepts_none():
    assert registry.preprocess_module("none") == PREPROCESS_NONE == "none"


def test_preprocess_module_rejects_unknown_names():
    with pytest.raises(FeatxError, match="unknown backbone"):
        registry.preprocess_module("caffe")


def test_reading_the_table_stays_free_of_tensorflow():
    # every builder and preprocess entry is a string; nothing is imported to read it
    for spec in BACKBONES.values():
        assert isinstance(spec.builder, str) and "." in spec.builder
        assert isinstance(spec.preprocess, str)


# --- against Keras itself (imports TensorFlow: unavoidable here) ------------------------------


SMALL = ["vgg16", "resnet50", "mobilenetv2", "densenet121", "efficientnetb0"]


def _import(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_every_keras_builder_and_preprocess_module_imports():
    for spec in BACKBONES.values():
        if not spec.builder.startswith("keras.applications."):
            continue
        assert callable(_import(spec.builder)), spec.name
        if spec.preprocess != PREPROCESS_NONE:
            module = importlib.import_module(f"keras.applications.{spec.preprocess}")
            assert callable(module.preprocess_input), spec.name


def test_efficientnet_lite0_builder_imports():
    spec = get("efficientnet_lite0")
    module = spec.builder.rpartition(".")[0]
    found = importlib.util.find_spec(module)
    # an editable install of another checkout may supply the module: only test this checkout's
    package = Path(featx.__file__).parent
    if found is None or not Path(found.origin).resolve().is_relative_to(package.resolve()):
        pytest.skip(f"{module} is not part of this checkout")
    assert callable(_import(spec.builder))


def test_cut_layer_exists_with_the_registered_channel_count():
    import keras

    for name in SMALL:
        spec = get(name)
        model = _import(spec.builder)(include_top=False, weights=None, input_shape=(64, 64, 3))
        layer = model.get_layer(spec.layer) if spec.layer else model.layers[-1]
        assert layer.output.shape[-1] == spec.feature_size, name
        keras.backend.clear_session()


def test_every_backbone_lists_its_candidate_layers_ending_at_the_default():
    for spec in BACKBONES.values():
        assert 3 <= len(spec.layers) <= 4, spec.name
        assert spec.layers[-1].name == (spec.layer or ""), spec.name
        assert spec.layers[-1].dim == spec.feature_size, spec.name
        assert len({layer.name for layer in spec.layers}) == len(spec.layers), spec.name


@pytest.mark.parametrize("name", [*SMALL, "mobilenetv3small", "convnexttiny"])
def test_candidate_layers_exist_in_order_with_their_channel_counts(name):
    import keras

    keras.backend.clear_session()
    spec = get(name)
    model = _import(spec.builder)(include_top=False, weights=None, input_shape=(64, 64, 3))
    names = [layer.name for layer in model.layers]
    found = [model.get_layer(layer.name) if layer.name else model.layers[-1]
             for layer in spec.layers]
    assert [layer.output.shape[-1] for layer in found] == [layer.dim for layer in spec.layers]
    depths = [names.index(layer.name) for layer in found]
    assert depths == sorted(depths) and len(set(depths)) == len(depths)
    keras.backend.clear_session()
