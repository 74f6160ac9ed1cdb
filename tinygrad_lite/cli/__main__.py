"""``python -m tinygrad_lite.cli``: the same command line as ``python -m tinygrad_lite``."""

import sys

from . import main

sys.exit(main())
