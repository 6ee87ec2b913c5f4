"""Validate a store: every shard's schema, dtypes and shapes, attributes, content and entries.

:func:`problems` returns one readable line per problem (an empty list: the store is sound). It
reads features in row blocks, so stores larger than memory can be checked, never imports
TensorFlow, and never raises on a damaged file: what it cannot read is a problem it names.

>>> problems("features.h5")
[]
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

import h5py
import numpy as np

from featx.backbones.config import FeatureConfig, software_versions
from featx.store import schema, shards
from featx.store.read import Snapshot, attrs_of
from featx.store.schema import read_column

BLOCK_ROWS = 4096
CONFIG_ATTRS = (*FeatureConfig.__dataclass_fields__, *software_versions(), "feature_dim")


def problems(path: str | os.PathLike) -> list[str]:
    """Every problem found in the store at ``path``, one line each."""
    path = os.fspath(path)
    try:
        snapshot = Snapshot(path)
    except Exception as exc:  # noqa: BLE001 (a damaged file is a finding, not a crash)
        return [_message(exc, path)] + _stray(path)
    with_names = [(shard.h5.filename if shard.h5 else path, shard) for shard in snapshot.shards]
    found = []
    try:
        for name, shard in with_names:
            found += [f"{_short(name, path)}: {line}" for line in _guarded(_shard, shard)]
        if not found:
            found += _guarded(_references, snapshot)
    finally:
        snapshot.close()
    return found + _stray(path)


def _guarded(check: Callable, *args) -> list[str]:
    try:
        return check(*args)
    except Exception as exc:  # noqa: BLE001
        return [f"cannot be read ({type(exc).__name__}: {exc})"]


def _shard(shard) -> list[str]:
    found = []
    if shard.h5 is not None and shard._v1 is None:
        missing = [a for a in schema.SHARD_ATTRS if a not in shard.h5.attrs]
        if missing:
            found.append(f"attributes missing: {', '.join(missing)}")
    for name, group in shard.configs.items():
        found += [f"configuration {name}: {line}" for line in _config(group)]
    for name, group in shard.sources.items():
        found += [f"source {name}: {line}" for line in _source(group)]
    return found


def _config(group: Mapping) -> list[str]:
    attrs = attrs_of(group)
    found = []
    missing = [a for a in CONFIG_ATTRS if a not in attrs]
    if missing:
        found.append(f"attributes missing: {', '.join(missing)}")
    size = attrs.get("input_size")
    if size is not None and (not isinstance(size, list) or len(size) != 2
                             or not all(isinstance(v, int) for v in size)):
        found.append(f"input_size is {size!r}, expected two integers")
    found += _table(group["content"], "content") + _table(group["failed"], "failed")
    if found:
        return found
    features = group["content"]["features"]
    dim = attrs.get("feature_dim")
    if features.ndim != 2 or features.shape[1] != dim:
        found.append(f"features has shape {features.shape}, feature_dim is {dim}")
    keys = read_column(group["content"], "key")
    if len(features) != len(keys):
        found.append(f"content columns disagree in length: key {len(keys)}, features "
                     f"{len(features)}")
    duplicates = len(keys) - len(np.unique(keys))
    if duplicates:
        found.append(f"{duplicates} duplicate content keys")
    if (np.char.str_len(keys.astype(bytes)) != 32).any():
        found.append(f"{int((np.char.str_len(keys.astype(bytes)) != 32).sum())} malformed "
                     "content keys")
    bad = sum(int((~np.isfinite(features[lo:lo + BLOCK_ROWS]).all(axis=1)).sum())
              for lo in range(0, features.shape[0], BLOCK_ROWS))
    if bad:
        found.append(f"{bad} feature rows hold NaN or Inf")
    return found


def _source(group: Mapping) -> list[str]:
    attrs = attrs_of(group)
    missing = [a for a in schema.SOURCE_ATTRS if a not in attrs]
    found = [f"attributes missing: {', '.join(missing)}"] if missing else []
    return found + _table(group["entries"], "entries")


def _table(table: Mapping, kind: str) -> list[str]:
    """Every dataset of ``table`` present, of the dtype and shape :data:`schema.TABLES` says."""
    if isinstance(table, dict):  # a version-1 file adapted in memory: checked when read
        return []
    found, lengths = [], {}
    for column in schema.TABLES[kind]:
        for name, expected in schema.datasets(column):
            if name not in table:
                found.append(f"{kind}/{name} is missing")
                continue
            ds = table[name]
            if not isinstance(ds, h5py.Dataset):
                found.append(f"{kind}/{name} is not a dataset")
                continue
            wrong = schema.dtype_problem(ds, expected)
            if wrong:
                found.append(f"{kind}/{name} {wrong}")
            elif name == column.name:
                lengths[name] = ds.shape[0]
    if len(set(lengths.values())) > 1:
        found.append(f"{kind} columns disagree in length: "
                     + ", ".join(f"{n} {k}" for n, k in lengths.items()))
    for column in schema.TABLES[kind]:
        if column.kind == "category" and not found:
            codes, names = table[column.name][:], len(table[f"{column.name}_names"])
            bad = int(((codes < 0) | (codes >= names)).sum())
            if bad:
                found.append(f"{kind}/{column.name}: {bad} codes outside 0..{names - 1}")
    return found


def _references(snapshot: Snapshot) -> list[str]:
    """Entries of every source point at content (or a known failure) of each configuration the
    source was last embedded with completely."""
    found = []
    configs = snapshot.configs()
    content = {name: np.concatenate(snapshot.content_keys(name)) for name in configs}
    for name, (_, group) in snapshot.sources().items():
        attrs = attrs_of(group)
        keys = read_column(group["entries"], "key")
        errors = read_column(group["entries"], "error")
        for config in attrs.get("complete", []):
            if config not in configs:
                found.append(f"source {name}: lists configuration {config}, which the store "
                             "does not hold")
                continue
            failed = np.asarray(list(snapshot.failed(config)), dtype=schema.KEY)
            wanted = (errors == "") & (keys != b"")
            lost = wanted & ~np.isin(keys, content[config]) & ~np.isin(keys, failed)
            if lost.any():
                found.append(f"source {name}: {int(lost.sum())} entries point at content that "
                             f"configuration {config} does not hold")
            io_missing = (keys == b"") & (errors == "")
            if io_missing.any():
                found.append(f"source {name}: {int(io_missing.sum())} entries have neither a "
                             "content key nor an error")
    return found


def _stray(path: str) -> list[str]:
    """Uncommitted parts and shards left over by an interrupted merge."""
    found = []
    parts = shards.pending_parts(path)
    if parts:
        found.append(f"{len(parts)} pending parts in {shards.parts_dir(path)} (an interrupted "
                     "run; rerun `featx embed` to commit them)")
    try:
        with h5py.File(path, "r") as h5:
            base_last = int(h5.attrs.get("seq_last", 0))
    except (OSError, ValueError):
        base_last = 0
    covered = shards.live(base_last, shards.deltas(path))[1]
    if covered:
        found.append(f"{len(covered)} orphan shards in {shards.parts_dir(path)} (left by an "
                     "interrupted merge; the next `featx embed` deletes them)")
    return found


def _message(exc: Exception, path: str) -> str:
    return str(exc).removeprefix(f"{path}: ") if str(exc) else type(exc).__name__


def _short(name: str, path: str) -> str:
    return os.path.basename(name) if name != path else "base"
