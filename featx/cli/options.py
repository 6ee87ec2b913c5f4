"""What the sub-commands share: the parser and its help style, the options with their help texts,
the rule for outputs, and the exit codes of ``featx``.

Every option's help shows its default. Errors, the parser's included, are one line:
``featx: error: ...`` and exit status 2. Outputs follow one rule: ``embed``, ``export`` and
``finetune`` write the one file named by their OUT argument (features, an export, a model), every
other command writes its files into the folder ``--out DIR``; missing parent folders are created.

Importing this module imports neither TensorFlow nor scikit-learn, so ``featx --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os

from featx import SEED
from featx.backbones.augment import AUGMENTATIONS
from featx.backbones.config import OPTIONS, POOLINGS, FeatureConfig, resolve
from featx.backbones.registry import DEFAULT_BACKBONE
from featx.errors import FeatxError
from featx.images.decode import RESIZE_POLICIES

EXIT_OK = 0
EXIT_PARTIAL = 1  # embed, predict: some images failed (they are listed and kept in `errors`)
EXIT_PROBLEMS = 1  # check: the file has problems (one line each)
EXIT_BROKEN_PIPE = 1  # stdout closed early (`| head`): stop quietly, as Python recommends
EXIT_ERROR = 2  # a usage or configuration error: one line on stderr, no traceback
EXIT_INTERRUPTED = 130  # Ctrl-C: what was done is kept; rerun to finish

HEAD_NAMES = ("logreg", "linear-svm", "rbf-svm", "knn", "centroid", "ridge", "lda")
"""The built-in heads, for help texts (``featx.learn.heads.HEADS`` holds them)."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line in featx's style (exit status 2)."""

    def error(self, message: str):
        self.exit(EXIT_ERROR, f"featx: error: {message} (see `{self.prog} --help`)\n")


class HelpFormatter(argparse.HelpFormatter):
    """Appends ``(default: ...)`` to every option whose help does not already say its default
    (options without a value, flags, and those defaulting to ``None`` say theirs in words), and
    keeps a description's paragraphs apart."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n\n".join(super(HelpFormatter, self)._fill_text(part, width, indent)
                           for part in text.strip().split("\n\n"))

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        silent = (action.default is None or action.default is argparse.SUPPRESS
                  or isinstance(action.default, bool) or action.default == [])
        if "default" in text or silent or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


def add_command(subparsers, name: str, summary: str, description: str) -> Parser:
    """A sub-command's parser: ``summary`` in ``featx --help``, ``description`` in its own."""
    return subparsers.add_parser(name, help=summary, description=description,
                                 formatter_class=HelpFormatter)


def add_feature_options(p: argparse.ArgumentParser, augment: bool = True) -> None:
    """The options that make up a feature configuration (:func:`feature_config` reads them);
    ``augment=False`` leaves out ``--augment`` (``featx finetune`` has its own, for training)."""
    g = p.add_argument_group("feature configuration")
    g.add_argument("--backbone", default=DEFAULT_BACKBONE, metavar="NAME|FILE",
                   help="built-in backbone (`featx backbones` lists them) or a Keras model file "
                   "(.keras, .h5)")
    g.add_argument("--layer", default=None, metavar="LAYER[,LAYER...]|auto",
                   help="layer to cut at (default: the backbone's, see `featx backbones NAME`; "
                   "for a model file its last pooling layer); several, or auto (the backbone's "
                   "candidate layers), are computed in one forward pass and stored as one "
                   "configuration each")
    g.add_argument("--pooling", choices=POOLINGS, default="avg",
                   help="how the layer's feature map becomes a vector")
    g.add_argument("--input-size", type=input_size, default=None, metavar="N|HxW",
                   help="images are resized to N x N or H x W pixels (default: the backbone's "
                   "input size)")
    g.add_argument("--weights", default="imagenet", metavar="imagenet|none|FILE",
                   help="ImageNet weights, random ones (seeded), or a weights file")
    g.add_argument("--preprocess", default=None, metavar="NAME",
                   help="use this backbone's preprocess_input (default: the backbone's own; "
                   "none for a model file)")
    g.add_argument("--resize", choices=RESIZE_POLICIES, default="squash",
                   help="how an image is fitted to the input size: stretched, cropped to the "
                   "centre, or padded")
    if augment:
        g.add_argument("--augment", choices=AUGMENTATIONS, default="none",
                       dest="feature_augment",
                       help="store the mean features of the image and its mirror (flip), or of "
                       "its four corner and centre crops (five-crop; ten-crop adds their "
                       "mirrors)")


def feature_config(args: argparse.Namespace) -> FeatureConfig:
    """The feature configuration the options of :func:`add_feature_options` ask for."""
    return resolve(**_options(args), layer=args.layer)


def feature_configs(args: argparse.Namespace) -> list[FeatureConfig]:
    """The feature configurations the options of :func:`add_feature_options` ask for: one, or
    one per layer of ``--layer L1,L2`` (or ``auto``), all computed by one forward pass."""
    from featx.backbones.layers import layer_configs

    return layer_configs(resolve(**_options(args)), args.layer)


def _options(args: argparse.Namespace) -> dict:
    """The options of :func:`featx.backbones.config.resolve` but ``layer``, as given."""
    values = {name: getattr(args, name) for name in OPTIONS if name not in ("layer", "augment")}
    return {**values, "augment": getattr(args, "feature_augment", "none")}


def add_batch_size_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--batch-size", type=int, default=32, metavar="N",
                   help="images per forward pass")


def add_config_option(p: argparse.ArgumentParser) -> None:
    """``--config NAME``: which configuration of a store holding several (``featx info``)."""
    p.add_argument("--config", default=None, metavar="NAME",
                   help="the configuration to use when the file holds several: a name, or a "
                   "unique start of one, as `featx info FILE` lists them (default: the file's "
                   "only one)")


def add_quiet_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", action="store_true",
                   help="print only the result: no progress bar or per-step lines "
                   "(default: print them)")


def add_dask_options(p: argparse.ArgumentParser) -> None:
    """``--scheduler`` / ``--workers``: run on Dask."""
    dask = p.add_mutually_exclusive_group()
    dask.add_argument("--scheduler", default=None, metavar="ADDRESS",
                      help="run on this Dask scheduler, e.g. tcp://HOST:8786, see docs/dask.md "
                      "(default: run here)")
    dask.add_argument("--workers", type=int, default=None, metavar="N",
                      help="run on a local Dask cluster of N worker processes (default: run "
                      "here)")


def add_head_option(p: argparse.ArgumentParser) -> None:
    """``--head``: one or more built-in heads (a list, as a spec's ``heads``), or ``all``."""
    p.add_argument("--head", type=names, default=["logreg"], metavar="NAME[,NAME...]|all",
                   help=f"built-in heads, comma-separated, or all of them: "
                   f"{', '.join(HEAD_NAMES)} (default: logreg)")


def add_halving_option(p: argparse.ArgumentParser) -> None:
    """``--halving``: search each head's grid by successive halving."""
    p.add_argument("--halving", action="store_true",
                   help="successive halving (scikit-learn's HalvingGridSearchCV) for large grids: "
                   "every candidate on a few rows, only the best on all (default: every "
                   "candidate on all rows)")


def add_held_out_options(p: argparse.ArgumentParser) -> None:
    """``--test-size`` and ``--seed``: how the held-out rows are chosen."""
    p.add_argument("--test-size", type=float, default=None, metavar="FRACTION",
                   help="hold out this stratified random fraction of the labelled rows "
                   "(default: the file's test or val split, else 0.25)")
    p.add_argument("--seed", type=int, default=SEED,
                   help="seed of the random hold-out, the cross-validation folds and the draws")


def add_drop_leaks_option(p: argparse.ArgumentParser) -> None:
    """``--drop-leaks``: leave out the held-out images that copy a training image exactly."""
    p.add_argument("--drop-leaks", action="store_true",
                   help="leave out held-out images that have an exact copy among the training "
                   "images (by default they stay, with a warning)")


def add_out_option(p: argparse.ArgumentParser, files: str) -> None:
    """``--out DIR``: the folder a command writes ``files`` into (see :func:`out_folder`)."""
    p.add_argument("--out", required=True, metavar="DIR",
                   help=f"folder to write {files} into, created with its parents (required)")


def out_folder(path: str) -> str:
    """The ``--out`` folder, refused if a file is there; what writes into it first creates it
    with its parents, so a command that stops on a mistake leaves no empty folder."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise FeatxError(f"--out {path} is a file; --out names the folder to write into")
    return path


def out_file(path: str) -> str:
    """An output file's path, its missing parent folders created."""
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.exists(parent) and not os.path.isdir(parent):
        raise FeatxError(f"cannot write {path}: {parent} is a file, not a folder")
    os.makedirs(parent, exist_ok=True)
    return path


def names(text: str) -> list[str]:
    """A comma-separated list of names, e.g. ``--head logreg,knn``."""
    values = [v.strip() for v in text.split(",")]
    if not all(values):
        raise argparse.ArgumentTypeError(f"expected NAME[,NAME...], got {text!r}")
    return values


def shots(text: str) -> list[int | None]:
    """``--shots 1,2,5,all``: examples per class (``None`` for all of them)."""
    values = []
    for part in names(text):
        if part == "all":
            values.append(None)
        elif part.isdigit():
            values.append(int(part))
        else:
            raise argparse.ArgumentTypeError(
                f"expected whole numbers or all, comma-separated; got {part!r}")
    return values


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
