"""Grid search on cached features vs re-embedding per fit: 5 folds x 10 candidates.

2,000 synthetic JPEGs are embedded once with ``resnet50`` (random weights, 32x32, 2048-d) into a
feature file; that pass is timed. Then, side by side:

* ``GridSearchCV(Pipeline([FeatureExtractor(cache=...), LogisticRegression()]), 10 C values,
  cv=5)`` on the image paths: every fit reads the cache, so the backbone runs 0 more times
  (counted by wrapping ``Backbone.outputs``);
* the same grid on the feature matrix (``load_xy``), the pure-feature pipeline;
* the hand-rolled alternative that re-embeds the images for each of the 50 fits: 50 backbone passes,
  whose cost is 50 x the measured pass (not run).

    python benchmarks/grid_search.py [--n 2000] [--smoke]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import make_images  # noqa: E402

C_VALUES = np.logspace(-3, 2, 10)
BACKBONE = {"backbone": "resnet50", "weights": None, "input_size": 32}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--smoke", action="store_true",
                        help="40 images, 2 folds x 2 candidates, mobilenetv2 (meaningless figures)")
    args = parser.parse_args(argv)
    backbone, c_values, folds = BACKBONE, C_VALUES, 5
    if args.smoke:
        args.n, c_values, folds = 40, C_VALUES[:2], 2
        backbone = {**BACKBONE, "backbone": "mobilenetv2"}
    from featx.backbones.build import Backbone

    calls: list[int] = []
    forward = Backbone.outputs
    Backbone.outputs = lambda self, x: calls.append(len(x)) or forward(self, x)
    try:
        with tempfile.TemporaryDirectory(prefix="featx-grid-") as work:
            measure(args.n, backbone, c_values, folds, Path(work), calls)
    finally:
        Backbone.outputs = forward


def measure(n: int, backbone: dict, c_values: np.ndarray, folds: int, work: Path,
            calls: list[int]) -> None:
    """The timed embedding and searches in ``work``; ``calls`` counts backbone passes."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline

    import featx

    make_images(work / "images", 0, n)
    cache = work / "features.h5"
    start = time.perf_counter()
    featx.embed(work / "images", cache, progress=False, **backbone)
    embed_s = time.perf_counter() - start
    first_pass = sum(calls)
    feats = featx.load(cache)
    paths, y = list(feats.paths), feats.y
    grid = {"clf__C": c_values}
    pipe = Pipeline([("features", featx.FeatureExtractor(cache=str(cache), **backbone)),
                     ("clf", LogisticRegression(max_iter=200))])

    start = time.perf_counter()
    GridSearchCV(pipe, grid, cv=folds).fit(paths, y)
    cached_s = time.perf_counter() - start
    extra_passes = sum(calls) - first_pass

    X, y_names = featx.load_xy(cache)  # noqa: N806
    start = time.perf_counter()
    GridSearchCV(Pipeline([("clf", LogisticRegression(max_iter=200))]), grid,
                 cv=folds).fit(X, y_names)
    features_s = time.perf_counter() - start

    fits = folds * len(c_values)
    print(f"# {n} images x {feats.X.shape[1]} features; one backbone pass {embed_s:.1f} s")
    print(f"# cached pipeline: {cached_s:.1f} s, images embedded during the search: "
          f"{extra_passes}; feature matrix: {features_s:.1f} s")
    print(f"# re-embedding per fit: {fits} passes = {fits * embed_s:.0f} s + the fits")
    print(f"grid_search n={n} fits={fits} passes_cached=1 passes_naive={fits} "
          f"embed={embed_s:.1f}s search_cached={cached_s:.1f}s search_features={features_s:.1f}s "
          f"naive_estimate={fits * embed_s + features_s:.0f}s "
          f"speedup={(fits * embed_s + features_s) / (embed_s + cached_s):.0f}x")


if __name__ == "__main__":
    main()
