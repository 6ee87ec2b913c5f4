"""Reading feature files: open one (refusing anything else), its rows, keys, errors and index, and
:class:`Features`, the lazy reader behind :func:`featx.load`.

>>> feats = load("features.h5")
>>> feats.X.shape, feats.label_names, sorted(set(feats.split))
((16, 1280), ['ants', 'bees'], ['train', 'val'])
>>> feats.rows([0, 2]).shape
(2, 1280)
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import h5py
import numpy as np

from featx.errors import FeatxError
from featx.store.schema import (
    COLUMNS,
    ERROR_FIELDS,
    ERRORS,
    FORMAT,
    INDEXED,
    LABEL_NAMES,
    ROW_DATASETS,
    STR,
    Failure,
    Rows,
    dtype,
    stored,
)


@dataclass
class Index:
    """What a feature file holds, read without the features themselves.

    ``rows``: key -> the row's :data:`~featx.store.schema.INDEXED` values (path, label name,
    split, size, mtime) as stored; ``stats``: path -> (size, mtime, key); ``failed``: key ->
    reason, for content known not to decode.
    """

    rows: dict[str, tuple] = field(default_factory=dict)
    stats: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def add(self, rows: Rows) -> None:
        path, size, mtime = (INDEXED.index(name) for name in ("paths", "sizes", "mtimes"))
        entries = zip(*(stored(rows, name) for name in INDEXED), strict=True)
        for key, entry in zip(rows.keys, entries, strict=True):
            self.rows[key] = entry
            self.stats[entry[path]] = (entry[size], entry[mtime], key)


def open_file(path: str | os.PathLike, mode: str = "r") -> h5py.File:
    """Open a feature file, refusing non-HDF5 files and HDF5 files of another schema."""
    if os.path.isdir(path):
        raise FeatxError(f"{path}: is a folder, not a feature file")
    try:
        h5 = h5py.File(path, mode)
    except FileNotFoundError:
        raise FeatxError(f"{path}: no such feature file") from None
    except OSError as exc:
        raise FeatxError(f"{path}: not a readable HDF5 feature file ({exc})") from None
    if h5.attrs.get("format") != FORMAT:
        h5.close()
        raise FeatxError(f"{path}: HDF5 file is not a featx feature file (no format={FORMAT!r})")
    missing = [n for n in (*ROW_DATASETS, LABEL_NAMES, ERRORS) if n not in h5]
    if missing:
        h5.close()
        raise FeatxError(f"{path}: feature file lacks datasets {', '.join(missing)}")
    return h5


def read_rows(h5: h5py.File, features: bool = True) -> Rows:
    """All rows of an open file, labels as class names (``features=False``: an empty matrix)."""
    names = _strings(h5[LABEL_NAMES])

    def column(name: str):
        if name == "features":
            return h5[name][:] if features else np.empty((0, 0), np.float32)
        if name == "labels":
            return [names[i] if i >= 0 else None for i in h5[name][:]]
        return _strings(h5[name]) if dtype(name) is STR else h5[name][:].tolist()

    return Rows(*(column(c.name) for c in COLUMNS))


def read_keys(h5: h5py.File) -> list[str]:
    """The content keys of an open file, in row order."""
    return _strings(h5["keys"])


def read_failures(h5: h5py.File) -> list[Failure]:
    """The ``errors`` rows of an open file."""
    group = h5[ERRORS]
    return [Failure(*row) for row in zip(*(_strings(group[n]) for n in ERROR_FIELDS), strict=True)]


def read_index(h5: h5py.File, index: Index | None = None) -> Index:
    """Add the rows and known failures of an open file to ``index``, without reading features."""
    index = index or Index()
    index.add(read_rows(h5, features=False))
    index.failed.update({f.key: f.reason for f in read_failures(h5) if f.key})
    return index


def _strings(ds: h5py.Dataset) -> list[str]:
    return list(ds.asstr()[:]) if len(ds) else []


class Features:
    """A feature file opened for reading; whole columns load on first access.

    ``X`` (N x D float32), ``y`` (int, -1 where unlabelled), ``paths``, ``label_names``, ``split``,
    ``keys``, ``errors`` and ``meta`` (the configuration attributes). ``batches()`` and ``rows()``
    read slices of ``features`` lazily, for files larger than memory.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        with open_file(self.path) as h5:
            self.meta = {k: _plain(v) for k, v in h5.attrs.items()}
            self._n = len(h5["keys"])

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        return f"Features({self.path!r}, rows={self._n}, dim={self.meta.get('feature_dim')})"

    @cached_property
    def X(self) -> np.ndarray:  # noqa: N802 (scikit-learn naming)
        with open_file(self.path) as h5:
            out = np.empty(h5["features"].shape, np.float32)
            if out.size:
                h5["features"].read_direct(out)
            return out

    @cached_property
    def y(self) -> np.ndarray:
        return self._column("labels")

    @cached_property
    def paths(self) -> np.ndarray:
        return np.array(self._strings("paths"), dtype=object)

    @cached_property
    def split(self) -> np.ndarray:
        return np.array(self._strings("split"), dtype=object)

    @cached_property
    def keys(self) -> np.ndarray:
        return np.array(self._strings("keys"), dtype=object)

    @cached_property
    def label_names(self) -> list[str]:
        return self._strings(LABEL_NAMES)

    @cached_property
    def errors(self) -> list[Failure]:
        with open_file(self.path) as h5:
            return read_failures(h5)

    def rows(self, selection: slice | Sequence[int] | np.ndarray) -> np.ndarray:
        """Read only the selected rows of ``features`` (a slice, or indices in any order)."""
        with open_file(self.path) as h5:
            if isinstance(selection, slice):
                return h5["features"][selection]
            unique, inverse = np.unique(np.asarray(selection, dtype=np.int64), return_inverse=True)
            if not len(unique):
                return np.empty((0, h5["features"].shape[1]), np.float32)
            return h5["features"][unique][inverse]

    def batches(self, batch_size: int = 4096) -> Iterator[np.ndarray]:
        """Iterate over ``features`` in row blocks without loading the whole matrix."""
        for start in range(0, self._n, batch_size):
            yield self.rows(slice(start, start + batch_size))

    def by_keys(self, keys: Sequence[str]) -> np.ndarray:
        """The feature rows of the given content keys, in that order."""
        position = {k: i for i, k in enumerate(self.keys)}
        missing = [k for k in keys if k not in position]
        if missing:
            raise FeatxError(f"{self.path}: {len(missing)} keys not in the file, e.g. {missing[0]}")
        return self.rows([position[k] for k in keys])

    def _column(self, name: str) -> np.ndarray:
        with open_file(self.path) as h5:
            return h5[name][:]

    def _strings(self, name: str) -> list[str]:
        with open_file(self.path) as h5:
            return _strings(h5[name])


def load(path: str | os.PathLike) -> Features:
    """Open a feature file written by ``featx embed``."""
    return Features(path)


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
