"""``featx embed SOURCE OUT``: images to a cached, resumable HDF5 feature file."""

from __future__ import annotations

import argparse

from featx._faults import reach
from featx.backbones.config import POOLINGS
from featx.embedding.run import ON_ERROR, embed
from featx.images.decode import RESIZE_POLICIES
from featx.images.sources import IMAGE_EXTENSIONS

EXIT_PARTIAL = 1


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("embed", help="embed images into an HDF5 feature file",
                              description=__doc__)
    p.add_argument("source", help="class-folder tree, split tree, flat folder, or .csv/.txt list")
    p.add_argument("out", help="HDF5 feature file to create or extend")
    add_backbone_options(p)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=None,
                   help="decode threads (default: $FEATX_THREADS, else one per core)")
    p.add_argument("--ext", default=",".join(IMAGE_EXTENSIONS),
                   help="comma-separated file extensions to include")
    p.add_argument("--no-recursive", dest="recursive", action="store_false",
                   help="do not descend into sub-folders of class folders")
    p.add_argument("--on-error", choices=ON_ERROR, default="skip",
                   help="skip: record failed images in `errors` and go on; raise: stop")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_dask_options(p)
    p.add_argument("--shard-size", type=int, default=256,
                   help="images per Dask task (with --scheduler or --workers)")
    p.set_defaults(run=run)


def add_backbone_options(p: argparse.ArgumentParser) -> None:
    """The options that make up a feature configuration (shared with other commands)."""
    p.add_argument("--backbone", default="resnet50",
                   help="registry name (see `featx backbones`) or a Keras model file")
    p.add_argument("--layer", default=None, help="layer to cut at (default: last pooling layer)")
    p.add_argument("--pooling", choices=POOLINGS, default="avg",
                   help="how a feature map becomes a vector")
    p.add_argument("--input-size", type=_size, default=None, metavar="N|HxW")
    p.add_argument("--weights", default="imagenet", help="imagenet, none, or a weights file")
    p.add_argument("--preprocess", default=None,
                   help="preprocess_input of this backbone (model files default to none)")
    p.add_argument("--resize", choices=RESIZE_POLICIES, default="squash")


def add_dask_options(p: argparse.ArgumentParser) -> None:
    """``--scheduler`` / ``--workers``: run on Dask (shared with other commands)."""
    dask = p.add_mutually_exclusive_group()
    dask.add_argument("--scheduler", default=None, metavar="ADDRESS",
                      help="run on this Dask scheduler, e.g. tcp://HOST:8786 (see docs/dask.md)")
    dask.add_argument("--workers", type=int, default=None, metavar="N",
                      help="run on a local Dask cluster of N worker processes")


def backbone_options(args: argparse.Namespace) -> dict:
    return {name: getattr(args, name) for name in
            ("backbone", "layer", "pooling", "input_size", "weights", "preprocess", "resize")}


def run(args: argparse.Namespace) -> int:
    result = embed(
        args.source, args.out, **backbone_options(args), batch_size=args.batch_size,
        threads=args.threads, extensions=args.ext.split(","), recursive=args.recursive,
        on_error=args.on_error, progress=not args.quiet, client=args.scheduler,
        workers=args.workers, shard_size=args.shard_size,
    )
    reach("summary")
    print(result.report())
    if result.interrupted:
        return 130
    return EXIT_PARTIAL if result.failures else 0


def _size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    try:
        values = [int(v) for v in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or HxW, got {text!r}") from None
    if len(values) not in (1, 2):
        raise argparse.ArgumentTypeError(f"expected N or HxW, got {text!r}")
    return (values[0], values[-1])
