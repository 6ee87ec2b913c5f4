"""featx._text: aligned tables, and CSV files with \n line endings."""

from __future__ import annotations

from featx._text import format_table, write_csv


def test_format_table_aligns_columns_and_says_when_empty():
    assert format_table([{"a": 1, "bb": "x"}, {"a": 100, "bb": "yz"}]).splitlines() == [
        "a    bb", "1    x", "100  yz"]
    assert format_table([]) == "(empty)"


def test_write_csv_takes_every_key_or_the_given_columns(tmp_path):
    write_csv(tmp_path / "a.csv", [{"x": 1}, {"x": 2, "y": 3}])
    assert (tmp_path / "a.csv").read_text() == "x,y\n1,\n2,3\n"
    write_csv(tmp_path / "b.csv", [], ["path", "label"])
    assert (tmp_path / "b.csv").read_text() == "path,label\n"


def test_csv_lines_end_with_a_newline_alone(tmp_path):
    write_csv(tmp_path / "a.csv", [{"path": "a b.jpg", "label": "ants"}])
    assert (tmp_path / "a.csv").read_bytes() == b"path,label\na b.jpg,ants\n"

