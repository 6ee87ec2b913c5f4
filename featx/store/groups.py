"""Exact duplicates among entries: groups of listed images with one content, and the two kinds
that matter, a group across splits (a train/test leak) and a group across labels (a conflict).

>>> keys, labels = ["k1", "k2", "k1", "k3", "k3"], ["ants", "ants", "ants", "ants", "bees"]
>>> groups = duplicate_groups(keys, labels, ["train", "train", "val", "train", "train"])
>>> [(g.rows.tolist(), g.leak, g.conflict) for g in groups]
[([0, 2], True, False), ([3, 4], False, True)]
>>> describe(groups)
'2 groups: 1 across splits, 1 with two labels'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Group:
    """Entries (row positions) sharing one content key, with their labels and splits."""

    key: str
    rows: np.ndarray
    labels: tuple[str, ...]
    splits: tuple[str, ...]

    @property
    def leak(self) -> bool:
        """The same content in two splits (a held-out image also in training)."""
        return len(set(self.splits)) > 1

    @property
    def conflict(self) -> bool:
        """The same content under two labels."""
        return len({label for label in self.labels if label}) > 1


def duplicate_groups(keys: Sequence, labels: Sequence, splits: Sequence) -> list[Group]:
    """The groups of two or more entries with one content key, in order of their first entry
    (entries with no key, "", are not content and never grouped)."""
    keys = np.asarray(keys, dtype="S32")
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])[:len(keys)]
    ends = np.r_[starts[1:], len(keys)]
    groups = []
    wanted = np.flatnonzero((ends - starts > 1) & (ordered[starts] != b""))
    for a, b in zip(starts[wanted], ends[wanted], strict=True):
        rows = order[a:b]
        groups.append(Group(ordered[a].decode(), rows, tuple(str(labels[i] or "") for i in rows),
                            tuple(str(splits[i] or "") for i in rows)))
    return sorted(groups, key=lambda group: group.rows[0])


def describe(groups: Sequence[Group]) -> str:
    """``N groups: L across splits, C with two labels`` (the kinds named only when present)."""
    return describe_counts(len(groups), sum(g.leak for g in groups),
                           sum(g.conflict for g in groups))


def describe_counts(groups: int, leaks: int, conflicts: int) -> str:
    """:func:`describe` from the counts."""
    kinds = [f"{n} {what}" for n, what in ((leaks, "across splits"),
                                           (conflicts, "with two labels")) if n]
    head = f"{groups} group{'s' if groups != 1 else ''}"
    return ": ".join([head, ", ".join(kinds)]) if kinds else head
