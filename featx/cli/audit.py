"""featx audit FEATURES.h5 --out DIR: duplicates, leaks, likely label errors and outliers, from
the cached features (nothing is embedded again).

Exact duplicates are entries with one content (a copy across splits is a leak, across labels a
conflict); near duplicates are images whose features are within --threshold (cosine distance;
resized, re-encoded or cropped copies); likely label errors are images whose label the
out-of-fold probabilities of --head contradict, ranked by cleanlab (the extra featx[audit]);
outliers are images far from every neighbour of their class. DIR gets audit.csv (one row per
finding: kind, images, score, labels, splits) and audit.html (each finding with its images).
Exits 0 whatever it finds (it is a report), 2 on a usage error. See docs/audit.md.
"""

from __future__ import annotations

import argparse
import os

from featx import SEED
from featx.auditing.options import (
    CHECKS,
    DEFAULT_FOLDS,
    DEFAULT_HEAD,
    DEFAULT_NEIGHBOURS,
    DEFAULT_OUTLIER_Z,
    DEFAULT_THRESHOLD,
)
from featx.cli.options import (
    EXIT_OK,
    HEAD_NAMES,
    add_command,
    add_config_option,
    add_out_option,
    names,
    out_folder,
)
from featx.errors import FeatxError

SHOWN = 10  # findings of each kind listed on the terminal by default


def add_parser(subparsers) -> None:
    p = add_command(subparsers, "audit", "find duplicates, leaks, label errors and outliers",
                    __doc__)
    p.add_argument("features", help="HDF5 feature file written by `featx embed`")
    p.add_argument("--checks", type=names, default=list(CHECKS), metavar="CHECK[,CHECK...]",
                   help=f"checks to run, comma-separated (default: {','.join(CHECKS)})")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, metavar="DISTANCE",
                   help="near duplicates: cosine distance at most this; calibrated on "
                   "EfficientNet-Lite0 features, see docs/audit.md")
    p.add_argument("--head", default=DEFAULT_HEAD, choices=HEAD_NAMES, metavar="NAME",
                   help=f"label check: the head cross-validated ({', '.join(HEAD_NAMES)})")
    p.add_argument("--folds", type=int, default=DEFAULT_FOLDS, metavar="K",
                   help="label check: cross-validation folds")
    p.add_argument("--neighbours", type=int, default=DEFAULT_NEIGHBOURS, metavar="K",
                   help="outliers: nearest images of the same class to measure against")
    p.add_argument("--outlier-z", type=float, default=DEFAULT_OUTLIER_Z, metavar="Z",
                   help="outliers: robust z-score of the distance above which an image is one")
    p.add_argument("--seed", type=int, default=SEED, help="seed of the cross-validation folds")
    p.add_argument("--limit", type=int, default=SHOWN, metavar="N",
                   help="findings of each kind listed here (audit.csv has them all)")
    add_config_option(p)
    add_out_option(p, "audit.csv, audit.html and its thumbnails")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from featx.auditing.options import AuditOptions
    from featx.auditing.run import as_input
    from featx.auditing.run import run as run_audit
    from featx.report.audit_page import CSV, write_audit_report

    out = out_folder(args.out)
    if args.limit < 0:
        raise FeatxError(f"--limit is a number of findings to list, at least 0, got {args.limit}")
    options = AuditOptions(tuple(args.checks), args.threshold, args.head, args.folds,
                           args.neighbours, args.outlier_z, args.seed)
    result = run_audit(as_input(args.features, args.config), options)
    page = write_audit_report(result, out)
    print(result.summary(args.limit))
    print(f"wrote {os.path.join(out, CSV)} ({len(result.findings)} findings) and {page}")
    return EXIT_OK
