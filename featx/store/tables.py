"""In-memory tables: columns of equal length, laid out by :data:`featx.store.schema.TABLES`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .schema import KEY, TABLES


@dataclass
class Table:
    """Rows of one kind of table (``content``, ``failed`` or ``entries``), column by column."""

    kind: str
    columns: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    @classmethod
    def make(cls, kind: str, **columns) -> Table:
        """A table from column values (lists or arrays), converted to their stored dtypes."""
        return cls(kind, {c.name: _array(columns[c.name], c.kind) for c in TABLES[kind]})

    @classmethod
    def empty(cls, kind: str, dim: int = 0) -> Table:
        return cls(kind, {c.name: _array(np.empty((0, dim)) if c.kind == "matrix" else [], c.kind)
                          for c in TABLES[kind]})

    def take(self, indices: Sequence[int] | np.ndarray) -> Table:
        """The rows at ``indices``, in that order."""
        idx = np.asarray(indices, dtype=np.int64)
        return Table(self.kind, {name: values[idx] for name, values in self.columns.items()})

    @classmethod
    def concat(cls, tables: Sequence[Table]) -> Table:
        """The rows of ``tables`` one after the other (all of one kind, at least one)."""
        return Table(tables[0].kind, {name: np.concatenate([t.columns[name] for t in tables])
                                      for name in tables[0].columns})


def _array(values, kind: str) -> np.ndarray:
    if kind == "key":
        return np.asarray(values, dtype=KEY)
    if kind == "matrix":
        return np.asarray(values, dtype=np.float32)
    if kind == "int":
        return np.asarray(values, dtype=np.int64)
    out = np.empty(len(values), dtype=object)
    out[:] = ["" if v is None else str(v) for v in values]
    return out


def unique_first(keys: np.ndarray) -> np.ndarray:
    """Indices of the first occurrence of each distinct key, in their original order."""
    _, first = np.unique(keys, return_index=True)
    return np.sort(first)


def key_codes(keys: np.ndarray) -> np.ndarray:
    """A 64-bit code of each content key (all 32 characters mixed): fast to sort and look up."""
    words = np.ascontiguousarray(keys, dtype=KEY).view(np.uint64).reshape(-1, 4)
    with np.errstate(over="ignore"):
        return (words[:, 0] ^ (words[:, 1] * _MIX[0]) ^ (words[:, 2] * _MIX[1])
                ^ (words[:, 3] * _MIX[2]))


_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9], dtype=np.uint64)


class KeyIndex:
    """Row positions of content keys, for vectorised lookups in large stores."""

    def __init__(self, keys: np.ndarray):
        self.keys = np.asarray(keys, dtype=KEY)
        codes = key_codes(self.keys)
        self._order = np.argsort(codes)
        self._sorted = codes[self._order]

    def __len__(self) -> int:
        return len(self.keys)

    def find(self, keys: np.ndarray) -> np.ndarray:
        """The row of each key (the first one holding it), -1 where absent."""
        keys = np.asarray(keys, dtype=KEY)
        rows = np.full(len(keys), -1, dtype=np.int64)
        if not len(self) or not len(keys):
            return rows
        codes = key_codes(keys)
        by_code = np.argsort(codes)
        lo = np.empty(len(keys), np.int64)
        hi = np.empty(len(keys), np.int64)
        lo[by_code] = np.searchsorted(self._sorted, codes[by_code], side="left")
        hi[by_code] = np.searchsorted(self._sorted, codes[by_code], side="right")
        found = hi > lo
        first = self._order[np.minimum(lo, len(self) - 1)]
        rows[found] = first[found]
        rows[found & (self.keys[first] != keys)] = -1
        for i in np.flatnonzero(found & (rows < 0)):  # codes collide: compare whole keys
            hits = [j for j in self._order[lo[i]:hi[i]] if self.keys[j] == keys[i]]
            rows[i] = min(hits) if hits else -1
        return rows
