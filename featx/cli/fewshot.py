"""featx fewshot FEATURES.h5 --out DIR: N-way K-shot episodes, accuracy with 95% intervals.

Each episode draws --ways random classes with --shots support and --queries query images each;
every method is fitted on the support images and scored on the query images of the same
episodes. The mean query accuracy over the episodes is printed with its 95% confidence interval
for SimpleShot (nearest centroid after centring and L2 normalisation), logistic regression, and
lda where featx has that head. Exact copies count once (the first listed), so no image is both
support and query. Seeded: the same seed prints the same numbers. DIR gets fewshot.csv.
"""

from __future__ import annotations

import argparse
import os

from featx import SEED
from featx.cli.options import (
    EXIT_OK,
    add_command,
    add_config_option,
    add_out_option,
    names,
    out_folder,
)

FEWSHOT_CSV = "fewshot.csv"
WAYS, SHOTS, QUERIES, EPISODES = 5, (1, 5), 15, 600
"""The defaults, those of :mod:`featx.learn.fewshot` (this module imports no scikit-learn)."""


def add_parser(subparsers) -> None:
    p = add_command(subparsers, "fewshot", "N-way K-shot episodes: accuracy with 95%% intervals",
                    __doc__)
    p.add_argument("features", help="HDF5 feature file written by `featx embed`")
    p.add_argument("--ways", type=int, default=WAYS, metavar="N", help="classes per episode")
    p.add_argument("--shots", type=counts, default=list(SHOTS), metavar="K[,K...]",
                   help=f"support images per class, one set of episodes per count (default: "
                   f"{','.join(map(str, SHOTS))})")
    p.add_argument("--queries", type=int, default=QUERIES, metavar="N",
                   help="query images per class and episode")
    p.add_argument("--episodes", type=int, default=EPISODES, metavar="N",
                   help="episodes per shot count")
    p.add_argument("--methods", type=names, default=None, metavar="NAME[,NAME...]",
                   help="methods to score (default: all of simpleshot, logreg, and lda where "
                   "featx has that head)")
    p.add_argument("--split", default=None, metavar="NAME",
                   help="draw episodes from this split only (default: every labelled image)")
    p.add_argument("--seed", type=int, default=SEED, help="seed of the episodes")
    add_config_option(p)
    add_out_option(p, FEWSHOT_CSV)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from featx._text import format_table, write_csv
    from featx.learn.fewshot import evaluate, format_rows, labelled_features

    out = out_folder(args.out)
    X, y, described = labelled_features(args.features, args.split, args.config)  # noqa: N806
    rows = evaluate(X, y, ways=args.ways, shots=args.shots, queries=args.queries,
                    episodes=args.episodes, seed=args.seed, methods=args.methods)
    print(f"{described}; {args.episodes} episodes per shot count, {args.queries} queries per "
          f"class, seed {args.seed}")
    print(format_table(format_rows(rows)))
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, FEWSHOT_CSV)
    write_csv(path, rows)
    print(f"wrote {path}")
    return EXIT_OK


def counts(text: str) -> list[int]:
    """``--shots 1,5``: whole numbers of at least 1."""
    values = names(text)
    if not all(v.isdigit() and int(v) >= 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected whole numbers of at least 1, "
                                         f"comma-separated; got {text!r}")
    return [int(v) for v in values]
