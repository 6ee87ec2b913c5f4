"""Model bundles: a fitted head plus its feature configuration; strict loading; featx predict."""

from __future__ import annotations

import csv
import json
import zipfile

import pytest

from featx.cli.main import main
from featx.errors import FeatxError
from featx.extractor import load_xy
from featx.learn import bundle
from featx.learn.heads import make_head
from tests.helpers import SYNTHETIC_ATTRS, write_features


@pytest.fixture
def bundle_file(features_file, tmp_path):
    X, y = load_xy(features_file, split="train")
    path = tmp_path / "model.skops"
    bundle.save(path, make_head("logreg").fit(X, y), SYNTHETIC_ATTRS, "logreg")
    return path


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


def test_predict_refuses_features_of_another_configuration(bundle_file, tmp_path, capsys):
    other = write_features(tmp_path / "other.h5", attrs={**SYNTHETIC_ATTRS, "pooling": "max"})
    assert main(["predict", str(bundle_file), str(other), "--out", str(tmp_path / "p.csv")]) == 2
    assert "pooling: file has 'max', the model was trained on 'avg'" in capsys.readouterr().err


def test_predict_on_a_feature_file_writes_probabilities(bundle_file, features_file, tmp_path):
    out = tmp_path / "p.csv"
    assert main(["predict", str(bundle_file), str(features_file), "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 80 and set(rows[0]) == {"path", "label", "predicted", "proba_ants",
                                                "proba_bees"}


def test_predict_reproduces_train_accuracy_on_the_held_out_images(tree_features, class_tree,
                                                                  tmp_path, capsys):
    out = tmp_path / "run"
    main(["train", str(tree_features), "--head", "knn", "--cv", "3", "--n-jobs", "1",
          "--out", str(out)])
    reported = json.loads((out / "summary.json").read_text())["test_accuracy"]
    capsys.readouterr()
    preds = tmp_path / "pred.csv"
    assert main(["predict", str(out / "model.skops"), str(class_tree / "val"), "--out",
                 str(preds), "--cache", str(tmp_path / "new.h5"), "--quiet"]) == 0
    rows = list(csv.DictReader(preds.open()))
    accuracy = sum(r["label"] == r["predicted"] for r in rows) / len(rows)
    assert len(rows) == 6 and accuracy == pytest.approx(reported)
    assert f"accuracy on the labelled images: {reported:.4f}" in capsys.readouterr().out
