"""featx.store.export and Features.to_pandas: one row per entry, the features round-trip exactly."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

import featx
from featx.errors import FeatxError
from featx.store.export import export, read_parquet, to_pandas
from tests.helpers import key_of, write_store

AWKWARD = [np.float32(1 / 3), -0.0, 1e-38, 3.4e38, np.nextafter(np.float32(1), 2), -7.25]


@pytest.fixture
def feats(tmp_path):
    """Six entries with awkward values, an unlabelled row and an exact copy across splits."""
    rng = np.random.default_rng(0)
    features = rng.normal(size=(5, 6)).astype(np.float32)
    features[0] = AWKWARD
    keys = [key_of(str(i)) for i in range(5)] + [key_of("0")]
    paths = [f"/photos/train/{i}.jpg" for i in range(5)] + ["/photos/val/copy-of-0.jpg"]
    labels = ["ants", None, "bees", "ants", "bees", "ants"]
    splits = ["train"] * 5 + ["val"]
    path = write_store(tmp_path / "f.h5", np.vstack([features, features[:1]]), paths, labels,
                       splits, keys)
    return featx.load(path)


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype == np.float32 and np.array_equal(a.view(np.uint32),
                                                               b.view(np.uint32))


def test_to_pandas_has_one_row_per_entry_with_feature_columns(feats):
    df = feats.to_pandas()
    assert list(df.columns[:4]) == ["path", "label", "split", "key"]
    assert list(df.columns[4:]) == [f"f{i}" for i in range(6)]
    assert len(df) == len(feats) == 6
    assert same_bits(df.iloc[:, 4:].to_numpy(), feats.X)
    assert df["path"].tolist() == feats.paths.tolist()
    assert df["key"].tolist() == feats.keys.tolist() and df["key"][0] == df["key"][5]
    assert df["split"].tolist() == ["train"] * 5 + ["val"]
    assert pd.isna(df["label"][1]) and df["label"][0] == "ants"


def test_to_pandas_vector_column_holds_each_row(feats):
    df = feats.to_pandas(vector=True)
    assert list(df.columns) == ["path", "label", "split", "key", "features"]
    assert same_bits(np.stack(df["features"].to_numpy()), feats.X)


@pytest.mark.parametrize("ext", ["npz", "parquet", "csv"])
def test_every_format_round_trips_exactly(feats, tmp_path, ext):
    out = tmp_path / f"out.{ext}"
    assert export(feats, out).startswith(f"{out}: 6 rows x 6 features")
    if ext == "npz":
        with np.load(out) as z:
            X, paths, keys = z["X"], z["paths"], z["keys"]  # noqa: N806
            labels = np.where(z["y"] >= 0, z["label_names"][z["y"]], "")
            assert json.loads(str(z["meta"]))["layer"] == "pool"
    elif ext == "parquet":
        df, meta = read_parquet(out)
        X, paths, keys = np.stack(df["features"]), df["path"], df["key"]  # noqa: N806
        labels = df["label"].fillna("")
        assert meta["feature_dim"] == 6 and meta["layer"] == "pool"
    else:
        df = pd.read_csv(out, keep_default_na=False, dtype={"key": str})
        X = df[[f"f{i}" for i in range(6)]].to_numpy(np.float32)  # noqa: N806
        paths, labels, keys = df["path"], df["label"], df["key"]
        assert b"\r\n" not in out.read_bytes()
    assert same_bits(np.asarray(X, np.float32), feats.X)
    assert list(paths) == feats.paths.tolist() and list(keys) == feats.keys.tolist()
    assert list(labels) == [feats.label_names[i] if i >= 0 else "" for i in feats.y]


def test_unknown_formats_are_refused_in_one_line(feats, tmp_path):
    with pytest.raises(FeatxError, match=r"x.xlsx: unknown export format '.xlsx'; use one of "
                                         r"\.npz, \.parquet, \.csv"):
        export(feats, tmp_path / "x.xlsx")


def test_without_pandas_the_extra_is_named(feats, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(FeatxError, match=r"exporting needs pandas: pip install 'featx\[export\]'"):
        to_pandas(feats)
    export(feats, tmp_path / "still.npz")  # needs neither pandas nor pyarrow
