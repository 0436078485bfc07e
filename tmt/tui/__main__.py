"""``python -m tmt.tui``: the terminal app."""

import sys

from . import main

sys.exit(main())
