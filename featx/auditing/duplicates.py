"""Exact and near-duplicate groups, flagged when they cross splits (leak) or labels (conflict).

Exact duplicates are the store's own groups of entries with one content key
(:mod:`featx.store.groups`); nothing is recomputed. Near duplicates are linked when the cosine
distance of their features is at most a threshold, found exactly by scikit-learn's brute-force
radius search (chunked, so memory stays bounded), and grouped transitively (the connected
components of the links, by SciPy); exact copies of a member join its group, and a group counts
as near duplicates when it holds two or more distinct contents. Both kinds are flagged by the
store's rule (:class:`featx.store.groups.Group`).

>>> import numpy as np
>>> from featx.auditing.data import AuditInput
>>> X = np.array([[1, 0], [0.99, 0.05], [0, 1]], np.float32)
>>> data = AuditInput(X, np.array([0, 1, 1]), ["ants", "bees"], ["a", "b", "c"],
...                   ["train", "val", "val"], ["k1", "k2", "k3"])
>>> [(f.rows, f.flags) for f in near_duplicates(data, *link_groups(data, threshold=0.01))]
[((0, 1), ('leak', 'conflict'))]
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.neighbors import NearestNeighbors

from featx.auditing.data import AuditInput
from featx.auditing.findings import Finding
from featx.store.groups import Group


def exact_duplicates(data: AuditInput) -> list[Finding]:
    """One finding per group of entries sharing content, leaks and conflicts first."""
    return sorted((_finding("exact-duplicate", g, 0.0) for g in data.groups), key=_order)


def near_duplicates(data: AuditInput, groups: np.ndarray, widest: np.ndarray) -> list[Finding]:
    """The groups of :func:`link_groups` that hold two or more distinct contents, leaks and
    conflicts first."""
    labels = data.labels()
    members: list[list[int]] = [[] for _ in range(len(widest))]
    for row, group in enumerate(groups):
        members[group].append(row)
    found = []
    for g, rows in enumerate(members):
        if len({data.keys[r] for r in rows}) > 1:
            group = Group("", np.array(rows), tuple(labels[rows]), tuple(data.split[rows]))
            found.append(_finding("near-duplicate", group, float(widest[g])))
    return sorted(found, key=_order)


def link_groups(data: AuditInput, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """A group id per row, and the largest link distance per group: rows joined by a chain of
    links (cosine distance at most ``threshold``, or one content key) share a group."""
    n = len(data)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    index = NearestNeighbors(radius=threshold, metric="cosine", algorithm="brute").fit(data.X)
    graph = index.radius_neighbors_graph(data.X, mode="distance").tocoo()
    copies = np.array([(r, g.rows[0]) for g in data.groups for r in g.rows[1:]],
                      np.int64).reshape(-1, 2)
    rows = np.concatenate([graph.row, copies[:, 0]])
    cols = np.concatenate([graph.col, copies[:, 1]])
    links = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    n_groups, groups = connected_components(links.tocsr(), directed=False)
    widest = np.zeros(n_groups)
    np.maximum.at(widest, groups[graph.row], graph.data)
    return groups, widest


def _finding(kind: str, group: Group, score: float) -> Finding:
    splits = sorted(set(group.splits))
    labels = sorted({label for label in group.labels if label})
    flags = tuple(flag for flag, crossed in (("leak", group.leak), ("conflict", group.conflict))
                  if crossed)
    parts = [f"across splits {', '.join(s or '(none)' for s in splits)}" if group.leak else "",
             f"labelled {' and '.join(labels)}" if group.conflict else ""]
    detail = "; ".join(filter(None, parts)) or "one split, one label"
    return Finding(kind, tuple(int(r) for r in group.rows), score, flags, detail)


def _order(finding: Finding) -> tuple:
    return (-len(finding.flags), "leak" not in finding.flags, -len(finding.rows), finding.score,
            finding.rows)
