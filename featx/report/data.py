"""What a training report shows, as one value object: :class:`ReportData`.

``featx train`` and ``featx run`` fill one from their :class:`~featx.learn.train.Training`
(:meth:`ReportData.from_training`); any other caller (a notebook, another command) fills one
itself and passes it to :func:`featx.report.train_page.write_train_report`. Labels are class
names; ``scores`` are the head's per-image scores of the held-out images as
:mod:`featx.learn.predictions` names them (``proba_CLASS``, or ``decision_CLASS``).

>>> import numpy as np
>>> X = np.eye(4, dtype=np.float32)
>>> data = ReportData(title="demo", classes=["ants", "bees"],
...                   train_paths=["a.jpg", "b.jpg"], y_train=["ants", "bees"], X_train=X[:2],
...                   test_paths=["c.jpg", "d.jpg"], y_true=["ants", "bees"],
...                   y_pred=["ants", "ants"], X_test=X[2:],
...                   scores=[[0.9, 0.1], [0.7, 0.3]], score_names=["proba_ants", "proba_bees"])
>>> data.mistakes().tolist(), data.confidence()[1].tolist()
([1], [0.9, 0.7])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from featx.errors import FeatxError

MAPS = ("pca", "tsne", "umap")


@dataclass
class ReportData:
    """The pieces of a training a report shows.

    ``classes``: the rows and columns of the confusion matrix; ``comparison``: one row per head
    tried (``best``: the chosen one's index); ``held_out`` says how the held-out rows were
    chosen; ``config``: the feature configuration; ``notes``: warnings to show (leaks, untrained
    classes); ``predictions_file``: the CSV of every held-out prediction, relative to the page;
    ``learning_curve``: a PNG to show, if there is one; ``feature_map``: pca, tsne or umap.
    """

    title: str
    classes: Sequence[str]
    train_paths: Sequence[str]
    y_train: Sequence[str]
    X_train: np.ndarray  # noqa: N815 (scikit-learn naming)
    test_paths: Sequence[str]
    y_true: Sequence[str]
    y_pred: Sequence[str]
    X_test: np.ndarray  # noqa: N815
    scores: np.ndarray | None = None
    score_names: Sequence[str] = ()
    comparison: list[dict] = field(default_factory=list)
    best: int | None = None
    held_out: str = ""
    config: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    predictions_file: str = ""
    learning_curve: str | None = None
    feature_map: str = "pca"

    def __post_init__(self) -> None:
        for name in ("train_paths", "y_train", "test_paths", "y_true", "y_pred"):
            setattr(self, name, np.asarray([str(v) for v in getattr(self, name)], dtype=object))
        self.classes = [str(c) for c in self.classes]
        self.X_train = np.asarray(self.X_train, dtype=np.float32)
        self.X_test = np.asarray(self.X_test, dtype=np.float32)
        self.score_names = [str(n) for n in self.score_names]
        if self.scores is not None:
            self.scores = np.asarray(self.scores, dtype=float).reshape(len(self.y_true), -1)
        if self.feature_map not in MAPS:
            raise FeatxError(f"unknown feature map {self.feature_map!r}; choose from "
                             f"{', '.join(MAPS)}")
        train = {"train_paths": len(self.train_paths), "y_train": len(self.y_train),
                 "X_train": len(self.X_train)}
        held = {"test_paths": len(self.test_paths), "y_true": len(self.y_true),
                "y_pred": len(self.y_pred), "X_test": len(self.X_test)}
        if self.scores is not None:
            held["scores"] = len(self.scores)
            if self.scores.shape[1] != len(self.score_names):
                raise FeatxError(f"report data: {self.scores.shape[1]} score columns but "
                                 f"{len(self.score_names)} score names")
        for group in (train, held):
            if len(set(group.values())) > 1:
                raise FeatxError("report data of unequal lengths: "
                                 + ", ".join(f"{k} {v}" for k, v in group.items()))

    def confidence(self) -> tuple[str, np.ndarray | None]:
        """What the head's confidence in each held-out prediction is, and its values: the
        probability of the predicted class, else the decision score of the predicted class (with
        two classes, the distance from the boundary); ``None`` without scores."""
        if self.scores is None or not self.score_names:
            return "confidence", None
        names = self.score_names
        if len(names) == 1:  # decision_<second class>: positive for it, negative for the first
            return "decision margin", np.abs(self.scores[:, 0])
        column = {name.split("_", 1)[1]: i for i, name in enumerate(names)}
        picked = np.array([self.scores[i, column[p]] if p in column else np.nan
                           for i, p in enumerate(self.y_pred)])
        return ("probability" if names[0].startswith("proba_") else "decision score"), picked

    def mistakes(self) -> np.ndarray:
        """Indices of the held-out rows predicted wrongly, most confident first."""
        wrong = np.flatnonzero(self.y_true != self.y_pred)
        _, confidence = self.confidence()
        if confidence is not None:
            wrong = wrong[np.argsort(-np.nan_to_num(confidence[wrong], nan=-np.inf),
                                     kind="stable")]
        return wrong

    @classmethod
    def from_training(cls, training, feature_map: str = "pca",
                      learning_curve: str | None = None) -> ReportData:
        """The report of a finished :func:`featx.learn.train.train` (its
        :class:`~featx.learn.train.Training`): the chosen head's held-out predictions as train
        computed them, every head compared; the page goes beside train's outputs, where
        ``heldout_predictions.csv`` lists every held-out image."""
        from featx.learn.heads import describe
        from featx.learn.report import (
            HELDOUT_PREDICTIONS,
            best_params,
            comparison_row,
            untrained_note,
        )

        data, chosen = training.data, training.chosen
        table = training.heldout[chosen.head]
        notes = [*data.warnings, *filter(None, [untrained_note(data).strip()])]
        return cls(
            title=f"{os.path.basename(os.fspath(training.features))}: {chosen.head}",
            classes=data.labels, train_paths=data.paths_train, y_train=data.y_train,
            X_train=data.X_train, test_paths=table.paths, y_true=table.labels,
            y_pred=table.predicted, X_test=data.X_test, scores=table.scores,
            score_names=table.score_names,
            comparison=[{**comparison_row(r), "best_params": describe(best_params(r))}
                        for r in training.results],  # parameters as the log line names them
            best=next(i for i, r in enumerate(training.results) if r is chosen),
            held_out=data.held_out, config=dict(data.meta),
            notes=notes, predictions_file=HELDOUT_PREDICTIONS,
            learning_curve=learning_curve, feature_map=feature_map)

