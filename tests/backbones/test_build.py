"""featx.backbones.build: registry models and model files cut at a layer, pooled, one call per
batch; TensorFlow starts without its start-up log."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from featx.backbones.build import (
    Backbone,
    keep_line,
    load_backbone,
    model_layers,
    model_stage_ends,
    quiet_start,
    stage_ends,
)
from featx.backbones.config import resolve
from featx.errors import FeatxError
from tests.helpers import REPO, embed_args

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


NOISE = ("I0000", "E0000", "absl", "cuInit")


def test_embedding_prints_none_of_tensorflows_start_up_lines(class_tree, tiny_model_file,
                                                             tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-m", "featx", *embed_args(
        class_tree, tmp_path / "f.h5", tiny_model_file)], cwd=REPO, env=env,
        capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not [line for line in done.stderr.splitlines() if any(n in line for n in NOISE)]
    assert "embedded 12" in done.stdout


@pytest.mark.parametrize("line, level, no_gpu, kept", [
    ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
     1, True, False),
    ("I0000 00:00:1795610726.879353     694 port.cc:153] oneDNN custom operations are on.", 1,
     True, False),
    ("I0000 00:00:1795610726.879353     694 port.cc:153] oneDNN custom operations are on.", 0,
     True, True),
    ("W0000 00:00:1795610726.879353     694 allocator.cc:1] Allocation exceeds 10%", 1, True,
     True),
    ("W0000 00:00:1795610726.879353     694 allocator.cc:1] Allocation exceeds 10%", 2, True,
     False),
    ("E0000 00:00:1795610730.990239     694 cuda_platform.cc:52] failed call to cuInit: (303)", 1,
     True, False),
    ("E0000 00:00:1795610730.990239     694 cuda_platform.cc:52] failed call to cuInit: (303)", 1,
     False, True),
    ("E0000 00:00:1795610730.990239     694 kernel.cc:9] a real error", 2, True, True),
    ("Traceback (most recent call last):", 3, True, True),
    ("UserWarning: something Python said", 3, True, True),
])
def test_start_up_lines_below_the_log_level_are_dropped_and_the_rest_kept(line, level, no_gpu,
                                                                          kept):
    assert keep_line(line + "\n", level, no_gpu) is kept


def test_while_tensorflow_starts_other_stderr_lines_pass_through(capfd, monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "1")
    with quiet_start():
        os.write(2, b"I0000 00:00:1.5     7 port.cc:153] oneDNN custom operations are on.\n")
        os.write(2, b"W0000 00:00:1.5     7 x.cc:1] kept warning\n")
        print("a Python message", file=sys.stderr)
    err = capfd.readouterr().err
    assert "oneDNN" not in err
    assert "kept warning" in err and "a Python message" in err


def test_log_level_zero_shows_everything(capfd, monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    with quiet_start():
        os.write(2, b"I0000 00:00:1.5     7 port.cc:153] oneDNN custom operations are on.\n")
    assert "oneDNN" in capfd.readouterr().err


def test_a_backbones_layers_are_listed_with_its_default_cut(tiny_model_file):
    rows, default = model_layers(resolve(str(tiny_model_file)))
    assert [row["layer"] for row in rows][-3:] == ["conv", "pool", "logits"]
    assert default == "pool" and rows[-2]["output shape"] == "(None, 8)"


# --- several layers in one forward pass ------------------------------------------------------


RESNET_LAYERS = ["conv2_block3_out", "conv3_block4_out", "conv4_block6_out", "conv5_block3_out"]


def test_several_layers_in_one_pass_equal_single_layer_runs():
    configs = [resolve("resnet50", weights=None, input_size=64, layer=layer, pooling=pooling)
               for layer, pooling in zip(RESNET_LAYERS, ("avg", "max", "avg", "max"),
                                         strict=True)]
    net = Backbone(configs)
    together = net.outputs(BATCH)
    assert net.dims == [256, 512, 1024, 2048]
    assert [c.layer for c in net.configs] == RESNET_LAYERS
    for config, rows in zip(configs, together, strict=True):
        alone = Backbone(config)(BATCH)
        assert rows.shape == alone.shape
        np.testing.assert_allclose(rows, alone, rtol=0, atol=1e-5)


def test_one_layer_pooled_two_ways_is_one_output_pooled_twice(tiny_model_file):
    configs = [resolve(str(tiny_model_file), layer="conv", pooling=p) for p in ("avg", "max")]
    avg, top = Backbone(configs).outputs(BATCH[:, :32, :32].copy())
    assert avg.shape == top.shape == (2, 8) and (top >= avg).all() and (top > avg).any()


def test_a_backbone_of_several_configurations_has_no_single_output():
    net = Backbone([resolve("mobilenetv2", weights=None, input_size=32, layer=layer)
                    for layer in ("block_5_add", "out_relu")])
    with pytest.raises(ValueError, match="computes 2 configurations"):
        net(BATCH[:, :32, :32])


def test_configurations_of_different_forward_passes_are_refused():
    configs = [resolve("mobilenetv2", weights=None, input_size=32, resize=resize)
               for resize in ("squash", "pad")]
    with pytest.raises(FeatxError, match="may differ only in layer and pooling"):
        Backbone(configs)


def test_the_headless_output_keeps_its_empty_name_so_reruns_match():
    net = load_backbone(resolve("mobilenetv3small", weights=None, input_size=32))
    assert net.config.layer == "" and net.dim == 576


# --- augmentation ------------------------------------------------------------------------------


def test_flip_features_are_the_mean_of_the_image_and_its_mirror(tiny_model_file):
    plain = load_backbone(resolve(str(tiny_model_file)))
    flip = load_backbone(resolve(str(tiny_model_file), augment="flip"))
    batch = np.random.default_rng(1).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    expected = (plain(batch) + plain(batch[:, :, ::-1].copy())) / 2
    np.testing.assert_allclose(flip(batch), expected, rtol=0, atol=1e-6)
    assert not np.allclose(flip(batch), plain(batch))


@pytest.mark.parametrize("augment, mirrors", [("five-crop", False), ("ten-crop", True)])
def test_crops_are_the_corners_and_centre_of_the_larger_decode(tiny_model_file, augment,
                                                               mirrors):
    plain = load_backbone(resolve(str(tiny_model_file)))
    crops = Backbone(resolve(str(tiny_model_file), augment=augment))
    assert crops.decode_size == (37, 37)  # 32 / 0.875, rounded
    batch = np.random.default_rng(2).integers(0, 256, (2, 37, 37, 3), dtype=np.uint8)
    views = [batch[:, t:t + 32, left:left + 32] for t, left in
             [(0, 0), (0, 5), (5, 0), (5, 5), (2, 2)]]
    views += [v[:, :, ::-1] for v in views] if mirrors else []
    expected = np.mean([plain(np.ascontiguousarray(v)) for v in views], axis=0)
    np.testing.assert_allclose(crops(batch), expected, rtol=0, atol=1e-5)


def test_several_layers_share_the_augmented_pass():
    configs = [resolve("mobilenetv2", weights=None, input_size=32, layer=layer, augment="flip")
               for layer in ("block_5_add", "out_relu")]
    batch = BATCH[:, :32, :32].copy()
    for config, rows in zip(configs, Backbone(configs).outputs(batch), strict=True):
        np.testing.assert_allclose(rows, Backbone(config)(batch), rtol=0, atol=1e-5)


# --- candidate layers of a model file ----------------------------------------------------------


@pytest.fixture(scope="module")
def two_stage_model_file(tmp_path_factory):
    """conv (32x32) -> max-pool -> conv (16x16) -> global average pool -> logits."""
    import keras

    keras.utils.set_random_seed(3)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="stage1")(inputs)
    x = keras.layers.MaxPooling2D(name="down")(x)
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="stage2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    path = tmp_path_factory.mktemp("model") / "two_stage.keras"
    keras.Model(inputs, keras.layers.Dense(2, name="logits")(x)).save(path)
    return path


def test_model_file_stage_ends_are_the_last_layer_of_each_scale(two_stage_model_file):
    assert model_stage_ends(resolve(str(two_stage_model_file))) == ["stage1", "gap"]


@pytest.mark.parametrize("builder, expected", [
    ("ResNet50", ["conv2_block3_out", "conv3_block4_out", "conv4_block6_out", "avg_pool"]),
    ("EfficientNetB0", ["block2b_add", "block3b_add", "block5c_add", "avg_pool"]),
    ("MobileNet", ["conv_pw_3_relu", "conv_pw_5_relu", "conv_pw_11_relu",
                   "global_average_pooling2d"]),
])
def test_stage_ends_find_the_registry_layers_in_keras_applications(builder, expected):
    import keras

    keras.backend.clear_session()
    model = getattr(keras.applications, builder)(weights=None, input_shape=(96, 96, 3))
    assert stage_ends(model, builder) == expected


def test_stage_ends_need_a_fixed_input_size():
    import keras

    inputs = keras.Input((None, None, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3)(inputs))
    with pytest.raises(FeatxError, match="input size is not fixed"):
        stage_ends(keras.Model(inputs, pooled), "free.keras")
