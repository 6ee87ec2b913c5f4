"""featx.auditing.data: the entries an audit reads, and their exact duplicate groups as the store
reports them."""

from __future__ import annotations

import numpy as np
import pytest

import featx
from featx.auditing.data import AuditInput
from featx.errors import FeatxError
from tests.helpers import key_of, write_store


def test_inconsistent_input_is_refused_in_one_line():
    with pytest.raises(FeatxError, match="3 feature rows but 2 y"):
        AuditInput(np.zeros((3, 2)), [0, 0], ["a"], "pqr", ["", "", ""], "pqr")
    with pytest.raises(FeatxError, match="labels must be -1 or an index into 1 label names"):
        AuditInput(np.zeros((2, 2)), [0, 1], ["a"], "pq", ["", ""], "pq")
    with pytest.raises(FeatxError, match="1 rows have NaN"):
        AuditInput(np.array([[0, np.nan], [1, 1]]), [0, 0], ["a"], "pq", ["", ""], "pq")
    with pytest.raises(FeatxError, match="content keys are at most 32 ASCII characters"):
        AuditInput(np.zeros((1, 2)), [0], ["a"], "p", [""], ["k" * 40])


def test_groups_found_from_keys_flag_leaks_and_conflicts():
    data = AuditInput(np.eye(4), [0, 0, 0, 1], ["ants", "bees"], "pqrs",
                      ["train", "val", "train", "train"], ["k1", "k1", "k2", "k2"])
    assert [(g.rows.tolist(), g.leak, g.conflict) for g in data.groups] == [
        ([0, 1], True, False), ([2, 3], False, True)]


def test_a_loaded_file_gives_its_rows_and_the_stores_own_groups(tmp_path, monkeypatch):
    keys = [key_of("a"), key_of("b"), key_of("a"), key_of("c")]
    path = write_store(tmp_path / "f.h5", np.eye(4), ["/p/train/a.jpg", "/p/train/b.jpg",
                                                      "/p/val/a.jpg", "/p/val/c.jpg"],
                       ["ants", "bees", "ants", None], ["train", "train", "val", "val"], keys)
    feats = featx.load(path)
    calls = []
    monkeypatch.setattr(type(feats), "duplicates",
                        lambda self: calls.append(1) or [])  # the store answers, nothing else
    assert AuditInput.from_features(feats).groups == [] and calls == [1]
    monkeypatch.undo()
    data = AuditInput.from_features(featx.load(path))
    assert len(data) == 4 and data.source == str(path) and data.keys.tolist() == keys
    assert data.labels().tolist() == ["ants", "bees", "ants", ""]
    assert [(g.rows.tolist(), g.leak) for g in data.groups] == [([0, 2], True)]
