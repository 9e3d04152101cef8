"""``python -m hocert``: the ``hocert`` command."""

import sys

from hocert.cli import main

sys.exit(main())
