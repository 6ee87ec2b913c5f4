"""Few-shot episodes on a feature file: N-way K-shot accuracy with a 95% confidence interval.

The standard protocol: each episode draws ``ways`` random classes and, for each, ``shots`` support
and ``queries`` query rows (disjoint, without replacement); every method is fitted on the support
rows and scored on the query rows of the same episodes (a paired comparison). The report is the
mean query accuracy over the episodes and its 95% confidence interval, ``1.96 * std / sqrt(n)``.
Episodes are seeded per shot count (``seed``, ``shots``), so a shot count's numbers do not depend on
which other counts were asked for, and two runs with the same seed print the same numbers.

Methods:

* ``simpleshot``: nearest class centroid after centring and L2 normalisation (SimpleShot, Wang et
  al. 2019, "CL2N"). SimpleShot centres on the mean feature of a separate set of base classes; a
  feature file has none, so each episode centres on the mean of the rows outside it (no label and
  no row of the episode is used; if the episode holds every row, on its support mean).
* ``logreg``: featx's logistic-regression head with its default parameters.
* ``lda``: featx's ``lda`` head with its default parameters, where :mod:`featx.learn.heads` has
  one; at 1 shot (no within-class spread), its stand-in, named in the row's ``model``.

>>> rng = np.random.default_rng(0)
>>> X = np.vstack([rng.normal(c, 1.0, (30, 8)) for c in (0, 3, 6)])
>>> y = np.repeat(["a", "b", "c"], 30)
>>> rows = evaluate(X, y, ways=3, shots=(1, 5), episodes=20, methods=("simpleshot",))
>>> [(r["shots"], r["method"], r["episodes"]) for r in rows]
[(1, 'simpleshot', 20), (5, 'simpleshot', 20)]
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.neighbors import NearestCentroid
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, Normalizer, StandardScaler
from threadpoolctl import threadpool_limits

from featx import SEED
from featx.errors import FeatxError
from featx.images.sources import split_name
from featx.learn.dataset import check_finite
from featx.learn.heads import HEADS, head_for, make_head, quiet_fits
from featx.store.read import Features, load

WAYS = 5
SHOTS = (1, 5)
QUERIES = 15
EPISODES = 600
Z95 = 1.96


def simpleshot(mean: np.ndarray | None = None) -> Pipeline:
    """Centre on ``mean`` (``None``: the mean of the rows it is fitted on), L2-normalise, nearest
    centroid: SimpleShot's CL2N."""
    center = (StandardScaler(with_std=False) if mean is None
              else FunctionTransformer(_centre, kw_args={"mean": mean}))
    return Pipeline([("center", center), ("norm", Normalizer()), ("clf", NearestCentroid())])


def _centre(X: np.ndarray, mean: np.ndarray) -> np.ndarray:  # noqa: N803
    return X - mean


def available_methods() -> dict[str, Callable[[np.ndarray | None], BaseEstimator]]:
    """The few-shot methods, each made from the centring mean of its episode (which only
    simpleshot uses): simpleshot, logreg, and lda where featx has that head."""
    found: dict[str, Callable[[np.ndarray | None], BaseEstimator]] = {
        "simpleshot": simpleshot, "logreg": lambda mean: make_head("logreg")}
    if "lda" in HEADS:
        found["lda"] = lambda mean: make_head("lda")
    return found


def draw_episodes(y: np.ndarray, ways: int, shots: int, queries: int, n: int,
                  rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``n`` episodes as ``(support indices, query indices)`` into ``y``."""
    classes, counts = np.unique(y, return_counts=True)
    eligible = classes[counts >= shots + queries]
    if len(eligible) < ways:
        have = ", ".join(f"{c} {k}" for c, k in zip(classes, counts, strict=True))
        raise FeatxError(f"{ways}-way {shots}-shot episodes need {ways} classes with at least "
                         f"{shots + queries} rows ({shots} support + {queries} query); "
                         f"{len(eligible)} have that many ({have})")
    members = {c: np.flatnonzero(y == c) for c in eligible}
    for _ in range(n):
        picked = [rng.choice(members[c], shots + queries, replace=False)
                  for c in rng.choice(eligible, ways, replace=False)]
        yield (np.concatenate([p[:shots] for p in picked]),
               np.concatenate([p[shots:] for p in picked]))


def evaluate(X: np.ndarray, y: Sequence, *, ways: int = WAYS,  # noqa: N803
             shots: Sequence[int] = SHOTS, queries: int = QUERIES, episodes: int = EPISODES,
             seed: int = SEED, methods: Sequence[str] | None = None) -> list[dict]:
    """Rows ``ways, shots, method, episodes, mean, ci95`` (one per shot count and method)."""
    y = np.asarray(y)
    available = available_methods()
    chosen = list(methods or available)
    unknown = [m for m in chosen if m not in available]
    if unknown:
        raise FeatxError(f"unknown few-shot method(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(available)}")
    if ways < 2 or queries < 1 or episodes < 2 or min(shots) < 1:
        raise FeatxError("few-shot episodes need ways >= 2, shots >= 1, queries >= 1 and "
                         "episodes >= 2")
    with threadpool_limits(1):  # episodes are tiny: thread start-up would dominate
        return [row for k in shots for row in _shot_rows(X, y, k, ways, queries, episodes,
                                                          seed, chosen)]


def _shot_rows(X: np.ndarray, y: np.ndarray, shots: int, ways: int, queries: int,  # noqa: N803
               episodes: int, seed: int, chosen: Sequence[str]) -> list[dict]:
    """The rows of one shot count: every method on the same seeded episodes."""
    make = available_methods()
    total = X.sum(axis=0, dtype=np.float64)
    scores: dict[str, list[float]] = {name: [] for name in chosen}
    rng = np.random.default_rng([seed, shots])
    models = {name: head_for(name, shots)[1] if name in HEADS else name for name in chosen}
    for support, query in draw_episodes(y, ways, shots, queries, episodes, rng):
        outside = len(X) - len(support) - len(query)
        mean = ((total - X[support].sum(axis=0) - X[query].sum(axis=0)) / outside
                if outside else None)
        for name in chosen:
            model = head_for(name, shots)[0] if name in HEADS else make[name](mean)
            scores[name].append(_score(model, X, y, support, query))
    return [{"ways": ways, "shots": shots, "method": name, "episodes": len(acc),
             "mean": float(np.mean(acc)),
             "ci95": float(Z95 * np.std(acc, ddof=1) / np.sqrt(len(acc))),
             "model": models[name]}
            for name, acc in scores.items()]


def _score(model: BaseEstimator, X: np.ndarray, y: np.ndarray,  # noqa: N803
           support: np.ndarray, query: np.ndarray) -> float:
    with quiet_fits():
        model.fit(X[support], y[support])
    return float(np.mean(model.predict(X[query]) == y[query]))


def labelled_features(path: str | os.PathLike, split: str | None = None,
                      config: str | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """``(X, class names, description)``: the labelled rows of a feature file (its configuration
    ``config``), of split ``split`` only if given, each content once (an exact copy in support
    and query would be a leak): the first listed, whose label it keeps."""
    with load(path, config) as feats:
        selected = _labelled(feats, split)
        unique = feats.unique_content()
        chosen = _labelled(unique, split)
        if not chosen.any():
            where = f" in split {split!r}" if split else ""
            raise FeatxError(f"{path}: no labelled rows{where}")
        X = unique.rows(np.flatnonzero(chosen))  # noqa: N806
        y = np.asarray(unique.label_names, dtype=object)[unique.y[chosen]]
        check_finite(X, [str(p) for p in unique.paths[chosen]], path)
    copies = int(selected.sum() - chosen.sum())
    where = f"split {split!r}" if split else "every labelled image"
    note = f"; {copies} exact copies counted once" if copies else ""
    return X, y, (f"{path}: {len(y)} images ({where}{note}), {len(set(y))} classes")


def _labelled(feats: Features, split: str | None) -> np.ndarray:
    rows = feats.y >= 0
    if split is not None:
        rows &= np.array([split_name(s) for s in feats.split], dtype=object) == split_name(split)
    return rows


def format_rows(rows: Sequence[dict]) -> list[dict]:
    """Rows for :func:`featx._text.format_table`: accuracy as ``mean ± ci95``, and the model
    where a stand-in took a method's place."""
    return [{"ways": r["ways"], "shots": r["shots"], "method": r["method"],
             "episodes": r["episodes"], "accuracy": f"{r['mean']:.4f} ± {r['ci95']:.4f}",
             **({"model": r["model"]} if any("stand-in" in q["model"] for q in rows) else {})}
            for r in rows]
