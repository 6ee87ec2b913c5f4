"""featx.learn._folds: a fold's shared work, and row-space coordinates that change no decision."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.covariance import OAS
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import Normalizer
from sklearn.svm import SVC

from featx.learn._folds import (
    SubspaceOAS,
    View,
    distances,
    kernels,
    row_space_twin,
    squared_distances,
)
from featx.learn.heads import make_head
from tests.learn.test_search import relu_features


@pytest.fixture(scope="module")
def view() -> View:
    """A fold of L2-normalised ReLU-like rows: 80 training rows of 160 features."""
    X, y = relu_features(120, 160, sep=1.5)
    X = Normalizer().fit_transform(X)
    return View(X[:80], y[:80], X[80:], y[80:])


def test_row_space_coordinates_keep_every_inner_product(view):
    z_train, z_val = view.row_space()
    assert z_train.shape == (80, 80) and z_val.shape == (40, 80)
    assert z_train.dtype == np.float32  # the rows' own precision
    k_train, k_val = view.gram()
    np.testing.assert_allclose(z_train.astype(float) @ z_train.T, k_train, atol=1e-5)
    np.testing.assert_allclose(z_val.astype(float) @ z_train.T, k_val, atol=1e-5)


def test_no_coordinates_where_they_would_not_be_narrower():
    X = np.random.default_rng(0).normal(size=(50, 40))
    assert View(X[:36], np.zeros(36), X[36:], np.zeros(14)).row_space() is None  # 36 > 0.8 x 40


@pytest.mark.parametrize("name", ["logreg", "ridge", "lda"])
def test_linear_heads_decide_every_validation_row_alike_on_coordinates(name, view):
    clf = make_head(name)[-1]
    if name == "logreg":
        clf.set_params(C=10.0, tol=1e-8)  # converged tightly: the same optimum both ways
    twin = row_space_twin(clone(clf), view.X_train.shape[1])
    z_train, z_val = view.row_space()
    on_rows = clone(clf).fit(view.X_train.astype(float), view.y_train)
    on_coordinates = twin.fit(z_train.astype(float), view.y_train)
    np.testing.assert_allclose(on_coordinates.decision_function(z_val.astype(float)),
                               on_rows.decision_function(view.X_val.astype(float)),
                               rtol=1e-4, atol=1e-4)
    assert list(on_coordinates.predict(z_val)) == list(on_rows.predict(view.X_val))


def test_subspace_oas_is_oas_of_the_full_rows_in_the_coordinates(view):
    rows = view.X_train.astype(float)[view.y_train == "ants"]
    q, _ = np.linalg.qr(view.X_train.astype(float).T)
    full = OAS().fit(rows)
    ours = SubspaceOAS(rows.shape[1]).fit(rows @ q)
    assert ours.shrinkage_ == pytest.approx(full.shrinkage_)
    np.testing.assert_allclose(ours.covariance_, q.T @ full.covariance_ @ q, atol=1e-10)


def test_estimators_whose_solution_leaves_the_row_space_are_fitted_on_the_rows():
    assert row_space_twin(LogisticRegression(solver="liblinear"), 100) is None
    assert row_space_twin(LogisticRegression(l1_ratio=1.0, solver="saga"), 100) is None
    assert row_space_twin(KNeighborsClassifier(), 100) is None
    lda = make_head("lda")[-1].set_params(covariance_estimator=OAS(assume_centered=True))
    assert row_space_twin(lda, 100) is None
    assert row_space_twin(make_head("lda")[-1].set_params(solver="svd",
                                                          covariance_estimator=None), 100) is None


def test_kernels_and_distances_from_inner_products_match_scikit_learn(view):
    from sklearn.metrics.pairwise import cosine_distances, euclidean_distances, rbf_kernel

    train, val = (a.astype(float) for a in (view.X_train, view.X_val))
    d_train, d_val = squared_distances(view)
    np.testing.assert_allclose(d_val, euclidean_distances(val, train, squared=True), atol=1e-9)
    np.testing.assert_allclose(d_train, euclidean_distances(train, squared=True), atol=1e-9)
    params = SVC(kernel="rbf", gamma=0.5).get_params()
    np.testing.assert_allclose(kernels(view, params)[1], rbf_kernel(val, train, gamma=0.5),
                               atol=1e-9)
    cos_train, cos_val = distances(view, "cosine", {})
    np.testing.assert_allclose(cos_val, cosine_distances(val, train), atol=1e-9)
    np.testing.assert_allclose(cos_train, cosine_distances(train), atol=1e-9)
