"""featx.store.schema: one column table drives every schema operation."""

from __future__ import annotations

import h5py
import numpy as np

from featx.store import read, schema, write
from tests.helpers import make_rows


def test_schema_has_every_dataset_chunked_and_resizable(small_feature_file):
    with h5py.File(small_feature_file) as h5:
        for name in (*schema.ROW_DATASETS, "label_names"):
            assert h5[name].maxshape[0] is None and h5[name].chunks
        assert h5["features"].dtype == np.float32 and h5["features"].shape == (3, 4)
        assert set(h5["errors"]) == {"path", "reason", "key"}
        assert h5.attrs["format"] == schema.FORMAT and h5.attrs["feature_dim"] == 4


def test_concat_keeps_row_order():
    joined = schema.concat([make_rows(["a"], ["x"]), make_rows(["b", "c"], [None, "y"], seed=1)])
    assert joined.keys == ["a", "b", "c"] and joined.labels == ["x", None, "y"]
    assert joined.features.shape == (3, 4)


def test_a_part_written_in_one_go_has_the_datasets_and_dtypes_of_a_grown_file(tmp_path,
                                                                              small_feature_file):
    with h5py.File(tmp_path / "part.h5", "w") as h5:
        write.write_file(h5, {"backbone": "test"}, make_rows(["p0"], ["a"]))

    def layout(path):
        with h5py.File(path) as h5:
            found = {}
            h5.visititems(lambda name, obj: found.__setitem__(
                name, obj.dtype.str if isinstance(obj, h5py.Dataset) else "group"))
            return found

    grown = layout(small_feature_file)
    assert layout(tmp_path / "part.h5") == grown
    assert set(schema.ROW_DATASETS) <= set(grown)


def test_an_index_entry_read_back_equals_the_entry_of_the_row_written(small_feature_file):
    rows = make_rows(["k0", "k1", "k2"], ["b", None, "a"])
    with h5py.File(small_feature_file) as h5:
        index = read.read_index(h5)
    for i, key in enumerate(rows.keys):
        row = {name: getattr(rows, name)[i] for name in schema.LISTS}
        assert index.rows[key] == schema.entry(row)
        assert index.stats[f"/img/{key}.jpg"] == (1, 2, key)
