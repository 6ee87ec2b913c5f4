"""featx.learn.transfer: the transfer search over configurations and heads, its cost up front,
the choice by CV score alone, the held-out score of the chosen pair, fusion and the bundle."""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import replace

import pytest

from featx.backbones.config import FeatureConfig, resolve
from featx.errors import FeatxError
from featx.learn import transfer
from featx.learn.bundle import load as load_bundle
from featx.learn.predict import predict
from featx.learn.transfer import Space, best, describe, estimate, fusions, run_search
from featx.store.read import configs


@pytest.fixture
def space(tiny_model_file):
    return Space(backbones=(str(tiny_model_file),), layers="conv,pool",
                 augments=("none", "flip"), heads=("centroid", "logreg"))


SMALL_GRID = {"logreg": {"clf__C": [0.1, 10.0], "norm": ["l2"]}}


def quiet(line):
    return None


def test_configurations_are_grouped_by_forward_pass(tiny_model_file):
    space = Space(backbones=(str(tiny_model_file),), layers="conv,pool", poolings=("avg", "max"),
                  resizes=("squash", "pad"), augments=("none", "flip", "ten-crop"))
    passes = space.passes()
    assert len(passes) == 2 * 3                       # resize x augmentation
    for group in passes:
        assert [(c.layer, c.pooling) for c in group] == [
            ("conv", "avg"), ("pool", "avg"), ("conv", "max"), ("pool", "max")]
        assert len({c.forward_pass() for c in group}) == 1


def test_auto_layers_of_each_backbone_come_from_the_registry():
    space = Space(backbones=("resnet50", "vgg16"), weights=None)
    assert [[c.layer for c in configs] for configs in space.passes()] == [
        ["conv2_block3_out", "conv3_block4_out", "conv4_block6_out", "conv5_block3_out"],
        ["block2_pool", "block3_pool", "block4_pool", "block5_pool"]]


@pytest.mark.parametrize("change, message", [
    ({"heads": ("logreg", "forest")}, "unknown head 'forest'"),
    ({"resizes": ("squash", "squash")}, "resizes must be listed once each"),
    ({"augments": ("mirror",)}, "augment must be one of"),
    ({"backbones": ()}, "at least one backbone"),
    ({"fuse": -1}, "fuse must be 0 or more"),
])
def test_bad_search_options_are_one_line_errors(space, change, message):
    with pytest.raises(FeatxError, match=message):
        replace(space, **change).passes()


def test_the_cost_is_counted_before_anything_runs(space, class_tree, tmp_path):
    cost = estimate(space, class_tree, tmp_path / "cache")
    assert (cost.images, len(cost.passes), len(cost.configs), cost.to_embed) == (12, 2, 4, 24)
    assert cost.splits == {"train": 6, "val": 6}
    text = cost.report()
    assert "12 images (train 6, val 6); 4 configurations in 2 forward passes" in text
    assert ("cached: 0 of 24 images x passes; to embed: 24 images in 2 forward passes (36 "
            "through a backbone") in text


def test_a_dry_run_prints_the_cost_and_writes_nothing(space, class_tree, tmp_path):
    lines = []
    report = run_search(space, class_tree, tmp_path / "out", dry_run=True, log=lines.append)
    assert report.candidates == [] and report.chosen is None
    assert "4 configurations in 2 forward passes" in lines[0]
    assert not (tmp_path / "out").exists()


def test_search_writes_table_plot_bundle_and_scores_the_chosen_pair_once(
        space, class_tree, tmp_path, monkeypatch):
    seen_rows = []
    real = transfer.search_heads

    def spy(heads, X, y, **options):  # noqa: N803
        seen_rows.append(len(y))
        return real(heads, X, y, **options)

    monkeypatch.setattr(transfer, "search_heads", spy)
    out = tmp_path / "out"
    report = run_search(space, class_tree, out, cv=2, repeats=2, grids=SMALL_GRID, log=quiet,
                        progress=False)
    assert set(seen_rows) == {6}                      # training rows only, every candidate
    # 4 configurations x 2 heads, then the 3 pairs of the 3 best configurations x 2 heads
    assert len(report.candidates) == 4 * 2 + 3 * 2
    assert report.chosen is best(report.candidates)
    top = max(report.candidates, key=lambda c: c.cv_score)
    assert report.chosen.cv_score >= top.cv_score - top.cv_sem
    assert report.n_test == 6 and report.held_out == "split 'val'"
    for name in ("search.csv", "search.png", "model.skops", "summary.json", "chosen"):
        assert (out / name).exists(), name
    with open(out / "search.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(report.candidates)
    assert [r["chosen"] for r in rows].count("*") == 1
    assert set(rows[0]) >= {"configuration", "head", "cv_score", "cv_std", "seconds"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["test_accuracy"] == report.test_accuracy
    assert summary["n_train"] == 6


def test_held_out_copies_of_training_images_are_warned_about_or_dropped(space, class_tree,
                                                                         tmp_path):
    shutil.copyfile(class_tree / "train" / "cats" / "cats0.jpg",
                    class_tree / "val" / "cats" / "copy.jpg")
    one = replace(space, layers="pool", augments=("none",), heads=("centroid",), fuse=0)
    lines = []
    report = run_search(one, class_tree, tmp_path / "out", cv=2, repeats=1, log=lines.append,
                        progress=False)
    assert report.n_test == 7
    assert any(line.startswith("warning: held-out images with an exact copy among the "
                               "training images: 1") for line in lines)
    dropped = run_search(one, class_tree, tmp_path / "out", cv=2, repeats=1, log=quiet,
                         progress=False, drop_leaks=True)
    assert dropped.n_test == 6


@pytest.mark.parametrize("options, message", [
    ({"scoring": "acuracy"}, "unknown scoring 'acuracy'"),
    ({"n_jobs": 0}, "n_jobs must be a positive number"),
    ({"cv": 1}, "cv must be a whole number of folds, at least 2"),
    ({"repeats": 0}, "repeats must be a whole number of shuffles, at least 1")])
def test_bad_cross_validation_options_are_refused_before_anything_is_embedded(
        space, class_tree, tmp_path, options, message):
    with pytest.raises(FeatxError, match=message):
        run_search(space, class_tree, tmp_path / "out", log=quiet, progress=False, **options)
    assert not (tmp_path / "out").exists()


def test_a_candidate_whose_cv_score_is_nan_is_never_chosen(space):
    configs = [c for p in space.passes() for c in p]
    failed, scored = _fake((configs[0],), float("nan"), 4), _fake((configs[1],), 0.6)
    assert best([failed, scored]) is scored and best([scored, failed]) is scored
    assert fusions([failed, scored], 2) == [(configs[1], configs[0])]


def test_a_rerun_embeds_nothing_and_finds_everything_cached(space, class_tree, tmp_path):
    run_search(replace(space, fuse=0), class_tree, tmp_path / "out", cv=2, repeats=1,
               grids=SMALL_GRID, log=quiet, progress=False)
    cost = estimate(space, class_tree, tmp_path / "out" / "features.h5")
    assert cost.to_embed == 0 and all(p.cached == 12 for p in cost.passes)
    assert "to embed: 0 images in 0 forward passes" in cost.report()


def test_predict_with_the_chosen_bundle_reproduces_the_held_out_accuracy(space, class_tree,
                                                                         tmp_path):
    report = run_search(space, class_tree, tmp_path / "out", cv=2, repeats=1, grids=SMALL_GRID,
                        log=quiet, progress=False)
    model = load_bundle(tmp_path / "out" / "model.skops")
    assert [c.layer for c in model.feature_configs()] == [c.layer for c in report.chosen.configs]
    preds = predict(tmp_path / "out" / "model.skops", class_tree / "val")
    assert preds.accuracy() == pytest.approx(report.test_accuracy)


def test_a_fused_bundle_embeds_new_images_with_both_configurations(class_tree, tmp_path,
                                                                   tiny_model_file):
    space = Space(backbones=(str(tiny_model_file),), layers="conv,pool", heads=("logreg",),
                  fuse=2)
    report = run_search(space, class_tree, tmp_path / "out", cv=2, repeats=1, grids=SMALL_GRID,
                        log=quiet, progress=False)
    fused = [c for c in report.candidates if c.fused]
    assert len(fused) == 1 and fused[0].dim == 8 + 8
    # choose the fused pair whatever the scores, as the search would if it were best
    report.chosen = fused[0]
    cache = tmp_path / "out" / "features.h5"
    stored = configs(cache)
    transfer._finish(report, {FeatureConfig.from_attrs(attrs): transfer.dataset(cache, name,
                                                                                 None, 0)
                              for name, attrs in stored.items()}, tmp_path / "out", "accuracy",
                     quiet)
    model = load_bundle(tmp_path / "out" / "model.skops")
    assert [c.layer for c in model.feature_configs()] == ["conv", "pool"]
    with pytest.raises(FeatxError, match="2 feature configurations concatenated"):
        model.feature_config()
    preds = predict(tmp_path / "out" / "model.skops", class_tree / "val")
    assert preds.accuracy() == pytest.approx(report.test_accuracy)


def test_fusions_are_the_pairs_of_the_best_configurations(space):
    configs = [c for p in space.passes() for c in p]
    candidates = [_fake((c,), score) for c, score in zip(configs, (0.6, 0.9, 0.8, 0.7),
                                                         strict=True)]
    assert fusions(candidates, 3) == [(configs[1], configs[2]), (configs[1], configs[3]),
                                      (configs[2], configs[3])]
    assert fusions(candidates, 1) == [] and fusions(candidates, 0) == []


def test_ties_go_to_the_smaller_feature_size_then_the_first(space):
    configs = [c for p in space.passes() for c in p]
    a, b, c = _fake((configs[0],), 0.9, 8), _fake((configs[1],), 0.9, 4), _fake(
        (configs[2],), 0.9, 4)
    assert best([a, b, c]) is b


def test_the_cheapest_candidate_within_one_standard_error_of_the_best_is_chosen(space):
    configs = [c for p in space.passes() for c in p]
    plain = next(c for c in configs if c.augment == "none")
    flip = next(c for c in configs if c.augment == "flip")
    top = _fake((plain, flip), 0.96, 16, std=0.02)    # fused: 3 views, standard error 0.01
    near = _fake((flip,), 0.951, 8)                    # within 0.01 of it: 2 views
    cheap = _fake((plain,), 0.9505, 8)                 # within too: 1 view, the cheapest
    far = _fake((plain,), 0.949, 4)                    # below the best minus its standard error
    assert best([top, near, cheap, far]) is cheap
    assert best([top, near, far]) is near and best([top, far]) is top


def test_describe_names_what_a_fusion_adds():
    base = resolve("resnet50", weights=None)
    other = resolve("resnet50", weights=None, resize="center-crop", augment="flip")
    assert describe(base, other) == "resnet50 conv5_block3_out avg squash none + center-crop flip"


def _fake(configs, score, dim=8, std=0.0):
    class Search:
        best_score_ = score
        best_index_ = 0
        cv_results_ = {"std_test_score": [std]}
        n_splits_ = 4
        seconds = 0.0

    return transfer.Candidate(configs, "logreg", Search(), dim)
