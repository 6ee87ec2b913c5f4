"""featx.store.journal: one writer at a time, and a failing disk keeps every row already written."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

import featx
from featx.backbones.config import resolve
from featx.cli.main import main
from featx.errors import FeatxError
from featx.store import journal, shards
from featx.store.check import problems
from featx.store.tables import Table
from featx.store.write import Batch
from tests.helpers import embed_args


def disk_full_after(writes: int, monkeypatch) -> None:
    """Every HDF5 file write after the first ``writes`` fails with ENOSPC once filled."""
    real, calls = shards.write_atomic, []

    def write(final, fill, *args, **kwargs):
        calls.append(final)
        if len(calls) <= writes:
            return real(final, fill, *args, **kwargs)

        def fill_then_fail(h5):
            fill(h5)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(final))

        return real(final, fill_then_fail, *args, **kwargs)

    monkeypatch.setattr(shards, "write_atomic", write)


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
    assert [content_rows(p) for p in parts] == [2, 2]
    assert sorted(os.listdir(tmp_path)) == ["f.h5", "f.h5.lock", "f.h5.parts", "images"]

    monkeypatch.undo()
    assert main(embed_args(class_tree, out, tiny_model_file)) == 0
    assert "embedded 2, reused 10" in capsys.readouterr().out
    assert len(featx.load(out)) == 12 and problems(out) == []


def test_a_failing_part_write_names_the_part_and_the_cause(class_tree, tmp_path,
                                                           tiny_model_file, monkeypatch):
    def refuse(final, fill, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(final))

    monkeypatch.setattr(shards, "write_atomic", refuse)
    config = resolve(str(tiny_model_file), layer="pool", input_size=32)
    batch = Batch(["0" * 32], np.zeros((1, 8), np.float32), Table.empty("failed"))
    with journal.Journal(tmp_path / "f.h5") as jr, pytest.raises(
            FeatxError, match=r"cannot write .*part-.*\.h5: No space left on device"):
        jr.write_part(config.attrs(), batch)


def test_a_second_writer_is_refused_naming_the_holder(class_tree, tmp_path, tiny_model_file):
    out = tmp_path / "f.h5"
    with journal.Journal(out), pytest.raises(FeatxError, match=f"pid {os.getpid()}"):
        featx.embed(class_tree, out, backbone=str(tiny_model_file), layer="pool",
                    progress=False)


def content_rows(part: Path) -> int:
    """How many content rows a part file holds (over its configurations)."""
    from featx.store.read import Shard, open_file

    with open_file(part) as h5:
        return sum(len(group["content"]["key"]) for group in Shard(h5).configs.values())
