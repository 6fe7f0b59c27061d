"""`python -m oomlens` runs the command line."""

import sys

from oomlens.cli import main

sys.exit(main())
