r"""The feature file's schema: one table, the fields of :class:`Rows`, one per row dataset.

A feature file holds one feature configuration and one row per distinct image content. Every
schema operation walks :data:`COLUMNS` (creating, writing and appending in
:mod:`featx.store.write`; reading and indexing in :mod:`featx.store.read`), so a new column is one
more field of :class:`Rows`:

=============  =====================  ===============================================
``features``   float32 (N, D)         chunked along N, resizable
``paths``      UTF-8 strings (N,)     latest path the content was seen at
``labels``     int32 (N,)             index into ``label_names``, -1 where unlabelled
``split``      UTF-8 strings (N,)     ``train`` / ``val`` / ``test`` ..., "" where none
``keys``       UTF-8 strings (N,)     content hash of the image bytes (:mod:`featx._hashing`)
``sizes``      int64 (N,)             file size when embedded (stat cache)
``mtimes``     int64 (N,)             file modification time in ns (stat cache)
=============  =====================  ===============================================

plus ``label_names`` (K,) and the group ``errors`` with ``path``, ``reason`` and ``key`` (M,) for
the images that failed. File attributes: :data:`FILE_ATTRS` and :func:`provenance` (the
configuration of :mod:`featx.backbones.config`, software versions, creation and update times).
Paths are stored as :func:`path_text`: bytes of a file name that are not UTF-8 appear as ``\xNN``.

>>> [column.name for column in COLUMNS]
['features', 'paths', 'labels', 'split', 'keys', 'sizes', 'mtimes']
>>> rows = Rows.empty(dim=2)
>>> rows.add({"paths": "/a.jpg", "labels": "ants", "split": "train", "keys": "k1", "sizes": 9,
...           "mtimes": 1})
>>> len(rows), entry({"paths": "caf\udce9.jpg", "labels": None, "split": "", "sizes": 9,
...                   "mtimes": 1})
(1, ('caf\\xe9.jpg', None, '', 9, 1))
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields

import h5py
import numpy as np

from featx.backbones.config import FeatureConfig, software_versions

FORMAT = "featx-features"
FORMAT_VERSION = 1
FILE_ATTRS = ("format", "format_version", "feature_dim")
STR = h5py.string_dtype("utf-8")
LABEL_NAMES = "label_names"
ERRORS = "errors"
ERROR_FIELDS = ("path", "reason", "key")


def path_text(path: str) -> str:
    """The UTF-8 text stored for a file path: undecodable name bytes (``surrogateescape``, as
    :func:`os.listdir` gives them) become ``\\xNN`` escapes; other paths are unchanged."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")
    return path


def _column(dtype, stored: Callable | None = None):
    """A row dataset: its HDF5 dtype and how a value is stored (``None``: as it is)."""
    return field(metadata={"dtype": dtype, "stored": stored})


@dataclass
class Rows:
    """Rows in memory, one field per row dataset (see the module's table); labels are class
    names (``None`` where unlabelled), the file stores their index into ``label_names``."""

    features: np.ndarray = _column(np.float32)
    paths: list[str] = _column(STR, path_text)
    labels: list[str | None] = _column(np.int32)
    split: list[str] = _column(STR)
    keys: list[str] = _column(STR)
    sizes: list[int] = _column(np.int64, int)
    mtimes: list[int] = _column(np.int64, int)

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def empty(cls, dim: int = 0) -> Rows:
        return cls(np.empty((0, dim), np.float32), *([] for _ in LISTS))

    def add(self, row: Mapping) -> None:
        """Append one row's values of the list columns (every column but ``features``)."""
        for name in LISTS:
            getattr(self, name).append(row[name])

    def take(self, indices: Sequence[int]) -> Rows:
        """The rows at ``indices``, in that order."""
        return Rows(self.features[list(indices)],
                    *([getattr(self, name)[i] for i in indices] for name in LISTS))


COLUMNS = fields(Rows)
ROW_DATASETS = tuple(column.name for column in COLUMNS)
LISTS = ROW_DATASETS[1:]
"""The columns held as lists in memory: every one but the ``features`` matrix."""
INDEXED = tuple(name for name in LISTS if name != "keys")
"""The columns an index keeps per content key (:func:`entry`)."""
_BY_NAME = {column.name: column for column in COLUMNS}
_INDEX_CONVERTERS = tuple((name, _BY_NAME[name].metadata["stored"] or (lambda value: value))
                          for name in INDEXED)


def dtype(name: str):
    """The HDF5 dtype of column ``name``."""
    return _BY_NAME[name].metadata["dtype"]


def stored(rows: Rows, name: str) -> list:
    """Column ``name`` of ``rows`` as the file stores it (labels stay class names)."""
    convert = _BY_NAME[name].metadata["stored"]
    values = getattr(rows, name)
    return [convert(v) for v in values] if convert else list(values)


def entry(row: Mapping) -> tuple:
    """One row's :data:`INDEXED` values as the file stores them: what an index keeps per key."""
    return tuple(convert(row[name]) for name, convert in _INDEX_CONVERTERS)


def concat(parts: Sequence[Rows]) -> Rows:
    """One :class:`Rows` holding the rows of ``parts`` in order."""
    return Rows(np.concatenate([p.features for p in parts]),
                *([x for p in parts for x in getattr(p, name)] for name in LISTS))


@dataclass
class Failure:
    """An image that could not be embedded; ``key`` is "" when its bytes could not be read."""

    path: str
    reason: str
    key: str = ""


def provenance() -> list[str]:
    """The attributes that record how a file was made, in the order ``featx info`` lists them:
    the configuration, software versions, and the times it was created and last updated."""
    return [*(f.name for f in fields(FeatureConfig)), *software_versions(), "created", "updated"]
