"""When the disk, the feature file or the model is bad: one clear line, and nothing already
computed is lost."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import h5py
import numpy as np
import pytest

import featx
from featx.backbones.config import resolve
from featx.cli.main import main
from featx.errors import FeatxError
from featx.store import journal
from featx.store import read as store
from featx.store.check import problems


def embed_args(source: Path, out: Path, model: Path, *extra: str) -> list[str]:
    return ["embed", str(source), str(out), "--backbone", str(model), "--layer", "pool",
            "--quiet", *extra]


def disk_full_after(writes: int, monkeypatch) -> None:
    """Every HDF5 file write after the first ``writes`` fails with ENOSPC once filled."""
    real, calls = journal._write_atomic, []

    def write(final, fill, *args, **kwargs):
        calls.append(final)
        if len(calls) <= writes:
            return real(final, fill, *args, **kwargs)

        def fill_then_fail(h5):
            fill(h5)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(final))

        return real(final, fill_then_fail, *args, **kwargs)

    monkeypatch.setattr(journal, "_write_atomic", write)


def test_disk_full_is_one_line_keeps_every_written_row_and_the_rerun_completes(
        class_tree, tmp_path, tiny_model_file, monkeypatch, capsys):
    out = tmp_path / "f.h5"
    assert main(embed_args(class_tree / "train", out, tiny_model_file)) == 0
    capsys.readouterr()
    disk_full_after(2, monkeypatch)
    assert main(embed_args(class_tree, out, tiny_model_file, "--batch-size", "2")) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"featx: error: cannot update {out}: No space left on device")
    assert "\n" not in err
    assert len(featx.load(out)) == 6
    assert [p for p in problems(out) if "pending parts" not in p] == []
    parts = sorted(Path(f"{out}.parts").iterdir())
    assert [len(featx.load(p)) for p in parts] == [2, 2]
    assert sorted(os.listdir(tmp_path)) == ["f.h5", "f.h5.lock", "f.h5.parts", "images"]

    monkeypatch.undo()
    assert main(embed_args(class_tree, out, tiny_model_file)) == 0
    assert "embedded 2, reused 10" in capsys.readouterr().out
    assert len(featx.load(out)) == 12 and problems(out) == []


def test_a_failing_part_write_names_the_part_and_the_cause(class_tree, tmp_path,
                                                           tiny_model_file, monkeypatch):
    def refuse(final, fill, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(final))

    monkeypatch.setattr(journal, "_write_atomic", refuse)
    config = resolve(str(tiny_model_file), layer="pool")
    rows = store.Rows(np.zeros((1, 8), np.float32), ["/p.jpg"], [None], [""], ["k"], [1], [1])
    with journal.Journal(tmp_path / "f.h5", config) as jr, pytest.raises(
            FeatxError, match=r"cannot write .*part-.*\.h5: No space left on device"):
        jr.write_part({}, rows)


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
    assert not out.exists()
