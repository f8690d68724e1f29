"""``python -m local.simulator``: see local.simulator.cli."""

import sys

from local.simulator.cli import main

if __name__ == "__main__":
    sys.exit(main())
