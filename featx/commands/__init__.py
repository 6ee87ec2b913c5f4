"""One module per ``featx`` sub-command: ``add_parser(subparsers)`` and ``run(args) -> int``."""
