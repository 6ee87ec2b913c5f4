"""Nothing is lost: `featx embed` killed (SIGKILL) or interrupted (SIGINT) at any moment, then
rerun, gives exactly the uninterrupted result; a second writer is refused while the first runs.

Kills are placed with the test hook ``FEATX_TEST_KILL_AT=POINT:N[:SIGNAL]`` (:mod:`featx._faults`).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import featx
from featx.backbones import build as backbone
from featx.store.check import problems
from tests.helpers import REPO, write_image

N_IMAGES = 200


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, tiny_model_file):
    """200 small images in two classes, the uninterrupted result, and a half-done file."""
    root = tmp_path_factory.mktemp("crash")
    images = root / "images"
    for i in range(N_IMAGES):
        write_image(images / ("a" if i % 2 else "b") / f"{i:03d}.jpg", seed=i, size=(40, 32))
    featx.embed(images, root / "reference.h5", backbone=str(tiny_model_file), layer="pool",
                batch_size=4, threads=1, progress=False)
    half = root / "half.h5"
    with pytest.MonkeyPatch.context() as mp:
        original, calls = backbone.Backbone.outputs, []

        def stop_halfway(self, pixels):
            calls.append(1)
            if len(calls) > N_IMAGES // 8:
                raise KeyboardInterrupt
            return original(self, pixels)

        mp.setattr(backbone.Backbone, "outputs", stop_halfway)
        featx.embed(images, half, backbone=str(tiny_model_file), layer="pool", batch_size=4,
                    threads=1, progress=False)
    return images, root / "reference.h5", half


def embed_cli(images: Path, out: Path, model: Path, kill_at: str = "", batch_size: int = 4,
              wait: bool = True, env: dict | None = None):
    """`featx embed` in a subprocess (the kill hook armed when ``kill_at`` is given): its
    completed process, or the running one when ``wait`` is False."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    if kill_at:
        env["FEATX_TEST_KILL_AT"] = kill_at
    args = [sys.executable, "-m", "featx", "embed", str(images), str(out), "--backbone",
            str(model), "--layer", "pool", "--batch-size", str(batch_size), "--threads", "1",
            "--quiet"]
    if wait:
        return subprocess.run(args, env=env, capture_output=True, text=True)
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def rerun(images: Path, out: Path, model: Path):
    return featx.embed(images, out, backbone=str(model), layer="pool", batch_size=4, threads=1,
                       progress=False)


def assert_same_as_reference(out: Path, reference: Path) -> None:
    got, want = featx.load(out), featx.load(reference)
    assert len(set(got.keys)) == len(got) == len(want) == N_IMAGES
    order_got, order_want = np.argsort(got.keys), np.argsort(want.keys)
    assert list(got.keys[order_got]) == list(want.keys[order_want])
    assert np.abs(got.X[order_got] - want.X[order_want]).max() <= 1e-6
    assert list(got.paths[order_got]) == list(want.paths[order_want])
    assert list(got.y[order_got]) == list(want.y[order_want])
    assert got.label_names == want.label_names and got.errors == []
    assert problems(out) == []


def parts_of(out: Path) -> list[Path]:
    return sorted(Path(f"{out}.parts").glob("part-*.h5"))


KILL_POINTS = [  # (point:n, start from a half-done file)
    ("lock:1", False),             # early: lock taken, nothing computed
    ("decode:10", False),          # mid-batch: decoding the third batch
    ("part:5", False),             # features computed, fifth part not yet written
    ("part-synced:7", False),      # part written and synced at its temporary name
    ("part-replaced:20", False),   # part renamed, before the next batch
    ("commit-copied:1", True),     # main file copied to the temporary merge file
    ("commit-merged:13", True),    # merge half-way through the parts (temporary file)
    ("commit-filled:1", True),     # merged file complete, not yet fsynced
    ("commit-synced:1", True),     # fsynced, not yet replacing the main file
    ("commit-replaced:1", False),  # main file replaced, parts not yet deleted
    ("commit-unlinked:9", True),   # some parts deleted, others left
    ("summary:1", False),          # everything committed, summary not printed
]


@pytest.mark.parametrize("kill_at, from_half", KILL_POINTS)
def test_sigkill_at_any_moment_then_rerun_gives_the_uninterrupted_result(
        kill_at, from_half, corpus, tmp_path, tiny_model_file):
    images, reference, half = corpus
    out = tmp_path / "out.h5"
    if from_half:
        shutil.copy(half, out)
    proc = embed_cli(images, out, tiny_model_file, kill_at)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    if out.exists():
        assert [p for p in problems(out) if "pending parts" not in p] == []
    result = rerun(images, out, tiny_model_file)
    assert result.failures == [] and not result.interrupted
    assert parts_of(out) == []
    assert_same_as_reference(out, reference)


@pytest.mark.parametrize("kill_at", [
    "compact-filled:1",    # the store compacted into a temporary file, not fsynced
    "compact-synced:1",    # fsynced, not yet replacing the base file
    "compact-replaced:1",  # base replaced, the delta it holds not yet deleted
])
def test_sigkill_while_a_small_store_is_compacted_then_rerun(kill_at, corpus, tmp_path,
                                                             tiny_model_file):
    images, reference, half = corpus
    out = tmp_path / "out.h5"
    shutil.copy(half, out)
    proc = embed_cli(images, out, tiny_model_file, kill_at)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert [p for p in problems(out) if "orphan shards" not in p] == []
    result = rerun(images, out, tiny_model_file)
    assert result.failures == [] and not result.interrupted
    assert problems(out) == [] and not Path(f"{out}.parts").exists()
    assert_same_as_reference(out, reference)


@pytest.mark.parametrize("kill_at", ["commit-replaced:1", "compact-synced:1", "compact-unlinked:2"])
def test_sigkill_while_a_large_store_merges_its_deltas_then_rerun(kill_at, corpus, tmp_path,
                                                                  tiny_model_file):
    """Kept in shards (as a store over :data:`SINGLE_FILE_BYTES` is), four runs of a quarter
    each write four deltas, merged two by two; killed anywhere, the reruns finish the job."""
    images, reference, _ = corpus
    out = tmp_path / "out.h5"
    quarters = tmp_path / "quarters"
    for q in range(4):
        for path in sorted(images.rglob("*.jpg"))[q::4]:
            target = quarters / str(q) / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target)
    env = {"FEATX_SINGLE_FILE_BYTES": "0"}
    killed = False
    for q in range(4):
        proc = embed_cli(quarters / str(q), out, tiny_model_file, kill_at, env=env)
        killed |= proc.returncode == -signal.SIGKILL
        if proc.returncode == -signal.SIGKILL:
            assert [p for p in problems(out) if "pending parts" not in p
                    and "orphan shards" not in p] == []
    assert killed
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FEATX_SINGLE_FILE_BYTES", "0")
        for q in range(4):
            assert not rerun(quarters / str(q), out, tiny_model_file).failures
    assert problems(out) == [] and parts_of(out) == []
    got, want = featx.load(out), featx.load(reference)
    assert sorted(got.keys) == sorted(want.keys)
    order_got, order_want = np.argsort(got.keys), np.argsort(want.keys)
    assert np.abs(got.X[order_got] - want.X[order_want]).max() <= 1e-6
    assert sorted(Path(p).name for p in got.paths) == sorted(Path(p).name for p in want.paths)


def test_ctrl_c_stops_cleanly_keeping_finished_batches(corpus, tmp_path, tiny_model_file):
    images, reference, _ = corpus
    out = tmp_path / "out.h5"
    proc = embed_cli(images, out, tiny_model_file, batch_size=1, wait=False)
    while proc.poll() is None and len(parts_of(out)) < 3:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate()
    assert proc.returncode == 130, stderr
    assert "interrupted; rerun to finish" in stdout
    kept = len(featx.load(out))
    assert 3 <= kept < N_IMAGES and problems(out) == []
    assert rerun(images, out, tiny_model_file).embedded == N_IMAGES - kept
    assert_same_as_reference(out, reference)


def test_ctrl_c_during_the_final_merge_leaves_the_main_file_and_the_parts(
        corpus, tmp_path, tiny_model_file):
    images, reference, half = corpus
    out = tmp_path / "out.h5"
    shutil.copy(half, out)
    proc = embed_cli(images, out, tiny_model_file, "commit-filled:1:SIGINT")
    assert proc.returncode == 130 and "featx: interrupted" in proc.stderr
    assert len(featx.load(out)) == len(featx.load(half)) and parts_of(out)
    assert rerun(images, out, tiny_model_file).embedded == 0
    assert_same_as_reference(out, reference)


def test_a_second_writer_is_refused_at_once_naming_the_holder(corpus, tmp_path,
                                                              tiny_model_file):
    images, reference, _ = corpus
    out = tmp_path / "out.h5"
    first = embed_cli(images, out, tiny_model_file, batch_size=1, wait=False)
    while first.poll() is None and not parts_of(out):
        time.sleep(0.01)
    first.send_signal(signal.SIGSTOP)  # hold the first run still while the second one starts
    try:
        second = embed_cli(images, out, tiny_model_file)
    finally:
        first.send_signal(signal.SIGCONT)
    first.communicate()
    assert second.returncode == 2
    err = second.stderr.strip()
    assert f"being written by another featx process (pid {first.pid} on " in err
    assert "\n" not in err
    assert first.returncode == 0
    assert_same_as_reference(out, reference)
