"""featx.auditing.findings: audit.csv has one row per finding, and the summary names them."""

from __future__ import annotations

import csv
import json

from featx.auditing import findings


def test_csv_has_one_row_per_finding_with_json_lists(planted_audit, tmp_path):
    result, rows = planted_audit
    data = result.data
    result.write_csv(tmp_path / "audit.csv")
    with open(tmp_path / "audit.csv", newline="", encoding="utf-8") as fh:
        written = list(csv.DictReader(fh))
    assert list(written[0]) == list(findings.CSV_COLUMNS)
    assert len(written) == len(result.findings)
    assert [r["kind"] for r in written] == [f.kind for f in result.findings]
    leak = next(r for r in written if r["kind"] == "exact-duplicate" and r["flags"] == "leak")
    assert json.loads(leak["splits"]) == ["train", "val"]
    assert json.loads(leak["images"]) == [data.paths[r] for r in rows["exact leak"]]
    assert json.loads(leak["labels"]) == ["ants", "ants"]
    assert b"\r\n" not in (tmp_path / "audit.csv").read_bytes()


def test_summary_counts_each_check_and_lists_the_findings(planted_audit):
    result, _ = planted_audit
    text = result.summary(limit=1)
    lines = text.splitlines()
    assert lines[0].startswith("planted: 85 images (train 43, val 42), 2 classes; audited in")
    assert "  exact duplicates   2 groups (same bytes): 1 leak, 1 conflict" in lines
    assert "  near duplicates     1 group (cosine distance <= 0.15): 1 leak, 0 conflicts" in lines
    assert "  outliers                  3 (5 nearest of the same class, robust z > 3.5)" in lines
    assert "  exact-duplicate [leak] 0.000  train/0-3.jpg | val/copy-of-3.jpg  (across splits " \
        "train, val)" in lines
    more = len(result.of_kind("label-error")) - 1
    assert f"... and {more} more label-error findings in audit.csv" in text
