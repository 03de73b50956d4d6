"""``python -m hfswim ...`` is the ``hfswim`` command (same exit codes)."""

import sys

from hfswim.cli import main

if __name__ == "__main__":
    sys.exit(main())
