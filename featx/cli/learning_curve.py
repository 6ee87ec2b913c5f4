"""``featx learning-curve FEATURES.h5``: held-out accuracy against labelled examples per class."""

from __future__ import annotations

import argparse
import os

from featx._text import format_table, write_csv
from featx.cli.options import EXIT_OK, add_head_option, add_held_out_options


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("learning-curve", help="accuracy against examples per class",
                              description=__doc__)
    p.add_argument("features", help="HDF5 feature file written by `featx embed`")
    add_head_option(p)
    p.add_argument("--shots", default="1,2,5,10,20,all",
                   help="examples per class to try, comma-separated (default 1,2,5,10,20,all)")
    p.add_argument("--draws", type=int, default=10, help="random draws per point (default 10)")
    add_held_out_options(p)
    p.add_argument("--out", required=True, help="folder for learning_curve.{csv,png}")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from featx.learn.curves import learning_curve, plot_curve
    from featx.learn.dataset import load_dataset
    from featx.learn.heads import get_head

    get_head(args.head)
    shots = [None if s.strip() == "all" else int(s) for s in args.shots.split(",")]
    data = load_dataset(args.features, args.test_size, args.seed)
    rows = learning_curve(data, args.head, shots, args.draws, args.seed)
    os.makedirs(args.out, exist_ok=True)
    write_csv(os.path.join(args.out, "learning_curve.csv"), rows)
    plot_curve(rows, os.path.join(args.out, "learning_curve.png"),
               f"{args.head} on {os.path.basename(args.features)} ({data.held_out})")
    print(format_table([{**r, "mean": f"{r['mean']:.4f}", "std": f"{r['std']:.4f}"}
                        for r in rows]))
    print(f"wrote {args.out}/learning_curve.csv and learning_curve.png")
    return EXIT_OK
