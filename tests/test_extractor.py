"""FeatureExtractor: image paths in, cached features out, inside scikit-learn's model selection."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.utils import estimator_checks as checks

from featx.extractor import FeatureExtractor, image_paths, load_xy, splits
from featx.store.read import configs

#: The ``check_estimator`` checks that apply to path input; they pass. Every other check feeds
#: random numeric arrays (dtypes, NaN/inf, sparse, pickling after fit, sample-order and subset
#: invariance, n_features_in_ on numeric columns, ...) where image paths belong, so it cannot
#: apply; sklearn itself skips them because the tags declare string input. The same properties
#: are tested below on real paths (order, fit returns self, clone, feature names, errors).
API_CHECKS = [
    checks.check_estimator_cloneable, checks.check_estimator_tags_renamed,
    checks.check_valid_tag_types, checks.check_estimator_repr,
    checks.check_no_attributes_set_in_init, checks.check_estimators_unfitted,
    checks.check_do_not_raise_errors_in_init_or_set_params, checks.check_mixin_order,
    checks.check_transformers_unfitted, checks.check_transformer_n_iter,
    checks.check_parameters_default_constructible, checks.check_get_params_invariance,
    checks.check_set_params, checks.check_fit1d,
]


def _images(tree):
    paths = sorted(str(p) for p in tree.rglob("*.jpg"))
    return paths, np.array(["cats" if "/cats/" in p else "dogs" for p in paths])


@pytest.fixture
def extractor(tmp_path, tiny_model_file):
    return FeatureExtractor(str(tiny_model_file), layer="pool", cache=str(tmp_path / "c.h5"))


@pytest.mark.parametrize("check", API_CHECKS, ids=lambda c: c.__name__)
def test_applicable_estimator_checks_pass(check, extractor):
    check("FeatureExtractor", extractor)


def test_check_estimator_skips_numeric_checks_for_path_input(extractor):
    results = checks.check_estimator(extractor, on_fail=None, on_skip=None)
    assert all(r["status"] != "failed" for r in results)


def test_transform_returns_rows_in_the_order_of_the_paths(extractor, class_tree):
    paths, _ = _images(class_tree)
    forward = extractor.fit_transform(paths)
    assert forward.shape == (12, 8) and forward.dtype == np.float32
    assert extractor.n_features_in_ == 1 and extractor.feature_dim_ == 8
    np.testing.assert_array_equal(extractor.transform(paths[::-1]), forward[::-1])
    column = np.array(paths, dtype=object).reshape(-1, 1)
    np.testing.assert_array_equal(extractor.transform(column), forward)
    assert list(extractor.get_feature_names_out()[:2]) == ["featureextractor0",
                                                           "featureextractor1"]


def test_grid_search_embeds_each_image_exactly_once(extractor, class_tree, monkeypatch):
    from featx.backbones.build import Backbone

    calls = []
    original = Backbone.outputs
    monkeypatch.setattr(Backbone, "outputs", lambda self, x: calls.append(len(x)) or
                        original(self, x))
    paths, y = _images(class_tree)
    model = Pipeline([("features", extractor), ("clf", LogisticRegression())])
    search = GridSearchCV(model, {"clf__C": [0.01, 0.1, 1.0, 10.0, 100.0]}, cv=5).fit(paths, y)
    assert sum(calls) == len(paths)
    assert search.predict(paths[:2]).shape == (2,)
    assert cross_val_score(model, paths, y, cv=3).shape == (3,)
    assert sum(calls) == len(paths)


def test_grid_search_over_the_transfer_embeds_each_image_once_per_configuration(
        tmp_path, class_tree, tiny_model_file, monkeypatch):
    from featx.backbones.build import Backbone

    calls = []
    original = Backbone.outputs
    monkeypatch.setattr(Backbone, "outputs", lambda self, x: calls.append(
        (self.config.backbone, self.config.pooling, len(x))) or original(self, x))
    paths, y = _images(class_tree)
    features = FeatureExtractor(str(tiny_model_file), layer="conv", input_size=32,
                                weights=None, cache=str(tmp_path / "gs.h5"))
    model = Pipeline([("features", features), ("clf", LogisticRegression())])
    grid = {"features__pooling": ["avg", "max"],
            "features__backbone": [str(tiny_model_file), "mobilenetv2"],
            "features__layer": [None]}
    GridSearchCV(model, grid, cv=2).fit(paths, y)
    embedded = {}
    for backbone, pooling, n in calls:
        embedded[backbone, pooling] = embedded.get((backbone, pooling), 0) + n
    assert embedded == {(b, p): 12 for b in ("file", "mobilenetv2") for p in ("avg", "max")}
    calls.clear()
    GridSearchCV(model, grid, cv=2).fit(paths, y)
    assert calls == []
    assert len(configs(tmp_path / "gs.h5")) == 4


def test_clone_keeps_parameters_verbatim(extractor):
    twin = clone(extractor.set_params(batch_size=4))
    assert twin.get_params() == extractor.get_params()
    assert not hasattr(twin, "feature_dim_")


def test_a_broken_image_raises_value_error_naming_the_file(extractor, class_tree):
    broken = class_tree / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match="broken.jpg"):
        extractor.fit([str(broken)])


@pytest.mark.parametrize("X", [np.zeros((3, 2)), [1.0, 2.0], np.array([], dtype=object)])
def test_non_path_input_is_refused_clearly(X):
    with pytest.raises(ValueError, match="image paths"):
        image_paths(X)


def test_load_xy_reads_labelled_rows_of_a_split(features_file):
    X, y = load_xy(features_file, split="train")
    assert X.shape == (40, 16) and set(y) == {"ants", "bees"}
    assert load_xy(features_file)[0].shape == (80, 16)
    assert splits(features_file) == ["train", "val"]


def test_fusion_is_a_feature_union_of_two_extractors(tmp_path, tiny_model_file, class_tree):
    from sklearn.pipeline import FeatureUnion

    paths, labels = _images(class_tree)
    conv, pool = (FeatureExtractor(str(tiny_model_file), layer=layer, augment=augment,
                                   cache=str(tmp_path / "cache.h5"))
                  for layer, augment in (("conv", "flip"), ("pool", "none")))
    union = FeatureUnion([("conv", conv), ("pool", pool)])
    fused = union.fit_transform(paths)
    assert fused.shape == (12, 16)
    np.testing.assert_array_equal(fused, np.hstack([clone(conv).fit_transform(paths),
                                                    clone(pool).fit_transform(paths)]))
    assert list(union.get_feature_names_out()[[0, 8]]) == ["conv__featureextractor0",
                                                           "pool__featureextractor0"]
    model = Pipeline([("features", union), ("clf", LogisticRegression())]).fit(paths, labels)
    assert model.predict(paths[:3]).shape == (3,)
    search = GridSearchCV(model, {"features__conv__pooling": ["avg", "max"]}, cv=2)
    assert np.isfinite(search.fit(paths, labels).cv_results_["mean_test_score"]).all()
