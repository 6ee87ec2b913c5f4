"""featx.auditing.labels: out-of-fold probabilities ranked by cleanlab find the wrong labels."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV

from featx.auditing.labels import probabilistic_head
from featx.auditing.run import audit
from featx.errors import FeatxError


def test_the_mislabelled_image_and_the_copy_under_the_wrong_label_are_found(planted_audit):
    result, rows = planted_audit
    errors = {f.rows[0]: f for f in result.of_kind("label-error")}
    assert rows["mislabelled"][0] in errors
    wrong_copy = rows["exact conflict"][1]
    assert wrong_copy in errors and errors[wrong_copy].predicted == "ants"
    assert rows["exact conflict"][0] not in errors  # its twin carries the right label


def test_label_errors_come_worst_first_with_cleanlab_quality_scores(planted_audit):
    result, _ = planted_audit
    scores = [f.score for f in result.of_kind("label-error")]
    assert scores == sorted(scores) and all(0 <= s <= 1 for s in scores)
    assert result.probabilities.shape == (len(result.data), 2)
    assert np.allclose(result.probabilities.sum(axis=1), 1)
    assert any(n.startswith("label check: logreg with C=") for n in result.notes)


def test_heads_without_probabilities_are_calibrated(planted):
    head, grid = probabilistic_head("linear-svm", smallest=20)
    assert isinstance(head, CalibratedClassifierCV) and hasattr(head, "predict_proba")
    assert sorted(grid) == ["estimator__clf__C"]
    data, rows = planted
    result = audit(data, checks=["labels"], head="linear-svm", folds=2)
    assert rows["mislabelled"][0] in {f.rows[0] for f in result.findings}
    with pytest.raises(FeatxError, match="gives no probabilities and calibrating it needs 6"):
        probabilistic_head("linear-svm", smallest=4)


def test_without_cleanlab_the_label_check_names_the_extra(monkeypatch, planted):
    monkeypatch.setitem(sys.modules, "cleanlab", None)
    monkeypatch.setitem(sys.modules, "cleanlab.filter", None)
    data, _ = planted
    with pytest.raises(FeatxError, match=r"pip install 'featx\[audit\]'"):
        audit(data, checks=["labels"])
    assert audit(data, checks=["exact", "near", "outliers"]).findings  # the rest still runs
