"""``featx check FILE``: validate a feature file; exit 1 if anything is wrong."""

from __future__ import annotations

import argparse

from featx.cli.options import EXIT_OK, EXIT_PROBLEMS
from featx.store.check import problems
from featx.store.read import load


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("check", help="validate a feature file", description=__doc__)
    p.add_argument("file")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    found = problems(args.file)
    for line in found:
        print(f"{args.file}: {line}")
    if found:
        return EXIT_PROBLEMS
    feats = load(args.file)
    print(f"OK: {args.file}: {len(feats)} rows x {feats.meta['feature_dim']} features, "
          f"{len(feats.errors)} errors, all consistent")
    return EXIT_OK
