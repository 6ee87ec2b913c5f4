"""audit.html: every finding with its images, the checks not run said so, audit.csv linked."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import featx
from featx.auditing.data import AuditInput
from featx.auditing.run import audit
from featx.cli.main import main
from featx.report.audit_page import write_audit_report
from tests.report.html import check_page

SECTIONS = ("summary", "exact", "near", "labels", "outliers")


def test_audit_page_shows_every_finding_with_its_images(photo_features, tmp_path):
    feats = featx.load(photo_features(noise=0.6))
    X = np.vstack([feats.X, feats.X[0], feats.X[1] + 0.001])  # noqa: N806
    data = AuditInput(X, np.r_[feats.y, 1, 0], feats.label_names,
                      [*feats.paths, feats.paths[0], feats.paths[1]],
                      [*feats.split, "val", "val"], [*feats.keys, feats.keys[0], "copy"])
    result = audit(data, threshold=0.01)
    page = check_page(Path(write_audit_report(result, tmp_path / "audit")), SECTIONS)
    assert page.classes.count("badge leak") == 2 and page.classes.count("badge conflict") == 1
    assert page.classes.count("card") == len(result.findings)
    for finding in result.findings:
        assert finding.detail in page.text
    assert "audit.csv" in page.links and (tmp_path / "audit" / "audit.csv").is_file()


def test_audit_page_of_a_partial_audit_says_what_was_not_checked(photo_features, tmp_path):
    out = tmp_path / "a"
    assert main(["audit", str(photo_features()), "--out", str(out), "--checks",
                 "near,outliers"]) == 0
    page = check_page(out / "audit.html", SECTIONS)
    assert page.text.count("Not checked (left out of --checks).") == 2
    assert page.text.count("not run") == 2
