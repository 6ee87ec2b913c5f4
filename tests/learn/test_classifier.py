"""featx.learn.classifier: the fine-tuned .keras classifier file, and featx predict with it."""

from __future__ import annotations

import csv
import json
import zipfile

import numpy as np
import pytest

from featx.cli.main import main
from featx.errors import FeatxError
from featx.learn import classifier
from featx.learn.predict import predict


@pytest.fixture(scope="module")
def classifier_file(tmp_path_factory):
    """A tiny classifier of ``cats`` and ``dogs`` (the mean red decides), saved as featx does."""
    import keras

    inputs = keras.Input((32, 32, 3))
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(inputs)
    outputs = keras.layers.Dense(2, activation="softmax", name="classes")(pooled)
    model = keras.Model(inputs, outputs)
    model.get_layer("classes").set_weights([np.array([[0.05, -0.05], [0, 0], [0, 0]],
                                                     np.float32), np.array([-6.4, 6.4])])
    path = tmp_path_factory.mktemp("classifier") / "pets.keras"
    classifier.save(model, path, {"classes": ["cats", "dogs"], "features_layer": "pool",
                                  "input_size": [32, 32], "resize": "squash"})
    return path


def test_every_listed_image_keeps_its_row_in_listing_order(classifier_file, class_tree,
                                                           tmp_path, capsys):
    broken = class_tree / "val" / "cats" / "cats9.jpg"
    broken.write_bytes(b"not a jpeg")
    preds = predict(classifier_file, class_tree / "val")
    assert len(preds.paths) == 7 and preds.paths == sorted(preds.paths)
    assert preds.columns() == ["path", "label", "predicted", "proba_cats", "proba_dogs", "error"]
    row = preds.paths.index(str(broken))
    assert preds.predicted[row] == "" and np.isnan(preds.scores[row]).all()
    assert preds.errors[row].startswith("not an image Pillow can identify")
    assert [f.path for f in preds.failures] == [str(broken)]
    np.testing.assert_allclose(np.delete(preds.scores, row, axis=0).sum(axis=1), 1, rtol=1e-5)
    assert main(["predict", str(classifier_file), str(class_tree / "val"), "--out",
                 str(tmp_path / "p"), "--quiet"]) == 1
    rows = list(csv.DictReader((tmp_path / "p" / "predictions.csv").open()))
    assert len(rows) == 7 and rows[row]["error"] and not rows[row]["predicted"]
    assert f"failed: {broken}: not an image" in capsys.readouterr().out


def test_a_classifier_takes_images_not_features_nor_a_cache(classifier_file, features_file,
                                                           class_tree):
    with pytest.raises(FeatxError, match="classifies images, not feature files like"):
        predict(classifier_file, features_file)
    with pytest.raises(FeatxError, match=r"a cache of features \(--cache\) applies to model "
                                         "bundles only"):
        predict(classifier_file, class_tree, cache=features_file)


def test_a_keras_file_that_featx_did_not_write_is_refused(tmp_path, tiny_model_file):
    with pytest.raises(FeatxError, match="a Keras model without featx.json, so without class"):
        classifier.read_meta(tiny_model_file)
    other = tmp_path / "other.keras"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("featx.json", json.dumps({"format": "other"}))
    with pytest.raises(FeatxError, match="featx.json is not a featx classifier description"):
        classifier.read_meta(other)
    (tmp_path / "text.keras").write_text("hello")
    with pytest.raises(FeatxError, match="not a .keras model file"):
        classifier.read_meta(tmp_path / "text.keras")
    with pytest.raises(FeatxError, match="no such model file"):
        classifier.read_meta(tmp_path / "missing.keras")
