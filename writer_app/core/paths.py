"""Where the app keeps its own files: one name, and one data folder for everything it makes.

The data folder (platformdirs' user data dir, or $WRITER_APP_DATA_DIR, which
tests and scripts point at a temporary folder) holds what the app learns about
the writer: the suggestion statistics, and the models trained on their writing.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "writer-app"
DATA_DIR_ENV = "WRITER_APP_DATA_DIR"


def data_dir() -> Path:
    """Return the app's data folder ($WRITER_APP_DATA_DIR or the user data dir); not created."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
