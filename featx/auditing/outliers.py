"""Outliers: images far from every neighbour of their class.

Each image scores the mean cosine distance to its ``k`` nearest neighbours among the other images
of its class (unlabelled images: among the other unlabelled ones), leaving out its own exact
copies. Within each class, a score whose modified z-score (Iglewicz and Hoaglin:
``0.6745 * (score - median) / MAD``) exceeds ``z`` marks an outlier.

>>> import numpy as np
>>> from featx.auditing.data import AuditInput
>>> rng = np.random.default_rng(0)
>>> X = np.vstack([rng.normal(np.r_[5, np.zeros(15)], 1.0, (30, 16)), [np.r_[np.zeros(15), 5]]])
>>> data = AuditInput(X, np.zeros(31, int), ["ants"], [str(i) for i in range(31)],
...                   [""] * 31, [str(i) for i in range(31)])
>>> [f.rows for f in outliers(data, neighbours=5, z=3.5)[0]]
[(30,)]
"""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import NearestNeighbors

from featx.auditing.data import AuditInput
from featx.auditing.findings import Finding

MIN_CLASS_SIZE = 5
MAD_TO_Z = 0.6745


def outliers(data: AuditInput, neighbours: int, z: float) -> tuple[list[Finding], list[str]]:
    """Outlier findings (highest score first) and notes on classes too small to score."""
    findings, notes = [], []
    for label in np.unique(data.y):
        rows = np.flatnonzero(data.y == label)
        name = data.label_names[label] if label >= 0 else "(unlabelled)"
        distinct = len(set(data.keys[rows]))
        if distinct < MIN_CLASS_SIZE:
            notes.append(f"outliers: class {name} not scored ({distinct} distinct images, needs "
                         f"{MIN_CLASS_SIZE})")
            continue
        scores = knn_scores(data.X[rows], data.keys[rows], neighbours)
        median = np.median(scores)
        mad = np.median(np.abs(scores - median))
        if mad == 0:
            notes.append(f"outliers: class {name} not scored (its images are all equally close "
                         "to their neighbours)")
            continue
        robust_z = MAD_TO_Z * (scores - median) / mad
        for i in np.flatnonzero(robust_z > z):
            findings.append(Finding(
                "outlier", (int(rows[i]),), float(scores[i]),
                detail=f"mean cosine distance {scores[i]:.3f} to its {neighbours} nearest "
                       f"{name}; class median {median:.3f}, robust z {robust_z[i]:.1f}"))
    return sorted(findings, key=lambda f: -f.score), notes


def knn_scores(X: np.ndarray, keys: np.ndarray, k: int) -> np.ndarray:  # noqa: N803
    """The mean cosine distance of each row to its ``k`` nearest rows of other content."""
    _, counts = np.unique(keys, return_counts=True)
    k = min(k, len(X) - counts.max())
    query = min(len(X), k + counts.max())
    index = NearestNeighbors(n_neighbors=query, metric="cosine", algorithm="brute").fit(X)
    distances, indices = index.kneighbors(X)
    ranked = np.where(keys[indices] != keys[:, None], distances, np.inf)
    ranked.sort(axis=1)
    return ranked[:, :k].mean(axis=1)
