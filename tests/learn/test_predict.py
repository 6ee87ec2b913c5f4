"""featx.learn.predict and `featx predict`: a bundle applied to images or a feature file, refusing
features computed otherwise."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

import featx
from featx.cli.main import main
from tests.helpers import SYNTHETIC_ATTRS, write_features


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


def test_predict_refuses_a_backbone_file_changed_since_training(class_tree, tiny_model_file,
                                                                tmp_path, capsys):
    model = tmp_path / "backbone.keras"
    shutil.copy(tiny_model_file, model)
    featx.embed(class_tree, tmp_path / "f.h5", backbone=str(model), layer="pool", progress=False)
    main(["train", str(tmp_path / "f.h5"), "--head", "centroid", "--cv", "3", "--out",
          str(tmp_path / "run")])
    with open(model, "ab") as fh:
        fh.write(b"retrained")
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "run" / "model.skops"), str(class_tree / "val"),
                 "--out", str(tmp_path / "p.csv")]) == 2
    err = capsys.readouterr().err
    assert f"backbone {model} does not match the model's feature configuration: " \
           "weights_fingerprint: file has 'sha256:" in err
