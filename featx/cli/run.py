"""``featx run SPEC.toml``: embed (cached) -> grid search -> evaluation -> report, from a spec."""

from __future__ import annotations

import argparse

from featx.cli.options import EXIT_OK, add_quiet_option


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("run", help="run a declarative experiment (pipelines/*.toml)",
                              description=__doc__ + " See pipelines/README.md for the format.")
    p.add_argument("spec", help="TOML experiment spec; relative paths are from the current folder")
    add_quiet_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from featx.experiment import load_spec, run_spec

    run_spec(load_spec(args.spec), progress=not args.quiet)
    return EXIT_OK
