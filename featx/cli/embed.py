"""featx embed SOURCE OUT: images to a cached, resumable HDF5 feature file.

Reruns embed only images whose content is not in OUT yet; Ctrl-C keeps every finished batch.
Exit status: 0 all embedded, 1 some images failed (listed, and kept in the file's errors),
2 a usage or configuration error, 130 interrupted (rerun to finish).
"""

from __future__ import annotations

import argparse

from featx._faults import reach
from featx.cli.options import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    add_batch_size_option,
    add_command,
    add_dask_options,
    add_feature_options,
    add_quiet_option,
    feature_configs,
    out_file,
)
from featx.embedding.options import ON_ERROR, RunOptions
from featx.embedding.run import run as run_embedding
from featx.images.sources import IMAGE_EXTENSIONS


def add_parser(subparsers) -> None:
    p = add_command(subparsers, "embed", "embed images into an HDF5 feature file", __doc__)
    p.add_argument("source", help="class-folder tree, split tree, flat folder, or .csv/.txt list")
    p.add_argument("out", help="HDF5 feature file to create or extend (missing folders are "
                   "created)")
    add_feature_options(p)
    add_batch_size_option(p)
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="decode threads (default: $FEATX_THREADS, else one per core)")
    p.add_argument("--ext", default=",".join(IMAGE_EXTENSIONS),
                   help="comma-separated file extensions to include")
    p.add_argument("--no-recursive", dest="recursive", action="store_false",
                   help="do not descend into sub-folders of class folders (default: descend)")
    p.add_argument("--on-error", choices=ON_ERROR, default="skip",
                   help="skip: record a failed image in the file's errors and go on; raise: stop")
    add_quiet_option(p)
    add_dask_options(p)
    p.add_argument("--shard-size", type=int, default=256, metavar="N",
                   help="images per Dask task (with --scheduler or --workers)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    options = RunOptions(batch_size=args.batch_size, threads=args.threads,
                         on_error=args.on_error, progress=not args.quiet,
                         shard_size=args.shard_size)
    result = run_embedding(feature_configs(args), args.source, out_file(args.out), options,
                           extensions=args.ext.split(","), recursive=args.recursive,
                           client=args.scheduler, workers=args.workers)
    reach("summary")
    print(result.report())
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_PARTIAL if result.failures else EXIT_OK
