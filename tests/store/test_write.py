"""featx.store.write: files laid out, written in one go and appended to by content key."""

from __future__ import annotations

import h5py
import numpy as np

import featx
from featx.store import read, schema, write
from tests.helpers import make_rows


def test_labels_index_sorted_label_names_and_minus_one_means_none(small_feature_file):
    feats = featx.load(small_feature_file)
    assert feats.label_names == ["a", "b"]
    assert list(feats.y) == [1, -1, 0]


def test_append_skips_keys_already_present(small_feature_file):
    with h5py.File(small_feature_file, "a") as h5:
        write.append(h5, make_rows(["k1", "k3", "k3"], ["a", "c", "c"], seed=1))
    feats = featx.load(small_feature_file)
    assert list(feats.keys) == ["k0", "k1", "k2", "k3"]
    assert feats.label_names == ["a", "b", "c"]
    assert list(feats.y) == [1, -1, 0, 2]


def test_relabel_points_rows_at_new_paths_and_labels(small_feature_file):
    moved = make_rows(["k1"], ["c"])
    moved.paths = ["/elsewhere/x.jpg"]
    with h5py.File(small_feature_file, "a") as h5:
        write.relabel(h5, moved)
    feats = featx.load(small_feature_file)
    assert feats.paths[1] == "/elsewhere/x.jpg" and feats.label_names[feats.y[1]] == "c"
    assert feats.label_names[feats.y[0]] == "b"


def test_errors_of_listed_paths_are_replaced(small_feature_file):
    with h5py.File(small_feature_file, "a") as h5:
        write.set_errors(h5, [schema.Failure("/a.jpg", "bad"), schema.Failure("/b.jpg", "bad")],
                         set())
        write.set_errors(h5, [schema.Failure("/b.jpg", "worse", "kb")], {"/b.jpg"})
    assert [(e.path, e.reason, e.key) for e in featx.load(small_feature_file).errors] == [
        ("/a.jpg", "bad", ""), ("/b.jpg", "worse", "kb")]


def test_write_makes_a_complete_file_in_one_go(tmp_path):
    batch = make_rows(["k0", "k1"], [None, "z"])
    with h5py.File(tmp_path / "part.h5", "w") as h5:
        write.write_file(h5, {"backbone": "test"}, batch)
    with h5py.File(tmp_path / "part.h5") as h5:
        back = read.read_rows(h5)
    np.testing.assert_array_equal(back.features, batch.features)
    assert (back.keys, back.labels, back.paths) == (batch.keys, batch.labels, batch.paths)
