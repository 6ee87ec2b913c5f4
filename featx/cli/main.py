"""The ``featx`` command line: the parser, and user errors turned into one line and an exit code.

Every sub-command is a module of :mod:`featx.cli` with ``add_parser(subparsers)`` and a
``run(args) -> int``; importing them is cheap (no TensorFlow), so ``featx --help`` stays fast.
Options they share, the parser's style and the exit codes are in :mod:`featx.cli.options`.

A user's mistake is one line, ``featx: error: ...``, and exit status 2: a :class:`FeatxError`,
a bad option (the parser), or a parameter scikit-learn refuses (a spec's grid, say). A closed
standard output (``featx info f.h5 | head -3``) stops quietly.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings

from PIL import Image

from featx import __version__
from featx.cli.options import EXIT_BROKEN_PIPE, EXIT_ERROR, EXIT_INTERRUPTED, Parser
from featx.errors import FeatxError

COMMANDS = ("embed", "info", "check", "backbones", "train", "predict", "run",
            "learning-curve", "audit", "export", "finetune", "fewshot", "search")


def build_parser() -> Parser:
    parser = Parser(
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
        code = args.run(args)
        sys.stdout.flush()
        return code
    except FeatxError as exc:
        return _error(exc)
    except KeyboardInterrupt:
        print("featx: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _drop_stdout()
        return EXIT_BROKEN_PIPE
    except ValueError as exc:
        if not _refused_parameter(exc):
            raise
        return _error(exc)


def _error(exc: Exception) -> int:
    message = " ".join(str(exc).split())
    print(f"featx: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _refused_parameter(exc: ValueError) -> bool:
    """Whether scikit-learn refused a parameter the user gave (``InvalidParameterError``)."""
    validation = sys.modules.get("sklearn.utils._param_validation")
    return validation is not None and isinstance(exc, validation.InvalidParameterError)


def _drop_stdout() -> None:
    """Point stdout at /dev/null, so flushing it at exit does not fail again (see the Python
    documentation on SIGPIPE)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
