"""featx.CORAL: whiten source features, recolour them with the target's covariance."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import check_estimator

import featx
from featx.learn.coral import CORAL

# A target fixes the width of the data CORAL can fit; these checks fit other widths.
WIDTH_CHECKS = {name: "the target features fix the width at 3; this check fits another width"
                for name in (
                    "check_estimators_overwrite_params", "check_estimators_fit_returns_self",
                    "check_readonly_memmap_input", "check_n_features_in_after_fitting",
                    "check_positive_only_tag_during_fit", "check_estimators_dtypes",
                    "check_dtype_object", "check_fit2d_1feature", "check_fit_idempotent",
                    "check_fit_check_is_fitted", "check_n_features_in")}


def test_coral_passes_check_estimator():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SkipTestWarning for array-API input
        check_estimator(CORAL())
        check_estimator(CORAL(align_mean=False, regularization=0.1))


def test_coral_with_a_target_passes_every_check_of_its_width():
    target = np.random.default_rng(0).normal(2.0, 3.0, (30, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(CORAL(target=target), expected_failed_checks=WIDTH_CHECKS,
                                  on_fail=None)
    assert not [r["check_name"] for r in results if r["status"] == "failed"]
    assert {r["check_name"] for r in results if r["status"] == "passed"} >= {
        "check_transformer_general", "check_methods_subset_invariance", "check_fit2d_1sample"}


def test_adapted_source_has_the_target_covariance_and_mean():
    rng = np.random.default_rng(0)
    source = rng.normal(size=(500, 4)) @ rng.normal(size=(4, 4))
    target = rng.normal(size=(400, 4)) @ rng.normal(size=(4, 4)) + 5.0
    adapted = CORAL(target=target, regularization=1e-6).fit_transform(source)
    np.testing.assert_allclose(np.cov(adapted.T), np.cov(target.T), atol=1e-3)
    np.testing.assert_allclose(adapted.mean(axis=0), target.mean(axis=0), atol=1e-9)


def test_wide_features_fit_in_low_rank_form_as_the_full_map_would():
    rng = np.random.default_rng(2)
    source, target = rng.normal(size=(20, 50)), rng.normal(size=(15, 50)) * 2 + 1
    coral = CORAL(target=target, align_mean=False).fit(source)
    assert coral.source_power_[0].shape == (19, 50)  # 19 axes, no 50 x 50 matrix
    full = _power(np.cov(source.T), -0.5, coral) @ _power(np.cov(target.T), 0.5, coral)
    np.testing.assert_allclose(coral.matrix_, full, atol=1e-8)


def _power(cov: np.ndarray, exponent: float, coral: CORAL) -> np.ndarray:
    ridge = coral.regularization * np.trace(cov) / len(cov)
    values, vectors = np.linalg.eigh(cov + ridge * np.eye(len(cov)))
    return vectors @ np.diag(values**exponent) @ vectors.T


def test_without_a_target_coral_whitens():
    X = np.random.default_rng(0).normal(size=(300, 3)) @ np.diag([1.0, 5.0, 0.2])  # noqa: N806
    white = CORAL(regularization=1e-9).fit_transform(X)
    np.testing.assert_allclose(np.cov(white.T), np.eye(3), atol=1e-6)


def test_paper_map_without_mean_alignment():
    rng = np.random.default_rng(1)
    source, target = rng.normal(size=(50, 3)), rng.normal(size=(40, 3)) * 2
    coral = CORAL(target=target, align_mean=False).fit(source)
    np.testing.assert_allclose(coral.transform(source), source @ coral.matrix_)


def _domains(rng, n):
    """Two classes apart along the first axis; the target domain rescales and moves the axes."""
    y = np.arange(n) % 2
    X = rng.normal(size=(n, 6)) + np.outer(y * 3.0, np.eye(6)[0])  # noqa: N806
    return X, y, X * [3, 0.3, 1, 1, 2, 0.5] + 4.0


def test_coral_raises_accuracy_under_a_covariance_shift():
    rng = np.random.default_rng(0)
    X_source, y_source, _ = _domains(rng, 200)  # noqa: N806
    _, y_target, X_target = _domains(rng, 200)  # noqa: N806
    plain = LogisticRegression().fit(X_source, y_source).score(X_target, y_target)
    pipe = make_pipeline(featx.CORAL(target=X_target), LogisticRegression())
    adapted = pipe.fit(X_source, y_source)[1:].score(X_target, y_target)
    assert adapted > plain + 0.2
