"""What an audit reads: one row per listed image (an *entry*), as plain arrays.

:class:`AuditInput` is the whole interface between the audit and the feature store.
:meth:`AuditInput.from_features` takes a :func:`featx.load` result, whose exact duplicate groups
come from the store (:meth:`Features.duplicates <featx.store.read.Features.duplicates>`); tests and
other tools build one directly, and its groups are then found by the same function,
:func:`featx.store.groups.duplicate_groups`. Exact copies of one image share a content key.

>>> import numpy as np
>>> data = AuditInput(X=np.eye(3, dtype=np.float32), y=np.array([0, 1, 1]),
...                   label_names=["ants", "bees"], paths=["a.jpg", "b.jpg", "c.jpg"],
...                   split=["train", "train", "val"], keys=["k1", "k2", "k2"])
>>> len(data), data.label_of(1), [(g.rows.tolist(), g.leak) for g in data.groups]
(3, 'bees', [([1, 2], True)])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from featx.errors import FeatxError
from featx.store.groups import Group, duplicate_groups

KEY_LENGTH = 32  # content keys as the store writes them: 32 hex digits


@dataclass(frozen=True)
class AuditInput:
    """Entries to audit: features ``X`` (N x D), labels ``y`` (index into ``label_names``, -1
    where unlabelled), ``paths``, ``split`` ("" where none) and content ``keys`` (equal for
    byte-identical images); ``source`` names the file in messages; ``groups``: the exact
    duplicate groups (found from the keys when not given); ``unembedded``: listed images without
    features (failed, or not embedded with this configuration), which the audit names."""

    X: np.ndarray  # noqa: N815 (scikit-learn naming)
    y: np.ndarray
    label_names: Sequence[str]
    paths: Sequence[str]
    split: Sequence[str]
    keys: Sequence[str]
    source: str = "features"
    groups: Sequence[Group] | None = None
    unembedded: Sequence[str] = ()

    def __post_init__(self) -> None:
        X = np.asarray(self.X, dtype=np.float32)  # noqa: N806
        y = np.asarray(self.y, dtype=np.int64)
        columns = {"paths": self.paths, "split": self.split, "keys": self.keys}
        setattr_ = object.__setattr__
        setattr_(self, "X", X)
        setattr_(self, "y", y)
        setattr_(self, "label_names", [str(n) for n in self.label_names])
        for name, values in columns.items():
            setattr_(self, name, np.asarray([str(v or "") for v in values], dtype=object))
        setattr_(self, "unembedded", tuple(self.unembedded))
        if X.ndim != 2:
            raise FeatxError(f"{self.source}: features must be a 2-D matrix, got shape {X.shape}")
        sizes = {"y": len(y), **{name: len(getattr(self, name)) for name in columns}}
        wrong = {name: n for name, n in sizes.items() if n != len(X)}
        if wrong:
            raise FeatxError(f"{self.source}: {len(X)} feature rows but "
                             + ", ".join(f"{n} {name}" for name, n in wrong.items()))
        if len(y) and (y.min() < -1 or y.max() >= len(self.label_names)):
            raise FeatxError(f"{self.source}: labels must be -1 or an index into "
                             f"{len(self.label_names)} label names, got {y.min()}..{y.max()}")
        if not np.isfinite(X).all():
            bad = int((~np.isfinite(X).all(axis=1)).sum())
            raise FeatxError(f"{self.source}: {bad} rows have NaN or infinite features "
                             "(run `featx check`)")
        odd = [k for k in self.keys if len(k) > KEY_LENGTH or not k.isascii()]
        if odd:
            raise FeatxError(f"{self.source}: content keys are at most {KEY_LENGTH} ASCII "
                             f"characters, got {odd[0]!r}")
        if self.groups is None:
            setattr_(self, "groups", duplicate_groups(self.keys, self.labels(), self.split))

    @classmethod
    def from_features(cls, feats) -> AuditInput:
        """The entries of a loaded feature file (a :func:`featx.load` result), its duplicate
        groups as the store reports them."""
        unembedded = [str(f.path) for f in feats.errors] + [str(p) for p in feats.missing]
        return cls(feats.X, feats.y, feats.label_names, feats.paths, feats.split, feats.keys,
                   os.fspath(feats.path), feats.duplicates(), unembedded)

    def __len__(self) -> int:
        return len(self.X)

    def label_of(self, row: int) -> str | None:
        """The class name of ``row``, ``None`` where unlabelled."""
        return self.label_names[self.y[row]] if self.y[row] >= 0 else None

    def labels(self) -> np.ndarray:
        """Class names per row ("" where unlabelled)."""
        return np.asarray([*self.label_names, ""], dtype=object)[self.y]
