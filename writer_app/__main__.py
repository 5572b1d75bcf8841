"""`python -m writer_app`, and the entry script of the desktop bundle (packaging/)."""

import sys

from writer_app.ui.app import main

if __name__ == "__main__":
    sys.exit(main())
