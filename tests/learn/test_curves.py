"""featx learning-curve: held-out accuracy against labelled examples per class."""

from __future__ import annotations

import csv

from featx.cli.main import main
from featx.learn.curves import learning_curve
from featx.learn.dataset import load_dataset


def test_learning_curve_rows_have_mean_and_spread_per_shot_count(features_file):
    rows = learning_curve(load_dataset(features_file), "knn", shots=(1, 5, None), draws=4)
    assert [(r["shots"], r["n_train"], r["draws"]) for r in rows] == [
        ("1", 2, 4), ("5", 10, 4), ("all", 40, 1)]
    assert all(0 <= r["std"] <= r["mean"] <= 1 for r in rows)


def test_learning_curve_command_prints_and_writes_table_and_plot(features_file, tmp_path,
                                                                 capsys):
    out = tmp_path / "lc"
    assert main(["learning-curve", str(features_file), "--head", "centroid", "--draws", "3",
                 "--out", str(out)]) == 0
    rows = list(csv.DictReader((out / "learning_curve.csv").open()))
    assert [r["shots"] for r in rows] == ["1", "2", "5", "10", "20", "all"]
    assert (out / "learning_curve.png").stat().st_size > 0
    assert "shots" in capsys.readouterr().out
