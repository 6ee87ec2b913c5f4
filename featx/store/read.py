"""The HDF5 feature file: schema, appending rows, and reading it back.

One file holds one feature configuration. Row datasets (one row per distinct image content):

=============  =====================  ===============================================
``features``   float32 (N, D)         chunked along N, resizable
``paths``      UTF-8 strings (N,)     latest path the content was seen at
``labels``     int32 (N,)             index into ``label_names``, -1 where unlabelled
``split``      UTF-8 strings (N,)     ``train`` / ``val`` / ``test`` ..., "" where none
``keys``       UTF-8 strings (N,)     content hash of the image bytes (:mod:`featx.keys`)
``sizes``      int64 (N,)             file size when embedded (stat cache)
``mtimes``     int64 (N,)             file modification time in ns (stat cache)
=============  =====================  ===============================================

plus ``label_names`` (K,) and the group ``errors`` with ``path``, ``reason`` and ``key`` (M,) for
the images that failed. File attributes hold the configuration (see :mod:`featx.config`).
Paths are stored as :func:`path_text`: bytes of a file name that are not UTF-8 appear as ``\\xNN``.

>>> feats = load("out.h5")  # doctest: +SKIP
>>> feats.X.shape, feats.label_names  # doctest: +SKIP
((397, 1280), ['ants', 'bees'])
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import h5py
import numpy as np

from featx.errors import FeatxError

FORMAT = "featx-features"
FORMAT_VERSION = 1
STR = h5py.string_dtype("utf-8")
ROW_DATASETS = ("features", "paths", "labels", "split", "keys", "sizes", "mtimes")
ERROR_FIELDS = ("path", "reason", "key")
CHUNK_BYTES = 1 << 20


@dataclass
class Rows:
    """Rows in memory, labels as class names (``None`` where unlabelled)."""

    features: np.ndarray
    paths: list[str]
    labels: list[str | None]
    split: list[str]
    keys: list[str]
    sizes: list[int]
    mtimes: list[int]

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def empty(cls, dim: int = 0) -> Rows:
        return cls(np.empty((0, dim), np.float32), [], [], [], [], [], [])

    def take(self, indices: Sequence[int]) -> Rows:
        """The rows at ``indices``, in that order."""
        return Rows(self.features[list(indices)],
                    *([getattr(self, name)[i] for i in indices] for name in _COLUMNS))


_COLUMNS = ("paths", "labels", "split", "keys", "sizes", "mtimes")


@dataclass
class Failure:
    """An image that could not be embedded; ``key`` is "" when its bytes could not be read."""

    path: str
    reason: str
    key: str = ""


@dataclass
class Index:
    """What a feature file holds, read without the features themselves.

    ``rows``: key -> (path, label name, split, size, mtime); ``stats``: path -> (size, mtime, key);
    ``failed``: key -> reason, for content known not to decode.
    """

    rows: dict[str, tuple] = field(default_factory=dict)
    stats: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def add(self, rows: Rows) -> None:
        for row in zip(rows.keys, rows.paths, rows.labels, rows.split, rows.sizes, rows.mtimes,
                       strict=True):
            key, path, label, split, size, mtime = row
            path = path_text(path)
            self.rows[key] = (path, label, split, int(size), int(mtime))
            self.stats[path] = (int(size), int(mtime), key)


def path_text(path: str) -> str:
    """The UTF-8 text stored for a file path: undecodable name bytes (``surrogateescape``, as
    :func:`os.listdir` gives them) become ``\\xNN`` escapes; other paths are unchanged."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")
    return path


def create(h5: h5py.File, attrs: dict, dim: int) -> None:
    """Lay out an empty feature file with configuration ``attrs`` and feature size ``dim``."""
    h5.attrs.update({"format": FORMAT, "format_version": FORMAT_VERSION, **attrs})
    h5.attrs["feature_dim"] = dim
    chunk_rows = max(1, CHUNK_BYTES // (4 * dim))
    h5.create_dataset("features", (0, dim), np.float32, maxshape=(None, dim),
                      chunks=(chunk_rows, dim))
    for name, dtype in [("paths", STR), ("labels", np.int32), ("split", STR), ("keys", STR),
                        ("sizes", np.int64), ("mtimes", np.int64), ("label_names", STR)]:
        h5.create_dataset(name, (0,), dtype, maxshape=(None,), chunks=(4096,))
    errors = h5.create_group("errors")
    for name in ERROR_FIELDS:
        errors.create_dataset(name, (0,), STR, maxshape=(None,), chunks=(1024,))


def write(h5: h5py.File, attrs: dict, rows: Rows) -> None:
    """Write ``rows`` as a complete feature file of fixed size in one go (a journal part)."""
    names = sorted({label for label in rows.labels if label is not None})
    position = {name: i for i, name in enumerate(names)}
    h5.attrs.update({"format": FORMAT, "format_version": FORMAT_VERSION, **attrs})
    h5.attrs["feature_dim"] = rows.features.shape[1]
    h5.create_dataset("features", data=rows.features.astype(np.float32, copy=False))
    for name, values in [("paths", [path_text(p) for p in rows.paths]), ("split", rows.split),
                         ("keys", rows.keys), ("label_names", names)]:
        h5.create_dataset(name, data=np.array(values, dtype=object), dtype=STR)
    h5.create_dataset("labels", data=np.array([position.get(x, -1) for x in rows.labels],
                                              dtype=np.int32))
    h5.create_dataset("sizes", data=np.array(rows.sizes, dtype=np.int64))
    h5.create_dataset("mtimes", data=np.array(rows.mtimes, dtype=np.int64))
    errors = h5.create_group("errors")
    for name in ERROR_FIELDS:
        errors.create_dataset(name, (0,), STR)


def concat(parts: Sequence[Rows]) -> Rows:
    """One :class:`Rows` holding the rows of ``parts`` in order."""
    return Rows(np.concatenate([p.features for p in parts]),
                *([x for p in parts for x in getattr(p, name)] for name in _COLUMNS))


def append(h5: h5py.File, rows: Rows, seen: set[str] | None = None) -> None:
    """Append ``rows`` whose keys are not in the file yet, merging label names.

    ``seen``: the file's keys, if the caller keeps them (they are then updated, not read).
    """
    seen = set(read_keys(h5)) if seen is None else seen
    fresh = []
    for i, key in enumerate(rows.keys):
        if key not in seen:
            seen.add(key)
            fresh.append(i)
    if not fresh:
        return
    new = rows.take(fresh)
    start, stop = len(h5["keys"]), len(h5["keys"]) + len(fresh)
    columns = {
        "features": new.features,
        "paths": [path_text(p) for p in new.paths],
        "labels": _label_ids(h5, new.labels),
        "split": new.split,
        "keys": new.keys,
        "sizes": new.sizes,
        "mtimes": new.mtimes,
    }
    for name, values in columns.items():
        h5[name].resize(stop, axis=0)
        h5[name][start:stop] = values


def relabel(h5: h5py.File, rows: Rows) -> None:
    """Point existing rows (found by key) at the paths, labels and splits given in ``rows``."""
    index = {k: i for i, k in enumerate(read_keys(h5))}
    hits = sorted((index[k], i) for i, k in enumerate(rows.keys) if k in index)
    if not hits:
        return
    label_ids = _label_ids(h5, [rows.labels[i] for _, i in hits])
    paths = [path_text(p) for p in rows.paths]
    for name, values in [("paths", paths), ("split", rows.split), ("sizes", rows.sizes),
                         ("mtimes", rows.mtimes)]:
        column = h5[name][:]
        for row, i in hits:
            column[row] = values[i]
        h5[name][:] = column
    labels = h5["labels"][:]
    labels[[row for row, _ in hits]] = label_ids
    h5["labels"][:] = labels


def set_errors(h5: h5py.File, failures: Sequence[Failure], replaced_paths: set[str]) -> None:
    """Replace the errors of ``replaced_paths`` (the paths of this run) by ``failures``."""
    replaced = {path_text(p) for p in replaced_paths}
    kept = [f for f in read_failures(h5) if f.path not in replaced]
    kept += [Failure(path_text(f.path), f.reason, f.key) for f in failures]
    for name in ERROR_FIELDS:
        ds = h5["errors"][name]
        ds.resize(len(kept), axis=0)
        if kept:
            ds[:] = [getattr(f, name) for f in kept]


def read_failures(h5: h5py.File) -> list[Failure]:
    """The ``errors`` rows of an open file."""
    group = h5["errors"]
    return [Failure(*row) for row in zip(*(_strings(group[n]) for n in ERROR_FIELDS), strict=True)]


def read_rows(h5: h5py.File, features: bool = True) -> Rows:
    """All rows of an open file, labels as class names (``features=False``: an empty matrix)."""
    names = _strings(h5["label_names"])
    return Rows(
        features=h5["features"][:] if features else np.empty((0, 0), np.float32),
        paths=_strings(h5["paths"]),
        labels=[names[i] if i >= 0 else None for i in h5["labels"][:]],
        split=_strings(h5["split"]),
        keys=read_keys(h5),
        sizes=h5["sizes"][:].tolist(),
        mtimes=h5["mtimes"][:].tolist(),
    )


def read_keys(h5: h5py.File) -> list[str]:
    """The content keys of an open file, in row order."""
    return _strings(h5["keys"])


def read_index(h5: h5py.File, index: Index | None = None) -> Index:
    """Add the rows and known failures of an open file to ``index``, without reading features."""
    index = index or Index()
    index.add(read_rows(h5, features=False))
    index.failed.update({f.key: f.reason for f in read_failures(h5) if f.key})
    return index


def _label_ids(h5: h5py.File, labels: Sequence[str | None]) -> np.ndarray:
    """Map class names to indices, extending (and re-sorting) ``label_names`` as needed."""
    old = _strings(h5["label_names"])
    names = sorted(set(old) | {label for label in labels if label is not None})
    if names != old:
        remap = np.array([names.index(n) for n in old] + [-1], dtype=np.int32)
        h5["labels"][:] = remap[h5["labels"][:]]
        h5["label_names"].resize(len(names), axis=0)
        h5["label_names"][:] = names
    position = {n: i for i, n in enumerate(names)}
    return np.array([position[x] if x is not None else -1 for x in labels], dtype=np.int32)


def _strings(ds: h5py.Dataset) -> list[str]:
    return list(ds.asstr()[:]) if len(ds) else []


def open_file(path: str | os.PathLike, mode: str = "r") -> h5py.File:
    """Open a feature file, refusing non-HDF5 files and HDF5 files of another schema."""
    try:
        h5 = h5py.File(path, mode)
    except FileNotFoundError:
        raise FeatxError(f"{path}: no such feature file") from None
    except OSError as exc:
        raise FeatxError(f"{path}: not a readable HDF5 feature file ({exc})") from None
    if h5.attrs.get("format") != FORMAT:
        h5.close()
        raise FeatxError(f"{path}: HDF5 file is not a featx feature file (no format={FORMAT!r})")
    missing = [n for n in (*ROW_DATASETS, "label_names", "errors") if n not in h5]
    if missing:
        h5.close()
        raise FeatxError(f"{path}: feature file lacks datasets {', '.join(missing)}")
    return h5


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
        return self._strings("label_names")

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
