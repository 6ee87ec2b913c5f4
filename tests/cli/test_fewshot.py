"""featx fewshot on the command line: a table of means and intervals, fewshot.csv in --out,
the same numbers for the same seed, one-line errors."""

from __future__ import annotations

import csv

import pytest

from featx.cli.main import main
from featx.learn import fewshot


def test_fewshot_command_prints_intervals_and_writes_csv(features_file, tmp_path, capsys):
    args = ["fewshot", str(features_file), "--ways", "2", "--shots", "1,5", "--episodes", "40",
            "--out", str(tmp_path / "run")]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert f"{features_file}: 80 images (every labelled image), 2 classes" in first
    assert "±" in first and "simpleshot" in first
    rows = list(csv.DictReader((tmp_path / "run" / "fewshot.csv").open()))
    assert [r["shots"] for r in rows] == ["1"] * (len(rows) // 2) + ["5"] * (len(rows) // 2)
    assert main(args) == 0
    assert capsys.readouterr().out == first  # same seed, same numbers


def test_fewshot_command_errors_are_one_line(features_file, tmp_path, capsys):
    out = ["--out", str(tmp_path / "run")]
    assert main(["fewshot", str(features_file), *out]) == 2
    assert main(["fewshot", str(features_file), "--ways", "2", "--split", "test", *out]) == 2
    with pytest.raises(SystemExit) as parser_exit:
        main(["fewshot", str(features_file), "--shots", "0,5", *out])
    assert parser_exit.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("featx: error: 5-way 1-shot episodes need 5 classes")
    assert err[1] == f"featx: error: {features_file}: no labelled rows in split 'test'"
    assert err[2].startswith("featx: error: argument --shots: expected whole numbers")
    assert not (tmp_path / "run").exists()


def test_the_command_defaults_are_those_of_the_module():
    from featx.cli import fewshot as command

    assert (command.WAYS, command.SHOTS, command.QUERIES, command.EPISODES) == (
        fewshot.WAYS, fewshot.SHOTS, fewshot.QUERIES, fewshot.EPISODES)
