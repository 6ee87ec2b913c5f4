"""featx.auditing.outliers: images far from every neighbour of their class."""

from __future__ import annotations

import numpy as np

from featx.auditing.data import AuditInput
from featx.auditing.run import audit


def test_the_off_topic_image_is_the_farthest_outlier(planted_audit):
    result, rows = planted_audit
    found = [f.rows[0] for f in result.of_kind("outlier")]
    assert found[0] == rows["off-topic"][0]
    # the other two are ants labelled bees: far from every bee
    assert sorted(found[1:]) == sorted([rows["mislabelled"][0], rows["exact conflict"][1]])


def test_an_off_topic_unlabelled_image_is_an_outlier_among_the_unlabelled():
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal([5, 0, 0, 0], 0.5, (12, 4)), [[0, 0, 0, 6]]])
    data = AuditInput(X, np.full(13, -1), [], [f"{i}.jpg" for i in range(13)], [""] * 13,
                      [str(i) for i in range(13)])
    result = audit(data, checks=["outliers", "labels"])
    assert [f.rows for f in result.of_kind("outlier")] == [(12,)]
    assert "label check skipped: 0 labelled class(es), needs 2" in result.notes


def test_exact_copies_are_not_each_others_neighbours():
    rng = np.random.default_rng(2)
    X = rng.normal([5, 0, 0, 0], 0.5, (10, 4))
    far = np.array([[0, 0, 0, 6]])
    data = AuditInput(np.vstack([X, far, far]), np.zeros(12, int), ["a"],
                      [f"{i}.jpg" for i in range(12)], [""] * 12,
                      [*map(str, range(10)), "copy", "copy"])
    assert [f.rows for f in audit(data, checks=["outliers"]).findings] == [(10,), (11,)]


def test_small_classes_are_noted_not_silently_skipped(planted):
    data, _ = planted
    few = AuditInput(data.X[:44], np.r_[np.zeros(41, int), [1, 1, 1]], ["ants", "bees"],
                     data.paths[:44], data.split[:44], data.keys[:44])
    result = audit(few, checks=["outliers", "labels"])
    assert "outliers: class bees not scored (3 distinct images, needs 5)" in result.notes
    assert any("3 folds instead of 5" in n for n in result.notes)

