"""The built-in heads: one table, each a norm -> pca -> clf pipeline with a usable grid."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import Normalizer, StandardScaler

from featx.errors import FeatxError
from featx.learn.heads import HEADS, head_grid, make_head, quiet_fits


@pytest.mark.parametrize("name", list(HEADS))
def test_every_head_searches_its_default_grid(name):
    X, y = make_blobs(120, n_features=10, centers=2, random_state=0)
    search = GridSearchCV(make_head(name), head_grid(name), cv=3).fit(X, y)
    assert search.best_score_ > 0.9
    assert [step for step, _ in search.best_estimator_.steps] == ["norm", "pca", "clf"]


def test_normalisation_and_pca_are_options():
    head = make_head("logreg", norm="standard", pca=4)
    assert isinstance(head.named_steps["norm"], StandardScaler)
    assert head.named_steps["pca"].n_components == 4
    assert make_head("knn", norm="none").named_steps["norm"] == "passthrough"
    assert isinstance(make_head("centroid").named_steps["norm"], Normalizer)


def test_grid_overrides_take_names_for_steps():
    grid = head_grid("logreg", {"norm": ["l2", "none"], "pca": [0, 8, 0.9]})
    assert isinstance(grid["norm"][0], Normalizer) and grid["norm"][1] == "passthrough"
    assert grid["pca"][0] == "passthrough" and isinstance(grid["pca"][1], PCA)
    assert grid["pca"][2].n_components == 0.9
    assert grid["clf__C"] == HEADS["logreg"].grid["clf__C"]


def test_linear_heads_sweep_ten_decades_at_three_values_per_decade():
    for name in ("logreg", "linear-svm"):
        c = np.log10(head_grid(name)["clf__C"])
        assert c.max() - c.min() >= 10 and np.all(np.diff(c) >= 1 / 3 - 1e-2)


def test_ridge_and_lda_choose_their_penalty_and_shrinkage_in_closed_form():
    X, y = make_blobs(60, n_features=200, centers=3, random_state=0)  # fewer rows than features
    ridge, lda = make_head("ridge").fit(X, y), make_head("lda").fit(X, y)
    assert ridge[-1].alpha_ in HEADS["ridge"].make().alphas
    assert 0 < lda[-1].covariance_estimator.shrinkage_ < 1
    assert ridge.score(X, y) == lda.score(X, y) == 1.0


@pytest.mark.parametrize("grid", [{"clf__C": 1.0}, {"pca": 16}, {"clf__C": []},
                                  {"norm": "l2"}])
def test_a_grid_entry_that_is_not_a_list_of_values_is_one_line(grid):
    key = next(iter(grid))
    with pytest.raises(FeatxError, match=f"logreg: grid entry {key} must be a non-empty list"):
        head_grid("logreg", grid)


def test_a_grid_entry_may_be_a_numpy_array():
    assert head_grid("logreg", {"clf__C": np.array([0.1, 1.0])})["clf__C"] == [0.1, 1.0]


def test_unknown_names_are_refused():
    with pytest.raises(FeatxError, match="unknown head 'svm'.*logreg"):
        make_head("svm")
    with pytest.raises(FeatxError, match="unknown normalisation"):
        make_head("logreg", norm="minmax")


def test_quiet_fits_silences_centroid_warnings_here_and_in_workers_and_leaves_the_environment():
    from sklearn.utils.parallel import Parallel, delayed

    def ignored_in_this_process() -> bool:
        with warnings.catch_warnings(record=True) as caught:
            warnings.warn_explicit("constant feature", UserWarning, "x.py", 1,
                                   module="sklearn.neighbors._nearest_centroid")
        return not caught

    before = os.environ.get("PYTHONWARNINGS")
    with quiet_fits():
        assert os.environ.get("PYTHONWARNINGS") == before
        assert ignored_in_this_process()
        assert Parallel(n_jobs=2)(delayed(ignored_in_this_process)() for _ in range(2)) == [
            True, True]
    assert not ignored_in_this_process()
