"""featx.report.plots: the 2-D map of the features, its legend drawn by the page."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from PIL import Image

from featx.errors import FeatxError
from featx.report.plots import feature_map


def _map(tmp_path, method="pca", n=40):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (n // 2, 6)), rng.normal(3, 1, (n // 2, 6))])
    labels = ["ants"] * (n // 2) + ["bees"] * (n // 2)
    held = np.arange(n) % 4 == 0
    marked = np.zeros(n, bool)
    marked[[0, n - 1]] = True
    return feature_map(X, labels, ["ants", "bees"], held, marked, method, tmp_path / "map.png")


@pytest.mark.parametrize("method, title", [("pca", "PCA, first 2 components"),
                                           ("tsne", "t-SNE of the first 50")])
def test_the_map_is_a_png_with_a_legend_per_class_and_the_mistakes(tmp_path, method, title):
    drawn = _map(tmp_path, method)
    assert drawn.caption.startswith(title)
    assert "crosses: held-out images the head got wrong" in drawn.caption
    assert [(text, shape) for text, _, shape in drawn.legend] == [
        ("ants (train)", "dot"), ("ants (held out)", "ring"), ("bees (train)", "dot"),
        ("bees (held out)", "ring"), ("misclassified (held out)", "cross")]
    assert drawn.legend[0][1] == drawn.legend[1][1] != drawn.legend[2][1]
    with Image.open(tmp_path / "map.png") as img:
        assert img.format == "PNG" and img.width > 400


def test_umap_without_umap_learn_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)
    with pytest.raises(FeatxError, match="pip install umap-learn"):
        _map(tmp_path, "umap")


def test_too_few_points_still_give_a_map(tmp_path):
    drawn = _map(tmp_path, n=2)
    assert drawn.caption.startswith("too few points to map")
