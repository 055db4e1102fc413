"""``python -m fnad``: the same command line as the ``fnad`` console script."""

import sys

from fnad.cli.commands import main

if __name__ == "__main__":
    sys.exit(main())
