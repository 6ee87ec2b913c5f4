"""Version-1 feature files (one configuration, one row per content) read as version 2.

A version-1 file is read as it is: its rows become the content of its one configuration and
the entries of one source, ``(version-1 rows)``; its ``errors`` become entries that failed. The
first write to it rewrites it as a version-2 base (its features are copied, never recomputed),
and a source embedded again takes its paths over from that source.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import h5py
import numpy as np

from featx.errors import FeatxError
from featx.store import schema
from featx.store.schema import config_name

V1_SOURCE = "(version-1 rows)"
_ROWS = ("features", "paths", "labels", "split", "keys", "sizes", "mtimes", "label_names",
         "errors")


@dataclass
class Tables:
    """A version-1 file as version-2 groups: plain dicts of columns and ``attrs``."""

    configs: dict[str, dict] = field(default_factory=dict)
    sources: dict[str, dict] = field(default_factory=dict)


def read(h5: h5py.File, path: str) -> Tables:
    """The groups of the version-1 file ``h5`` (``features`` stays on disk, read lazily)."""
    missing = [name for name in _ROWS if name not in h5]
    if missing:
        raise FeatxError(f"{path}: version-1 feature file lacks datasets {', '.join(missing)}")
    attrs = {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in h5.attrs.items()}
    names = np.asarray(_strings(h5["label_names"]), dtype=object)
    labels = h5["labels"][:]
    keys = np.asarray(_strings(h5["keys"]), dtype=schema.KEY)
    errors = h5["errors"]
    err_path, err_reason, err_key = (_strings(errors[n]) for n in ("path", "reason", "key"))
    decoded = [k for k in err_key if k]
    entries = {
        "path": np.asarray(_strings(h5["paths"]) + err_path, dtype=object),
        "label": np.concatenate([np.where(labels >= 0, names[np.maximum(labels, 0)]
                                          if len(names) else "", ""),
                                 np.full(len(err_path), "", dtype=object)]).astype(object),
        "split": np.asarray(_strings(h5["split"]) + [""] * len(err_path), dtype=object),
        "key": np.concatenate([keys, np.asarray(err_key, dtype=schema.KEY)]),
        "size": np.concatenate([h5["sizes"][:], np.zeros(len(err_path), np.int64)]),
        "mtime": np.concatenate([h5["mtimes"][:], np.zeros(len(err_path), np.int64)]),
        "error": np.asarray([""] * len(keys) + [r if not k else "" for r, k in
                                                zip(err_reason, err_key, strict=True)],
                            dtype=object),
    }
    name = config_name(attrs)
    config = {"attrs": {**attrs, "requested": ""}, "content": {"key": keys,
                                                              "features": h5["features"]},
              "failed": {"key": np.asarray(decoded, dtype=schema.KEY),
                         "reason": np.asarray([r for r, k in zip(err_reason, err_key,
                                                                 strict=True) if k],
                                              dtype=object)}}
    source = {"attrs": {"source": V1_SOURCE, "order": 0, "configs": [name],
                        "complete": [name]}, "entries": entries}
    return Tables({name: config}, {"version-1": source})


def _strings(ds: h5py.Dataset) -> list[str]:
    return list(ds.asstr()[:]) if len(ds) else []
