"""featx on Dask: sharded embed equals a local run, survives a lost worker; joblib on Dask."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import featx
from featx._dask import connect, dask_backend
from featx.errors import FeatxError
from tests.helpers import REPO, write_image

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    """One two-process cluster for the module (each worker imports TensorFlow once)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        with distributed.Client(cluster) as opened:
            yield opened


class KillOnce(distributed.WorkerPlugin):
    """Make the first worker to reach its 2nd batch SIGKILL itself, mid-shard (once: ``marker``)."""

    def __init__(self, marker: str):
        self.marker = marker

    def setup(self, worker) -> None:
        from featx.backbones.build import Backbone

        self.original = original = Backbone.outputs
        calls, marker = itertools.count(1), self.marker

        def call(net, pixels):
            if next(calls) == 2 and _claim(marker):
                os.kill(os.getpid(), signal.SIGKILL)
            return original(net, pixels)

        Backbone.outputs = call

    def teardown(self, worker) -> None:
        from featx.backbones.build import Backbone

        Backbone.outputs = self.original


def _claim(marker: str) -> bool:
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
        return True
    except FileExistsError:
        return False


def embed_tiny(source, out, model, **options):
    options = {"layer": "pool", "batch_size": 2, "progress": False, **options}
    return featx.embed(source, out, backbone=str(model), **options)


def assert_same_rows(got_path: Path, want_path: Path) -> None:
    got, want = featx.load(got_path), featx.load(want_path)
    assert len(set(got.keys)) == len(got) == len(want)
    assert sorted(got.keys) == sorted(want.keys)
    g, w = np.argsort(got.keys), np.argsort(want.keys)
    np.testing.assert_allclose(got.X[g], want.X[w], atol=1e-6, rtol=0)
    assert list(got.paths[g]) == list(want.paths[w])
    assert list(got.split[g]) == list(want.split[w])
    assert [got.label_names[i] for i in got.y[g]] == [want.label_names[i] for i in want.y[w]]
    assert sorted((f.path, f.reason) for f in got.errors) == sorted(
        (f.path, f.reason) for f in want.errors)


def test_workers_import_featx_from_this_checkout(client):
    files = client.run(lambda: __import__("featx").__file__)
    assert len(files) == 2
    assert all(Path(f).is_relative_to(REPO) for f in files.values())


def test_sharded_run_equals_a_local_run_row_for_row(class_tree, tmp_path, tiny_model_file,
                                                    client):
    (class_tree / "train" / "cats" / "bad.jpg").write_text("not an image")
    local = embed_tiny(class_tree, tmp_path / "local.h5", tiny_model_file)
    result = embed_tiny(class_tree, tmp_path / "dask.h5", tiny_model_file, client=client,
                        shard_size=5)
    assert (result.embedded, len(result.failures)) == (local.embedded, 1) == (12, 1)
    assert "not an image" in result.failures[0].reason
    assert_same_rows(tmp_path / "dask.h5", tmp_path / "local.h5")
    assert not list(Path(f"{tmp_path / 'dask.h5'}.parts").glob("part-*"))
    rerun = embed_tiny(class_tree, tmp_path / "dask.h5", tiny_model_file, client=client)
    assert (rerun.embedded, rerun.reused) == (0, 12)


def test_several_layers_on_dask_equal_a_local_run_for_each_layer(class_tree, tmp_path,
                                                                 tiny_model_file, client):
    local = embed_tiny(class_tree, tmp_path / "local.h5", tiny_model_file, layer="conv,pool")
    result = embed_tiny(class_tree, tmp_path / "dask.h5", tiny_model_file, layer="conv,pool",
                        client=client, shard_size=5)
    assert result.embedded == local.embedded == 12 and result.configs == local.configs
    for name in local.configs:
        got = featx.load(tmp_path / "dask.h5", config=name)
        want = featx.load(tmp_path / "local.h5", config=name)
        g, w = np.argsort(got.keys), np.argsort(want.keys)
        np.testing.assert_allclose(got.X[g], want.X[w], atol=1e-6, rtol=0)


def test_cli_scheduler_option_runs_on_that_cluster(class_tree, tmp_path, tiny_model_file,
                                                   client, capsys):
    from featx.cli.main import main

    code = main(["embed", str(class_tree), str(tmp_path / "f.h5"), "--backbone",
                 str(tiny_model_file), "--layer", "pool", "--quiet", "--scheduler",
                 client.scheduler.address, "--shard-size", "5"])
    assert code == 0 and "embedded 12," in capsys.readouterr().out
    assert len(featx.load(tmp_path / "f.h5")) == 12


def test_on_error_raise_stops_with_the_workers_error(class_tree, tmp_path, tiny_model_file,
                                                     client):
    (class_tree / "train" / "cats" / "bad.jpg").write_text("not an image")
    with pytest.raises(FeatxError, match="bad.jpg"):
        embed_tiny(class_tree, tmp_path / "f.h5", tiny_model_file, client=client,
                   on_error="raise")


def test_shards_already_in_parts_are_not_sent_again(class_tree, tmp_path, tiny_model_file,
                                                    client):
    out = tmp_path / "f.h5"
    embed_tiny(class_tree / "train", out, tiny_model_file, client=client)
    result = embed_tiny(class_tree, out, tiny_model_file, client=client, shard_size=4)
    assert (result.embedded, result.reused) == (6, 6)
    assert len(featx.load(out)) == 12


def test_a_worker_killed_mid_shard_costs_only_a_retry(tmp_path, tiny_model_file, client):
    images = tmp_path / "many"
    for i in range(40):
        write_image(images / ("a" if i % 2 else "b") / f"{i:03d}.jpg", seed=i)
    embed_tiny(images, tmp_path / "local.h5", tiny_model_file)
    pids = set(client.run(os.getpid).values())
    marker = tmp_path / "killed"
    client.register_plugin(KillOnce(str(marker)), name="kill-once")
    try:
        result = embed_tiny(images, tmp_path / "dask.h5", tiny_model_file, client=client,
                            shard_size=6)
    finally:
        client.unregister_worker_plugin("kill-once")
    client.wait_for_workers(2)
    assert marker.exists() and set(client.run(os.getpid).values()) != pids
    assert (result.embedded, result.failures) == (40, [])
    assert_same_rows(tmp_path / "dask.h5", tmp_path / "local.h5")


def test_grid_search_on_dask_finds_the_local_best_parameters():
    from joblib.parallel import get_active_backend
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 16))
    y = (X[:, 0] + 0.5 * rng.normal(size=120) > 0).astype(int)
    grid = {"C": [0.001, 0.01, 0.1, 1.0, 10.0], "fit_intercept": [True, False]}
    local = GridSearchCV(LogisticRegression(), grid, cv=3).fit(X, y)
    with dask_backend(workers=2) as dask_client:
        assert type(get_active_backend()[0]).__name__ == "DaskDistributedBackend"
        on_dask = GridSearchCV(LogisticRegression(), grid, cv=3, n_jobs=-1).fit(X, y)
        assert dask_client.scheduler_info()["workers"]
    assert on_dask.best_params_ == local.best_params_
    np.testing.assert_allclose(on_dask.cv_results_["mean_test_score"],
                               local.cv_results_["mean_test_score"])


def test_cli_train_on_the_scheduler_matches_a_local_train(features_file, tmp_path, client):
    from featx.cli.main import main

    assert main(["train", str(features_file), "--out", str(tmp_path / "local")]) == 0
    assert main(["train", str(features_file), "--out", str(tmp_path / "dask"),
                 "--scheduler", client.scheduler.address]) == 0
    local, on_dask = (json.loads((tmp_path / d / "summary.json").read_text())
                      for d in ("local", "dask"))
    assert on_dask["best_params"] == local["best_params"]
    assert on_dask["test_accuracy"] == local["test_accuracy"]


def test_without_dask_options_the_backend_is_local():
    with dask_backend() as client:
        assert client is None


def test_client_and_workers_together_are_refused():
    with pytest.raises(FeatxError, match="either"), connect("tcp://127.0.0.1:1", workers=2):
        pass


def test_help_and_a_local_embed_do_not_import_dask(class_tree, tmp_path, tiny_model_file):
    code = ("import sys, featx.cli.main; featx.cli.main.build_parser().format_help(); "
            "featx.embed(sys.argv[1], sys.argv[2], backbone=sys.argv[3], layer='pool', "
            "progress=False); assert 'dask' not in sys.modules and 'distributed' not in "
            "sys.modules, 'dask imported'")
    subprocess.run([sys.executable, "-c", code, str(class_tree), str(tmp_path / "f.h5"),
                    str(tiny_model_file)], check=True)
