"""featx.backbones.config: the feature configuration, resolved without TensorFlow."""

from __future__ import annotations

import hashlib
import inspect
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from featx import __version__
from featx._hashing import sha256
from featx.backbones.config import IDENTITY, OPTIONS, FeatureConfig, resolve
from featx.errors import FeatxError

REPO = Path(__file__).resolve().parents[1]


def test_leaf_modules_import_without_tensorflow():
    code = ("import sys, featx.backbones.config, featx.backbones.registry, "
            "featx.images.sources, featx.images.decode; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')); "
            "print(bad); sys.exit(1 if bad else 0)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


# --- built-in backbones ------------------------------------------------------------------------


def test_defaults_come_from_the_registry():
    cfg = resolve("vgg16", weights=None)
    assert cfg.backbone == "vgg16"
    assert cfg.layer == "block5_pool"
    assert cfg.input_size == (224, 224)
    assert cfg.preprocess == "vgg16"
    assert (cfg.pooling, cfg.resize) == ("avg", "squash")
    assert not cfg.is_file and cfg.model_file == ""


def test_backbone_name_is_normalised_to_the_registry_spelling():
    cfg = resolve("EfficientNet-B3", weights=None)
    assert cfg.backbone == "efficientnetb3"
    assert cfg.input_size == (300, 300)
    assert cfg.preprocess == "efficientnet"


def test_backbone_without_a_cut_layer_uses_the_model_output():
    assert resolve("convnexttiny", weights=None).layer == ""


def test_explicit_options_override_the_defaults():
    cfg = resolve("resnet50", layer="conv4_block6_out", pooling="max", input_size=(96, 128),
                  resize="pad", preprocess="vgg16", weights=None)
    assert (cfg.layer, cfg.pooling, cfg.input_size, cfg.resize, cfg.preprocess) == \
        ("conv4_block6_out", "max", (96, 128), "pad", "vgg16")


def test_single_integer_input_size_means_a_square():
    assert resolve("resnet50", input_size=160, weights=None).input_size == (160, 160)


def test_preprocess_given_as_a_backbone_name_maps_to_its_module():
    assert resolve("vgg16", preprocess="resnet50v2", weights=None).preprocess == "resnet_v2"


def test_unknown_backbone_is_an_error():
    with pytest.raises(FeatxError, match="unknown backbone"):
        resolve("resnet5O")


# --- weights -----------------------------------------------------------------------------------


@pytest.mark.parametrize("weights", [None, "none", "None"])
def test_random_weights_are_fingerprinted_by_seed_and_keras_version(weights):
    cfg = resolve("vgg16", weights=weights)
    assert cfg.weights == "none"
    assert cfg.weights_fingerprint.startswith("random/seed=0/keras-")


def test_imagenet_weights_are_fingerprinted_by_keras_version():
    cfg = resolve("vgg16")
    assert cfg.weights == "imagenet"
    assert cfg.weights_fingerprint.startswith("imagenet/keras-")


def test_weights_file_is_fingerprinted_by_its_sha256(tmp_path, monkeypatch):
    weights = tmp_path / "w.weights.h5"
    weights.write_bytes(b"not really weights, but bytes to hash")
    monkeypatch.chdir(tmp_path)
    cfg = resolve("vgg16", weights="w.weights.h5")
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    assert cfg.weights == str(weights)                     # made absolute
    assert cfg.weights_fingerprint == f"sha256:{digest}"
    assert sha256(weights) == digest


def test_different_weights_files_give_different_fingerprints(tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    a.write_bytes(b"a")
    b.write_bytes(b"b")
    assert resolve("vgg16", weights=a).weights_fingerprint != \
        resolve("vgg16", weights=b).weights_fingerprint


def test_missing_weights_file_is_an_error_naming_it(tmp_path):
    missing = tmp_path / "nope.h5"
    with pytest.raises(FeatxError, match="weights must be") as info:
        resolve("vgg16", weights=missing)
    assert str(missing) in str(info.value)


# --- option checks -----------------------------------------------------------------------------


def test_bad_pooling_is_an_error():
    with pytest.raises(FeatxError, match="pooling must be one of avg, max, flatten"):
        resolve("vgg16", pooling="mean", weights=None)


def test_bad_resize_is_an_error():
    with pytest.raises(FeatxError, match="resize must be one of squash, center-crop, pad"):
        resolve("vgg16", resize="crop", weights=None)


def test_bad_augment_is_an_error():
    with pytest.raises(FeatxError, match="augment must be one of none, flip, five-crop, ten-crop"):
        resolve("vgg16", augment="mirror", weights=None)


@pytest.mark.parametrize("size", [16, (224, 31), (224, 224, 3), (224,)])
def test_input_size_must_be_one_or_two_integers_of_at_least_32(size):
    with pytest.raises(FeatxError, match="input size"):
        resolve("vgg16", input_size=size, weights=None)


# --- Keras model files -------------------------------------------------------------------------


@pytest.fixture
def model_file(tmp_path) -> Path:
    """Only the file's bytes matter to the configuration, so no Keras model is built here."""
    path = tmp_path / "models" / "mine.keras"
    path.parent.mkdir()
    path.write_bytes(b"pretend keras archive")
    return path


def test_model_file_backbone_is_recorded_as_file_with_its_absolute_path(model_file, monkeypatch):
    monkeypatch.chdir(model_file.parent)
    cfg = resolve("mine.keras")
    assert cfg.backbone == "file" and cfg.is_file
    assert cfg.model_file == str(model_file)
    assert cfg.weights == ""
    digest = hashlib.sha256(model_file.read_bytes()).hexdigest()
    assert cfg.weights_fingerprint == f"sha256:{digest}"


def test_model_file_defaults_leave_model_dependent_fields_unresolved(model_file):
    cfg = resolve(str(model_file))
    assert cfg.layer is None and cfg.input_size is None
    assert cfg.preprocess == "none"


def test_model_file_with_preprocess_backbone_name_maps_to_the_module(model_file):
    assert resolve(model_file, preprocess="resnet50").preprocess == "resnet"


def test_model_file_path_without_a_model_suffix_is_recognised_by_its_separator(tmp_path):
    saved_model = tmp_path / "export"
    saved_model.write_bytes(b"x")
    assert resolve(str(saved_model)).backbone == "file"


def test_missing_model_file_is_an_error_naming_it(tmp_path):
    missing = tmp_path / "gone.keras"
    with pytest.raises(FeatxError, match="does not exist") as info:
        resolve(str(missing))
    assert str(missing) in str(info.value)


def test_resolved_fills_in_layer_and_input_size(model_file):
    cfg = resolve(model_file).resolved("pool", (32, 32))
    assert (cfg.layer, cfg.input_size) == ("pool", (32, 32))


# --- compatibility -----------------------------------------------------------------------------


def stored_attrs(cfg: FeatureConfig) -> dict:
    """What an HDF5 file gives back: input_size comes back as an array-like, not a tuple."""
    attrs = cfg.attrs()
    if "input_size" in attrs:
        attrs["input_size"] = list(attrs["input_size"])
    return attrs


def test_identical_configurations_have_no_mismatches():
    cfg = resolve("resnet50", weights=None)
    assert cfg.mismatches(stored_attrs(cfg)) == []


def test_mismatches_report_each_differing_identity_field():
    stored = stored_attrs(resolve("resnet50", weights=None))
    cfg = resolve("resnet50", pooling="max", input_size=128, weights=None)
    lines = cfg.mismatches(stored)
    assert len(lines) == 2
    assert lines[0] == "pooling: file has 'avg', this run asks for 'max'"
    assert lines[1] == "input_size: file has (224, 224), this run asks for (128, 128)"


def test_mismatches_cover_every_identity_field():
    cfg = resolve("resnet50", weights=None)
    stored = {name: "something else" for name in IDENTITY}
    reported = [line.split(":")[0] for line in cfg.mismatches({**stored, "input_size": (1, 1)})]
    assert reported == list(IDENTITY)


def test_flip_rows_are_never_served_to_a_configuration_without_flip():
    stored = stored_attrs(resolve("resnet50", weights=None, augment="flip"))
    assert resolve("resnet50", weights=None).mismatches(stored) == [
        "augment: file has 'flip', this run asks for 'none'"]
    assert resolve("resnet50", weights=None, augment="ten-crop").mismatches(stored) == [
        "augment: file has 'flip', this run asks for 'ten-crop'"]


def test_files_written_before_augmentation_existed_hold_unaugmented_rows():
    stored = stored_attrs(resolve("resnet50", weights=None))
    del stored["augment"]
    assert resolve("resnet50", weights=None).mismatches(stored) == []
    assert FeatureConfig.from_attrs(stored).augment == "none"
    assert resolve("resnet50", weights=None, augment="flip").mismatches(stored) == [
        "augment: file has 'none', this run asks for 'flip'"]


@pytest.mark.parametrize("augment, decoded", [("none", (224, 192)), ("flip", (224, 192)),
                                              ("five-crop", (256, 219)),
                                              ("ten-crop", (256, 219))])
def test_crops_are_cut_from_a_larger_decode(augment, decoded):
    cfg = resolve("resnet50", weights=None, input_size=(224, 192), augment=augment)
    assert (cfg.input_size, cfg.decode_size) == ((224, 192), decoded)


def test_configurations_differing_in_layer_and_pooling_share_a_forward_pass():
    base = resolve("resnet50", weights=None)
    other = resolve("resnet50", weights=None, layer="conv4_block6_out", pooling="max")
    assert base.forward_pass() == other.forward_pass()
    for change in ({"resize": "pad"}, {"augment": "flip"}, {"input_size": 128}):
        assert resolve("resnet50", weights=None, **change).forward_pass() != base.forward_pass()


def test_mismatches_ignore_fields_not_resolved_yet(model_file):
    cfg = resolve(model_file)                       # layer and input_size are None
    stored = {**stored_attrs(cfg), "layer": "pool", "input_size": [32, 32]}
    assert cfg.mismatches(stored) == []
    assert cfg.resolved("pool", (64, 64)).mismatches(stored) == [
        "input_size: file has (32, 32), this run asks for (64, 64)"]


def test_attrs_hold_the_configuration_versions_and_a_timestamp():
    cfg = resolve("vgg16", weights=None)
    attrs = cfg.attrs()
    for name in IDENTITY:
        assert attrs[name] == getattr(cfg, name)
    assert attrs["featx_version"] == __version__
    assert attrs["keras_version"] and attrs["tensorflow_version"]
    created = datetime.fromisoformat(attrs["created"])
    assert created.tzinfo is not None


def test_attrs_leave_out_unresolved_fields(model_file):
    attrs = resolve(model_file).attrs()
    assert "layer" not in attrs and "input_size" not in attrs
    assert attrs["model_file"] == str(model_file)


def test_weights_and_preprocess_keywords_are_case_insensitive():
    cfg = resolve("vgg16", weights="ImageNet", preprocess="None")
    assert (cfg.weights, cfg.preprocess) == ("imagenet", "none")


# --- passed whole: rebuilt from attributes, resolved again ------------------------------------


def test_options_are_the_keywords_of_resolve():
    assert tuple(inspect.signature(resolve).parameters) == OPTIONS


@pytest.mark.parametrize("make", [lambda m: resolve("resnet50", pooling="max", weights=None),
                                  lambda m: resolve(m, layer="pool", resize="pad"),
                                  lambda m: resolve(m, layer="pool", augment="five-crop"),
                                  lambda m: resolve(m).resolved("pool", (32, 32))])
def test_from_attrs_rebuilds_the_configuration_from_stored_attributes(make, model_file):
    cfg = make(model_file)
    assert FeatureConfig.from_attrs(stored_attrs(cfg)) == cfg


def test_refresh_resolves_again_and_sees_a_changed_model_file(model_file):
    cfg = resolve(model_file, layer="pool")
    assert cfg.refresh() == cfg
    model_file.write_bytes(b"another model")
    assert [line.split(":")[0] for line in cfg.refresh().mismatches(cfg.attrs())] == [
        "weights_fingerprint"]
