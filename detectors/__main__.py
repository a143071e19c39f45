"""Entry point for ``python -m detectors``."""

import sys

from detectors.cli import main

if __name__ == "__main__":
    sys.exit(main())
