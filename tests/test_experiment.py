"""featx run: a TOML spec drives embed -> grid search -> evaluation -> report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from featx.cli.main import main
from featx.errors import FeatxError
from featx.experiment import load_spec
from tests.helpers import REPO, SHARED, needs_shared

SPECS = sorted((REPO / "pipelines").glob("*.toml"))


def test_run_embeds_searches_and_reports(class_tree, tiny_model_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("exp.toml").write_text(f"""
output = "runs/tiny"
[data]
source = "{class_tree.relative_to(tmp_path)}"
[backbone]
name = "{tiny_model_file}"
layer = "pool"
[train]
heads = ["logreg", "centroid"]
cv = 3
n_jobs = 1
[grid.logreg]
clf__C = [0.1, 1.0]
""")
    assert main(["run", "exp.toml", "--quiet"]) == 0
    summary = json.loads(Path("runs/tiny/summary.json").read_text())
    assert summary["n_train"] == 6 and summary["n_test"] == 6
    assert [row["head"] for row in summary["comparison"]] == ["logreg", "centroid"]
    assert Path("runs/tiny/features.h5").exists() and Path("runs/tiny/model.skops").exists()


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_shipped_specs_are_valid(spec):
    loaded = load_spec(spec)
    assert loaded.heads and loaded.output.startswith("runs/")


@needs_shared
@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_shipped_specs_sources_exist_from_the_repository_root(spec, monkeypatch):
    monkeypatch.chdir(REPO)
    source = Path(load_spec(spec).source).resolve()
    assert source in {(SHARED / "data" / "hymenoptera").resolve(), (REPO / "data" / "demo")}


def test_unknown_keys_are_refused(tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text('output = "x"\n[data]\nsource = "d"\n[backbone]\nname = "vgg16"\n'
                    'layr = "block5_pool"\n')
    with pytest.raises(FeatxError, match="unknown key.*layr"):
        load_spec(spec)
