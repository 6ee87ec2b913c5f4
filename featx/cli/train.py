"""``featx train FEATURES.h5 --head NAME``: grid-search a head, evaluate it held out, report."""

from __future__ import annotations

import argparse

from featx.cli.options import EXIT_OK, add_dask_options, add_head_option, add_held_out_options


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("train", help="fit classifier heads on a feature file",
                              description=__doc__ + " Held out: the file's test or val split, "
                              "else --test-size of the labelled rows.")
    p.add_argument("features", help="HDF5 feature file written by `featx embed`")
    add_head_option(p, allow_all=True)
    p.add_argument("--cv", type=int, default=5, help="cross-validation folds (default 5)")
    p.add_argument("--scoring", default="accuracy", help="scikit-learn scorer name")
    p.add_argument("--n-jobs", type=int, default=-1, help="parallel fits (-1: all cores)")
    add_held_out_options(p)
    p.add_argument("--out", required=True, help="folder for the reports and model.skops")
    add_dask_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from featx._dask import dask_backend
    from featx.learn.heads import get_head, head_names
    from featx.learn.train import train

    heads = head_names() if args.head == "all" else [get_head(args.head).name]
    with dask_backend(args.scheduler, args.workers):
        train(args.features, heads, args.out, cv=args.cv, scoring=args.scoring,
              n_jobs=args.n_jobs, test_size=args.test_size, seed=args.seed)
    return EXIT_OK
