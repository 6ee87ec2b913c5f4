"""When the feature file or the model is bad: one clear line from every command, and nothing
already computed is lost (a full disk: tests/store/test_journal.py)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

import featx
from featx.cli.main import main
from tests.helpers import embed_args


@pytest.fixture
def bad_feature_files(tmp_path, class_tree, tiny_model_file) -> dict[str, Path]:
    good = tmp_path / "good.h5"
    featx.embed(class_tree, good, backbone=str(tiny_model_file), layer="pool", progress=False)
    data = good.read_bytes()
    (tmp_path / "truncated.h5").write_bytes(data[: len(data) // 2])
    with h5py.File(tmp_path / "other.h5", "w") as h5:
        h5["x"] = np.arange(3)
    (tmp_path / "text.h5").write_text("not HDF5 at all\n")
    return {name: tmp_path / f"{name}.h5" for name in ("truncated", "other", "text")}


@pytest.mark.parametrize("kind, message", [
    ("truncated", "not a readable HDF5 feature file"),
    ("other", "HDF5 file is not a featx feature file"),
    ("text", "not a readable HDF5 feature file"),
])
def test_a_bad_feature_file_gives_one_line_from_info_check_and_embed(
        kind, message, bad_feature_files, class_tree, tiny_model_file, capsys):
    path = bad_feature_files[kind]
    before = path.read_bytes()
    assert main(["info", str(path)]) == 2
    assert _one_line(capsys.readouterr().err).startswith(f"featx: error: {path}: {message}")
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert _one_line(out).startswith(f"{path}: {message}")
    assert main(embed_args(class_tree, path, tiny_model_file)) == 2
    err = capsys.readouterr().err
    assert _one_line(err).startswith(f"featx: error: {path}: {message}")
    assert path.read_bytes() == before


def _one_line(text: str) -> str:
    assert text.count("\n") == 1, text
    return text.strip()


def test_nan_features_are_not_cached_and_the_user_is_told_why(class_tree, tmp_path, capsys,
                                                              nan_model_file):
    out = tmp_path / "f.h5"
    assert main(embed_args(class_tree, out, nan_model_file)) == 1
    printed = capsys.readouterr().out
    assert "embedded 0, reused 0, duplicates 0, failed 12" in printed
    assert printed.count("backbone returned NaN/Inf features (broken weights?); not cached") \
        == 12
    feats = featx.load(out)  # no features cached, every failure recorded
    assert len(feats) == 0 and len(feats.errors) == 12


@pytest.mark.parametrize("content, message", [
    ("path,label\na.jpg,ants\ncaf\u00e9.jpg,bees\n".encode("latin-1"),
     "line 3: not UTF-8 (byte 0xe9); save the list as UTF-8"),
    (b"path,label\na.jpg,an\0ts\n", "line 2: holds a NUL byte"),
    (b"path,label\na.jpg," + b"x" * 140_000 + b"\n", "line 2: a field is longer than 131072"),
    (b"path,label\na.jpg,ants\na.jpg,bees\n", "is listed on line 2 (label ants"),
])
def test_a_bad_list_is_one_line_naming_the_file_and_line(content, message, tmp_path, capsys,
                                                         tiny_model_file):
    listed = tmp_path / "list.csv"
    listed.write_bytes(content)
    assert main(embed_args(listed, tmp_path / "f.h5", tiny_model_file)) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"featx: error: list {listed}") and message in line
    assert not (tmp_path / "f.h5").exists()
