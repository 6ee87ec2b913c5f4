"""featx.backbones.build: registry models and model files cut at a layer, pooled, one call per
batch."""

from __future__ import annotations

import numpy as np
import pytest

from featx.backbones.build import Backbone, load_backbone
from featx.backbones.config import resolve
from featx.errors import FeatxError

BATCH = np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)


@pytest.mark.parametrize("pooling, dim", [("avg", 512), ("max", 512), ("flatten", 2 * 2 * 512)])
def test_vgg16_block5_pool_pooled_or_flattened(pooling, dim):
    net = load_backbone(resolve("vgg16", weights=None, input_size=64, pooling=pooling))
    assert net.config.layer == "block5_pool"
    assert net(BATCH).shape == (2, dim)


def test_vgg16_classifier_layers_need_the_full_model():
    net = load_backbone(resolve("vgg16", weights=None, layer="fc2"))
    assert net.dim == 4096


def test_resnet50_gives_2048_features():
    net = load_backbone(resolve("resnet50", weights=None, input_size=64))
    assert net(BATCH).shape == (2, 2048)


def test_random_weights_are_seeded_so_reruns_agree():
    first = Backbone(resolve("mobilenetv2", weights=None, input_size=64))(BATCH)
    second = Backbone(resolve("mobilenetv2", weights=None, input_size=64))(BATCH)
    np.testing.assert_array_equal(first, second)


def test_model_file_defaults_to_its_last_pooling_layer(tiny_model_file):
    net = load_backbone(resolve(str(tiny_model_file)))
    assert (net.config.layer, net.config.input_size, net.dim) == ("pool", (32, 32), 8)


def test_model_file_can_be_cut_at_any_layer(tiny_model_file):
    net = load_backbone(resolve(str(tiny_model_file), layer="conv", pooling="flatten"))
    assert net.dim == 30 * 30 * 8


def test_unknown_layer_names_close_matches(tiny_model_file):
    with pytest.raises(FeatxError, match="no layer 'pol'.*did you mean pool"):
        load_backbone(resolve(str(tiny_model_file), layer="pol"))


def test_unreadable_model_file_is_a_clear_error(tmp_path):
    (tmp_path / "broken.keras").write_text("nope")
    with pytest.raises(FeatxError, match="cannot load Keras model file"):
        load_backbone(resolve(str(tmp_path / "broken.keras")))


def test_fixed_model_input_refuses_another_size(tiny_model_file):
    with pytest.raises(FeatxError, match="fixed at 32x32"):
        load_backbone(resolve(str(tiny_model_file), input_size=64))


def test_a_configuration_is_built_once_per_process(tiny_model_file):
    config = resolve(str(tiny_model_file))
    assert load_backbone(config) is load_backbone(config)
