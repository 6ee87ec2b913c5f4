"""featx.backbones.layers: several layers of one backbone, listed or picked by ``auto``."""

from __future__ import annotations

import pytest

from featx.backbones.config import resolve
from featx.backbones.layers import AUTO, candidate_layers, layer_configs, parse_layers
from featx.backbones.registry import get
from featx.errors import FeatxError


@pytest.mark.parametrize("text, names", [
    (None, [None]), ("pool", ["pool"]), ("a,b", ["a", "b"]), (" a , b ", ["a", "b"]),
    (["a", "b"], ["a", "b"]), ("auto", [AUTO]),
])
def test_layers_are_one_name_a_comma_list_a_list_or_auto(text, names):
    assert parse_layers(text) == names


@pytest.mark.parametrize("text, message", [
    ("a,,b", "names separated by commas"), ("a,a", "listed twice"), ("auto,a", "not both"),
    ([], "names separated by commas"),
])
def test_bad_layer_lists_are_one_line_errors(text, message):
    with pytest.raises(FeatxError, match=message):
        parse_layers(text)


def test_auto_picks_the_registry_layers_shallow_to_deep_without_tensorflow():
    configs = layer_configs(resolve("efficientnetb0", weights=None), AUTO)
    assert [c.layer for c in configs] == ["block2b_add", "block3b_add", "block5c_add",
                                          "top_activation"]
    assert len({c.forward_pass() for c in configs}) == 1


def test_auto_of_a_backbone_without_a_named_output_ends_with_the_model_output():
    assert candidate_layers(resolve("convnexttiny", weights=None))[-1] == ""
    assert get("convnexttiny").layers[-1].dim == 768


def test_listed_layers_keep_the_rest_of_the_configuration():
    base = resolve("resnet50", weights=None, pooling="max", augment="flip")
    configs = layer_configs(base, "conv4_block6_out,conv5_block3_out")
    assert [(c.layer, c.pooling, c.augment) for c in configs] == [
        ("conv4_block6_out", "max", "flip"), ("conv5_block3_out", "max", "flip")]


def test_no_layers_keep_the_configuration():
    base = resolve("resnet50", weights=None)
    assert layer_configs(base, None) == [base]


def test_auto_of_a_model_file_finds_its_stage_ends(tiny_model_file):
    assert candidate_layers(resolve(str(tiny_model_file))) == ["pool"]
