"""Where the app keeps its own files: one name, one data folder, and one way to keep them private.

The data folder (platformdirs' user data dir, or $WRITER_APP_DATA_DIR, which
tests and scripts point at a temporary folder) holds what the app learns about
the writer: the suggestion statistics, and the models trained on their writing.

Everything the app keeps about the writer (the data folder, the recovery
copies, the settings) is private: files 0600 in folders 0700, made with
`private_dir` and `private_file`. The writer's own documents are not the
app's: they keep whatever mode they had.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import platformdirs

from gpt2gguf.files import atomic_write

APP_NAME = "writer-app"
DATA_DIR_ENV = "WRITER_APP_DATA_DIR"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def data_dir() -> Path:
    """Return the app's data folder ($WRITER_APP_DATA_DIR or the user data dir); not created."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def private_dir(folder: str | os.PathLike) -> Path:
    """Create `folder` (and missing parents) readable by the writer alone (0700); return it.

    An existing `folder` made by an older version with a wider mode is narrowed
    to 0700 when it is the writer's; parents that already exist are left alone
    (they are the writer's own folders, such as ~/.local/share). Raises OSError
    when it cannot be created.
    """
    folder = Path(folder)
    missing = []
    probe = folder
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for level in reversed(missing):
        try:
            level.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:  # made meanwhile by another app or thread
            pass
    if not missing and folder.is_dir() and _own(folder):
        os.chmod(folder, PRIVATE_DIR_MODE)
    return folder


def private_file(path: str | os.PathLike, data: bytes | Callable[[BinaryIO], object]) -> None:
    """Write `data` to `path` atomically as a private file (0600) in a private folder (0700).

    Raises OSError (unwritable folder, full disk); the old file is then intact.
    """
    path = Path(path)
    private_dir(path.parent)
    atomic_write(path, data, PRIVATE_FILE_MODE, keep_mode=False)


def _own(path: Path) -> bool:
    getuid = getattr(os, "getuid", None)
    return getuid is None or path.stat().st_uid == getuid()
