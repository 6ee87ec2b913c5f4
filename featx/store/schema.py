r"""The store's schema: one table of columns for each kind of table, walked by every read, write
and check.

A store is a set of immutable HDF5 *shards* (:mod:`featx.store.shards`), each of them laid out as

* ``configs/NAME/``: one group per feature configuration, its attributes the complete
  configuration (:meth:`featx.backbones.config.FeatureConfig.attrs`) plus ``feature_dim``; its
  tables ``content`` (one row per distinct image content) and ``failed`` (content known not to
  embed with it, and why);
* ``sources/NAME/``: one group per source (a folder or list that was embedded), its attributes
  ``source`` (the folder or list), ``order`` (listing order among sources), ``configs`` (the
  configurations it was embedded with) and ``complete`` (those its current entries are complete
  for); its table ``entries``: one row per listed image, in listing order.

=================  ========  ===========================================================
column             kind      meaning
=================  ========  ===========================================================
content.key        key       content hash of the image bytes (32 hex digits)
content.features   matrix    float32 (N, D)
failed.key         key
failed.reason      text      why this content cannot be embedded (cannot decode; NaN)
entries.path       text      the image path (name bytes that are not UTF-8 as ``\xNN``)
entries.label      category  class name, "" where unlabelled
entries.split      category  ``train``, ``val``, ``test``, ..., "" where none
entries.key        key       content key, "" when the file could not be read
entries.size       int       file size when read (stat cache)
entries.mtime      int       modification time in ns when read (stat cache)
entries.error      text      why the file could not be read, "" when it could
=================  ========  ===========================================================

A *category* column is stored as int32 codes plus ``<column>_names``; a *key* as 32 ASCII bytes;
*text* as UTF-8 strings. Root attributes: ``format``, ``format_version`` (2), the commits the
shard holds (``seq_first``, ``seq_last``), ``featx_version`` and ``written``.

>>> [column.name for column in TABLES["entries"]]
['path', 'label', 'split', 'key', 'size', 'mtime', 'error']
>>> config_name({"backbone": "vgg16", "layer": "block5_pool", "pooling": "avg",
...              "input_size": [224, 224], "resize": "squash", "preprocess": "vgg16",
...              "weights_fingerprint": "imagenet"}).rsplit(".", 1)[0]
'vgg16.block5_pool.avg.224x224.squash'
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields

import h5py
import numpy as np

from featx.backbones.config import IDENTITY, IDENTITY_DEFAULTS, FeatureConfig, software_versions
from featx.store._guarded import check

FORMAT = "featx-features"
FORMAT_VERSION = 2
KEY = np.dtype("S32")
TEXT = h5py.string_dtype("utf-8")
CHUNK_BYTES = 1 << 20
SHARD_ATTRS = ("format", "format_version", "seq_first", "seq_last")
SOURCE_ATTRS = ("source", "order", "configs", "complete")


@dataclass(frozen=True)
class Column:
    """One column of a table: its name and kind (``key``, ``matrix``, ``text``, ``category``,
    ``int``)."""

    name: str
    kind: str


TABLES = {
    "content": (Column("key", "key"), Column("features", "matrix")),
    "failed": (Column("key", "key"), Column("reason", "text")),
    "entries": (Column("path", "text"), Column("label", "category"), Column("split", "category"),
                Column("key", "key"), Column("size", "int"), Column("mtime", "int"),
                Column("error", "text")),
}


@dataclass(frozen=True)
class Failure:
    """An image that could not be embedded; ``key`` is "" when its bytes could not be read."""

    path: str
    reason: str
    key: str = ""


def write_table(group: h5py.Group, name: str, columns: Mapping) -> None:
    """Write the table ``name`` (a sub-group of ``group``) from ``columns``, as :data:`TABLES`
    lays it out. A matrix is an array, or rows given block by block (an object with ``dim``,
    ``__len__`` and ``iter_blocks()``), so large tables are copied without loading them whole."""
    table = group.create_group(name)
    for column in TABLES[name]:
        values = columns[column.name]
        if column.kind == "category":
            names, codes = np.unique(np.asarray(values, dtype=object).astype(str),
                                     return_inverse=True)
            table.create_dataset(column.name, data=codes.astype(np.int32))
            table.create_dataset(f"{column.name}_names", data=names.astype(object), dtype=TEXT)
        elif column.kind == "text":
            table.create_dataset(column.name, data=np.asarray(values, dtype=object), dtype=TEXT)
        elif column.kind == "matrix":
            _write_matrix(table, column.name, values)
        else:
            dtype = KEY if column.kind == "key" else np.int64
            table.create_dataset(column.name, data=np.asarray(values, dtype=dtype))


def _write_matrix(table: h5py.Group, name: str, values) -> None:
    blocks = [np.asarray(values, np.float32)] if isinstance(values, np.ndarray) else None
    dim = values.shape[1] if blocks else values.dim
    n = len(values)
    chunks = (max(1, min(n, CHUNK_BYTES // (4 * dim))), dim) if n and dim else None
    ds = table.create_dataset(name, (n, dim), np.float32, chunks=chunks)
    at = 0
    for block in blocks or values.iter_blocks():
        ds[at:at + len(block)] = block
        at += len(block)
        check()  # a full disk stops a large copy at once


def read_column(table: h5py.Group | Mapping, name: str) -> np.ndarray:
    """One column of a stored table, in memory (category columns as their names). A plain
    mapping of arrays (a version-1 file read as version 2) is returned as it is."""
    if isinstance(table, dict):
        return np.asarray(table[name][:])
    column = next(c for c in TABLES[table.name.rsplit("/", 1)[-1]] if c.name == name)
    ds = table[name]
    if column.kind == "category":
        names = np.asarray(table[f"{name}_names"].asstr()[:], dtype=object)
        return names[ds[:]] if len(ds) else np.empty(0, dtype=object)
    if column.kind == "text":
        return np.asarray(ds.asstr()[:], dtype=object) if len(ds) else np.empty(0, dtype=object)
    return ds[:]


def datasets(column: Column) -> list[tuple[str, str]]:
    """The datasets ``column`` occupies, each with the kind of values it holds."""
    if column.kind == "category":
        return [(column.name, "codes"), (f"{column.name}_names", "text")]
    return [(column.name, column.kind)]


_EXPECTED = {"key": (KEY, 1), "int": (np.dtype(np.int64), 1), "codes": (np.dtype(np.int32), 1),
             "matrix": (np.dtype(np.float32), 2)}


def dtype_problem(ds: h5py.Dataset, kind: str) -> str:
    """What is wrong with the dtype or shape of ``ds`` for values of ``kind`` ("" if nothing)."""
    if kind == "text":
        ok = h5py.check_string_dtype(ds.dtype) is not None and ds.ndim == 1
        return "" if ok else f"is {ds.dtype} with shape {ds.shape}, expected 1-D UTF-8 strings"
    dtype, ndim = _EXPECTED[kind]
    if ds.dtype != dtype or ds.ndim != ndim:
        return f"is {ds.dtype} with shape {ds.shape}, expected {ndim}-D {dtype}"
    return ""


def config_name(attrs: Mapping) -> str:
    """``backbone.layer.pooling.HxW.resize[.augment].HASH``: readable (the augmentation named
    when there is one), unique by the identity fields (those a file predates at their value
    then, so a version-1 file's configuration keeps its name)."""
    identity = {name: _jsonable(attrs.get(name, IDENTITY_DEFAULTS.get(name))) for name in IDENTITY}
    augment = attrs.get("augment", "none")
    size = attrs.get("input_size") or ("any", "any")
    backbone = (os.path.splitext(os.path.basename(attrs["model_file"]))[0]
                if attrs.get("model_file") else attrs["backbone"])
    readable = ".".join(_slug(str(v)) for v in (backbone, attrs.get("layer") or "default",
                                                attrs["pooling"], f"{size[0]}x{size[1]}",
                                                attrs["resize"],
                                                *([augment] if augment != "none" else [])))
    return f"{readable}.{_digest(identity)}"


def source_name(source: str) -> str:
    """``folder-HASH`` for a source (an absolute path, or a label such as ``(paths)``)."""
    return f"{_slug(os.path.basename(source.rstrip(os.sep)) or source)}-{_digest(source)}"


def path_text(path: str) -> str:
    """The UTF-8 text stored for a file path: undecodable name bytes (``surrogateescape``, as
    :func:`os.listdir` gives them) become ``\\xNN`` escapes; other paths are unchanged."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")
    return path


def provenance() -> list[str]:
    """The attributes that record how a configuration was made, in the order ``featx info``
    lists them: the configuration, software versions, and the time it was created."""
    return [*(f.name for f in fields(FeatureConfig)), *software_versions(), "created"]


def _digest(value) -> str:
    return hashlib.blake2b(json.dumps(value, sort_keys=True).encode(), digest_size=4).hexdigest()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_+-]+", "_", text)[:40] or "_"


def _jsonable(value):
    return [int(v) for v in value] if isinstance(value, tuple | list) else value
