"""featx train FEATURES.h5 --out DIR: cross-validate classifier heads, evaluate the best held out.

Each head's grid is cross-validated with stratified k-fold on the training rows (all heads on the
same folds, on all cores, each fold's shared work done once), its best candidate refitted, and
evaluated on the held-out rows: the file's test or val split, else --test-size of the labelled
rows, by accuracy and balanced accuracy (mean per-class recall). The head with the best CV score
is chosen; ties go to the smaller spread across folds, then to the first in the order logreg,
linear-svm, rbf-svm, knn, centroid, ridge, lda. DIR gets the chosen head's model.skops,
summary.json and heldout_predictions.csv (every held-out image with its true and predicted class
and scores), comparison.csv (with each head's seconds), report.html (the heads compared, held-out
metrics, the misclassified held-out images with their nearest training images, a map of the
features; see docs/audit.md), and the reports of each head in DIR/HEAD/. A warning worth acting
on (a grid point that did not converge, a failed fit) is one line naming the head and its
parameters.

With --adapt-to TARGET.h5 (features of another domain, e.g. other cameras or lighting), the
training rows are mapped onto the target domain by CORAL before the search, and every head is
scored on the target's labelled rows, with and without adaptation (unadapted_accuracy in
comparison.csv and summary.json). The bundle is the head alone: it applies to target features.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial

from featx.cli.options import (
    EXIT_OK,
    add_command,
    add_config_option,
    add_dask_options,
    add_drop_leaks_option,
    add_halving_option,
    add_head_option,
    add_held_out_options,
    add_out_option,
    add_quiet_option,
    out_folder,
)
from featx.report.data import MAPS


def add_parser(subparsers) -> None:
    p = add_command(subparsers, "train", "fit classifier heads on a feature file", __doc__)
    p.add_argument("features", help="HDF5 feature file written by `featx embed`")
    add_head_option(p)
    p.add_argument("--cv", type=int, default=5, metavar="K", help="cross-validation folds")
    p.add_argument("--scoring", default="accuracy", metavar="NAME",
                   help="scikit-learn scorer the search maximises, e.g. balanced_accuracy (mean "
                   "per-class accuracy), f1_macro")
    p.add_argument("--n-jobs", type=int, default=-1, metavar="N",
                   help="parallel fits (-1: one per core)")
    add_halving_option(p)
    add_held_out_options(p)
    add_drop_leaks_option(p)
    p.add_argument("--map", choices=MAPS, default="pca",
                   help="the 2-D map of the features in report.html (umap needs umap-learn)")
    add_config_option(p)
    p.add_argument("--adapt-to", default=None, metavar="TARGET.h5",
                   help="feature file of a target domain (the same feature configuration, "
                   "labels only where known): train on the training rows mapped onto it by "
                   "CORAL, score on its labelled rows, with and without adaptation (default: no "
                   "adaptation)")
    add_out_option(p, "the reports, heldout_predictions.csv, report.html and model.skops")
    add_quiet_option(p)
    add_dask_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from featx._dask import dask_backend
    from featx.learn.train import train
    from featx.report.train_page import report_training

    with dask_backend(args.scheduler, args.workers):
        train(args.features, args.head, out_folder(args.out), cv=args.cv, scoring=args.scoring,
              n_jobs=args.n_jobs, test_size=args.test_size, seed=args.seed, quiet=args.quiet,
              config=args.config, drop_leaks=args.drop_leaks, adapt_to=args.adapt_to,
              report=partial(report_training, feature_map=args.map), halving=args.halving,
              progress=not args.quiet and sys.stderr.isatty())
    return EXIT_OK
