"""The featx command line: one-line errors, exit codes, and no TensorFlow where none is needed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from featx.cli.main import main
from tests.helpers import REPO


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
    (["info", "{tmp}/missing.h5"], "no such feature file"),
    (["info", "{tree}"], "is a folder, not a feature file"),
    (["train", "{tree}", "--out", "{tmp}/t1"], "is a folder, not a feature file"),
    (["embed", "{tree}", "{tmp}/f.h5", "--threads", "-1"], "threads must be at least 1, got -1"),
    (["embed", "{tree}", "{tmp}/f.h5", "--batch-size", "0"], "batch size must be at least 1"),
    (["embed", "{tree}", "{tmp}/f.h5", "--input-size", "abc"], "expected N or HxW"),
    (["train", "{features}", "--scoring", "acc", "--out", "{tmp}/t"],
     "unknown scoring 'acc'; did you mean accuracy"),
    (["train", "{features}", "--cv", "1", "--out", "{tmp}/t"], "at least 2, got 1"),
    (["train", "{features}", "--cv", "many", "--out", "{tmp}/t"],
     "argument --cv: invalid int value: 'many'"),
    (["train", "{features}", "--test-size", "1.5", "--out", "{tmp}/t"],
     "test size must be a fraction between 0 and 1 (exclusive), got 1.5"),
    (["train", "{features}", "--n-jobs", "0", "--out", "{tmp}/t"], "n_jobs must be a positive"),
    (["train", "{features}", "--head", "logreg,svm", "--out", "{tmp}/t"], "unknown head 'svm'"),
    (["train", "{features}"], "the following arguments are required: --out"),
    (["learning-curve", "{features}", "--shots", "abc", "--out", "{tmp}/l"],
     "argument --shots: expected whole numbers or all"),
    (["learning-curve", "{features}", "--shots", "0", "--out", "{tmp}/l"],
     "shots must be between 1 and 20"),
    (["learning-curve", "{features}", "--draws", "0", "--out", "{tmp}/l"],
     "draws must be at least 1, got 0"),
    (["nonsense"], "invalid choice: 'nonsense'"),
])
def test_user_errors_are_one_line_with_exit_2(args, message, tmp_path, class_tree,
                                              features_file, capsys):
    args = [a.format(tmp=tmp_path, tree=class_tree, features=features_file) for a in args]
    assert _exit_code(main, args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("featx: error: ") and message in err and "\n" not in err


def _exit_code(main, args) -> int:
    """``main``'s exit status, whether returned or raised by the parser."""
    try:
        return main(args)
    except SystemExit as exc:
        return exc.code


def test_scikit_learn_parameter_errors_are_one_line(class_tree, tiny_model_file, tmp_path,
                                                    capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.toml").write_text(f"""
output = "runs/x"
[data]
source = "{class_tree}"
[backbone]
name = "{tiny_model_file}"
[train]
cv = 3
n_jobs = 1
scoring = 5
""")
    assert main(["run", "spec.toml", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("featx: error: The 'scoring' parameter of get_scorer must be ")
    assert err.count("\n") == 1


def test_a_closed_standard_output_stops_quietly(features_file):
    command = [sys.executable, "-m", "featx", "info", str(features_file), "--json"]
    child = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()  # like `| head` that has read enough
    assert child.wait(timeout=60) == 1
    assert child.stderr.read() == b""


def test_embed_creates_the_missing_folders_of_its_output(class_tree, tmp_path,
                                                        tiny_model_file):
    out = tmp_path / "no" / "such" / "dir" / "f.h5"
    assert main(["embed", str(class_tree), str(out), "--backbone", str(tiny_model_file),
                 "--quiet"]) == 0
    assert out.is_file()


def test_backbones_name_lists_the_layers_auto_picks(capsys):
    assert main(["backbones", "vgg16"]) == 0
    out = capsys.readouterr().out
    for layer in ("block2_pool", "block3_pool", "block4_pool", "block5_pool"):
        assert layer in out


def test_backbones_of_a_model_file_lists_its_stage_ends(tiny_model_file, capsys):
    assert main(["backbones", str(tiny_model_file)]) == 0
    assert "--layer auto picks (shallow to deep): pool" in capsys.readouterr().out


def test_search_dry_run_prints_the_cost_and_stops(class_tree, tiny_model_file, capsys):
    args = ["search", str(class_tree), "--backbone", str(tiny_model_file), "--layer", "conv,pool",
            "--augment", "none,flip", "--dry-run"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "12 images (train 6, val 6); 4 configurations in 2 forward passes" in out
    assert "cached: 0 of 24 images x passes; to embed: 24 images in 2 forward passes" in out


def test_search_writes_its_results_to_out(class_tree, tiny_model_file, tmp_path, capsys):
    args = ["search", str(class_tree), "--backbone", str(tiny_model_file), "--layer", "pool",
            "--head", "centroid", "--cv", "2", "--repeats", "1", "--n-jobs", "1", "--quiet",
            "--out", str(tmp_path / "out")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "chosen by CV score (the cheapest candidate within one standard error" in out
    assert "): tiny.keras pool avg squash none, centroid" in out
    for name in ("model.skops", "search.png", "search.csv"):
        assert (tmp_path / "out" / name).exists()


def test_search_without_out_is_refused(class_tree, capsys):
    assert main(["search", str(class_tree)]) == 2
    assert "needs --out DIR (or --dry-run)" in capsys.readouterr().err


def test_embed_several_layers_writes_one_configuration_each(class_tree, tmp_path,
                                                           tiny_model_file, capsys):
    out = tmp_path / "f.h5"
    assert main(["embed", str(class_tree), str(out), "--backbone", str(tiny_model_file),
                 "--layer", "conv,pool", "--augment", "flip", "--quiet"]) == 0
    assert "embedded 12" in capsys.readouterr().out
    assert main(["info", str(out), "--json"]) == 0
    text = capsys.readouterr().out
    assert text.count('"augment": "flip"') >= 2 or text.count("flip") >= 2
