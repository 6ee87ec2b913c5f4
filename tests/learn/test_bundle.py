"""featx.learn.bundle: a fitted head plus its feature configuration; strict loading."""

from __future__ import annotations

import zipfile

import pytest

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
