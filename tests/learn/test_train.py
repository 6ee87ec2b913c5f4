"""featx train: grid search, held-out evaluation, reports, per-image held-out predictions, and
the bundle of the best head, in one layout whatever the number of heads."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from featx.cli.main import main
from featx.errors import FeatxError
from featx.learn.dataset import load_dataset
from featx.learn.train import train
from tests.helpers import write_features

REPORT_FILES = ("summary.json", "classification_report.txt", "confusion_matrix.txt",
                "cv_results.csv", "heldout_predictions.csv")
TOP_FILES = ("summary.json", "comparison.csv", "heldout_predictions.csv", "model.skops")


def test_train_one_head_writes_summary_reports_and_bundle(features_file, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", str(features_file), "--head", "logreg", "--cv", "3", "--n-jobs", "1",
                 "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert {"head", "best_params", "cv_score", "cv_std", "test_accuracy", "n_train", "n_test",
            "classes"} <= set(summary)
    assert summary["head"] == "logreg" and summary["test_accuracy"] > 0.9
    assert (summary["n_train"], summary["n_test"], summary["classes"]) == (40, 40,
                                                                            ["ants", "bees"])
    assert all((out / name).stat().st_size for name in TOP_FILES)
    assert all((out / "logreg" / name).stat().st_size for name in REPORT_FILES)
    assert (out / "logreg" / "confusion_matrix.png").stat().st_size
    matrix = (out / "logreg" / "confusion_matrix.txt").read_text()
    assert "ants" in matrix and "bees" in matrix
    printed = capsys.readouterr().out
    assert "logreg: CV accuracy" in printed and len(printed.splitlines()) <= 5


def test_all_heads_are_compared_in_the_same_layout(features_file, tmp_path, capsys):
    out = tmp_path / "all"
    main(["train", str(features_file), "--head", "all", "--cv", "3", "--n-jobs", "1",
          "--scoring", "balanced_accuracy", "--out", str(out)])
    summary = json.loads((out / "summary.json").read_text())
    heads = [row["head"] for row in summary["comparison"]]
    assert heads == ["logreg", "linear-svm", "rbf-svm", "knn", "centroid", "ridge", "lda"]
    assert summary["head"] in heads and summary["scoring"] == "balanced_accuracy"
    assert all((out / head / name).exists() for head in heads for name in REPORT_FILES)
    drawn = [head for head in heads if (out / head / "confusion_matrix.png").exists()]
    assert drawn == [summary["head"]]  # the figure of the best head only
    assert all((out / name).exists() for name in TOP_FILES)
    assert all(list(row)[-1] == "seconds" for row in summary["comparison"])
    printed = capsys.readouterr()
    assert "best head " in printed.out and "warning" not in printed.out and printed.err == ""


def test_the_held_out_report_gives_accuracy_and_balanced_accuracy(tmp_path, capsys):
    three = ("ants", "bees", "wasps")
    path = write_features(tmp_path / "f.h5", dim=3, spread=2.0, classes={  # overlapping
        "train": three, "val": three})
    out = tmp_path / "run"
    (result,) = train(path, ["lda"], out, cv=3)
    data = load_dataset(path)
    recalls = [np.mean(result.y_pred[data.y_test == c] == c) for c in three]
    assert result.test_balanced_accuracy == pytest.approx(np.mean(recalls))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["test_accuracy"] == result.test_accuracy
    assert summary["test_balanced_accuracy"] == result.test_balanced_accuracy
    assert f"balanced accuracy {result.test_balanced_accuracy:.3f}" in capsys.readouterr().out


def test_scoring_takes_scikit_learn_scorer_names_and_refuses_others(features_file, tmp_path,
                                                                   capsys):
    out = tmp_path / "f1"
    assert main(["train", str(features_file), "--head", "ridge", "--cv", "3", "--scoring",
                 "f1_macro", "--out", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text())["scoring"] == "f1_macro"
    assert main(["train", str(features_file), "--scoring", "acuracy", "--out",
                 str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown scoring 'acuracy'; did you mean accuracy" in err


def test_a_users_grid_point_that_does_not_converge_is_one_warning_line(features_file,
                                                                      tmp_path):
    lines = []
    train(features_file, ["logreg"], tmp_path, cv=3, log=lines.append, quiet=True,
          grids={"logreg": {"clf__C": [0.1, 1e5], "clf__max_iter": [1]}})
    warned = [line for line in lines if line.startswith("warning:")]
    assert len(warned) == 1 and warned[0].startswith("warning: logreg C=")
    assert "max_iter=1" in warned[0] and "ConvergenceWarning" in warned[0]


def test_successive_halving_is_a_train_option(features_file, tmp_path):
    out = tmp_path / "halving"
    assert main(["train", str(features_file), "--head", "logreg", "--cv", "3", "--halving",
                 "--out", str(out), "--quiet"]) == 0
    assert json.loads((out / "summary.json").read_text())["test_accuracy"] > 0.9


def test_heads_are_given_as_a_list(features_file, tmp_path):
    out = tmp_path / "two"
    assert main(["train", str(features_file), "--head", "knn,centroid", "--cv", "3",
                 "--n-jobs", "1", "--out", str(out), "--quiet"]) == 0
    rows = list(csv.DictReader((out / "comparison.csv").open()))
    assert [row["head"] for row in rows] == ["knn", "centroid"]


def test_held_out_predictions_name_every_image_its_class_and_score(tmp_path):
    path = write_features(tmp_path / "close.h5", dim=2, spread=3.0)  # overlapping: errors
    results = train(path, ["logreg", "linear-svm"], tmp_path / "run", cv=3,
                    log=lambda _: None)
    data = load_dataset(path)
    for result in results:
        rows = list(csv.DictReader((tmp_path / "run" / result.head /
                                    "heldout_predictions.csv").open()))
        assert [row["path"] for row in rows] == data.paths_test
        assert [row["label"] for row in rows] == list(data.y_test)
        assert [row["predicted"] for row in rows] == list(result.y_pred)
        wrong = [row for row in rows if row["label"] != row["predicted"]]
        assert len(wrong) == round((1 - result.test_accuracy) * len(rows)) > 0
    svm = list(csv.DictReader((tmp_path / "run" / "linear-svm" /
                               "heldout_predictions.csv").open()))
    assert set(svm[0]) == {"path", "label", "predicted", "decision_bees"}
    assert all((float(r["decision_bees"]) > 0) == (r["predicted"] == "bees") for r in svm)
    logreg = list(csv.DictReader((tmp_path / "run" / "logreg" /
                                  "heldout_predictions.csv").open()))
    assert set(logreg[0]) == {"path", "label", "predicted", "proba_ants", "proba_bees"}


def test_quiet_prints_only_the_outcome(features_file, tmp_path, capsys):
    assert main(["train", str(features_file), "--head", "all", "--cv", "3", "--n-jobs", "1",
                 "--out", str(tmp_path / "q"), "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    out = tmp_path / "q"
    head = json.loads((out / "summary.json").read_text())["head"]
    assert len(lines) in (2, 3) and lines[0].startswith(f"best head {head}: held-out accuracy")
    assert lines[-1] == (f"wrote {out / 'model.skops'}, {out / 'summary.json'}, "
                        f"{out / 'heldout_predictions.csv'}, {out / 'report.html'} and the "
                        f"reports in {out / head}")


def test_without_a_held_out_split_a_stratified_fraction_is_held_out(tmp_path):
    path = write_features(tmp_path / "nosplit.h5", splits=("",))
    data = load_dataset(path, test_size=0.25)
    assert len(data.y_test) == 10 and sorted(np.unique(data.y_test, return_counts=True)[1]) == [
        5, 5]
    results = train(path, ["centroid"], tmp_path / "out", cv=3, log=lambda _: None)
    assert results[0].test_accuracy > 0.9


def test_too_many_folds_for_the_data_are_refused(features_file, tmp_path):
    with pytest.raises(FeatxError, match="--cv 50 needs at least 50"):
        train(features_file, ["logreg"], tmp_path, cv=50, log=lambda _: None)


def test_unknown_head_is_a_one_line_cli_error(features_file, tmp_path, capsys):
    assert main(["train", str(features_file), "--head", "svm", "--out", str(tmp_path)]) == 2
    assert "unknown head 'svm'" in capsys.readouterr().err


def test_split_names_match_in_any_case(tmp_path):
    path = write_features(tmp_path / "cased.h5", splits=("Train", "VAL"))  # as listed before
    data = load_dataset(path)
    assert (data.held_out, len(data.y_train), len(data.y_test)) == ("split 'val'", 40, 40)


def test_train_uses_split_folders_named_in_any_case(tmp_path, tiny_model_file):
    from featx.embedding.run import embed
    from tests.helpers import write_image

    for i, (split, label) in enumerate((s, c) for s in ("Train", "Val") for c in ("ants", "bees")
                                       for _ in range(3)):
        write_image(tmp_path / "tree" / split / label / f"{i}.jpg", seed=i)
    embed(tmp_path / "tree", tmp_path / "f.h5", backbone=str(tiny_model_file), layer="pool",
          progress=False)
    train(tmp_path / "f.h5", ["centroid"], tmp_path / "out", cv=2, log=lambda _: None)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (summary["held_out"], summary["n_train"], summary["n_test"]) == ("split 'val'", 6, 6)


def test_a_held_out_class_absent_from_training_is_reported_and_in_the_confusion_matrix(
        tmp_path):
    path = write_features(tmp_path / "f.h5", classes={"train": ("ants", "bees"),
                                                       "val": ("ants", "bees", "wasps")})
    lines = []
    (result,) = train(path, ["centroid"], tmp_path / "out", cv=3, log=lines.append)
    out = tmp_path / "out"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["classes"] == ["ants", "bees"] and summary["untrained_classes"] == ["wasps"]
    assert result.test_accuracy == pytest.approx(2 / 3, abs=0.05)   # wasps all count as errors
    note = "never trained on: wasps (no training images; their 20 held-out images all count as " \
           "errors)"
    assert note in lines
    matrix = (out / "centroid" / "confusion_matrix.txt").read_text()
    rows = {line.split()[0]: line.split()[1:] for line in matrix.splitlines()[2:] if line.strip()}
    assert rows["wasps"][:3] != ["0", "0", "0"] and sum(map(int, rows["wasps"][:3])) == 20
    assert note in matrix
    assert "wasps" in (out / "centroid" / "classification_report.txt").read_text()
