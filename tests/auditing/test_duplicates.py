"""featx.auditing.duplicates: exact groups from the store, near-duplicate groups by cosine
distance, chained transitively, flagged as leaks and conflicts."""

from __future__ import annotations

import numpy as np

from featx.auditing import duplicates
from featx.auditing.data import AuditInput
from featx.auditing.run import audit


def test_only_the_planted_images_are_duplicates(planted):
    data, rows = planted
    result = audit(data, checks=["exact", "near"])
    groups = sorted(sorted(f.rows) for f in result.findings)
    assert groups == sorted(sorted(rows[k]) for k in ("exact leak", "near leak",
                                                      "exact conflict"))
    exact = {f.rows: f.flags for f in result.of_kind("exact-duplicate")}
    assert exact == {tuple(rows["exact leak"]): ("leak",),
                     tuple(rows["exact conflict"]): ("conflict",)}


def test_near_duplicates_chain_transitively_and_exact_copies_join_their_group():
    X = np.array([[1, 0, 0], [1, 0.3, 0], [1, 0.6, 0.05], [1, 0.6, 0.05], [0, 0, 1]], np.float32)
    data = AuditInput(X, np.array([0, 0, 0, 0, 0]), ["a"], list("pqrst"),
                      ["train", "train", "test", "train", "train"], ["k0", "k1", "k2", "k2", "k4"])
    groups, widest = duplicates.link_groups(data, threshold=0.05)
    found = duplicates.near_duplicates(data, groups, widest)
    assert [(f.rows, f.flags) for f in found] == [((0, 1, 2, 3), ("leak",))]
    assert 0.03 < found[0].score <= 0.05  # the widest link, not the span of the chain


def test_a_threshold_of_zero_links_only_identical_vectors(planted):
    data, _ = planted
    assert audit(data, checks=["near"], threshold=0.0).findings == []  # copies share a key


def test_leaks_and_conflicts_come_first():
    X = np.eye(6)
    data = AuditInput(X, [0, 0, 0, 1, 0, 0], ["ants", "bees"], list("pqrstu"),
                      ["train", "train", "train", "train", "train", "val"],
                      ["a", "a", "b", "b", "c", "c"])
    found = duplicates.exact_duplicates(data)
    assert [(f.rows, f.flags) for f in found] == [((4, 5), ("leak",)), ((2, 3), ("conflict",)),
                                                  ((0, 1), ())]
    assert found[0].detail == "across splits train, val" and found[2].detail == (
        "one split, one label")

