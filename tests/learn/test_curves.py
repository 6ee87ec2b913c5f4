"""featx learning-curve: held-out accuracy against labelled examples per class, for one head or
several, every shot asked for drawn or refused."""

from __future__ import annotations

import csv
import warnings

import pytest

from featx.cli.main import main
from featx.errors import FeatxError
from featx.learn.curves import learning_curve
from featx.learn.dataset import load_dataset
from tests.helpers import write_features


def test_learning_curve_rows_have_mean_and_spread_per_shot_count(features_file):
    rows = learning_curve(load_dataset(features_file), "knn", shots=(1, 5, None), draws=4)
    assert [(r["head"], r["shots"], r["n_train"], r["draws"]) for r in rows] == [
        ("knn", "1", 2, 4), ("knn", "5", 10, 4), ("knn", "all", 40, 1)]
    assert all(0 <= r["std"] <= r["mean"] <= 1 for r in rows)


def test_learning_curve_command_prints_and_writes_table_and_plot(features_file, tmp_path,
                                                                 capsys):
    out = tmp_path / "lc"
    assert main(["learning-curve", str(features_file), "--head", "centroid", "--draws", "3",
                 "--out", str(out)]) == 0
    rows = list(csv.DictReader((out / "learning_curve.csv").open()))
    assert [r["shots"] for r in rows] == ["1", "2", "5", "10", "20", "all"]
    assert (out / "learning_curve.png").stat().st_size > 0
    printed = capsys.readouterr().out
    assert "shots" in printed and "default parameters (no grid search)" in printed
    assert f"wrote {out / 'learning_curve.csv'} and {out / 'learning_curve.png'}" in printed


def test_every_head_gets_a_curve_on_the_same_draws(features_file, tmp_path):
    rows = learning_curve(load_dataset(features_file), "all", shots=(1, 2), draws=2)
    assert [r["head"] for r in rows[::2]] == ["logreg", "linear-svm", "rbf-svm", "knn",
                                              "centroid", "ridge", "lda"]
    assert main(["learning-curve", str(features_file), "--head", "logreg,centroid",
                 "--shots", "1,all", "--draws", "2", "--out", str(tmp_path)]) == 0
    rows = list(csv.DictReader((tmp_path / "learning_curve.csv").open()))
    assert [(r["head"], r["shots"]) for r in rows] == [
        ("logreg", "1"), ("logreg", "all"), ("centroid", "1"), ("centroid", "all")]


def test_shots_beyond_the_smallest_class_are_refused_not_dropped(features_file):
    with pytest.raises(FeatxError, match="shots must be between 1 and 20 .* got 500"):
        learning_curve(load_dataset(features_file), "logreg", shots=(1, 500))


def test_the_default_shots_fit_a_small_data_set(tmp_path):
    small = write_features(tmp_path / "small.h5", n_per_class=3)
    rows = learning_curve(load_dataset(small), "centroid", draws=2)
    assert [r["shots"] for r in rows] == ["1", "2", "all"]


def test_one_shot_points_neither_fail_nor_warn_and_knn_is_not_a_constant_guess(features_file):
    import warnings

    data = load_dataset(features_file)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = learning_curve(data, "all", shots=(1,), draws=3)
    assert all(row["mean"] > 0.9 for row in rows), rows  # two classes well apart


def test_knn_votes_with_at_most_the_smallest_class_lowered_to_an_odd_count():
    from featx.learn.curves import neighbours

    assert [neighbours(5, ["a"] * k + ["b"] * k) for k in (1, 2, 3, 4, 5, 9)] == [
        1, 1, 3, 3, 5, 5]
    assert neighbours(5, ["a"] * 2 + ["b"] * 9) == 1


@pytest.mark.parametrize("head", ["ridge", "lda", "centroid"])
def test_few_shot_heads_work_from_one_shot_without_warnings(head, features_file):
    told = []
    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter("always")
        rows = learning_curve(load_dataset(features_file), head, shots=(1, 2, None), draws=3,
                              log=told.append)
    assert [r["shots"] for r in rows] == ["1", "2", "all"]
    assert all(0.5 <= r["mean"] <= 1 for r in rows)
    assert told == [] and [str(w.message) for w in leaked] == []


def test_lda_at_one_shot_names_its_stand_in(features_file):
    rows = learning_curve(load_dataset(features_file), "lda", shots=(1, 2), draws=2)
    assert rows[0]["model"] == ("NearestCentroid (stand-in: LinearDiscriminantAnalysis needs 2 "
                                "per class)")
    assert rows[1]["model"] == "LinearDiscriminantAnalysis"


def test_a_warning_worth_acting_on_is_one_line_naming_head_and_shots(features_file):
    from sklearn.exceptions import ConvergenceWarning

    from featx.learn import curves

    told = []
    original = curves._score

    def warning_score(model, data, idx):
        warnings.warn("did not converge", ConvergenceWarning, stacklevel=2)
        return original(model, data, idx)

    curves._score = warning_score
    try:
        learning_curve(load_dataset(features_file), "knn", shots=(1, 2), draws=2,
                       log=told.append)
    finally:
        curves._score = original
    assert told == ["warning: knn at 1 shots; knn at 2 shots: did not converge "
                    "(ConvergenceWarning, 4 fits)"]
