"""``python -m featx``: the ``featx`` command line."""

import sys

from featx.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
