"""featx train: grid search, held-out evaluation, reports, and the bundle of the best head."""

from __future__ import annotations

import json

import numpy as np
import pytest

from featx.cli.main import main
from featx.errors import FeatxError
from featx.learn.dataset import load_dataset
from featx.learn.train import train
from tests.helpers import write_features

REPORT_FILES = ("summary.json", "classification_report.txt", "confusion_matrix.txt",
                "confusion_matrix.png", "cv_results.csv")


def test_train_one_head_writes_summary_reports_and_bundle(features_file, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", str(features_file), "--head", "logreg", "--cv", "3", "--n-jobs", "1",
                 "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert {"head", "best_params", "cv_score", "test_accuracy", "n_train", "n_test",
            "classes"} <= set(summary)
    assert summary["head"] == "logreg" and summary["test_accuracy"] > 0.9
    assert (summary["n_train"], summary["n_test"], summary["classes"]) == (40, 40,
                                                                            ["ants", "bees"])
    assert all((out / name).stat().st_size for name in (*REPORT_FILES, "model.skops"))
    matrix = (out / "confusion_matrix.txt").read_text()
    assert "ants" in matrix and "bees" in matrix
    assert "clf__C" in capsys.readouterr().out


def test_all_heads_are_compared_in_one_table(features_file, tmp_path, capsys):
    out = tmp_path / "all"
    main(["train", str(features_file), "--head", "all", "--cv", "3", "--n-jobs", "1",
          "--scoring", "balanced_accuracy", "--out", str(out)])
    summary = json.loads((out / "summary.json").read_text())
    heads = [row["head"] for row in summary["comparison"]]
    assert heads == ["logreg", "linear-svm", "rbf-svm", "knn", "centroid"]
    assert summary["head"] in heads and summary["scoring"] == "balanced_accuracy"
    assert all((out / head / name).exists() for head in heads for name in REPORT_FILES)
    assert (out / "comparison.csv").exists() and (out / "model.skops").exists()
    assert "best head by CV score" in capsys.readouterr().out


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
