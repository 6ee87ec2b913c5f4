"""Writing shards: the tables of some configurations and sources, as one HDF5 file.

Every file of a store (base, delta or part) is written whole by :func:`write_shard` and never
changed after; :func:`merge` combines shards (content unique by key, the newest entries of each
source, the newest reason for each failed key) for commits and compactions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import h5py
import numpy as np

from featx import __version__
from featx.backbones.config import now
from featx.store import schema
from featx.store.read import Shard, attrs_of
from featx.store.schema import read_column
from featx.store.tables import KeyIndex, Table, unique_first

BLOCK_BYTES = 8 << 20  # features are copied between shards in blocks of about this size


@dataclass(frozen=True)
class Stored:
    """The rows of a dataset in a closed HDF5 file, read (the file opened) only when sliced."""

    path: str
    name: str

    def __getitem__(self, index) -> np.ndarray:
        with h5py.File(self.path, "r") as h5:
            return h5[self.name][index]


@dataclass
class Matrix:
    """Feature rows to write: in memory, or gathered from stored shards block by block."""

    dim: int
    blocks: list[tuple[object, np.ndarray]] = field(default_factory=list)  # (array-like, rows)

    def __len__(self) -> int:
        return sum(len(rows) for _, rows in self.blocks)

    @classmethod
    def of(cls, matrix: np.ndarray) -> Matrix:
        return cls(matrix.shape[1], [(matrix, np.arange(len(matrix)))])

    def take(self, indices: np.ndarray) -> Matrix:
        """The rows at ``indices`` (positions in this sequence), in that order."""
        starts = np.cumsum([0] + [len(rows) for _, rows in self.blocks])
        which = np.searchsorted(starts, indices, side="right") - 1
        cuts = np.flatnonzero(np.diff(which)) + 1
        out = Matrix(self.dim)
        for run in np.split(np.arange(len(indices)), cuts) if len(indices) else []:
            source, rows = self.blocks[which[run[0]]]
            out.blocks.append((source, rows[indices[run] - starts[which[run[0]]]]))
        return out

    def iter_blocks(self) -> Iterable[np.ndarray]:
        for source, rows in self.blocks:
            step = max(1, BLOCK_BYTES // max(1, 4 * self.dim))
            for lo in range(0, len(rows), step):
                chunk = rows[lo:lo + step]
                if not len(chunk):
                    continue
                a, b = int(chunk.min()), int(chunk.max()) + 1
                if isinstance(source, np.ndarray):
                    yield source[chunk]
                elif isinstance(source, Stored):
                    yield source[a:b][chunk - a]
                elif b - a <= 4 * len(chunk):
                    yield np.asarray(source[a:b])[chunk - a]
                else:
                    unique, inverse = np.unique(chunk, return_inverse=True)
                    yield np.asarray(source[unique])[inverse]


@dataclass
class Batch:
    """What a batch adds for one configuration: content rows, and content that failed."""

    keys: list[str] | np.ndarray
    features: np.ndarray
    failed: Table


@dataclass
class ConfigRows:
    """What a shard holds for one configuration."""

    attrs: dict
    keys: np.ndarray
    features: Matrix
    failed: Table

    @classmethod
    def of(cls, attrs: dict, batch: Batch) -> ConfigRows:
        return cls(attrs, np.asarray(batch.keys, dtype=schema.KEY),
                   Matrix.of(np.asarray(batch.features, np.float32)), batch.failed)


@dataclass
class SourceRows:
    """What a shard holds for one source: its attributes and entries."""

    attrs: dict
    entries: Table


@dataclass
class ShardData:
    first: int
    last: int
    configs: dict[str, ConfigRows] = field(default_factory=dict)
    sources: dict[str, SourceRows] = field(default_factory=dict)


def write_shard(h5: h5py.File, data: ShardData) -> None:
    """Lay out ``data`` in the empty, open file ``h5``."""
    h5.attrs.update({"format": schema.FORMAT, "format_version": schema.FORMAT_VERSION,
                     "seq_first": data.first, "seq_last": data.last, "featx_version": __version__,
                     "written": now()})
    for name, rows in data.configs.items():
        group = h5.create_group(f"configs/{name}")
        group.attrs.update({**rows.attrs, "feature_dim": rows.features.dim})
        schema.write_table(group, "content", {"key": rows.keys, "features": rows.features})
        schema.write_table(group, "failed", rows.failed.columns)
    for name, rows in data.sources.items():
        group = h5.create_group(f"sources/{name}")
        group.attrs.update(rows.attrs)
        schema.write_table(group, "entries", rows.entries.columns)


def shard_rows(shard: Shard) -> ShardData:
    """The tables of an open shard, features left on disk (copied block by block later)."""
    data = ShardData(getattr(shard, "first", 0), getattr(shard, "last", 0))
    for name, group in shard.configs.items():
        content, failed = group["content"], group["failed"]
        keys = read_column(content, "key")
        data.configs[name] = ConfigRows(
            {k: v for k, v in attrs_of(group).items() if k != "feature_dim"}, keys,
            Matrix(content["features"].shape[1], [(content["features"], np.arange(len(keys)))]),
            Table("failed", {c: read_column(failed, c) for c in ("key", "reason")}))
    for name, group in shard.sources.items():
        table = group["entries"]
        data.sources[name] = SourceRows(attrs_of(group), Table(
            "entries", {c.name: read_column(table, c.name) for c in schema.TABLES["entries"]}))
    return data


def merge(shards: Sequence[ShardData], known: dict[str, KeyIndex] | None = None,
          order_by_entries: bool = False) -> ShardData:
    """One shard holding ``shards`` (oldest first): content unique by key (first kept), failed
    keys with their newest reason, each source's newest entries. Content whose key ``known``
    (per configuration) already holds is left out. ``order_by_entries`` lays content out in the
    order the entries list it, so readers match them without an index."""
    out = ShardData(min(s.first for s in shards), max(s.last for s in shards))
    for shard in shards:
        out.sources.update(shard.sources)
    for name in dict.fromkeys(n for s in shards for n in s.configs):
        parts = [s.configs[name] for s in shards if name in s.configs]
        keys = np.concatenate([p.keys for p in parts])
        features = Matrix(max(p.features.dim for p in parts),
                          [b for p in parts for b in p.features.blocks if len(b[1])])
        keep = unique_first(keys)
        if known and name in known:
            keep = keep[known[name].find(keys[keep]) < 0]
        if order_by_entries:
            keep = _entries_first(keys, keep, out.sources, name)
        failed = Table.concat([p.failed for p in parts])
        newest = len(failed) - 1 - unique_first(failed["key"][::-1])
        out.configs[name] = ConfigRows(parts[0].attrs, keys[keep], features.take(keep),
                                       failed.take(np.sort(newest)))
    return out


def _entries_first(keys: np.ndarray, keep: np.ndarray, sources: dict[str, SourceRows],
                   config: str) -> np.ndarray:
    """``keep`` reordered: the keys of the entries listed with ``config`` first, in their order."""
    listed = [s.entries["key"] for _, s in sorted(sources.items(),
                                                  key=lambda item: item[1].attrs["order"])
              if config in s.attrs.get("configs", [])]
    if not listed:
        return keep
    wanted = np.concatenate(listed)
    wanted = wanted[unique_first(wanted)]
    index = KeyIndex(keys[keep])
    rows = index.find(wanted)
    first = rows[rows >= 0]
    rest = np.setdiff1d(np.arange(len(keep)), first, assume_unique=True)
    return keep[np.concatenate([first, rest])]
