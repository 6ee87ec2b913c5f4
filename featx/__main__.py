import sys

from featx.cli.main import main

sys.exit(main())
