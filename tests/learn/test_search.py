"""featx.learn.search: the best head is the highest CV score, with a documented tie-break."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from featx.learn.search import Result, best


def _result(head: str, score: float, std: float) -> Result:
    search = SimpleNamespace(best_score_=score, best_index_=0,
                             cv_results_={"std_test_score": np.array([std])})
    return Result(head, search, 0.9, np.array([]), 1.0)


def test_the_highest_cv_score_wins():
    assert best([_result("logreg", 0.90, 0.0), _result("knn", 0.95, 0.2)]).head == "knn"


def test_a_tie_goes_to_the_smaller_spread_across_folds():
    assert best([_result("logreg", 0.95, 0.05), _result("knn", 0.95, 0.01)]).head == "knn"


@pytest.mark.parametrize("listed", [["centroid", "knn", "linear-svm"],
                                    ["linear-svm", "centroid", "knn"]])
def test_a_full_tie_goes_to_the_table_order_whatever_the_order_given(listed):
    results = [_result(head, 0.975, 0.05) for head in listed]
    assert best(results).head == "linear-svm"


def test_scores_equal_but_for_rounding_are_a_tie():
    results = [_result("knn", 0.975, 0.05), _result("logreg", 0.9750000000000001, 0.05)]
    assert best(results).head == "logreg"
