"""featx fewshot: N-way K-shot episodes, seeded, with 95% confidence intervals."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from featx.errors import FeatxError
from featx.learn import fewshot, heads
from tests.helpers import key_of, write_store


def _blobs(n_classes=6, n=25, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 2.0, (n_classes, dim))
    X = np.vstack([rng.normal(c, 1.0, (n, dim)) for c in centres])  # noqa: N806
    return X, np.repeat([f"c{i}" for i in range(n_classes)], n)


def test_episodes_draw_disjoint_support_and_query_rows_of_n_classes():
    _, y = _blobs()
    rng = np.random.default_rng(0)
    for support, query in fewshot.draw_episodes(y, 5, 2, 15, 10, rng):
        assert len(support) == 10 and len(query) == 75
        assert not set(support) & set(query)
        assert len(set(y[support])) == 5 and set(y[query]) == set(y[support])


def test_evaluate_gives_mean_and_interval_per_shot_count_and_method():
    X, y = _blobs()  # noqa: N806
    rows = fewshot.evaluate(X, y, ways=5, shots=(1, 5), episodes=30, methods=(
        "simpleshot", "logreg"))
    assert [(r["shots"], r["method"]) for r in rows] == [
        (1, "simpleshot"), (1, "logreg"), (5, "simpleshot"), (5, "logreg")]
    assert all(0.2 < r["mean"] <= 1 and 0 <= r["ci95"] < 0.1 for r in rows)
    five = {r["method"]: r["mean"] for r in rows if r["shots"] == 5}
    one = {r["method"]: r["mean"] for r in rows if r["shots"] == 1}
    assert all(five[m] >= one[m] for m in five)


def test_same_seed_same_numbers_and_a_shot_count_does_not_depend_on_the_others():
    X, y = _blobs()  # noqa: N806
    a = fewshot.evaluate(X, y, ways=3, shots=(1, 5), episodes=20, seed=7)
    b = fewshot.evaluate(X, y, ways=3, shots=(1, 5), episodes=20, seed=7)
    c = fewshot.evaluate(X, y, ways=3, shots=(5,), episodes=20, seed=7)
    d = fewshot.evaluate(X, y, ways=3, shots=(1, 5), episodes=20, seed=8)
    assert a == b
    assert a[len(a) // 2:] == c
    assert a != d


def test_one_shot_episodes_neither_fail_nor_warn():
    X, y = _blobs()  # noqa: N806
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fewshot.evaluate(X, y, ways=5, shots=(1,), episodes=5)


def test_lda_joins_when_featx_has_an_lda_head(monkeypatch):
    assert ("lda" in fewshot.available_methods()) == ("lda" in heads.HEADS)
    monkeypatch.setitem(heads.HEADS, "lda", heads.Head(
        "lda", "linear discriminant analysis",
        lambda: LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"), {}, "none"))
    X, y = _blobs()  # noqa: N806
    rows = fewshot.evaluate(X, y, ways=3, shots=(5,), episodes=5)
    assert [r["method"] for r in rows] == ["simpleshot", "logreg", "lda"]


def test_too_few_classes_or_rows_is_a_clear_error():
    X, y = _blobs(n_classes=2)  # noqa: N806
    with pytest.raises(FeatxError, match="5-way 1-shot episodes need 5 classes with at least 16"):
        fewshot.evaluate(X, y, ways=5, shots=(1,))
    with pytest.raises(FeatxError, match="unknown few-shot method"):
        fewshot.evaluate(X, y, ways=2, methods=("protonet",))


def test_exact_copies_count_once_and_unlabelled_rows_not_at_all(tmp_path):
    rng = np.random.default_rng(0)
    paths = [f"/p/{i}.jpg" for i in range(6)]
    keys = [key_of(p) for p in paths]
    keys[5] = keys[0]  # an exact copy of the first image
    path = write_store(tmp_path / "f.h5", rng.normal(size=(6, 4)), paths,
                       ["a", "a", "b", "b", None, "a"], ["train"] * 6, keys=keys)
    X, y, described = fewshot.labelled_features(path)  # noqa: N806
    assert list(y) == ["a", "a", "b", "b"] and X.shape == (4, 4)
    assert described == (f"{path}: 4 images (every labelled image; 1 exact copies counted "
                         "once), 2 classes")


def test_lda_at_one_shot_is_its_named_stand_in():
    X, y = _blobs()  # noqa: N806
    rows = fewshot.evaluate(X, y, ways=3, shots=(1, 2), episodes=5, methods=("lda",))
    assert [r["model"] for r in rows] == [
        "NearestCentroid (stand-in: LinearDiscriminantAnalysis needs 2 per class)",
        "LinearDiscriminantAnalysis"]
    assert "model" in fewshot.format_rows(rows)[0]
