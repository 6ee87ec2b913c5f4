"""What the sub-commands share: options with their help texts, and the exit codes of ``featx``.

Importing this module imports neither TensorFlow nor scikit-learn, so ``featx --help`` stays fast.
"""

from __future__ import annotations

import argparse

from featx import SEED
from featx.backbones.config import OPTIONS, POOLINGS, FeatureConfig, resolve
from featx.images.decode import RESIZE_POLICIES

EXIT_OK = 0
EXIT_PARTIAL = 1  # embed, predict: some images failed (they are listed and kept in `errors`)
EXIT_PROBLEMS = 1  # check: the file has problems (one line each)
EXIT_ERROR = 2  # a usage or configuration error: one line on stderr, no traceback
EXIT_INTERRUPTED = 130  # Ctrl-C: what was done is kept; rerun to finish


def add_feature_options(p: argparse.ArgumentParser) -> None:
    """The options that make up a feature configuration (:func:`feature_config` reads them)."""
    p.add_argument("--backbone", default="resnet50",
                   help="registry name (see `featx backbones`) or a Keras model file")
    p.add_argument("--layer", default=None, help="layer to cut at (default: last pooling layer)")
    p.add_argument("--pooling", choices=POOLINGS, default="avg",
                   help="how a feature map becomes a vector")
    p.add_argument("--input-size", type=input_size, default=None, metavar="N|HxW")
    p.add_argument("--weights", default="imagenet", help="imagenet, none, or a weights file")
    p.add_argument("--preprocess", default=None,
                   help="preprocess_input of this backbone (model files default to none)")
    p.add_argument("--resize", choices=RESIZE_POLICIES, default="squash")


def feature_config(args: argparse.Namespace) -> FeatureConfig:
    """The feature configuration the options of :func:`add_feature_options` ask for."""
    return resolve(**{name: getattr(args, name) for name in OPTIONS})


def add_batch_size_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--batch-size", type=int, default=32)


def add_quiet_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def add_dask_options(p: argparse.ArgumentParser) -> None:
    """``--scheduler`` / ``--workers``: run on Dask."""
    dask = p.add_mutually_exclusive_group()
    dask.add_argument("--scheduler", default=None, metavar="ADDRESS",
                      help="run on this Dask scheduler, e.g. tcp://HOST:8786 (see docs/dask.md)")
    dask.add_argument("--workers", type=int, default=None, metavar="N",
                      help="run on a local Dask cluster of N worker processes")


def add_head_option(p: argparse.ArgumentParser, allow_all: bool = False) -> None:
    p.add_argument("--head", default="logreg",
                   help="built-in head: logreg (default), linear-svm, rbf-svm, knn, centroid"
                   + (", or all to compare them" if allow_all else ""))


def add_held_out_options(p: argparse.ArgumentParser) -> None:
    """``--test-size`` and ``--seed``: how the held-out rows are chosen."""
    p.add_argument("--test-size", type=float, default=None,
                   help="hold out this stratified random fraction instead of the file's split")
    p.add_argument("--seed", type=int, default=SEED)


def input_size(text: str) -> tuple[int, int]:
    """``--input-size N`` or ``HxW`` as (height, width)."""
    parts = text.lower().split("x")
    try:
        values = [int(v) for v in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or HxW, got {text!r}") from None
    if len(values) not in (1, 2):
        raise argparse.ArgumentTypeError(f"expected N or HxW, got {text!r}")
    return (values[0], values[-1])
