"""featx.store.journal: one writer at a time, and a failing disk keeps every row already written."""

from __future__ import annotations

import errno
import os
import time
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
from tests.helpers import embed_args, write_image


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
    assert sorted(os.listdir(tmp_path)) == ["f.h5", "f.h5.parts", "images"]  # no lock litter

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


def test_a_symlinked_output_is_locked_as_its_target_and_stays_a_link(class_tree, tmp_path,
                                                                      tiny_model_file):
    real, link = tmp_path / "real.h5", tmp_path / "latest.h5"
    link.symlink_to(real)
    with journal.Journal(real), pytest.raises(FeatxError, match="being written by another"):
        featx.embed(class_tree, link, backbone=str(tiny_model_file), layer="pool",
                    progress=False)
    featx.embed(class_tree, link, backbone=str(tiny_model_file), layer="pool", progress=False)
    assert link.is_symlink() and len(featx.load(real)) == 12


def test_a_file_where_the_parts_folder_belongs_is_refused_before_embedding(
        class_tree, tmp_path, tiny_model_file, monkeypatch):
    from featx.backbones import build

    out = tmp_path / "f.h5"
    Path(f"{out}.parts").write_text("in the way")
    monkeypatch.setattr(build, "load_backbone", lambda config: pytest.fail("embedded"))
    with pytest.raises(FeatxError, match=r"f\.h5\.parts is in the way"):
        featx.embed(class_tree, out, backbone=str(tiny_model_file), layer="pool", progress=False)


FULL_DISK = """
import resource, sys
from featx.cli.main import main
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), int(sys.argv[1])))
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("limit", [10_000, 25_000])  # a part, then the commit, too large
def test_a_file_size_limit_is_one_line_and_the_rerun_completes(class_tree, tmp_path,
                                                               tiny_model_file, limit):
    """A real limit (RLIMIT_FSIZE: writes fail with EFBIG), no mock: exit 2 with one line,
    never a crash; the rows written are kept, and the rerun without the limit completes."""
    import subprocess
    import sys

    from tests.helpers import REPO

    for i in range(40):
        write_image(class_tree / "train" / "cats" / f"more{i}.jpg", seed=100 + i, size=(64, 64))
    out = tmp_path / "f.h5"
    proc = subprocess.run([sys.executable, "-c", FULL_DISK, str(limit),
                           *embed_args(class_tree, out, tiny_model_file, "--batch-size", "4")],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    err = proc.stderr.strip()
    assert err.startswith("featx: error: cannot ") and "File too large" in err
    assert "\n" not in err
    assert main(embed_args(class_tree, out, tiny_model_file)) == 0
    assert len(featx.load(out)) == 52 and problems(out) == []


def test_a_full_tmpfs_is_one_line_and_the_rerun_completes(class_tree, tmp_path, tiny_model_file):
    """A real full disk: a 200 kB tmpfs (skipped where mounting is not allowed)."""
    import subprocess
    import sys

    from tests.helpers import REPO

    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(disk)],
                             capture_output=True)
    if mounted.returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        for i in range(60):
            write_image(class_tree / "train" / "cats" / f"more{i}.jpg", seed=100 + i,
                        size=(64, 64))
        out = disk / "f.h5"
        proc = subprocess.run([sys.executable, "-m", "featx",
                               *embed_args(class_tree, out, tiny_model_file, "--batch-size", "4")],
                              cwd=REPO, capture_output=True, text=True)
        assert proc.returncode == 2, (proc.returncode, proc.stderr)
        err = proc.stderr.strip()
        assert "No space left on device" in err and "\n" not in err
        kept = [p for p in Path(f"{out}.parts").glob("part-*.h5")]
        assert kept
        subprocess.run(["mount", "-o", "remount,size=4m", str(disk)], check=True)
        assert main(embed_args(class_tree, out, tiny_model_file)) == 0
        assert len(featx.load(out)) == 72 and problems(out) == []
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def test_a_clean_run_leaves_only_the_feature_file(class_tree, tmp_path, tiny_model_file):
    featx.embed(class_tree, tmp_path / "f.h5", backbone=str(tiny_model_file), layer="pool",
                progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.h5", "images"]


def test_writers_queued_on_the_lock_each_get_it_in_turn(class_tree, tmp_path, tiny_model_file):
    """The lock file is unlinked at each release; waiting writers still take turns."""
    import threading

    out, order = tmp_path / "f.h5", []

    def write(i: int) -> None:
        with journal.Journal(out, lock_timeout=60):
            order.append(("in", i))
            time.sleep(0.05)
            order.append(("out", i))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [kind for kind, _ in order] == ["in", "out"] * 4
    assert not Path(f"{out}.lock").exists()
