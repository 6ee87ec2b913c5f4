"""The ``featx`` command line: the parser, and user errors turned into one line and an exit code.

Every sub-command is a module of :mod:`featx.cli` with ``add_parser(subparsers)`` and a
``run(args) -> int``; importing them is cheap (no TensorFlow), so ``featx --help`` stays fast.
Options they share and the exit codes are in :mod:`featx.cli.options`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from PIL import Image

from featx import __version__
from featx.cli.options import EXIT_ERROR, EXIT_INTERRUPTED
from featx.errors import FeatxError

COMMANDS = ("embed", "info", "check", "backbones", "train", "predict", "run",
            "learning-curve")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="featx", description="Keras backbones -> cached HDF5 features -> scikit-learn heads.")
    parser.add_argument("--version", action="version", version=f"featx {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"featx.cli.{name.replace('-', '_')}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one sub-command; user errors become one line on stderr and a non-zero exit."""
    args = build_parser().parse_args(argv)
    # featx's own pixel limit decides which images are decoded (featx/images/decode.py), so
    # Pillow's warning about sizes it would still accept is noise here
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
    try:
        return args.run(args)
    except FeatxError as exc:
        print(f"featx: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("featx: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
