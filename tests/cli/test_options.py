"""featx.cli.options: one place for the shared options, their help texts and defaults, the rule
for outputs, and one error style for the parser."""

from __future__ import annotations

import argparse
import json

import pytest

from featx.backbones.registry import BACKBONES
from featx.cli.main import COMMANDS, build_parser, main
from featx.cli.options import HEAD_NAMES
from featx.learn.heads import HEADS


def _commands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions
                  if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_shows_its_default_and_no_rst_markup(command):
    parser = _commands()[command]
    text = parser.format_help()
    assert "``" not in text and ":func:" not in text
    formatter = parser._get_formatter()
    for action in parser._actions:
        if action.option_strings and not action.required \
                and "-h" not in action.option_strings:
            assert "default" in formatter._expand_help(action), (command, action.dest)


def test_the_default_backbone_works_offline():
    args = build_parser().parse_args(["embed", "images", "out.h5"])
    assert args.backbone == "efficientnet_lite0"
    assert BACKBONES[args.backbone].builder.startswith("featx.")  # weights ship with featx


def test_heads_are_a_list_on_the_command_line_as_in_a_spec():
    parse = build_parser().parse_args
    assert parse(["train", "f.h5", "--out", "o", "--head", "logreg,knn"]).head == [
        "logreg", "knn"]
    assert parse(["learning-curve", "f.h5", "--out", "o", "--head", "all"]).head == ["all"]
    assert list(HEAD_NAMES) == list(HEADS)


def test_parser_errors_are_one_line_in_featx_style(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "f.h5", "--out", "o", "--cv", "five"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == ("featx: error: argument --cv: invalid int value: 'five' "
                                       "(see `featx train --help`)\n")


def test_every_out_is_a_folder_created_with_its_parents(features_file, tmp_path, capsys):
    train, predict, curve = (tmp_path / name / "deeper" for name in ("train", "predict", "lc"))
    assert main(["train", str(features_file), "--out", str(train), "--quiet", "--n-jobs",
                 "1"]) == 0
    assert main(["predict", str(train / "model.skops"), str(features_file), "--out",
                 str(predict)]) == 0
    assert main(["learning-curve", str(features_file), "--draws", "2", "--out",
                 str(curve)]) == 0
    assert (train / "model.skops").is_file() and (predict / "predictions.csv").is_file()
    assert (curve / "learning_curve.csv").is_file()
    capsys.readouterr()
    (tmp_path / "file").write_text("")
    assert main(["train", str(features_file), "--out", str(tmp_path / "file")]) == 2
    assert main(["predict", str(train / "model.skops"), str(features_file), "--out",
                 str(tmp_path / "p.csv")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"featx: error: --out {tmp_path / 'file'} is a file; --out names the folder "
                   "to write into", f"featx: error: --out names the folder predictions.csv is "
                   f"written into, not a CSV file: {tmp_path / 'p.csv'}"]


def test_a_command_stopped_by_a_mistake_leaves_no_out_folder(features_file, tmp_path):
    assert main(["train", str(features_file), "--scoring", "acc", "--out",
                 str(tmp_path / "t")]) == 2
    assert main(["learning-curve", str(features_file), "--shots", "0", "--out",
                 str(tmp_path / "l")]) == 2
    assert not (tmp_path / "t").exists() and not (tmp_path / "l").exists()


def test_backbones_shows_every_default_layer_and_the_default_backbone(capsys):
    assert main(["backbones"]) == 0
    out = capsys.readouterr().out
    assert "None" not in out and "efficientnet_lite0 (default)" in out
    assert "mobilenetv3small" in out and "output (hard-swish after conv_1_bn)" in out
    assert "vgg16" in out and "512-d" in out and "block5_pool" in out


def test_backbones_name_lists_its_layers_with_the_default_cut_marked(tiny_model_file, capsys):
    assert main(["backbones", "mobilenetv2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("mobilenetv2: 224x224 input; features are cut at out_relu (*)")
    assert [line.split()[:2] for line in out if line.startswith("*")] == [["*", "out_relu"]]
    assert any(line.split()[0] == "predictions" for line in out[2:])
    assert main(["backbones", str(tiny_model_file)]) == 0
    out = capsys.readouterr().out
    assert "features are cut at pool (*)" in out and "GlobalAveragePooling2D" in out


def test_info_json_is_one_object_with_every_error(features_file, capsys):
    assert main(["info", str(features_file), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["rows"] == 80 and info["feature_dim"] == 16 and info["errors"] == []
    assert info["labels"] == {"ants": 40, "bees": 40}
    assert info["splits"] == {"train": 40, "val": 40}
    assert info["configuration"]["layer"] == "pool"
