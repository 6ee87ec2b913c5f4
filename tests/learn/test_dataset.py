"""featx.learn.dataset: the held-out split of a feature file, refusing what no head can use."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from featx.cli.main import main
from featx.errors import FeatxError
from featx.learn.dataset import load_dataset
from tests.helpers import write_features


def test_the_val_split_is_held_out_with_its_paths(features_file):
    data = load_dataset(features_file)
    assert data.held_out == "split 'val'" and len(data.paths_test) == len(data.y_test) == 40
    assert all(path.startswith("/photos/val/") for path in data.paths_test)


@pytest.mark.parametrize("size", [0.0, 1.0, 1.5, -0.2])
def test_a_test_size_outside_0_and_1_is_refused(size, features_file):
    with pytest.raises(FeatxError, match="test size must be a fraction between 0 and 1"):
        load_dataset(features_file, test_size=size)


def test_a_feature_file_with_nan_rows_is_one_line_for_train_and_predict(tmp_path, bundle_file,
                                                                        capsys):
    nan = write_features(tmp_path / "nan.h5")
    with h5py.File(nan, "r+") as h5:
        next(iter(h5["configs"].values()))["content"]["features"][3] = np.nan
    assert main(["train", str(nan), "--out", str(tmp_path / "t")]) == 2
    assert main(["predict", str(bundle_file), str(nan), "--out", str(tmp_path / "p")]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"featx: error: {nan}: 1 row(s) hold NaN or Inf features, e.g. "
                     f"/photos/train/ants/3.jpg; `featx check {nan}` lists them"] * 2


def test_the_held_out_rule_applies_to_rows_that_are_not_a_feature_file():
    from featx.learn.dataset import hold_out

    labels = ["a", "b"] * 6 + [""] * 2
    splits = ["train"] * 8 + ["VAL"] * 4 + ["val"] * 2
    keys = [f"k{i}" for i in range(14)]
    rows = hold_out(labels, splits, keys, source="photos")
    assert (list(rows.train), list(rows.test), rows.how, rows.warnings) == (
        list(range(8)), [8, 9, 10, 11], "split 'val'", [])
    keys[11] = keys[3]
    labels[11] = "b" if labels[3] == "a" else "a"
    warned = hold_out(labels, splits, keys, source="photos")
    assert warned.warnings[0].startswith("held-out images with an exact copy among the "
                                         "training images: 1 (a leak")
    assert warned.warnings[1] == ("exact copies under different labels (label conflicts): 2 "
                                  "images in 1 group(s)")
    with pytest.raises(FeatxError, match="photos: no labelled rows to train on"):
        hold_out([""] * 3, ["train"] * 3, ["k1", "k2", "k3"], source="photos")
