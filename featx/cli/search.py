"""``featx search SOURCE --out DIR``: which backbone, layer, pooling, resize and augmentation,
with which head. Prints the cost first (images, forward passes, what is cached; --dry-run stops
there), embeds what is missing (one forward pass per backbone, resize and augmentation: every
layer and pooling at once), cross-validates every head on every configuration on the training
rows only, and writes the table (search.csv), a plot of CV score against layer depth
(search.png) and the bundle of the best pair by CV score (model.skops), whose held-out accuracy
is scored once."""

from __future__ import annotations

import argparse

from featx.backbones.augment import AUGMENTATIONS
from featx.backbones.config import POOLINGS
from featx.cli.options import (
    EXIT_OK,
    add_batch_size_option,
    add_held_out_options,
    add_quiet_option,
    input_size,
)
from featx.images.decode import RESIZE_POLICIES


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("search", help="search backbones, layers, resize, augmentation "
                              "and heads", description=__doc__)
    p.add_argument("source", help="class-folder tree, split tree, or .csv/.txt list (labelled)")
    p.add_argument("--out", default=None,
                   help="folder for the table, plot, reports and model.skops (needed unless "
                   "--dry-run)")
    p.add_argument("--backbone", default="resnet50",
                   help="registry names or Keras model files, comma-separated")
    p.add_argument("--layer", default="auto",
                   help="auto (each backbone's candidate layers, see `featx backbones NAME`) or "
                   "layer names, comma-separated")
    p.add_argument("--pooling", default="avg", help=f"comma-separated: {', '.join(POOLINGS)}")
    p.add_argument("--resize", default="squash",
                   help=f"comma-separated: {', '.join(RESIZE_POLICIES)}")
    p.add_argument("--augment", default="none",
                   help=f"comma-separated: {', '.join(AUGMENTATIONS)}")
    p.add_argument("--input-size", type=input_size, default=None, metavar="N|HxW")
    p.add_argument("--weights", default="imagenet", help="imagenet, none, or a weights file")
    p.add_argument("--preprocess", default=None,
                   help="preprocess_input of this backbone (model files default to none)")
    p.add_argument("--head", default="logreg",
                   help="built-in heads, comma-separated (logreg, linear-svm, rbf-svm, knn, "
                   "centroid), or all")
    p.add_argument("--fuse", type=int, default=3, metavar="N",
                   help="also try each pair of the N configurations of best CV score "
                   "concatenated; 0: no fusion (default 3: three pairs)")
    p.add_argument("--cv", type=int, default=5, help="cross-validation folds (default 5)")
    p.add_argument("--repeats", type=int, default=3,
                   help="repeat the CV on this many shuffles and average (default 3)")
    p.add_argument("--scoring", default="accuracy", help="scikit-learn scorer name")
    p.add_argument("--n-jobs", type=int, default=-1, help="parallel fits (-1: all cores)")
    add_held_out_options(p)
    p.add_argument("--cache", default=None,
                   help="feature cache to reuse and extend (default: OUT/features)")
    add_batch_size_option(p)
    p.add_argument("--dry-run", action="store_true",
                   help="print the cost (images, forward passes, cached) and stop")
    add_quiet_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from featx.errors import FeatxError
    from featx.learn.heads import head_names
    from featx.learn.transfer import Space, run_search

    if args.out is None and not args.dry_run:
        raise FeatxError("featx search needs --out DIR (or --dry-run)")
    heads = head_names() if args.head == "all" else _names(args.head)
    space = Space(backbones=tuple(_names(args.backbone)), layers=args.layer,
                  poolings=tuple(_names(args.pooling)), resizes=tuple(_names(args.resize)),
                  augments=tuple(_names(args.augment)), heads=tuple(heads),
                  input_size=args.input_size, weights=args.weights, preprocess=args.preprocess,
                  fuse=args.fuse)
    run_search(space, args.source, args.out, cache=args.cache, cv=args.cv,
               repeats=args.repeats, scoring=args.scoring, n_jobs=args.n_jobs,
               test_size=args.test_size, seed=args.seed, batch_size=args.batch_size,
               progress=not args.quiet, dry_run=args.dry_run)
    return EXIT_OK


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]
