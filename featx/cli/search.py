"""featx search SOURCE --out DIR: which backbone, layer, pooling, resize and augmentation, with
which head.

Every combination of the listed backbones, layers, poolings, resize policies and augmentations is
a feature configuration, tried with every head. The cost comes first: the images, the forward
passes (one per backbone, resize and augmentation: all its layers and poolings at once) and what
the cache holds; --dry-run stops there. Then what is missing is embedded, every head is
cross-validated on every configuration on the training rows only (the held-out split is not
looked at), and the pairs of the --fuse best configurations are tried concatenated. The
cheapest pair within one standard error of the best CV score is chosen (fewest views through a
backbone, then the smallest feature size); its held-out accuracy is scored once. DIR gets
search.csv (configuration x head: CV score, its spread, CPU seconds), search.png (CV score
against layer depth), the chosen pair's model.skops (for featx predict), its reports in chosen/,
and summary.json. See docs/search.md.
"""

from __future__ import annotations

import argparse

from featx.backbones.augment import AUGMENTATIONS
from featx.backbones.config import POOLINGS
from featx.backbones.registry import DEFAULT_BACKBONE
from featx.cli.options import (
    EXIT_OK,
    add_batch_size_option,
    add_command,
    add_drop_leaks_option,
    add_head_option,
    add_held_out_options,
    add_quiet_option,
    input_size,
    names,
    out_folder,
)
from featx.images.decode import RESIZE_POLICIES


def add_parser(subparsers) -> None:
    p = add_command(subparsers, "search", "search backbones, layers, resizing, augmentation and "
                    "heads", __doc__)
    p.add_argument("source", help="labelled images: class-folder tree, split tree, or .csv/.txt "
                   "list")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="folder to write the table, plot, reports and model.skops into, created "
                   "with its parents (no default: required unless --dry-run)")
    g = p.add_argument_group("candidates (comma-separated lists)")
    g.add_argument("--backbone", type=names, default=[DEFAULT_BACKBONE],
                   metavar="NAME|FILE[,...]", help="built-in backbones or Keras model files "
                   f"(default: {DEFAULT_BACKBONE})")
    g.add_argument("--layer", default="auto", metavar="auto|LAYER[,...]",
                   help="auto: each backbone's candidate layers (`featx backbones NAME` marks "
                   "them), or layer names (default: auto)")
    g.add_argument("--pooling", type=names, default=["avg"], metavar="|".join(POOLINGS),
                   help="how a feature map becomes a vector (default: avg)")
    g.add_argument("--resize", type=names, default=["squash"], metavar="|".join(RESIZE_POLICIES),
                   help="how an image is fitted to the input size (default: squash)")
    g.add_argument("--augment", type=names, default=["none"], metavar="|".join(AUGMENTATIONS),
                   help="none, the mean with the mirror (flip), or of the corner and centre "
                   "crops (five-crop; ten-crop adds their mirrors) (default: none)")
    add_head_option(g)
    g.add_argument("--fuse", type=int, default=3, metavar="N",
                   help="also try each pair of the N configurations of best CV score "
                   "concatenated; 0: no fusion (default: 3, three pairs)")
    g.add_argument("--input-size", type=input_size, default=None, metavar="N|HxW",
                   help="images are resized to N x N or H x W pixels (default: each backbone's)")
    g.add_argument("--weights", default="imagenet", metavar="imagenet|none|FILE",
                   help="ImageNet weights, random ones (seeded), or a weights file")
    g.add_argument("--preprocess", default=None, metavar="NAME",
                   help="use this backbone's preprocess_input (default: each backbone's own; "
                   "none for a model file)")
    c = p.add_argument_group("cross-validation")
    c.add_argument("--cv", type=int, default=5, metavar="K", help="cross-validation folds")
    c.add_argument("--repeats", type=int, default=3, metavar="R",
                   help="repeat the K folds on R shuffles and average: steadier scores to "
                   "compare many candidates (default: 3)")
    c.add_argument("--scoring", default="accuracy", metavar="NAME",
                   help="scikit-learn scorer the search maximises, e.g. balanced_accuracy")
    c.add_argument("--n-jobs", type=int, default=-1, metavar="N",
                   help="parallel fits (-1: one per core)")
    add_held_out_options(c)
    add_drop_leaks_option(c)
    p.add_argument("--cache", default=None, metavar="PATH",
                   help="feature cache to reuse and extend (default: DIR/features.h5)")
    add_batch_size_option(p)
    p.add_argument("--dry-run", action="store_true",
                   help="print the cost (images, forward passes, what is cached) and stop "
                   "(default: run the search)")
    add_quiet_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from featx.errors import FeatxError
    from featx.learn.heads import select_heads
    from featx.learn.transfer import Space, run_search

    if args.out is None and not args.dry_run:
        raise FeatxError("featx search needs --out DIR (or --dry-run)")
    space = Space(backbones=tuple(args.backbone), layers=args.layer,
                  poolings=tuple(args.pooling), resizes=tuple(args.resize),
                  augments=tuple(args.augment), heads=tuple(select_heads(args.head)),
                  input_size=args.input_size, weights=args.weights, preprocess=args.preprocess,
                  fuse=args.fuse)
    run_search(space, args.source, out_folder(args.out) if args.out else None, cache=args.cache,
               cv=args.cv, repeats=args.repeats, scoring=args.scoring, n_jobs=args.n_jobs,
               test_size=args.test_size, seed=args.seed, batch_size=args.batch_size,
               progress=not args.quiet, dry_run=args.dry_run, drop_leaks=args.drop_leaks)
    return EXIT_OK
