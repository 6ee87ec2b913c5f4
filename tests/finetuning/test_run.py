"""featx.finetune: the two-stage recipe, compared with the classical heads on the held-out rows
of featx train, and the plain .keras classifier it writes."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from featx.cli.main import main
from featx.errors import FeatxError
from featx.finetuning import finetune
from featx.learn import classifier
from featx.learn.dataset import load_dataset
from tests.helpers import TINY_FINETUNE, write_image


def test_finetune_writes_a_keras_classifier_with_its_classes_and_features_layer(finetuned):
    out, result, _ = finetuned
    meta = classifier.read_meta(out)
    assert meta["classes"] == ["blues", "reds"] == result.classes
    assert meta["features_layer"] == "pool" == result.features_layer
    assert meta["input_size"] == [32, 32]
    assert set(result.stages) == {"stage 2"}
    assert 1 <= result.stages["stage 2"].epochs <= 2
    assert 0 <= result.accuracy <= 1
    import keras

    model = keras.models.load_model(out)  # a plain Keras model: no custom objects
    assert [layer.name for layer in model.layers][-3:] == ["pool", "head_dropout", "classes"]


def test_summary_compares_with_the_classical_head_on_the_held_out_rows_of_featx_train(
        finetuned, photo_tree, blocks_model_file, tmp_path):
    _, result, lines = finetuned
    text = result.summary()
    assert "held out: 12 images (split 'val')" in text
    assert "logreg on frozen features" in text and "fine-tuned, top 1 block" in text
    assert "--layer pool" in text
    assert any("train 12" in line and "validation 3" in line for line in lines)
    from featx.embedding.run import embed
    from featx.learn.search import evaluate

    features = tmp_path / "frozen.h5"
    embed(photo_tree, features, backbone=str(blocks_model_file), progress=False)
    plain = evaluate("logreg", load_dataset(features), cv=2)
    assert result.baselines["logreg"]["test_accuracy"] == plain.test_accuracy
    assert result.baselines["logreg"]["cv_score"] == plain.cv_score


def test_the_finetuned_model_embeds_trains_and_predicts_from_the_command_line(
        finetuned, photo_tree, tmp_path, capsys):
    out, result, _ = finetuned
    features = tmp_path / "tuned.h5"
    assert main(["embed", str(photo_tree), str(features), "--backbone", str(out),
                 "--layer", result.features_layer, "--quiet"]) == 0
    assert main(["train", str(features), "--head", "logreg", "--cv", "2",
                 "--out", str(tmp_path / "run"), "--quiet"]) == 0
    assert main(["predict", str(out), str(photo_tree / "val"), "--out", str(tmp_path / "p"),
                 "--quiet"]) == 0
    lines = (tmp_path / "p" / "predictions.csv").read_text().splitlines()
    assert lines[0] == "path,label,predicted,proba_blues,proba_reds,error"
    assert len(lines) == 13
    printed = capsys.readouterr().out
    assert f"accuracy on the labelled images: {result.accuracy:.4f}" in printed


def test_augment_none_trains_on_stored_activations_and_head_epochs_add_stage_1(
        photo_tree, blocks_model_file, tmp_path):
    from featx.learn.predict import predict

    out = tmp_path / "m.keras"
    result = finetune(photo_tree, out, backbone=str(blocks_model_file), progress=False,
                      log=lambda _: None, augment="none", head_epochs=1, validation="held-out",
                      precision="mixed_bfloat16", **TINY_FINETUNE)
    assert set(result.stages) == {"stage 1", "stage 2"}
    assert result.optimistic and "optimistic" in result.summary()
    import keras

    saved = keras.models.load_model(out)  # saved in float32, scored as saved
    assert {layer.dtype_policy.name for layer in saved.layers} == {"float32"}
    assert predict(out, photo_tree / "val").accuracy() == pytest.approx(result.accuracy)


def test_images_that_fail_or_have_no_label_are_said_not_to_be_used(
        photo_tree, blocks_model_file, tmp_path):
    listing = tmp_path / "list.csv"
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    unlabelled = write_image(tmp_path / "loose.png", 7, fmt="PNG")
    rows = [f"{p},{p.parent.name},{p.parent.parent.name}"
            for p in sorted(photo_tree.glob("*/*/*.png"))]
    listing.write_text("path,label,split\n" + "\n".join(
        rows + [f"{broken},reds,train", f"{unlabelled},,train"]) + "\n")
    result = finetune(listing, tmp_path / "m.keras", backbone=str(blocks_model_file),
                      progress=False, log=lambda _: None, unfreeze=0, cv=2)
    text = result.summary()
    assert "not used: 1 unlabelled images" in text
    assert f"not used: 1 images that could not be embedded:\n  failed: {broken}: " in text
    assert set(result.stages) == set() and list(result.stage_accuracy) == [
        "head only (stage 1)"]


def test_mistakes_are_one_line_errors(photo_tree, blocks_model_file, tmp_path, capsys):
    base = ["finetune", str(photo_tree), str(tmp_path / "m.keras"), "--backbone",
            str(blocks_model_file), "--quiet"]
    assert main(["finetune", str(photo_tree), str(tmp_path / "m.h5"), "--backbone",
                 str(blocks_model_file)]) == 2
    assert main([*base, "--unfreeze", "9"]) == 2
    assert main([*base, "--compare", "svm"]) == 2
    assert main([*base, "--dropout", "1.5"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"featx: error: {tmp_path / 'm.h5'}: the fine-tuned model is written as a "
                   ".keras file",
                   "featx: error: cannot unfreeze 9 blocks: the base has 3",
                   "featx: error: unknown head 'svm'; choose from logreg, linear-svm, rbf-svm, "
                   "knn, centroid, ridge, lda",
                   "featx: error: dropout must be in [0, 1), got 1.5"]
    assert not (tmp_path / "m.keras").exists()
    shutil.copytree(photo_tree / "train" / "reds", tmp_path / "one" / "reds")
    with pytest.raises(FeatxError, match=r"at least 2 classes; found 1 \(reds\)"):
        finetune(tmp_path / "one", tmp_path / "x.keras", backbone=str(blocks_model_file),
                 progress=False, log=lambda _: None)


def test_quiet_prints_only_the_summary(photo_tree, blocks_model_file, tmp_path, capsys):
    assert main(["finetune", str(photo_tree), str(tmp_path / "deep" / "m.keras"), "--backbone",
                 str(blocks_model_file), "--unfreeze", "0", "--cv", "2", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("held out: 12 images (split 'val'); classes blues, reds\n")
    assert captured.err == ""
    assert np.isfinite(classifier.read_meta(tmp_path / "deep" / "m.keras")["accuracy"])
