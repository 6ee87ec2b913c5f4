"""featx check FILE: validate a feature file; exit status 1 if anything is wrong.

Checks the schema, row counts, feature width, duplicate keys, NaN/Inf rows, labels, errors and
attributes, one line per problem, without TensorFlow.
"""

from __future__ import annotations

import argparse

from featx.cli.options import EXIT_OK, EXIT_PROBLEMS, add_command
from featx.store.check import problems
from featx.store.read import configs, load, sources


def add_parser(subparsers) -> None:
    p = add_command(subparsers, "check", "validate a feature file", __doc__)
    p.add_argument("file", help="HDF5 feature file written by `featx embed`")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    found = problems(args.file)
    for line in found:
        print(f"{args.file}: {line}")
    if found:
        return EXIT_PROBLEMS
    print(f"OK: {args.file}: {summary(args.file)}, all consistent")
    return EXIT_OK


def summary(path: str) -> str:
    """Rows, features and errors of each configuration of a sound store."""
    held = configs(path)
    if not held:
        return f"0 rows, {sum(len(s['errors']) for s in sources(path))} errors"
    parts = []
    for name in held:
        with load(path, name) as feats:
            parts.append(f"{len(feats)} rows x {feats.dim} features, {len(feats.errors)} errors"
                         + (f" ({name})" if len(held) > 1 else ""))
    return "; ".join(parts)
