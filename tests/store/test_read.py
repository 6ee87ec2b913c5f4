"""featx.store: the HDF5 schema, appending by content key, and reading rows back lazily."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import featx
from featx.errors import FeatxError
from featx.store import read as store


def rows(keys, labels, dim=4, seed=0):
    rng = np.random.default_rng(seed)
    return store.Rows(
        features=rng.normal(size=(len(keys), dim)).astype(np.float32),
        paths=[f"/img/{k}.jpg" for k in keys], labels=list(labels),
        split=["train"] * len(keys), keys=list(keys), sizes=[1] * len(keys),
        mtimes=[2] * len(keys))


@pytest.fixture
def feature_file(tmp_path):
    path = tmp_path / "f.h5"
    with h5py.File(path, "w") as h5:
        store.create(h5, {"backbone": "test"}, dim=4)
        store.append(h5, rows(["k0", "k1", "k2"], ["b", None, "a"]))
    return path


def test_schema_has_every_dataset_chunked_and_resizable(feature_file):
    with h5py.File(feature_file) as h5:
        for name in (*store.ROW_DATASETS, "label_names"):
            assert h5[name].maxshape[0] is None and h5[name].chunks
        assert h5["features"].dtype == np.float32 and h5["features"].shape == (3, 4)
        assert set(h5["errors"]) == {"path", "reason", "key"}
        assert h5.attrs["format"] == store.FORMAT and h5.attrs["feature_dim"] == 4


def test_labels_index_sorted_label_names_and_minus_one_means_none(feature_file):
    feats = featx.load(feature_file)
    assert feats.label_names == ["a", "b"]
    assert list(feats.y) == [1, -1, 0]


def test_append_skips_keys_already_present(feature_file):
    with h5py.File(feature_file, "a") as h5:
        store.append(h5, rows(["k1", "k3", "k3"], ["a", "c", "c"], seed=1))
    feats = featx.load(feature_file)
    assert list(feats.keys) == ["k0", "k1", "k2", "k3"]
    assert feats.label_names == ["a", "b", "c"]
    assert list(feats.y) == [1, -1, 0, 2]


def test_relabel_points_rows_at_new_paths_and_labels(feature_file):
    moved = rows(["k1"], ["c"])
    moved.paths = ["/elsewhere/x.jpg"]
    with h5py.File(feature_file, "a") as h5:
        store.relabel(h5, moved)
    feats = featx.load(feature_file)
    assert feats.paths[1] == "/elsewhere/x.jpg" and feats.label_names[feats.y[1]] == "c"
    assert feats.label_names[feats.y[0]] == "b"


def test_errors_of_listed_paths_are_replaced(feature_file):
    with h5py.File(feature_file, "a") as h5:
        store.set_errors(h5, [store.Failure("/a.jpg", "bad"), store.Failure("/b.jpg", "bad")],
                         set())
        store.set_errors(h5, [store.Failure("/b.jpg", "worse", "kb")], {"/b.jpg"})
    assert [(e.path, e.reason, e.key) for e in featx.load(feature_file).errors] == [
        ("/a.jpg", "bad", ""), ("/b.jpg", "worse", "kb")]


def test_rows_reads_any_selection_lazily(feature_file):
    feats = featx.load(feature_file)
    np.testing.assert_array_equal(feats.rows([2, 0, 2]), feats.X[[2, 0, 2]])
    np.testing.assert_array_equal(feats.rows(slice(1, 3)), feats.X[1:3])
    np.testing.assert_array_equal(np.vstack(list(feats.batches(2))), feats.X)
    np.testing.assert_array_equal(feats.by_keys(["k2", "k0"]), feats.X[[2, 0]])
    with pytest.raises(FeatxError, match="not in the file"):
        feats.by_keys(["nope"])


def test_meta_holds_the_attributes(feature_file):
    assert featx.load(feature_file).meta["backbone"] == "test"


@pytest.mark.parametrize("content, message", [
    (b"", "not a readable HDF5"), (b"hello", "not a readable HDF5")])
def test_non_hdf5_files_are_refused(tmp_path, content, message):
    (tmp_path / "x.h5").write_bytes(content)
    with pytest.raises(FeatxError, match=message):
        featx.load(tmp_path / "x.h5")


def test_hdf5_of_another_schema_is_refused(tmp_path):
    with h5py.File(tmp_path / "other.h5", "w") as h5:
        h5["data"] = [1, 2]
    with pytest.raises(FeatxError, match="not a featx feature file"):
        featx.load(tmp_path / "other.h5")


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FeatxError, match="no such feature file"):
        featx.load(tmp_path / "missing.h5")


def test_write_makes_a_complete_file_in_one_go(tmp_path):
    batch = rows(["k0", "k1"], [None, "z"])
    with h5py.File(tmp_path / "part.h5", "w") as h5:
        store.write(h5, {"backbone": "test"}, batch)
    with h5py.File(tmp_path / "part.h5") as h5:
        back = store.read_rows(h5)
    np.testing.assert_array_equal(back.features, batch.features)
    assert (back.keys, back.labels, back.paths) == (batch.keys, batch.labels, batch.paths)


def test_concat_keeps_row_order():
    joined = store.concat([rows(["a"], ["x"]), rows(["b", "c"], [None, "y"], seed=1)])
    assert joined.keys == ["a", "b", "c"] and joined.labels == ["x", None, "y"]
    assert joined.features.shape == (3, 4)
