"""The ``featx`` command line: :mod:`featx.cli.main` and one module per sub-command."""
