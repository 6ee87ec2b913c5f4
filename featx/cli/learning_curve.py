"""featx learning-curve FEATURES.h5 --out DIR: held-out accuracy against examples per class.

For each number of examples per class (shots), --draws random training subsets are drawn, the
head is fitted on each with its default parameters, and its held-out accuracy is recorded.
There is no grid search (one example per class leaves nothing to cross-validate), so the "all"
point can differ from `featx train`. DIR gets learning_curve.csv and learning_curve.png.
"""

from __future__ import annotations

import argparse
import os

from featx._text import format_table, write_csv
from featx.cli.options import (
    EXIT_OK,
    add_command,
    add_head_option,
    add_held_out_options,
    add_out_option,
    out_folder,
    shots,
)


def add_parser(subparsers) -> None:
    p = add_command(subparsers, "learning-curve", "accuracy against examples per class",
                    __doc__)
    p.add_argument("features", help="HDF5 feature file written by `featx embed`")
    add_head_option(p)
    p.add_argument("--shots", type=shots, default=None, metavar="N[,N...][,all]",
                   help="examples per class to try (default: those of 1,2,5,10,20 the smallest "
                   "class allows, and all)")
    p.add_argument("--draws", type=int, default=10, metavar="N",
                   help="random training subsets per number of shots")
    add_held_out_options(p)
    add_out_option(p, "learning_curve.csv and learning_curve.png")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from featx.learn.curves import learning_curve, plot_curve
    from featx.learn.dataset import load_dataset

    out = out_folder(args.out)
    data = load_dataset(args.features, args.test_size, args.seed)
    rows = learning_curve(data, args.head, args.shots, args.draws, args.seed)
    heads = ", ".join(dict.fromkeys(r["head"] for r in rows))
    os.makedirs(out, exist_ok=True)
    csv_path, png_path = (os.path.join(out, f"learning_curve.{ext}") for ext in ("csv", "png"))
    write_csv(csv_path, rows)
    plot_curve(rows, png_path, f"{heads} on {os.path.basename(args.features)}\n"
               f"held out: {data.held_out}; default parameters, no grid search")
    print(format_table([{**r, "mean": f"{r['mean']:.4f}", "std": f"{r['std']:.4f}"}
                        for r in rows]))
    print(f"each point: {heads} with default parameters (no grid search), held-out accuracy "
          f"over {args.draws} draws ({data.held_out})\nwrote {csv_path} and {png_path}")
    return EXIT_OK
