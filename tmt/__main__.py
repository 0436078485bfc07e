"""``python -m tmt``: the ``tmt`` command line."""

import sys

from .cli import main

sys.exit(main())
