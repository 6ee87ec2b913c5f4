"""featx.report.data: what a report shows, as one value, filled from a finished training without
predicting again."""

from __future__ import annotations

import numpy as np
import pytest

from featx.errors import FeatxError
from featx.learn.train import train
from featx.report.data import ReportData


def _data(**kwargs) -> ReportData:
    X = np.eye(4)
    values = {"title": "t", "classes": ["ants", "bees"], "train_paths": ["a", "b"],
              "y_train": ["ants", "bees"], "X_train": X[:2], "test_paths": ["c", "d"],
              "y_true": ["ants", "bees"], "y_pred": ["bees", "ants"], "X_test": X[2:]}
    return ReportData(**{**values, **kwargs})


def test_confidence_is_the_score_of_the_predicted_class():
    proba = _data(scores=[[0.3, 0.7], [0.6, 0.4]], score_names=["proba_ants", "proba_bees"])
    assert proba.confidence()[0] == "probability"
    assert proba.confidence()[1].tolist() == [0.7, 0.6]
    assert proba.mistakes().tolist() == [0, 1]  # most confident mistake first
    margin = _data(scores=[[0.2], [-1.5]], score_names=["decision_bees"])
    assert margin.confidence()[0] == "decision margin"
    assert margin.confidence()[1].tolist() == [0.2, 1.5] and margin.mistakes().tolist() == [1, 0]
    assert _data().confidence() == ("confidence", None)


def test_unequal_columns_and_unknown_maps_are_refused():
    with pytest.raises(FeatxError, match="report data of unequal lengths: test_paths 2, "
                                         "y_true 2, y_pred 1"):
        _data(y_pred=["ants"])
    with pytest.raises(FeatxError, match="2 score columns but 1 score names"):
        _data(scores=[[0.3, 0.7], [0.6, 0.4]], score_names=["proba_ants"])
    with pytest.raises(FeatxError, match="unknown feature map 'mds'; choose from pca, tsne"):
        _data(feature_map="mds")


def test_a_training_gives_its_report_from_the_held_out_predictions_it_computed(features_file,
                                                                               tmp_path):
    trainings = []
    train(features_file, ["logreg", "knn"], tmp_path / "run", cv=2, n_jobs=1,
          log=lambda _: None, report=lambda t: trainings.append(t) or "page")
    (training,) = trainings
    for result in training.results:  # drawing the report predicts nothing again
        result.search.best_estimator_.predict = None
        result.search.best_estimator_.predict_proba = None
    data = ReportData.from_training(training)
    table = training.heldout[training.chosen.head]
    assert data.test_paths.tolist() == table.paths == training.data.paths_test
    assert data.y_pred.tolist() == table.predicted and data.score_names == table.score_names
    assert data.train_paths.tolist() == training.data.paths_train
    assert len(data.train_paths) == len(data.X_train) == 40
    assert [row["head"] for row in data.comparison] == ["logreg", "knn"]
    assert data.comparison[data.best]["head"] == training.chosen.head
    assert data.predictions_file == "heldout_predictions.csv"
    assert (tmp_path / "run" / data.predictions_file).is_file()

