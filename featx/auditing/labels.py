"""Likely label errors: out-of-fold probabilities of a head, ranked by cleanlab.

The head (a :mod:`featx.learn.heads` pipeline; heads without ``predict_proba`` are calibrated
with :class:`~sklearn.calibration.CalibratedClassifierCV`) is cross-validated on the labelled
rows with :class:`~sklearn.model_selection.StratifiedGroupKFold`, the groups being the duplicate
groups, so no image is predicted by a model that saw a copy of it. Its parameters are chosen
first by a grid search over the head's default grid on the same folds, scored by log loss, since
cleanlab needs calibrated probabilities (on hymenoptera a default-parameter logistic regression,
under-confident at C=1 on L2-normalised features, finds 0-2 issues where the log-loss choice finds
9). cleanlab's :func:`~cleanlab.filter.find_label_issues` (confident learning, pruned by noise
rate) picks the rows whose given label the probabilities contradict, ranked by self-confidence.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold, cross_val_predict

from featx.auditing.data import AuditInput
from featx.auditing.findings import Finding
from featx.auditing.options import AuditOptions
from featx.errors import FeatxError
from featx.learn.heads import head_grid, make_head, quiet_fits

INSTALL_HINT = ("the label check needs cleanlab: pip install 'featx[audit]' (or leave the check "
                "out: --checks exact,near,outliers)")
CALIBRATION_FOLDS = 3


def label_errors(data: AuditInput, options: AuditOptions, groups: np.ndarray
                 ) -> tuple[list[Finding], np.ndarray | None, list[str]]:
    """Findings (worst first), the out-of-fold probabilities (N x K, NaN where not predicted)
    and notes on what could not be checked; ``groups``: a duplicate group id per row."""
    try:
        from cleanlab.filter import find_label_issues
        from cleanlab.rank import get_label_quality_scores
    except ImportError:
        raise FeatxError(INSTALL_HINT) from None
    rows = np.flatnonzero(data.y >= 0)
    present, labels = np.unique(data.y[rows], return_inverse=True)
    if len(present) < 2:
        return [], None, [f"label check skipped: {len(present)} labelled class(es), needs 2"]
    sizes = np.bincount(labels)
    folds = min(options.folds, int(sizes.min()))
    if folds < 2:
        small = [data.label_names[c] for c, n in zip(present, sizes, strict=True) if n < 2]
        return [], None, [f"label check skipped: class {', '.join(small)} has fewer than 2 "
                          "labelled images"]
    notes = []
    if folds < options.folds:
        notes.append(f"label check: {folds} folds instead of {options.folds} (the smallest "
                     f"class has {sizes.min()} images)")
    split = StratifiedGroupKFold(folds, shuffle=True, random_state=options.seed)
    X, groups = data.X[rows], groups[rows]  # noqa: N806
    with quiet_fits(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*least populated class.*")
        head, grid = probabilistic_head(options.head, int(sizes.min()))
        search = GridSearchCV(head, grid, cv=split, scoring="neg_log_loss")
        search.fit(X, labels, groups=groups)
        proba = cross_val_predict(search.best_estimator_, X, labels, groups=groups, cv=split,
                                  method="predict_proba")
    notes.append(f"label check: {options.head} with {_params(search.best_params_)} (best "
                 f"log loss {-search.best_score_:.3f}), {folds}-fold out of fold")
    issues = find_label_issues(labels, proba, return_indices_ranked_by="self_confidence",
                               n_jobs=1)
    quality = get_label_quality_scores(labels, proba)
    findings = []
    for i in issues:
        predicted = data.label_names[present[proba[i].argmax()]]
        given = data.label_names[present[labels[i]]]
        findings.append(Finding(
            "label-error", (int(rows[i]),), float(quality[i]),
            detail=f"labelled {given} (p={quality[i]:.2f}); {options.head} predicts "
                   f"{predicted} (p={proba[i].max():.2f}) out of fold",
            predicted=predicted))
    full = np.full((len(data), len(data.label_names)), np.nan)
    full[np.ix_(rows, present)] = proba
    return findings, full, notes


def probabilistic_head(name: str, smallest: int) -> tuple[BaseEstimator, dict]:
    """Head ``name`` and its grid, calibrated when the head gives no probabilities (which needs
    ``2 * CALIBRATION_FOLDS`` images in the ``smallest`` class)."""
    head, grid = make_head(name), head_grid(name)
    if hasattr(head, "predict_proba"):
        return head, grid
    if smallest < 2 * CALIBRATION_FOLDS:
        raise FeatxError(f"head {name!r} gives no probabilities and calibrating it needs "
                         f"{2 * CALIBRATION_FOLDS} images per class; use --head logreg")
    return (CalibratedClassifierCV(head, cv=CALIBRATION_FOLDS),
            {f"estimator__{key}": values for key, values in grid.items()})


def _params(params: dict) -> str:
    return ", ".join(f"{key.rsplit('__', 1)[-1]}={type(v).__name__ if hasattr(v, 'fit') else v}"
                     for key, v in sorted(params.items()))
