"""featx.learn.predict and `featx predict`: a bundle applied to images or a feature file, refusing
features computed otherwise; every listed image gets a row, with the head's scores or the reason
it failed."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

import featx
from featx.cli.main import main
from tests.helpers import SYNTHETIC_ATTRS, write_features


def test_predict_refuses_features_of_another_configuration(bundle_file, tmp_path, capsys):
    other = write_features(tmp_path / "other.h5", attrs={**SYNTHETIC_ATTRS, "pooling": "max"})
    assert main(["predict", str(bundle_file), str(other), "--out", str(tmp_path / "p")]) == 2
    assert "pooling: file has 'max', the model was trained on 'avg'" in capsys.readouterr().err


def test_predict_on_a_feature_file_writes_probabilities(bundle_file, features_file, tmp_path):
    assert main(["predict", str(bundle_file), str(features_file), "--out", str(tmp_path)]) == 0
    rows = list(csv.DictReader((tmp_path / "predictions.csv").open()))
    assert len(rows) == 80 and list(rows[0]) == ["path", "label", "predicted", "proba_ants",
                                                 "proba_bees", "error"]
    assert b"\r" not in (tmp_path / "predictions.csv").read_bytes()


def test_a_head_without_probabilities_writes_its_decision_scores(tree_features, class_tree,
                                                                 tmp_path):
    main(["train", str(tree_features), "--head", "linear-svm", "--cv", "3", "--n-jobs", "1",
          "--out", str(tmp_path / "run"), "--quiet"])
    assert main(["predict", str(tmp_path / "run" / "model.skops"), str(class_tree / "val"),
                 "--out", str(tmp_path), "--cache", str(tree_features), "--quiet"]) == 0
    rows = list(csv.DictReader((tmp_path / "predictions.csv").open()))
    assert list(rows[0]) == ["path", "label", "predicted", "decision_dogs", "error"]
    assert all((float(r["decision_dogs"]) > 0) == (r["predicted"] == "dogs") for r in rows)


def test_images_that_fail_are_rows_with_their_reason(tree_features, class_tree, tmp_path,
                                                    capsys):
    main(["train", str(tree_features), "--head", "centroid", "--cv", "3", "--out",
          str(tmp_path / "run"), "--quiet"])
    (class_tree / "val" / "cats" / "broken.jpg").write_text("not an image")
    assert main(["predict", str(tmp_path / "run" / "model.skops"), str(class_tree / "val"),
                 "--out", str(tmp_path), "--cache", str(tmp_path / "c.h5"), "--quiet"]) == 1
    rows = list(csv.DictReader((tmp_path / "predictions.csv").open()))
    assert [Path(r["path"]).name for r in rows] == [
        "broken.jpg", "cats0.jpg", "cats1.jpg", "cats2.jpg", "dogs0.jpg", "dogs1.jpg",
        "dogs2.jpg"]
    assert rows[0]["label"] == "cats" and rows[0]["predicted"] == rows[0]["proba_cats"] == ""
    assert "not an image" in rows[0]["error"] and not any(r["error"] for r in rows[1:])
    assert "7 images, 1 failed" in capsys.readouterr().out


def test_predict_reproduces_train_accuracy_on_the_held_out_images(tree_features, class_tree,
                                                                  tmp_path, capsys):
    out = tmp_path / "run"
    main(["train", str(tree_features), "--head", "knn", "--cv", "3", "--n-jobs", "1",
          "--out", str(out)])
    reported = json.loads((out / "summary.json").read_text())["test_accuracy"]
    capsys.readouterr()
    assert main(["predict", str(out / "model.skops"), str(class_tree / "val"), "--out",
                 str(tmp_path / "pred"), "--cache", str(tmp_path / "new.h5"), "--quiet"]) == 0
    rows = list(csv.DictReader((tmp_path / "pred" / "predictions.csv").open()))
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
                 "--out", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert f"backbone {model} does not match the model's feature configuration: " \
           "weights_fingerprint: file has 'sha256:" in err
