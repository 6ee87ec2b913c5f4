"""featx.store.read: feature files read back lazily; anything else refused with a clear line."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import featx
from featx.errors import FeatxError
from tests.helpers import key_of


def test_rows_reads_any_selection_lazily(small_feature_file):
    feats = featx.load(small_feature_file)
    np.testing.assert_array_equal(feats.rows([2, 0, 2]), feats.X[[2, 0, 2]])
    np.testing.assert_array_equal(feats.rows(slice(1, 3)), feats.X[1:3])
    np.testing.assert_array_equal(np.vstack(list(feats.batches(2))), feats.X)
    np.testing.assert_array_equal(feats.by_keys([key_of("k2"), key_of("k0")]), feats.X[[2, 0]])
    with pytest.raises(FeatxError, match="not in the file"):
        feats.by_keys(["nope"])


def test_meta_holds_the_attributes(small_feature_file):
    meta = featx.load(small_feature_file).meta
    assert meta["backbone"] == "file" and meta["feature_dim"] == 4 and meta["updated"]


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
