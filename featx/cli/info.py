"""``featx info FILE``: what a feature file holds and how it was made."""

from __future__ import annotations

import argparse
from collections import Counter

from featx.cli.options import EXIT_OK
from featx.store.read import load
from featx.store.schema import provenance


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("info", help="summarise a feature file", description=__doc__)
    p.add_argument("file")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    print(describe(args.file))
    return EXIT_OK


def describe(path: str) -> str:
    """A human-readable summary of a feature file."""
    feats = load(path)
    lines = [f"{path}: {len(feats)} rows x {feats.meta.get('feature_dim')} float32 features"]
    lines += [f"  {k:<20} {feats.meta[k]}" for k in provenance() if feats.meta.get(k) not in
              (None, "")]
    names = feats.label_names
    labels = Counter(names[i] if i >= 0 else "(none)" for i in feats.y)
    lines.append("  labels: " + (", ".join(f"{k} {v}" for k, v in sorted(labels.items()))
                                 or "none"))
    splits = Counter(s or "(none)" for s in feats.split)
    lines.append("  splits: " + (", ".join(f"{k} {v}" for k, v in sorted(splits.items()))
                                 or "none"))
    lines.append(f"  errors: {len(feats.errors)}")
    lines += [f"    {e.path}: {e.reason}" for e in feats.errors[:20]]
    return "\n".join(lines)
