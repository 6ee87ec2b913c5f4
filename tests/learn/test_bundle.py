"""featx.learn.bundle: a fitted head plus its feature configuration; strict loading."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from featx.cli.main import main
from featx.errors import FeatxError
from featx.learn import bundle


def test_bundle_round_trip_keeps_model_and_configuration(bundle_file):
    loaded = bundle.load(bundle_file)
    assert loaded.head == "logreg" and loaded.classes == ["ants", "bees"]
    assert loaded.features["layer"] == "pool"


def test_a_bundle_edited_to_hold_an_untrusted_type_is_refused(bundle_file, tmp_path):
    edited = tmp_path / "edited.skops"
    with zipfile.ZipFile(bundle_file) as src, zipfile.ZipFile(edited, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "schema.json":
                data = data.replace(b'"sklearn.linear_model._logistic"', b'"evil.payload"')
            dst.writestr(item, data)
    with pytest.raises(FeatxError, match="untrusted type.*evil.payload.LogisticRegression"):
        bundle.load(edited)


@pytest.mark.parametrize("damage, message", [("a key missing", "model bundle lacks head"),
                                             ("an object array", "Object arrays cannot be")])
def test_a_damaged_bundle_is_one_line(damage, message, bundle_file, features_file, tmp_path,
                                      capsys):
    damaged = tmp_path / "damaged.skops"
    with zipfile.ZipFile(bundle_file) as src, zipfile.ZipFile(damaged, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if damage == "a key missing" and item.filename == "schema.json":
                data = data.replace(b'"head"', b'"heed"')
            if damage == "an object array" and item.filename.endswith(".npy"):
                data = _object_npy()
            dst.writestr(item, data)
    with pytest.raises(FeatxError, match=message):
        bundle.load(damaged)
    assert main(["predict", str(damaged), str(features_file), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"featx: error: {damaged}: ") and err.count("\n") == 1


def _object_npy() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array([1, "a"], dtype=object), allow_pickle=True)
    return buffer.getvalue()
