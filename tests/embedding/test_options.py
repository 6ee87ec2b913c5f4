"""featx.embedding.options: the run options, checked when made; decode threads by default."""

from __future__ import annotations

import os

import pytest

from featx.embedding.options import RunOptions, decode_threads
from featx.errors import FeatxError


def test_decode_threads_default_to_the_cores_and_follow_featx_threads(monkeypatch):
    monkeypatch.delenv("FEATX_THREADS", raising=False)
    assert decode_threads() == min(32, os.cpu_count())
    monkeypatch.setenv("FEATX_THREADS", "3")
    assert decode_threads() == 3
    monkeypatch.setenv("FEATX_THREADS", "many")
    with pytest.raises(FeatxError, match="FEATX_THREADS"):
        decode_threads()


@pytest.mark.parametrize("options, message", [
    ({"on_error": "ignore"}, "on_error must be one of skip, raise, got 'ignore'"),
    ({"batch_size": 0}, "batch size must be at least 1, got 0"),
    ({"threads": -1}, "threads must be at least 1, got -1"),
    ({"threads": 0}, "threads must be at least 1, got 0"),
    ({"shard_size": 0}, "shard size must be at least 1, got 0"),
])
def test_bad_run_options_are_refused_when_made(options, message):
    with pytest.raises(FeatxError, match=message):
        RunOptions(**options)


def test_threads_default_to_decode_threads(monkeypatch):
    monkeypatch.setenv("FEATX_THREADS", "3")
    assert RunOptions().with_threads().threads == 3
    assert RunOptions(threads=5).with_threads().threads == 5
