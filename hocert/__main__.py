"""``python -m hocert``: the ``hocert`` command."""

import sys

try:
    from hocert.cli import main
except KeyboardInterrupt:  # Ctrl-C while the libraries load: one line, no traceback
    print("hocert: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
