"""Reading a store: a pinned snapshot of its shards, and :class:`Features`, one configuration's
rows, one per listed image (entry), in listing order.

A snapshot opens the base file and the live deltas and keeps them open, so every column a
:class:`Features` reads, now or later, comes from one committed version, whatever writers do
meanwhile (they never change a file, they add new ones and rename). Readers take no lock.

>>> feats = load("features.h5")
>>> feats.X.shape, feats.label_names, sorted(set(feats.split))
((16, 1280), ['ants', 'bees'], ['train', 'val'])
>>> feats.rows([0, 2]).shape, len(feats.unique_content()), feats.duplicates()
((2, 1280), 16, [])
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property

import h5py
import numpy as np

from featx.errors import FeatxError
from featx.store import schema, shards, v1
from featx.store.groups import Group, duplicate_groups
from featx.store.schema import Failure, read_column
from featx.store.tables import KeyIndex, Table, unique_first

OPEN_RETRIES = 20


class Shard:
    """One open shard file: its configuration groups and source groups."""

    def __init__(self, h5: h5py.File | None, tables: v1.Tables | None = None):
        self.h5 = h5
        self._v1 = tables
        if tables is None:
            self.first = int(h5.attrs["seq_first"])
            self.last = int(h5.attrs["seq_last"])

    @cached_property
    def configs(self) -> dict[str, Mapping]:
        if self._v1 is not None:
            return self._v1.configs
        return dict(self.h5["configs"].items()) if "configs" in self.h5 else {}

    @cached_property
    def sources(self) -> dict[str, Mapping]:
        if self._v1 is not None:
            return self._v1.sources
        return dict(self.h5["sources"].items()) if "sources" in self.h5 else {}


class Snapshot:
    """The committed state of the store ``path``: its live shards, open, oldest first."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        self._configs: dict[str, dict] | None = None
        self._sources: dict[str, tuple[Shard, Mapping]] | None = None
        for _ in range(OPEN_RETRIES):
            try:
                self.shards = self._open()
                return
            except FileNotFoundError:  # a merge replaced a shard between listing and opening
                continue
        raise FeatxError(f"{self.path}: the store kept changing while being opened; try again")

    def _open(self) -> list[Shard]:
        opened: list[Shard] = []
        try:
            base_last = 0
            if os.path.exists(self.path):
                base = open_file(self.path)
                if base.attrs.get("format_version") == 1:
                    opened.append(Shard(base, v1.read(base, self.path)))
                else:
                    opened.append(Shard(base))
                    base_last = opened[0].last
            found, _ = shards.live(base_last, shards.deltas(self.path))
            for delta in found:
                opened.append(Shard(open_file(delta.path)))
            if not opened:
                hint = (f" ({len(shards.pending_parts(self.path))} uncommitted parts wait in "
                        f"{shards.parts_dir(self.path)}; rerun `featx embed` to commit them)"
                        if shards.pending_parts(self.path) else "")
                raise FeatxError(f"{self.path}: no such feature file{hint}")
            return opened
        except BaseException:
            for shard in opened:
                shard.h5.close()
            raise

    def close(self) -> None:
        for shard in self.shards:
            if shard.h5:
                shard.h5.close()

    @property
    def version(self) -> int:
        return 1 if self.shards[0]._v1 is not None else schema.FORMAT_VERSION

    def updated(self) -> str:
        """When the newest shard was written."""
        written = [str(s.h5.attrs.get("written", "")) for s in self.shards if s._v1 is None]
        return max(written, default="") or str(self.shards[0].h5.attrs.get("updated", ""))

    def config_names(self) -> list[str]:
        """The configurations in the store, by group name (no attribute read)."""
        return list(dict.fromkeys(name for shard in self.shards for name in shard.configs))

    def configs(self) -> dict[str, dict]:
        """Every configuration in the store: group name -> its attributes (oldest shard's)."""
        if self._configs is None:
            self._configs = self._read_configs()
        return self._configs

    def _read_configs(self) -> dict[str, dict]:
        found: dict[str, dict] = {}
        for shard in self.shards:
            for name, group in shard.configs.items():
                found.setdefault(name, attrs_of(group))
        return found

    def sources(self) -> dict[str, tuple[Shard, Mapping]]:
        """Every source: group name -> (shard, group) of its latest entries, in listing order."""
        if self._sources is None:
            self._sources = self._read_sources()
        return self._sources

    def _read_sources(self) -> dict[str, tuple[Shard, Mapping]]:
        latest: dict[str, tuple[Shard, Mapping]] = {}
        for shard in self.shards:
            for name, group in shard.sources.items():
                latest[name] = (shard, group)
        return dict(sorted(latest.items(), key=lambda item: attrs_of(item[1][1])["order"]))

    def content_keys(self, config: str) -> list[np.ndarray]:
        """The content keys of ``config`` in each shard (empty where the shard has none)."""
        return [read_column(shard.configs[config]["content"], "key")
                if config in shard.configs else np.empty(0, schema.KEY) for shard in self.shards]

    def failed(self, config: str) -> dict[str, str]:
        """Content keys known not to embed with ``config``, with the reason (newest wins)."""
        reasons: dict[str, str] = {}
        for shard in self.shards:
            if config in shard.configs:
                table = shard.configs[config]["failed"]
                keys = read_column(table, "key")
                reasons.update(zip(keys.astype(str), read_column(table, "reason"), strict=True))
        return reasons

    def entries(self, source: str, columns: Sequence[str] | None = None) -> Table | None:
        """The latest entries of ``source`` (only ``columns`` if given), or ``None``."""
        found = self.sources().get(source)
        if found is None:
            return None
        table = found[1]["entries"]
        names = columns or [c.name for c in schema.TABLES["entries"]]
        return Table("entries", {name: read_column(table, name) for name in names})


def attrs_of(group: Mapping) -> dict:
    """The attributes of a stored group (or of a version-1 file's group read as version 2)."""
    raw = group.attrs if hasattr(group, "attrs") else group["attrs"]
    return {k: _plain(v) for k, v in raw.items()}


def open_file(path: str | os.PathLike) -> h5py.File:
    """Open a store file read-only, refusing folders, non-HDF5 files and HDF5 files of another
    schema (a missing file raises ``FileNotFoundError``)."""
    if os.path.isdir(path):
        raise FeatxError(f"{path}: is a folder, not a feature file")
    try:
        h5 = h5py.File(path, "r")
    except FileNotFoundError:
        raise
    except OSError as exc:
        if not os.path.exists(path):  # removed while HDF5 opened it (a merge): not a damage
            raise FileNotFoundError(path) from None
        raise FeatxError(f"{path}: not a readable HDF5 feature file ({exc})") from None
    if h5.attrs.get("format") != schema.FORMAT:
        h5.close()
        raise FeatxError(f"{path}: HDF5 file is not a featx feature file "
                         f"(no format={schema.FORMAT!r})")
    version = h5.attrs.get("format_version")
    if version not in (1, schema.FORMAT_VERSION):
        h5.close()
        raise FeatxError(f"{path}: feature file format version {version!r} is not supported by "
                         f"this featx (it reads versions 1 and {schema.FORMAT_VERSION})")
    return h5


def choose_config(snapshot: Snapshot, config=None) -> str:
    """The name of the configuration ``config`` selects: ``None`` (the only one), a group name
    (or a unique prefix of one), or an object with ``mismatches(attrs)`` (a FeatureConfig)."""
    configs = snapshot.config_names()
    if not configs:
        raise FeatxError(f"{snapshot.path}: holds no features yet")
    if config is None:
        if len(configs) == 1:
            return next(iter(configs))
        raise FeatxError(f"{snapshot.path} holds {len(configs)} configurations; choose one with "
                         f"config=NAME (or --config NAME): {', '.join(configs)}")
    if isinstance(config, str):
        hits = [name for name in configs if name == config] or [
            name for name in configs if name.startswith(config)]
        if len(hits) == 1:
            return hits[0]
        raise FeatxError(f"{snapshot.path}: no single configuration named {config!r}; it holds "
                         f"{', '.join(configs)}")
    hits = find_configs(snapshot.configs(), config)
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise FeatxError(f"{snapshot.path} holds no features of this configuration "
                         f"({', '.join(configs)})")
    raise FeatxError(f"{snapshot.path}: several configurations match ({', '.join(hits)})")


def find_configs(configs: dict[str, dict], config) -> list[str]:
    """Group names whose attributes ``config`` (a FeatureConfig) matches; a model file's
    configuration with its defaults unresolved may match several."""
    return [name for name, attrs in configs.items() if not config.mismatches(attrs)]


class Features:
    """One configuration's features in a store: a row per listed image, in listing order.

    ``X`` (N x D float32), ``y`` (int, -1 where unlabelled), ``paths``, ``label_names``, ``split``,
    ``keys``, ``errors`` (images that could not be embedded) and ``meta`` (the configuration).
    ``rows()`` and ``batches()`` read slices lazily; ``unique_content()`` keeps one row per
    distinct content; ``duplicates()`` lists the groups of entries sharing content.
    """

    def __init__(self, snapshot: Snapshot, config: str):
        self.path = snapshot.path
        self.config = config
        self._snap = snapshot
        groups = [group for _, group in snapshot.sources().values()]
        self._sources = [group["entries"] for group in groups]
        self._columns: dict[str, np.ndarray] = {}
        self._content = _ContentMap(snapshot, config)
        self._where = self._content.find(self._column("key"))
        # A source embedded with other configurations shows here only the rows this one holds
        # features for (a path it took over from a source embedded with this one stays listed);
        # only the sources embedded with this configuration have rows missing or failed in it.
        self._own = np.repeat([config in attrs_of(group).get("configs", []) for group in groups],
                              [len(table["key"]) for table in self._sources])
        self._selected = np.flatnonzero(self._where[:, 0] >= 0)
        self._failed_reasons: dict[str, str] | None = None

    def _column(self, name: str) -> np.ndarray:
        """One entries column of every source, in listing order (read once)."""
        if name not in self._columns:
            parts = [read_column(table, name) for table in self._sources]
            self._columns[name] = (np.concatenate(parts) if parts else
                                   Table.empty("entries")[name])
        return self._columns[name]

    def __len__(self) -> int:
        return len(self._selected)

    def __repr__(self) -> str:
        return f"Features({self.path!r}, config={self.config!r}, rows={len(self)}, dim={self.dim})"

    def __enter__(self) -> Features:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._snap.close()

    @cached_property
    def meta(self) -> dict:
        """The configuration's attributes, and when the store was last written (``updated``)."""
        return {**self._snap.configs()[self.config], "updated": self._snap.updated()}

    @cached_property
    def dim(self) -> int:
        return int(self._content.dim)

    @cached_property
    def X(self) -> np.ndarray:  # noqa: N802 (scikit-learn naming)
        return self._content.gather(self._where[self._selected], self.dim)

    @cached_property
    def label_names(self) -> list[str]:
        return sorted({x for x in self._column("label")[self._selected] if x})

    @cached_property
    def y(self) -> np.ndarray:
        position = {name: i for i, name in enumerate(self.label_names)}
        return np.array([position.get(x, -1) for x in self._column("label")[self._selected]],
                        dtype=np.int64)

    @cached_property
    def split(self) -> np.ndarray:
        return self._column("split")[self._selected]

    @cached_property
    def keys(self) -> np.ndarray:
        return self._column("key")[self._selected].astype(str).astype(object)

    @cached_property
    def paths(self) -> np.ndarray:
        return self._column("path")[self._selected]

    @cached_property
    def errors(self) -> list[Failure]:
        """Listed images that could not be embedded with this configuration, with the reason."""
        return [Failure(self._column("path")[i], reason, key)
                for i, key, reason in self._unembedded() if reason]

    @cached_property
    def missing(self) -> list[str]:
        """Listed images with neither features nor an error here: listed by a later run with
        another configuration (rerun ``featx embed`` with this one to add them)."""
        return [self._column("path")[i] for i, _, reason in self._unembedded() if not reason]

    def _unembedded(self) -> list[tuple[int, str, str]]:
        """``(entry, key, reason)`` of every entry without features ("": no reason known)."""
        if self._failed_reasons is None:
            self._failed_reasons = self._snap.failed(self.config)
        rows = np.flatnonzero((self._where[:, 0] < 0) & self._own)
        keys, errors = self._column("key")[rows].astype(str), self._column("error")[rows]
        return [(i, key, error or self._failed_reasons.get(key, ""))
                for i, key, error in zip(rows, keys, errors, strict=True)]

    def rows(self, selection: slice | Sequence[int] | np.ndarray) -> np.ndarray:
        """Read only the selected rows of ``X`` (a slice, or indices in any order)."""
        chosen = self._selected[selection]
        return self._content.gather(self._where[np.atleast_1d(chosen)], self.dim)

    def batches(self, batch_size: int = 4096) -> Iterator[np.ndarray]:
        """Iterate over ``X`` in row blocks without loading the whole matrix."""
        for start in range(0, len(self), batch_size):
            yield self.rows(slice(start, start + batch_size))

    def by_keys(self, keys: Sequence[str]) -> np.ndarray:
        """The feature rows of the given content keys, in that order (any content of this
        configuration, listed or not)."""
        where = self._content.find(np.asarray(keys, dtype=schema.KEY))
        missing = np.flatnonzero(where[:, 0] < 0)
        if len(missing):
            raise FeatxError(f"{self.path}: {len(missing)} keys not in the file, "
                             f"e.g. {keys[missing[0]]}")
        return self._content.gather(where, self.dim)

    def unique_content(self) -> Features:
        """These features with one row per distinct content (its first entry)."""
        view = object.__new__(Features)
        view.__dict__.update({k: v for k, v in self.__dict__.items()
                              if k in ("path", "config", "_snap", "meta", "_sources", "_columns",
                                       "_content", "_where", "_failed_reasons")})
        view._selected = self._selected[unique_first(self._column("key")[self._selected])]
        return view

    def duplicates(self) -> list[Group]:
        """The groups of rows (two or more) sharing one content, with their labels and splits:
        exact duplicates, flagged when they cross splits (``leak``) or labels (``conflict``)."""
        return duplicate_groups(self._column("key")[self._selected],
                                self._column("label")[self._selected], self.split)

    def to_pandas(self, vector: bool = False):
        """A pandas DataFrame, one row per entry: path, label, split, key and the features (one
        column each, or one ``features`` column of vectors); see :mod:`featx.store.export`."""
        from featx.store.export import to_pandas

        return to_pandas(self, vector)


class _ContentMap:
    """Where each content key of one configuration lives: (shard, row)."""

    def __init__(self, snapshot: Snapshot, config: str):
        self._tables = [shard.configs[config]["content"] if config in shard.configs else None
                        for shard in snapshot.shards]
        self._keys = snapshot.content_keys(config)
        self._indexes: dict[int, KeyIndex] = {}
        self.dim = next(t["features"].shape[1] for t in self._tables if t is not None)

    def find(self, keys: np.ndarray) -> np.ndarray:
        """``(shard, row)`` of each key, ``(-1, -1)`` where absent (the oldest shard wins).

        Keys listed in the order the base holds them (a compacted store) are matched without an
        index; the rest are looked up in the newer shards first, the base's index being built
        only for keys they do not hold."""
        where = np.full((len(keys), 2), -1, dtype=np.int64)
        if self._keys and len(self._keys[0]) and len(keys):
            n = min(len(keys), len(self._keys[0]))
            same = np.flatnonzero((_words(keys[:n]) == _words(self._keys[0][:n])).all(axis=1))
            where[same, 0], where[same, 1] = 0, same
        rest = np.flatnonzero((where[:, 0] < 0) & (keys != b""))
        for shard in [*range(1, len(self._keys)), 0]:
            if not len(rest):
                break
            rows = self._index(shard).find(keys[rest])
            hit = rows >= 0
            where[rest[hit], 0], where[rest[hit], 1] = shard, rows[hit]
            rest = rest[~hit]
        return where

    def _index(self, shard: int) -> KeyIndex:
        if shard not in self._indexes:
            self._indexes[shard] = KeyIndex(self._keys[shard])
        return self._indexes[shard]

    def gather(self, where: np.ndarray, dim: int) -> np.ndarray:
        """The feature rows at ``where`` (pairs of shard and row), in that order. The rows of one
        shard, all of it in order (a compacted store), are read straight into the result."""
        out = np.empty((len(where), dim), np.float32)
        shards = where[:, 0]
        one = len(shards) and (shards == shards[0]).all()
        for shard in [shards[0]] if one else np.unique(shards):
            mine = slice(None) if one else np.flatnonzero(shards == shard)
            rows = where[mine, 1]
            features = self._tables[shard]["features"]
            if one and rows[0] == 0 and rows[-1] == len(rows) - 1 and (np.diff(rows) == 1).all():
                features.read_direct(out, np.s_[:len(rows)])
                continue
            lo, hi = int(rows.min()), int(rows.max()) + 1
            if (hi - lo) <= 4 * len(rows):
                out[mine] = features[lo:hi][rows - lo]
            else:
                unique, inverse = np.unique(rows, return_inverse=True)
                out[mine] = features[unique][inverse]
        return out


def _words(keys: np.ndarray) -> np.ndarray:
    """Content keys as rows of four 64-bit words (compared faster than 32-byte strings)."""
    return np.ascontiguousarray(keys, dtype=schema.KEY).view(np.uint64).reshape(-1, 4)


def load(path: str | os.PathLike, config=None) -> Features:
    """Open the store ``path`` and one of its configurations (``None``: its only one)."""
    snapshot = Snapshot(path)
    try:
        return Features(snapshot, choose_config(snapshot, config))
    except BaseException:
        snapshot.close()
        raise


def configs(path: str | os.PathLike) -> dict[str, dict]:
    """The configurations a store holds: group name -> attributes."""
    snapshot = Snapshot(path)
    try:
        return snapshot.configs()
    finally:
        snapshot.close()


def sources(path: str | os.PathLike) -> list[dict]:
    """The sources a store holds, in listing order: each one's attributes, its number of
    ``entries`` and the ``errors`` of its files that could not be read (path, reason)."""
    snapshot = Snapshot(path)
    try:
        found = []
        for _, group in snapshot.sources().values():
            table = group["entries"]
            errors = read_column(table, "error")
            bad = np.flatnonzero(errors != "")
            paths = read_column(table, "path")[bad] if len(bad) else []
            found.append({**attrs_of(group), "entries": len(errors),
                          "errors": list(zip(paths, errors[bad], strict=True))})
        return found
    finally:
        snapshot.close()


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode()
    return value


