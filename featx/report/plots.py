"""The 2-D map of the features: PCA (default), t-SNE or UMAP, coloured by class.

t-SNE and UMAP run on the first 50 principal components (the usual preparation) and on at most
:data:`MAX_EMBEDDED` points (a seeded sample that keeps every marked point); PCA shows every point.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA

from featx.errors import FeatxError

MAX_EMBEDDED = 5000
PRE_COMPONENTS = 50
SEED = 0


def project(X: np.ndarray, method: str) -> tuple[np.ndarray, str]:  # noqa: N803
    """2-D coordinates of ``X`` and an axis label."""
    if len(X) < 3:
        return np.zeros((len(X), 2)), "too few points to map"
    if method == "pca":
        pca = PCA(2, random_state=SEED).fit(X)
        share = pca.explained_variance_ratio_.sum()
        return pca.transform(X), f"PCA, first 2 components ({share:.0%} of the variance)"
    reduced = PCA(min(PRE_COMPONENTS, *X.shape), random_state=SEED).fit_transform(X)
    if method == "tsne":
        from sklearn.manifold import TSNE

        tsne = TSNE(2, perplexity=min(30.0, (len(X) - 1) / 3), init="pca", random_state=SEED)
        return tsne.fit_transform(reduced), "t-SNE of the first 50 principal components"
    try:
        import umap
    except ImportError:
        raise FeatxError("the UMAP map needs umap-learn: pip install umap-learn "
                         "(or use --map pca or tsne)") from None
    return (umap.UMAP(random_state=SEED).fit_transform(reduced),
            "UMAP of the first 50 principal components")


@dataclass(frozen=True)
class FeatureMap:
    """A map saved as a PNG: its ``caption`` and its ``legend``, ``(text, colour, shape)`` per
    entry (shape: ``dot``, ``ring`` or ``cross``), drawn by the page in HTML so it reads at a
    phone's width."""

    caption: str
    legend: list[tuple[str, str, str]]


def feature_map(X: np.ndarray, labels: Sequence[str], classes: Sequence[str],  # noqa: N803
                held_out: np.ndarray, marked: np.ndarray, method: str,
                path: str | os.PathLike) -> FeatureMap:
    """Save the map of ``X`` (train rows as dots, ``held_out`` rows as rings, coloured by class;
    ``marked`` rows crossed) as a PNG."""
    from matplotlib.colors import to_hex
    from matplotlib.figure import Figure

    labels = np.asarray(labels, dtype=object)
    keep = _sample(len(X), marked, MAX_EMBEDDED if method != "pca" else len(X))
    xy, how = project(X[keep], method)
    labels, held_out, marked = labels[keep], held_out[keep], marked[keep]
    fig = Figure(figsize=(6.4, 5.2), layout="constrained")
    ax = fig.subplots()
    legend = []
    for colour, name in zip(_colours(len(classes)), classes, strict=True):
        train, held = ~held_out & (labels == name), held_out & (labels == name)
        if train.any():
            ax.scatter(xy[train, 0], xy[train, 1], s=9, alpha=0.45, color=colour)
            legend.append((f"{name} (train)", to_hex(colour), "dot"))
        if held.any():
            ax.scatter(xy[held, 0], xy[held, 1], s=26, facecolors="none", edgecolors=colour,
                       linewidths=1.2)
            legend.append((f"{name} (held out)", to_hex(colour), "ring"))
    if marked.any():
        ax.scatter(xy[marked, 0], xy[marked, 1], marker="x", s=60, color="black",
                   linewidths=1.6)
        legend.append(("misclassified (held out)", "#000000", "cross"))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(how, fontsize=11)
    fig.savefig(path, dpi=120)
    sampled = f"; {len(keep)} of {len(X)} points (a seeded sample)" if len(keep) < len(X) else ""
    return FeatureMap(f"{how}{sampled}. Dots: training images; rings: held-out images, coloured "
                      "by their true class; crosses: held-out images the head got wrong.", legend)


def _sample(n: int, marked: np.ndarray, cap: int) -> np.ndarray:
    if n <= cap:
        return np.arange(n)
    rng = np.random.default_rng(SEED)
    rest = np.flatnonzero(~marked)
    picked = rng.choice(rest, max(0, cap - int(marked.sum())), replace=False)
    return np.sort(np.concatenate([np.flatnonzero(marked), picked]))


def _colours(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20" if n <= 20 else "turbo"]
    return [cmap(i % cmap.N) if n <= 20 else cmap(i / max(1, n - 1)) for i in range(n)]
