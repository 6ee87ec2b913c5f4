"""featx info FILE: what a feature file holds and how it was made.

Rows and feature size, the feature configuration and software versions, labels, splits, and the
images that failed with their reasons; --json gives all of it as one JSON object.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter

import numpy as np

from featx.cli.options import EXIT_OK, add_command
from featx.store.read import Features, load
from featx.store.schema import provenance

SHOWN_ERRORS = 20


def add_parser(subparsers) -> None:
    p = add_command(subparsers, "info", "summarise a feature file", __doc__)
    p.add_argument("file", help="HDF5 feature file written by `featx embed`")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object with every error listed (default: text, the "
                   f"first {SHOWN_ERRORS} errors)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    print(as_json(args.file) if args.json else describe(args.file))
    return EXIT_OK


def summary(path: str, feats: Features) -> dict:
    """What ``featx info`` reports, as plain values."""
    names = feats.label_names
    return {
        "file": str(path),
        "rows": len(feats),
        "feature_dim": _plain(feats.meta.get("feature_dim")),
        "configuration": {k: _plain(feats.meta[k]) for k in provenance()
                          if feats.meta.get(k) not in (None, "")},
        "labels": dict(sorted(Counter(names[i] if i >= 0 else "(none)"
                                      for i in feats.y).items())),
        "splits": dict(sorted(Counter(str(s) or "(none)" for s in feats.split).items())),
        "errors": [{"path": e.path, "reason": e.reason} for e in feats.errors],
    }


def as_json(path: str) -> str:
    return json.dumps(summary(path, load(path)), indent=2)


def describe(path: str) -> str:
    """A human-readable summary of a feature file."""
    info = summary(path, load(path))
    lines = [f"{path}: {info['rows']} rows x {info['feature_dim']} float32 features"]
    lines += [f"  {k:<20} {v}" for k, v in info["configuration"].items()]
    for what in ("labels", "splits"):
        counts = ", ".join(f"{k} {v}" for k, v in info[what].items())
        lines.append(f"  {what}: {counts or 'none'}")
    lines.append(f"  errors: {len(info['errors'])}")
    lines += [f"    {e['path']}: {e['reason']}" for e in info["errors"][:SHOWN_ERRORS]]
    if len(info["errors"]) > SHOWN_ERRORS:
        lines.append(f"    ... and {len(info['errors']) - SHOWN_ERRORS} more (--json lists all)")
    return "\n".join(lines)


def _plain(value):
    """An attribute as a JSON value (HDF5 gives NumPy scalars and arrays)."""
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    return value
