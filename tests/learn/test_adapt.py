"""featx train --adapt-to: heads trained on CORAL-mapped training rows, scored on the labelled
rows of a target domain, with and without adaptation."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from featx.cli.main import main
from featx.errors import FeatxError
from featx.learn import bundle
from featx.learn.adapt import adapt
from featx.learn.dataset import load_dataset
from tests.helpers import SYNTHETIC_ATTRS, write_features, write_store


def _shifted(path, features_file, scale=(3.0, 0.3), labelled=slice(None)):
    """The rows of ``features_file`` in another domain: axes rescaled and moved; labels kept
    only on ``labelled`` rows."""
    data = load_dataset(features_file)
    X = np.vstack([data.X_train, data.X_test])  # noqa: N806
    labels = np.array([*data.y_train, *data.y_test], dtype=object)
    keep = np.zeros(len(labels), bool)
    keep[labelled] = True
    X = X * np.r_[scale, np.ones(X.shape[1] - 2)] + 5.0  # noqa: N806
    return write_store(path, X, [f"/target/{i}.jpg" for i in range(len(X))],
                       [label if k else None for label, k in zip(labels, keep, strict=True)],
                       [""] * len(X))


def test_adapt_maps_the_training_rows_and_holds_out_the_labelled_target_rows(features_file,
                                                                            tmp_path):
    target = _shifted(tmp_path / "target.h5", features_file, labelled=slice(0, 60, 2))
    data = load_dataset(features_file)
    adapted, plain = adapt(data, target)
    assert plain.held_out == adapted.held_out == f"target {target}: 30 labelled of 80 rows"
    assert (plain.X_train == data.X_train).all() and len(adapted.y_test) == 30
    assert adapted.paths_test[:2] == ["/target/0.jpg", "/target/2.jpg"]
    np.testing.assert_allclose(adapted.X_train.mean(axis=0), _all_rows(target).mean(axis=0),
                               atol=1e-4)


def _all_rows(path):
    from featx.store.read import load

    with load(path) as feats:
        return feats.X.astype(np.float64)


def test_train_adapt_to_reports_accuracy_with_and_without_adaptation(features_file, tmp_path,
                                                                     capsys):
    target = _shifted(tmp_path / "target.h5", features_file)
    out = tmp_path / "run"
    assert main(["train", str(features_file), "--head", "logreg,centroid", "--cv", "3",
                 "--n-jobs", "1", "--adapt-to", str(target), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"train 40, held out 80 (target {target}: 80 labelled of 80 rows)" in printed
    assert "; without adaptation 0." in printed
    summary = json.loads((out / "summary.json").read_text())
    assert {"test_accuracy", "unadapted_accuracy"} <= set(summary)
    assert (summary["n_train"], summary["n_test"]) == (40, 80)
    rows = list(csv.DictReader((out / "comparison.csv").open()))
    assert [r["head"] for r in rows] == ["logreg", "centroid"]
    assert all(float(r["test_accuracy"]) > float(r["unadapted_accuracy"]) for r in rows)
    model = bundle.load(out / "model.skops").model  # the head alone: it takes target features
    assert [name for name, _ in model.steps] == ["norm", "pca", "clf"]
    heldout = list(csv.DictReader((out / "heldout_predictions.csv").open()))
    assert len(heldout) == 80 and heldout[0]["path"] == "/target/0.jpg"


def test_a_target_of_another_configuration_or_without_labels_is_refused(features_file,
                                                                        tmp_path, capsys):
    other = write_features(tmp_path / "other.h5",
                           attrs={**SYNTHETIC_ATTRS, "weights_fingerprint": "sha256:other"})
    assert main(["train", str(features_file), "--adapt-to", str(other), "--cv", "2",
                 "--out", str(tmp_path / "a")]) == 2
    assert capsys.readouterr().err == (
        f"featx: error: {other}: the target features were computed otherwise than the "
        "source's: weights_fingerprint: file has 'sha256:other', the source has "
        "'sha256:synthetic'\n")
    unlabelled = _shifted(tmp_path / "unlabelled.h5", features_file, labelled=slice(0, 0))
    with pytest.raises(FeatxError, match="no labelled rows to evaluate on"):
        adapt(load_dataset(features_file), unlabelled)
