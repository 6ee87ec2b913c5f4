"""Validate a feature file: schema, attributes, row counts, keys, finite features, labels, errors.

:func:`problems` returns one readable line per problem (an empty list: the file is sound). It reads
``features`` in row blocks, so files larger than memory can be checked, and never imports
TensorFlow.

>>> problems("features.h5")
[]
"""

from __future__ import annotations

import os

import h5py
import numpy as np

from featx.errors import FeatxError
from featx.store.journal import parts_dir, pending_parts
from featx.store.read import open_file, read_failures, read_keys
from featx.store.schema import ERROR_FIELDS, FILE_ATTRS, FORMAT_VERSION, ROW_DATASETS, provenance

BLOCK_ROWS = 4096


def problems(path: str | os.PathLike) -> list[str]:
    """Every problem found in the feature file at ``path``, one line each."""
    try:
        h5 = open_file(path)
    except FeatxError as exc:
        return [str(exc).removeprefix(f"{os.fspath(path)}: ")]
    with h5:
        found = _attributes(h5) + _row_counts(h5)
        if not found:
            found += _keys(h5) + _features(h5) + _labels(h5)
        found += _errors(h5)
    return found + _pending_parts(path)


def _attributes(h5: h5py.File) -> list[str]:
    expected = [*provenance(), *FILE_ATTRS]
    missing = [name for name in expected if name not in h5.attrs]
    found = [f"attributes missing: {', '.join(missing)}"] if missing else []
    if h5.attrs.get("format_version") != FORMAT_VERSION:
        found.append(f"format_version is {h5.attrs.get('format_version')!r}, "
                     f"expected {FORMAT_VERSION}")
    return found


def _row_counts(h5: h5py.File) -> list[str]:
    counts = {name: h5[name].shape[0] for name in ROW_DATASETS}
    found = []
    if len(set(counts.values())) > 1:
        found.append("row datasets disagree in length: "
                     + ", ".join(f"{name} {n}" for name, n in counts.items()))
    dim = h5.attrs.get("feature_dim")
    features = h5["features"]
    if features.ndim != 2 or features.shape[1] != dim:
        found.append(f"features has shape {features.shape}, feature_dim is {dim}")
    return found


def _keys(h5: h5py.File) -> list[str]:
    keys = read_keys(h5)
    duplicates = len(keys) - len(set(keys))
    empty = sum(1 for k in keys if not k)
    found = [f"{duplicates} duplicate keys"] if duplicates else []
    return found + ([f"{empty} empty keys"] if empty else [])


def _features(h5: h5py.File) -> list[str]:
    features = h5["features"]
    bad = 0
    for start in range(0, features.shape[0], BLOCK_ROWS):
        block = features[start:start + BLOCK_ROWS]
        bad += int((~np.isfinite(block).all(axis=1)).sum())
    return [f"{bad} feature rows hold NaN or Inf"] if bad else []


def _labels(h5: h5py.File) -> list[str]:
    labels = h5["labels"][:]
    top = len(h5["label_names"]) - 1
    bad = int(((labels < -1) | (labels > top)).sum())
    return [f"{bad} labels outside -1..{top}"] if bad else []


def _errors(h5: h5py.File) -> list[str]:
    group = h5["errors"]
    missing = [n for n in ERROR_FIELDS if n not in group]
    if missing:
        return [f"errors lacks datasets {', '.join(missing)}"]
    lengths = {n: len(group[n]) for n in ERROR_FIELDS}
    if len(set(lengths.values())) > 1:
        return ["errors datasets disagree in length: "
                + ", ".join(f"{n} {k}" for n, k in lengths.items())]
    failures = read_failures(h5)
    bad = sum(1 for f in failures if not f.path or not f.reason)
    return [f"{bad} errors rows lack a path or a reason"] if bad else []


def _pending_parts(path: str | os.PathLike) -> list[str]:
    parts = pending_parts(path)
    if not parts:
        return []
    return [f"{len(parts)} pending parts in {parts_dir(path)} (an interrupted run; rerun "
            "`featx embed` to merge them)"]
