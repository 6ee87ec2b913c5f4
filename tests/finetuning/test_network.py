"""featx.finetuning.network: a flat, frozen network cut at a named pooling layer, a head that
starts as a logistic regression, unfreezing by block, and the trunk/top split."""

from __future__ import annotations

import numpy as np
import pytest

from featx.backbones.config import resolve
from featx.errors import FeatxError
from featx.finetuning import network


def _net(model_file, n_classes=2):
    return network.build(resolve(str(model_file)), n_classes)


def test_the_network_is_flat_frozen_and_cut_at_the_named_pooling_layer(blocks_model_file):
    net = _net(blocks_model_file)
    assert net.features_layer == "pool"
    assert [layer.name for layer in net.model.layers][-3:] == ["pool", "head_dropout",
                                                                "classes"]
    assert "block2_drop" not in [layer.name for layer in net.model.layers]  # noise left out
    assert not any(layer.trainable_weights for layer in net.model.layers[:-1])
    assert [layer.name for layer in net.base_layers] == [
        "block1_conv", "block1_bn", "block2_conv", "block2_bn", "top_conv"]


def test_registry_backbones_carry_their_preprocessing_inside_the_model():
    from featx.backbones.build import load_backbone

    config = resolve("mobilenetv2", weights=None, input_size=32)
    net = network.build(config, 2)
    assert net.features_layer == "features"
    pixels = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3)).astype(np.uint8)
    trunk, _, _ = network.split(net.model, net.features_layer)
    np.testing.assert_allclose(trunk.predict(pixels, verbose=0), load_backbone(config)(pixels),
                               rtol=1e-4, atol=1e-5)


def test_unfreeze_counts_blocks_or_layers_from_the_top_and_keeps_batchnorm_frozen(
        blocks_model_file):
    net = _net(blocks_model_file)
    assert network.unfreeze(net, 2) == [("top", ["top_conv"]), ("block2", ["block2_conv"])]
    assert net.model.get_layer("block2_conv").trainable
    assert not net.model.get_layer("block2_bn").trainable
    net = _net(blocks_model_file)
    assert [g for g, _ in network.unfreeze(net, "all", by="layer")] == [
        "top_conv", "block2_conv", "block1_conv"]
    with pytest.raises(FeatxError, match="cannot unfreeze 4 blocks: the base has 3"):
        network.unfreeze(_net(blocks_model_file), 4)


def test_block_names_of_keras_applications():
    assert network.block_of("block7a_project_conv") == "block7a"
    assert network.block_of("conv5_block3_2_conv") == "conv5_block3"
    assert network.block_of("block_16_expand") == "block_16"
    assert network.block_of("top_conv") == "top"


def test_split_gives_a_trunk_and_a_top_that_compose_to_the_model(blocks_model_file):
    net = _net(blocks_model_file)
    network.unfreeze(net, 1)
    trunk, top, cut = network.split(net.model, net.features_layer)
    assert cut == "block2_bn"  # the dropout after it is gone; top_conv trains
    x = np.random.default_rng(0).uniform(0, 255, (3, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(top.predict(trunk.predict(x, verbose=0), verbose=0),
                               net.model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_the_head_reproduces_the_logistic_regression_it_starts_from(blocks_model_file):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    for n_classes in (2, 3):
        net = _net(blocks_model_file, n_classes)
        X, y = rng.normal(size=(30, 8)), np.arange(30) % n_classes  # noqa: N806
        scaler = StandardScaler().fit(X)
        clf = LogisticRegression().fit(scaler.transform(X), y)
        network.init_head(net, clf.coef_, clf.intercept_, scaler.mean_, scaler.scale_)
        _, top, _ = network.split(net.model, net.features_layer)
        np.testing.assert_allclose(top.predict(X, verbose=0),
                                   clf.predict_proba(scaler.transform(X)), atol=1e-5)


def test_mixed_precision_rebuild_keeps_weights_and_trainable_flags(blocks_model_file):
    net = _net(blocks_model_file)
    network.unfreeze(net, 1)
    mixed = network.with_precision(net.model, "mixed_bfloat16")
    assert mixed.get_layer("top_conv").dtype_policy.name == "mixed_bfloat16"
    assert mixed.get_layer("classes").dtype_policy.name == "float32"
    assert [layer.trainable for layer in mixed.layers] == [
        layer.trainable for layer in net.model.layers]
    back = network.with_precision(mixed, "float32")
    for a, b in zip(back.get_weights(), net.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_backbone_without_block_names_unfreezes_by_layer(tiny_model_file):
    net = _net(tiny_model_file)
    with pytest.raises(FeatxError, match=r"has no layers named by block .*\(--unfreeze-by layer\)"):
        network.unfreeze(net, 1)
    assert network.unfreeze(net, 1, by="layer") == [("conv", ["conv"])]
