"""featx.auditing.options: one value for how to audit; a bad value is one clear line."""

from __future__ import annotations

import pytest

from featx.auditing.options import CHECKS, AuditOptions
from featx.errors import FeatxError


def test_the_defaults_run_every_check_with_the_calibrated_threshold():
    options = AuditOptions()
    assert options.checks == CHECKS and options.threshold == 0.15 and options.head == "logreg"
    assert AuditOptions(checks=["near", "near", "exact"]).checks == ("near", "exact")
    assert AuditOptions(checks="labels").checks == ("labels",)


@pytest.mark.parametrize("options, message", [
    ({"checks": ["exact", "typo"]}, "unknown check(s) typo; choose from exact, near, labels"),
    ({"checks": []}, "unknown check(s) (none given)"),
    ({"threshold": -0.1}, "threshold is a cosine distance in [0, 2), got -0.1"),
    ({"threshold": 2.0}, "threshold is a cosine distance in [0, 2)"),
    ({"folds": 1}, "folds must be at least 2, got 1"),
    ({"neighbours": 0}, "neighbours must be at least 1, got 0"),
    ({"outlier_z": float("nan")}, "outlier z must be a positive number"),
    ({"head": "forest"}, "unknown head 'forest'"),
])
def test_bad_options_are_one_line_errors(options, message):
    with pytest.raises(FeatxError) as err:
        AuditOptions(**options)
    assert message in str(err.value) and "\n" not in str(err.value)
