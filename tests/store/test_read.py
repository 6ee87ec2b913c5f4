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


WRITER = """
import sys
import numpy as np
from tests.helpers import write_store
out, rounds = sys.argv[1], int(sys.argv[2])
for k in range(rounds):
    labels = ["aardvark", "zebra"] if k % 2 else ["ants", "bees"]
    paths = [f"/photos/{k}/{label}/{i}.jpg" for label in labels for i in range(3)]
    write_store(out, np.full((6, 4), k, np.float32), paths, [p.split("/")[3] for p in paths],
                ["train"] * 6, keys=[f"{k:016x}{i:016x}" for i in range(6)],
                source=f"/photos/{k % 3}")
"""


def test_a_reader_racing_a_writer_sees_one_committed_version(tmp_path):
    """Labels, label names, paths and features always come from one commit together."""
    import subprocess
    import sys

    from tests.helpers import REPO

    out = tmp_path / "race.h5"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(out), "60"], cwd=REPO)
    seen = 0
    try:
        while writer.poll() is None or seen == 0:
            if not out.exists():
                continue
            with featx.load(out) as feats:
                for path, y, row in zip(feats.paths, feats.y, feats.X, strict=True):
                    assert feats.label_names[y] == path.split("/")[3]
                    assert row[0] == int(path.split("/")[2])
                seen += 1
    finally:
        writer.wait()
    assert writer.returncode == 0 and seen > 1
