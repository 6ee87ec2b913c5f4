"""A store's features for the rest of the ecosystem: pandas, Arrow/Parquet, NumPy or CSV, one row
per entry (listed image), in listing order.

Columns: ``path``, ``label`` (the class name, empty where unlabelled), ``split``, ``key`` (the
content key: exact copies share one), then the features: one ``float32`` column per dimension
(``f0`` ... ``f{D-1}``), or a single ``features`` column holding each row's vector
(``vector=True``; Parquet always, as a fixed-size list of float32, with the configuration in the
schema metadata). Values round-trip exactly: CSV writes each float32 in the shortest form that
reads back to the same number. Listed images without features (they failed to embed) are not
rows; ``featx info`` lists them.

pandas and pyarrow are the optional extra ``featx[export]`` (``.npz`` needs neither).

>>> import featx
>>> df = featx.load("features.h5").to_pandas()
>>> df.shape, list(df.columns[:5]), df["label"].iloc[0]
((16, 1284), ['path', 'label', 'split', 'key', 'f0'], 'ants')
"""

from __future__ import annotations

import json
import os
from importlib import import_module

import numpy as np

from featx.errors import FeatxError

FORMATS = (".npz", ".parquet", ".csv")
VECTOR_COLUMN = "features"
META_KEY = b"featx"
INSTALL_HINT = "pip install 'featx[export]'"


def to_pandas(feats, vector: bool = False):
    """A :class:`pandas.DataFrame` of loaded features (a :func:`featx.load` result, or anything
    with ``X``, ``y``, ``label_names``, ``paths``, ``split`` and ``keys``), one row per entry."""
    pd = _need("pandas")
    names = np.asarray([*feats.label_names, None], dtype=object)
    entries = {"path": np.asarray(feats.paths, dtype=object),
               "label": names[np.asarray(feats.y)],
               "split": np.asarray(feats.split, dtype=object),
               "key": np.asarray(feats.keys, dtype=object)}
    X = np.asarray(feats.X, dtype=np.float32)  # noqa: N806
    if vector:
        return pd.DataFrame({**entries, VECTOR_COLUMN: list(X)})
    columns = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])], copy=False)
    return pd.concat([pd.DataFrame(entries), columns], axis=1)


def export(feats, out: str | os.PathLike) -> str:
    """Write the entries of ``feats`` to ``out`` (the format by its extension: .npz, .parquet,
    .csv); return a one-line description of what was written."""
    out = os.fspath(out)
    ext = out_format(out)
    n, dim = np.shape(feats.X)
    if ext == ".npz":
        _write_npz(feats, out)
        layout = "arrays X, y, label_names, paths, split, keys, meta"
    elif ext == ".parquet":
        _write_parquet(feats, out)
        layout = f"one {VECTOR_COLUMN!r} column of float32 vectors"
    else:
        to_pandas(feats).to_csv(out, index=False, lineterminator="\n")
        layout = f"one column per feature, f0..f{dim - 1}"
    return f"{out}: {n} rows x {dim} features ({layout})"


def out_format(out: str | os.PathLike) -> str:
    """The format of the file ``out`` by its extension (one of :data:`FORMATS`), or a one-line
    error."""
    ext = os.path.splitext(os.fspath(out))[1].lower()
    if ext not in FORMATS:
        raise FeatxError(f"{out}: unknown export format {ext or '(no extension)'!r}; use one of "
                         f"{', '.join(FORMATS)}")
    return ext


def read_parquet(path: str | os.PathLike):
    """A DataFrame of :func:`export`'s Parquet file (vectors in the ``features`` column) and the
    feature configuration stored with it."""
    pq = _need("pyarrow.parquet")
    table = pq.read_table(path)
    meta = json.loads((table.schema.metadata or {}).get(META_KEY, b"{}"))
    return table.to_pandas(), meta


def _write_npz(feats, out: str) -> None:
    np.savez(out, X=np.asarray(feats.X, dtype=np.float32), y=np.asarray(feats.y),
             label_names=np.asarray(feats.label_names, dtype=str),
             paths=np.asarray(feats.paths, dtype=str), split=np.asarray(feats.split, dtype=str),
             keys=np.asarray(feats.keys, dtype=str), meta=np.asarray(_meta(feats)))


def _write_parquet(feats, out: str) -> None:
    pa = _need("pyarrow")
    pq = _need("pyarrow.parquet")
    X = np.ascontiguousarray(feats.X, dtype=np.float32)  # noqa: N806
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(X.reshape(-1)), X.shape[1])
    frame = to_pandas(feats, vector=True).drop(columns=VECTOR_COLUMN)
    table = pa.Table.from_pandas(frame, preserve_index=False).append_column(VECTOR_COLUMN,
                                                                             vectors)
    meta = {**(table.schema.metadata or {}), META_KEY: _meta(feats).encode()}
    pq.write_table(table.replace_schema_metadata(meta), out)


def _meta(feats) -> str:
    return json.dumps(getattr(feats, "meta", {}), default=str)


def _need(module: str):
    try:
        return import_module(module)
    except ImportError:
        raise FeatxError(f"exporting needs {module.split('.')[0]}: {INSTALL_HINT}") from None
