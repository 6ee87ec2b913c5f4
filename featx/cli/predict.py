"""``featx predict BUNDLE SOURCE --out predictions.csv``: label images with a trained bundle."""

from __future__ import annotations

import argparse

from featx.cli.options import EXIT_OK, EXIT_PARTIAL, add_batch_size_option, add_quiet_option


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("predict", help="predict images with a model bundle",
                              description=__doc__)
    p.add_argument("bundle", help="model.skops written by `featx train` or `featx run`")
    p.add_argument("source", help="images (folder, .csv/.txt list) or an HDF5 feature file")
    p.add_argument("--out", required=True, help="CSV file: path, label, predicted, proba_*")
    p.add_argument("--cache", default=None,
                   help="HDF5 feature file to reuse and extend, e.g. the training file "
                   "(default: a temporary file)")
    add_batch_size_option(p)
    add_quiet_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from featx.learn.predict import predict

    preds = predict(args.bundle, args.source, args.cache, args.batch_size, not args.quiet)
    preds.write_csv(args.out)
    print(f"{args.out}: {len(preds.paths)} predictions")
    for failure in preds.failures:
        print(f"  failed: {failure.path}: {failure.reason}")
    accuracy = preds.accuracy()
    if accuracy is not None:
        print(f"accuracy on the labelled images: {accuracy:.4f}")
    return EXIT_PARTIAL if preds.failures else EXIT_OK
