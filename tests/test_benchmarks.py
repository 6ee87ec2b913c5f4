"""Benchmarks cannot rot: every script in benchmarks/ imports and runs in its smoke mode, printing
its one comparable summary line last."""

from __future__ import annotations

import importlib.util
import re

import pytest

from tests.helpers import REPO

SCRIPTS = sorted((REPO / "benchmarks").glob("*.py"))
LINES = {
    "heads": r"heads featx_all=[\d.]+s best_heldout=[\d.]+ \(\S+\) chosen=\S+:[\d.]+ "
             r"plain_logreg5=[\d.]+s ratio=[\d.]+ library_warnings=0",
}
"""What the summary line of some scripts must say in full (no library warning, for heads)."""


def test_every_benchmark_script_is_covered():
    assert {p.stem for p in SCRIPTS} >= {"embed_throughput", "scale", "grid_search", "threads",
                                         "dask_scaling", "finetune", "coral_shift", "heads",
                                         "multi_layer"}


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_benchmark_runs_in_smoke_mode(script, monkeypatch, capsys):
    if script.stem == "dask_scaling":
        pytest.importorskip("distributed")
    monkeypatch.syspath_prepend(str(script.parent))
    spec = importlib.util.spec_from_file_location(f"benchmark_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--smoke"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines and lines[-1].startswith(f"{script.stem} "), lines[-3:]
    assert re.fullmatch(LINES.get(script.stem, ".*"), lines[-1]), lines[-1]
