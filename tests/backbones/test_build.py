"""featx.backbones.build: registry models and model files cut at a layer, pooled, one call per
batch; TensorFlow starts without its start-up log."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from featx.backbones.build import Backbone, keep_line, load_backbone, model_layers, quiet_start
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
