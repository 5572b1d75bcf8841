"""Durable writes, shared by documents, checkpoints, caches and model files.

`atomic_write` is the one way this project replaces a file: a temporary file
beside the target, fsync, rename, then fsync the folder, so that a crash or a
full disk leaves either the old file or the new one, never half of each.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

NEW_FILE_MODE = 0o666  # before the umask, as open() and every editor create files


def atomic_write(
    path: str | os.PathLike,
    data: bytes | Callable[[BinaryIO], object],
    mode: int = NEW_FILE_MODE,
) -> None:
    """Replace the file at `path` with `data` atomically (temp file, fsync, rename).

    `data` is the bytes to write, or a function that writes them to the open
    file (for arrays and large payloads). A symlink is followed, so the link
    survives and its target is replaced; an existing file keeps its permission
    bits, and a new one gets `mode` less the umask. Raises OSError (no
    permission, disk full, missing folder...) and then leaves the old file
    untouched.
    """
    target = Path(os.path.realpath(path))
    fd, tmp_name = _create_temp(target, mode)
    try:
        with os.fdopen(fd, "wb") as tmp:
            if callable(data):
                data(tmp)
            else:
                tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        if target.exists():
            os.chmod(tmp_name, target.stat().st_mode & 0o7777)
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise
    fsync_dir(target.parent)


def fsync_dir(folder: str | os.PathLike) -> None:
    """Flush a folder's entries (a rename in it) to disk; a no-op where folders can't be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _create_temp(target: Path, mode: int) -> tuple[int, str]:
    # Not tempfile.mkstemp: it forces mode 0600, and reading the umask to undo
    # that (os.umask sets it too) races with other threads creating files.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        name = str(target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(name, flags, mode), name
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name next to {target}")
