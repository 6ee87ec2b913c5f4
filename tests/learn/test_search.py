"""featx.learn.search: GridSearchCV's answer for every head, fast; warnings as one line each;
halving; and the best head: the highest CV score, with a documented tie-break."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

from featx.errors import FeatxError
from featx.learn.heads import HEADS, head_grid, make_head
from featx.learn.search import Result, best, search, search_heads


def relu_features(n: int, dim: int, sep: float = 3.0, seed: int = 0):
    """Three classes of ReLU-like features; two columns are zero everywhere, as after pooling."""
    X, y = make_classification(n, dim, n_informative=6, n_redundant=0, n_classes=3,
                               class_sep=sep, random_state=seed)
    X = np.maximum(X, 0).astype(np.float32)
    X[:, :2] = 0
    return X, np.array(["ants", "bees", "wasps"])[y]


@pytest.fixture(scope="module")
def features():
    """Like deep features: more dimensions than training rows."""
    return relu_features(120, 160)


@pytest.mark.parametrize("name", list(HEADS))
def test_every_candidate_scores_as_in_grid_search_cv(name, features):
    X, y = features
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reference run's own library warnings
        reference = GridSearchCV(make_head(name), head_grid(name), cv=folds).fit(X, y)
    result = search(name, X, y, cv=3, seed=0)
    assert [p.keys() for p in result.cv_results_["params"]] == [
        p.keys() for p in reference.cv_results_["params"]]
    # Precomputed kernels, distances and row-space coordinates give the same fits. Warm starts
    # reach the same solutions to solver tolerance; where the loss is flat (large C on separable
    # rows) points within tolerance of the optimum can still predict a few validation rows
    # differently.
    ours, theirs = result.cv_results_["mean_test_score"], reference.cv_results_["mean_test_score"]
    assert np.mean(np.abs(ours - theirs)) <= 0.015 and np.max(np.abs(ours - theirs)) <= 0.1
    assert result.best_score_ == pytest.approx(reference.best_score_, abs=0.02)
    assert type(result.best_estimator_[-1]) is type(reference.best_estimator_[-1])


def test_the_result_reads_like_a_fitted_grid_search(features):
    X, y = features
    result = search("linear-svm", X, y, cv=3)
    table = result.cv_results_
    assert {"params", "mean_test_score", "std_test_score", "rank_test_score",
            "split0_test_score", "split2_test_score"} <= set(table)
    assert table["rank_test_score"][result.best_index_] == 1
    assert result.best_params_ == table["params"][result.best_index_]
    assert isinstance(result.best_estimator_, Pipeline)
    assert [s for s, _ in result.best_estimator_.steps] == ["norm", "pca", "clf"]
    assert set(result.predict(X)) <= {"ants", "bees", "wasps"}
    assert result.seconds > 0 and result.warnings == []


def test_default_grids_tell_the_user_nothing_on_ordinary_features(features):
    X, y = features
    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter("always")
        results = search_heads(list(HEADS), X, y, cv=3, n_jobs=2)
    assert {name: r.warnings for name, r in results.items()} == {name: [] for name in HEADS}
    assert [str(w.message) for w in leaked] == []


def test_a_user_grid_point_that_does_not_converge_is_one_line_naming_head_and_parameter(
        features):
    X, y = features
    result = search("logreg", X, y, cv=3, grid={"clf__C": [1.0], "clf__max_iter": [2]})
    assert len(result.warnings) == 1
    line = result.warnings[0]
    assert line.startswith("logreg C=1.0, max_iter=2") and "ConvergenceWarning" in line
    assert "\n" not in line


def test_on_overlapping_classes_the_svm_path_stops_where_libsvm_stops_converging():
    X, y = relu_features(150, 24, sep=1.5)  # fewer dimensions than rows: no hard margin
    result = search("linear-svm", X, y, cv=3)
    scores = result.cv_results_["mean_test_score"]
    assert 0 < np.isnan(scores).sum() < len(scores) and result.best_score_ > 0.6
    assert len(result.warnings) == 1
    assert "libsvm did not converge" in result.warnings[0]
    assert result.warnings[0].startswith("linear-svm C=")


def test_a_failing_candidate_is_reported_and_the_others_still_compete(features):
    X, y = features
    result = search("knn", X, y, cv=3, grid={"clf__n_neighbors": [3, 500]})
    assert np.isnan(result.cv_results_["mean_test_score"]).sum() == 2  # both weightings of 500
    assert result.best_params_["clf__n_neighbors"] == 3
    assert result.warnings == [
        "knn n_neighbors=500, weights=uniform; knn n_neighbors=500, weights=distance: "
        "ValueError: Expected n_neighbors <= n_samples_fit, but n_neighbors = 500, "
        "n_samples_fit = 80, n_samples = 40 (not scored, 6 fits)"]


def test_a_grid_value_that_fails_in_the_shared_fold_work_leaves_only_its_candidates_unscored(
        features):
    X, y = features  # 80 training rows per fold: PCA to 100 components cannot be fitted
    result = search("logreg", X, y, cv=3, grid={"pca": [10, 100], "clf__C": [1.0]})
    assert np.isnan(result.cv_results_["mean_test_score"]).tolist() == [False, True]
    assert result.best_params_["pca"].n_components == 10
    assert len(result.warnings) == 1 and "pca=100" in result.warnings[0]
    assert "n_components=100" in result.warnings[0]


def test_a_max_iter_of_the_users_grid_scores_the_fits_it_cuts_short(features):
    X, y = features
    result = search("linear-svm", X, y, cv=3,
                    grid={"clf__C": [0.01, 1.0, 100.0], "clf__max_iter": [3]})
    assert not np.isnan(result.cv_results_["mean_test_score"]).any()
    assert len(result.warnings) == 1 and "ConvergenceWarning" in result.warnings[0]


def test_a_head_of_one_candidate_that_cannot_be_fitted_is_one_line(features):
    X, y = features
    with pytest.raises(FeatxError, match="lda: solver=svd cannot be fitted on the training "
                                         "rows; ValueError: covariance estimator"):
        search("lda", X, y, cv=3, grid={"clf__solver": ["svd"]})


def test_a_grid_for_a_head_not_searched_is_refused(features):
    X, y = features
    with pytest.raises(FeatxError, match="grids given for heads not searched: logreg"):
        search_heads(["ridge"], X, y, cv=3, grids={"logreg": {"clf__C": [1.0]}})


def test_every_candidate_failing_is_an_error(features):
    X, y = features
    with pytest.raises(FeatxError, match="knn: every candidate failed.*n_neighbors=500"):
        search("knn", X, y, cv=3, grid={"clf__n_neighbors": [500]})


def test_unknown_parameter_names_and_too_many_folds_are_one_line_errors(features):
    X, y = features
    with pytest.raises(FeatxError, match="logreg: invalid grid parameter.*Cee"):
        search("logreg", X, y, cv=3, grid={"clf__Cee": [1.0]})
    with pytest.raises(FeatxError, match="--cv 50 needs at least 50 .* smallest class"):
        search("centroid", X, y, cv=50)


def test_scoring_takes_scikit_learn_names(features):
    X, y = features
    result = search("ridge", X, y, cv=3, scoring="balanced_accuracy")
    assert result.scoring == "balanced_accuracy" and 0.5 < result.best_score_ <= 1


def test_threads_give_the_sequential_answer(features):
    X, y = features
    one = search_heads(["logreg", "rbf-svm", "lda"], X, y, cv=3, n_jobs=1)
    two = search_heads(["logreg", "rbf-svm", "lda"], X, y, cv=3, n_jobs=2)
    for name in one:
        np.testing.assert_array_equal(one[name].cv_results_["mean_test_score"],
                                      two[name].cv_results_["mean_test_score"])


def test_heads_with_other_normalisations_get_their_own_fold_views(features):
    X, y = features
    grid = {"norm": ["standard"]}
    together = search_heads(["centroid", "knn"], X, y, cv=3, grids={"centroid": grid})
    alone = search("centroid", X, y, cv=3, grid=grid)
    np.testing.assert_array_equal(together["centroid"].cv_results_["mean_test_score"],
                                  alone.cv_results_["mean_test_score"])


def test_successive_halving_is_offered_for_large_grids(features):
    X, y = features
    result = search("logreg", X, y, cv=3, halving=True)
    assert result.best_params_["clf__C"] in HEADS["logreg"].grid["clf__C"]
    assert isinstance(result.best_estimator_, Pipeline) and result.warnings == []


def _result(head: str, score: float, std: float) -> Result:
    search = SimpleNamespace(best_score_=score, best_index_=0,
                             cv_results_={"std_test_score": np.array([std])})
    return Result(head, search, 0.9, np.array([]), 1.0, 0.9)


def test_the_highest_cv_score_wins():
    assert best([_result("logreg", 0.90, 0.0), _result("knn", 0.95, 0.2)]).head == "knn"


def test_a_tie_goes_to_the_smaller_spread_across_folds():
    assert best([_result("logreg", 0.95, 0.05), _result("knn", 0.95, 0.01)]).head == "knn"


@pytest.mark.parametrize("listed", [["centroid", "knn", "linear-svm"],
                                    ["linear-svm", "centroid", "knn"]])
def test_a_full_tie_goes_to_the_table_order_whatever_the_order_given(listed):
    results = [_result(head, 0.975, 0.05) for head in listed]
    assert best(results).head == "linear-svm"


def test_a_head_whose_score_is_nan_ranks_last_whatever_the_order():
    failed, scored = _result("knn", float("nan"), float("nan")), _result("centroid", 0.6, 0.1)
    assert best([failed, scored]) is scored and best([scored, failed]) is scored


def test_scores_equal_but_for_rounding_are_a_tie():
    results = [_result("knn", 0.975, 0.05), _result("logreg", 0.9750000000000001, 0.05)]
    assert best(results).head == "logreg"
