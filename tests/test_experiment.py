"""featx run: a TOML spec drives embed -> grid search -> evaluation -> report; every shipped
spec runs from a fresh clone or says in one line what it needs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from featx.backbones.registry import is_builtin
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


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_shipped_specs_use_built_in_backbones_so_they_share_caches_and_bundles(spec):
    loaded = load_spec(spec)
    names = loaded.search.backbones if loaded.search else [loaded.backbone["name"]]
    assert all(is_builtin(name) for name in names)


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_every_shipped_spec_runs_from_a_fresh_clone_or_stops_with_a_hint(spec, tmp_path,
                                                                         monkeypatch, capsys):
    clone = tmp_path / "clone"  # no ../shared beside it
    shutil.copytree(REPO / "pipelines", clone / "pipelines")
    monkeypatch.chdir(clone)
    loaded = load_spec(f"pipelines/{spec.name}")
    inside = (REPO / loaded.source).resolve().is_relative_to(REPO)
    if inside:  # runs from a fresh clone: its images are in the repository
        assert (REPO / loaded.source).is_dir() and not loaded.hint
        return
    assert main(["run", f"pipelines/{spec.name}", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(
        f"featx: error: [data] source {loaded.source} does not exist; this spec needs ")
    assert "../shared" in err and "pipelines/README.md" in err
    readme = (REPO / "pipelines" / "README.md").read_text().splitlines()
    assert any(spec.name in line and "needs ../shared" in line for line in readme)


def test_the_demo_spec_needs_no_extra_package():
    text = (REPO / "pipelines" / "demo.toml").read_text()
    assert "featx[lite0]" not in text and load_spec(REPO / "pipelines" / "demo.toml").backbone[
        "name"] == "efficientnet_lite0"


def test_unknown_keys_are_refused(tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text('output = "x"\n[data]\nsource = "d"\n[backbone]\nname = "vgg16"\n'
                    'layr = "block5_pool"\n')
    with pytest.raises(FeatxError, match="unknown key.*layr"):
        load_spec(spec)


def test_a_search_spec_runs_a_transfer_search(class_tree, tiny_model_file, tmp_path,
                                              monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("search.toml").write_text(f"""
output = "runs/search"
[data]
source = "{class_tree.relative_to(tmp_path)}"
[search]
backbones = ["{tiny_model_file}"]
layers = "conv,pool"
augments = ["none", "flip"]
heads = ["centroid"]
fuse = 0
cv = 2
repeats = 1
n_jobs = 1
""")
    assert main(["run", "search.toml", "--quiet"]) == 0
    summary = json.loads(Path("runs/search/summary.json").read_text())
    assert summary["candidates"] == 4 and summary["passes"] == 2
    assert Path("runs/search/model.skops").exists() and Path("runs/search/search.csv").exists()
    assert Path("runs/search/features.h5").exists()  # the cache featx search uses by default


@pytest.mark.parametrize("tables, message", [
    ('[train]\nheads = ["ridge"]\n[grid.logreg]\nclf__C = [1.0]\n',
     r"\[grid.logreg\] is for a head this spec does not search \(heads: ridge\)"),
    ('[train]\nheads = ["logreg"]\n[grid.logreg]\nclf__C = 1.0\n',
     "logreg: grid entry clf__C must be a non-empty list")])
def test_a_grid_the_spec_would_not_use_is_refused(tmp_path, tables, message):
    spec = tmp_path / "bad.toml"
    spec.write_text('output = "x"\n[data]\nsource = "d"\n[backbone]\nname = "vgg16"\n' + tables)
    with pytest.raises(FeatxError, match=message):
        load_spec(spec)


def test_a_search_spec_has_no_backbone_or_train_table(tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text('output = "x"\n[data]\nsource = "d"\n[search]\nbackbones = "vgg16"\n'
                    '[train]\ncv = 2\n')
    with pytest.raises(FeatxError, match=r"\[search\] replaces \[backbone\] and \[train\]"):
        load_spec(spec)
