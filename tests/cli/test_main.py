"""The featx command line: one-line errors, exit codes, and no TensorFlow where none is needed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from featx.cli.main import main


def test_help_does_not_import_tensorflow():
    code = ("import sys; from featx.cli.main import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'tensorflow' not in sys.modules and 'sklearn' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_embed_then_info(class_tree, tmp_path, tiny_model_file, capsys):
    out = tmp_path / "f.h5"
    args = ["embed", str(class_tree), str(out), "--backbone", str(tiny_model_file), "--quiet"]
    assert main(args) == 0
    assert "embedded 12, reused 0" in capsys.readouterr().out
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "12 rows x 8" in text and "cats 6, dogs 6" in text and "train 6, val 6" in text


def test_partial_failure_exits_1_and_lists_the_file(class_tree, tmp_path, tiny_model_file,
                                                    capsys):
    (class_tree / "train" / "cats" / "bad.jpg").write_text("text")
    args = ["embed", str(class_tree), str(tmp_path / "f.h5"), "--backbone", str(tiny_model_file),
            "--quiet"]
    assert main(args) == 1
    assert "failed: " in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["embed", "{tmp}/missing", "{tmp}/f.h5"], "does not exist"),
    (["embed", "{tmp}", "{tmp}/f.h5", "--backbone", "resnet5"], "unknown backbone 'resnet5'"),
    (["embed", "{tree}", "{tmp}/no/such/dir/f.h5"], "does not exist"),
    (["info", "{tmp}/missing.h5"], "no such feature file"),
])
def test_user_errors_are_one_line_with_exit_2(args, message, tmp_path, class_tree, capsys):
    args = [a.format(tmp=tmp_path, tree=class_tree) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("featx: error: ") and message in err and "\n" not in err


def test_empty_folder_is_refused(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["embed", str(tmp_path / "empty"), str(tmp_path / "f.h5")]) == 2
    assert "holds no images" in capsys.readouterr().err


def test_backbones_lists_sizes(capsys):
    assert main(["backbones"]) == 0
    out = capsys.readouterr().out
    assert "vgg16" in out and "512-d" in out and "efficientnet_lite0" in out
