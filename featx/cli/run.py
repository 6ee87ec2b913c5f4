"""featx run SPEC.toml: embed (cached) -> grid search -> evaluation -> reports, from a spec.

Relative paths in the spec are from the current folder: run the shipped specs from the
repository root. See pipelines/README.md for the format and what each shipped spec needs.
"""

from __future__ import annotations

import argparse

from featx.cli.options import EXIT_OK, add_command, add_quiet_option


def add_parser(subparsers) -> None:
    p = add_command(subparsers, "run", "run a declarative experiment (pipelines/*.toml)", __doc__)
    p.add_argument("spec", help="TOML experiment spec")
    add_quiet_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from featx.experiment import load_spec, run_spec

    run_spec(load_spec(args.spec), quiet=args.quiet)
    return EXIT_OK
