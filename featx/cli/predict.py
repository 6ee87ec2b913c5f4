"""featx predict MODEL SOURCE --out DIR: label images with a trained model bundle or a
fine-tuned classifier.

MODEL is a model bundle (model.skops from `featx train` or `featx run`): SOURCE is images (a
folder or a .csv/.txt list), embedded with the bundle's exact feature configuration, or a feature
file of that configuration. Or MODEL is a .keras classifier from `featx finetune`: SOURCE is
images, classified from their pixels. DIR/predictions.csv gets one row per
image: path, label (when the source has one), predicted, the head's scores (proba_CLASS, or
decision scores for heads without probabilities) and error (why an image could not be
predicted). Exit status 1 when some images failed.
"""

from __future__ import annotations

import argparse
import os

from featx.cli.options import (
    EXIT_OK,
    EXIT_PARTIAL,
    add_batch_size_option,
    add_command,
    add_out_option,
    add_quiet_option,
    out_folder,
)
from featx.errors import FeatxError
from featx.store.schema import path_text

PREDICTIONS = "predictions.csv"


def add_parser(subparsers) -> None:
    p = add_command(subparsers, "predict", "predict images with a model bundle or a fine-tuned "
                    "classifier", __doc__)
    p.add_argument("bundle", metavar="MODEL", help="model.skops written by `featx train` or "
                   "`featx run`, or a .keras classifier written by `featx finetune`")
    p.add_argument("source", help="images (folder, .csv/.txt list) or an HDF5 feature file")
    add_out_option(p, PREDICTIONS)
    p.add_argument("--cache", default=None, metavar="FILE",
                   help="HDF5 feature file to reuse and extend, e.g. the training file; model "
                   "bundles only (default: a temporary file)")
    add_batch_size_option(p)
    add_quiet_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from featx.learn.predict import predict

    if args.out.lower().endswith(".csv"):
        raise FeatxError(f"--out names the folder {PREDICTIONS} is written into, not a CSV file: "
                         f"{args.out}")
    out = out_folder(args.out)
    preds = predict(args.bundle, args.source, args.cache, args.batch_size, not args.quiet)
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, PREDICTIONS)
    preds.write_csv(path)
    print(f"{path}: {len(preds.paths)} images, {len(preds.failures)} failed")
    for failure in preds.failures:
        print(f"  failed: {path_text(failure.path)}: {failure.reason}")
    accuracy = preds.accuracy()
    if accuracy is not None:
        print(f"accuracy on the labelled images: {accuracy:.4f} "
              f"({len(preds.misclassified())} misclassified)")
    return EXIT_PARTIAL if preds.failures else EXIT_OK
