"""Writing feature files: lay one out, write one in one go, append rows, point rows elsewhere.

Every function walks the schema table (:data:`featx.store.schema.COLUMNS`), so a part file written
in one go and a main file grown by appending always have the same datasets and dtypes.

>>> import h5py, numpy as np
>>> from featx.store.schema import Rows
>>> rows = Rows.empty(dim=2)
>>> rows.add({"paths": "/a.jpg", "labels": "ants", "split": "", "keys": "k1", "sizes": 9,
...           "mtimes": 1})
>>> rows.features = np.ones((1, 2), np.float32)
>>> with h5py.File("rows.h5", "w") as h5:
...     create(h5, {"backbone": "example"}, dim=2)
...     append(h5, rows)
...     append(h5, rows)  # content already in the file: nothing is added
...     print(len(h5["keys"]), list(h5["label_names"].asstr()))
1 ['ants']
"""

from __future__ import annotations

from collections.abc import Sequence

import h5py
import numpy as np

from featx.store.read import read_failures, read_keys
from featx.store.schema import (
    COLUMNS,
    ERROR_FIELDS,
    ERRORS,
    FORMAT,
    FORMAT_VERSION,
    LABEL_NAMES,
    LISTS,
    STR,
    Failure,
    Rows,
    dtype,
    path_text,
    stored,
)

CHUNK_BYTES = 1 << 20  # features are chunked in blocks of rows of about this many bytes
CHUNK_ROWS = 4096
ERROR_CHUNK_ROWS = 1024


def create(h5: h5py.File, attrs: dict, dim: int) -> None:
    """Lay out an empty, growable feature file with configuration ``attrs`` and feature size
    ``dim``."""
    _set_attrs(h5, attrs, dim)
    for column in COLUMNS:
        width = (dim,) if column.name == "features" else ()
        chunk = max(1, CHUNK_BYTES // (4 * dim)) if width else CHUNK_ROWS
        h5.create_dataset(column.name, (0, *width), dtype(column.name), maxshape=(None, *width),
                          chunks=(chunk, *width))
    h5.create_dataset(LABEL_NAMES, (0,), STR, maxshape=(None,), chunks=(CHUNK_ROWS,))
    errors = h5.create_group(ERRORS)
    for name in ERROR_FIELDS:
        errors.create_dataset(name, (0,), STR, maxshape=(None,), chunks=(ERROR_CHUNK_ROWS,))


def write_file(h5: h5py.File, attrs: dict, rows: Rows) -> None:
    """Write ``rows`` as a complete feature file of fixed size in one go (a journal part)."""
    names = sorted({label for label in rows.labels if label is not None})
    _set_attrs(h5, attrs, rows.features.shape[1])
    for name, values in _encoded(rows, _label_ids(names, rows.labels)).items():
        h5.create_dataset(name, data=values, dtype=dtype(name))
    h5.create_dataset(LABEL_NAMES, data=np.array(names, dtype=object), dtype=STR)
    errors = h5.create_group(ERRORS)
    for name in ERROR_FIELDS:
        errors.create_dataset(name, (0,), STR)


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
    for name, values in _encoded(new, _merge_label_names(h5, new.labels)).items():
        h5[name].resize(stop, axis=0)
        h5[name][start:stop] = values


def relabel(h5: h5py.File, rows: Rows) -> None:
    """Point existing rows (found by key) at the paths, labels, splits and stat values given in
    ``rows`` (every column but ``features`` and ``keys``)."""
    index = {k: i for i, k in enumerate(read_keys(h5))}
    hits = sorted((index[k], i) for i, k in enumerate(rows.keys) if k in index)
    if not hits:
        return
    at, picked = [row for row, _ in hits], [i for _, i in hits]
    label_ids = _merge_label_names(h5, [rows.labels[i] for i in picked])
    for name in LISTS:
        if name == "keys":
            continue
        values = stored(rows, name)
        column = h5[name][:]
        column[at] = label_ids if name == "labels" else [values[i] for i in picked]
        h5[name][:] = column


def set_errors(h5: h5py.File, failures: Sequence[Failure], replaced_paths: set[str]) -> None:
    """Replace the errors of ``replaced_paths`` (the paths of this run) by ``failures``."""
    replaced = {path_text(p) for p in replaced_paths}
    kept = [f for f in read_failures(h5) if f.path not in replaced]
    kept += [Failure(path_text(f.path), f.reason, f.key) for f in failures]
    for name in ERROR_FIELDS:
        ds = h5[ERRORS][name]
        ds.resize(len(kept), axis=0)
        if kept:
            ds[:] = [getattr(f, name) for f in kept]


def _set_attrs(h5: h5py.File, attrs: dict, dim: int) -> None:
    h5.attrs.update({"format": FORMAT, "format_version": FORMAT_VERSION, **attrs,
                     "feature_dim": dim})


def _encoded(rows: Rows, label_ids: np.ndarray) -> dict[str, np.ndarray]:
    """Every column of ``rows`` as the array the file stores (``labels``: ``label_ids``)."""
    out = {"features": rows.features.astype(np.float32, copy=False)}
    for name in LISTS:
        kind = object if dtype(name) is STR else dtype(name)
        out[name] = label_ids if name == "labels" else np.array(stored(rows, name), dtype=kind)
    return out


def _label_ids(names: Sequence[str], labels: Sequence[str | None]) -> np.ndarray:
    position = {n: i for i, n in enumerate(names)}
    return np.array([position[x] if x is not None else -1 for x in labels], dtype=np.int32)


def _merge_label_names(h5: h5py.File, labels: Sequence[str | None]) -> np.ndarray:
    """Map class names to indices, extending (and re-sorting) ``label_names`` as needed."""
    old = list(h5[LABEL_NAMES].asstr()[:]) if len(h5[LABEL_NAMES]) else []
    names = sorted(set(old) | {label for label in labels if label is not None})
    if names != old:
        remap = np.array([names.index(n) for n in old] + [-1], dtype=np.int32)
        h5["labels"][:] = remap[h5["labels"][:]]
        h5[LABEL_NAMES].resize(len(names), axis=0)
        h5[LABEL_NAMES][:] = names
    return _label_ids(names, labels)
