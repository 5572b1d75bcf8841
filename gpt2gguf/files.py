"""Durable writes, shared by documents, checkpoints, caches and model files.

`atomic_write` is the one way this project replaces a file: a temporary file
beside the target, fsync, rename, then fsync the folder, so that a crash or a
full disk leaves either the old file or the new one, never half of each.

The temporary file is private (0600) while it is being written: a half-written
diary or recovery copy is nobody else's business, even for the seconds the
write takes. It gets its final mode (and, where allowed, the old file's owner)
only once all its bytes are on disk, just before the rename.

A file with other hard links is the one exception to the rename: renaming a
new file over one of its names would cut it off from the others, which would
keep the old text. It is written in place instead, after a backup copy of the
old bytes is safely on disk beside it (see `_write_in_place`).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

NEW_FILE_MODE = 0o666  # before the umask, as open() and every editor create files
TEMP_MODE = 0o600  # while the bytes are being written


def atomic_write(
    path: str | os.PathLike,
    data: bytes | Callable[[BinaryIO], object],
    mode: int = NEW_FILE_MODE,
    *,
    keep_mode: bool = True,
) -> None:
    """Replace the file at `path` with `data` atomically (temp file, fsync, rename).

    `data` is the bytes to write, or a function that writes them to the open
    file (for arrays and large payloads). A symlink is followed, so the link
    survives and its target is replaced. An existing file keeps its permission
    bits (unless `keep_mode` is False), its owner and group where the system
    allows, and its hard links; a new file gets `mode` less the umask. Raises
    OSError (no permission, disk full, missing folder...) and then leaves the
    old file untouched.
    """
    target = Path(os.path.realpath(path))
    try:
        old = os.stat(target)
    except FileNotFoundError:
        old = None
    if old is not None and stat.S_ISREG(old.st_mode) and old.st_nlink > 1:
        _write_in_place(target, data)
        return
    final_mode = old.st_mode & 0o7777 if old is not None and keep_mode else mode & ~_umask()
    fd, tmp_name = _create_temp(target)
    try:
        with os.fdopen(fd, "wb") as tmp:
            _write(tmp, data)
            if old is not None:
                _keep_owner(tmp.fileno(), old)
            # Only now, with every byte on disk: until here nobody else could read it.
            if hasattr(os, "fchmod"):
                os.fchmod(tmp.fileno(), final_mode)
        if not hasattr(os, "fchmod"):  # Windows
            os.chmod(tmp_name, final_mode)
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise
    fsync_dir(target.parent)


def file_sha256(path: str | os.PathLike) -> str:
    """Return the sha256 of a file's bytes, in hex, read a MiB at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


def _write(file: BinaryIO, data: bytes | Callable[[BinaryIO], object]) -> None:
    if callable(data):
        data(file)
    else:
        file.write(data)
    file.flush()
    os.fsync(file.fileno())


def _write_in_place(target: Path, data: bytes | Callable[[BinaryIO], object]) -> None:
    # Through the same inode, so every hard link sees the new bytes. The
    # trade-off: this is not atomic. So the old bytes are first copied to a
    # private backup beside the file and fsynced; if the write then fails, the
    # old bytes are put back and the backup removed; if the machine dies
    # mid-write, the backup (.NAME.XXXX.bak) is still there to restore by hand.
    fd, backup = _create_temp(target, ".bak")
    try:
        with os.fdopen(fd, "wb") as out, open(target, "rb") as src:
            shutil.copyfileobj(src, out)
            out.flush()
            os.fsync(out.fileno())
        fsync_dir(target.parent)
        try:
            with open(target, "r+b") as file:
                file.truncate(0)
                _write(file, data)
        except BaseException:
            with open(target, "r+b") as file, open(backup, "rb") as src:
                file.truncate(0)
                shutil.copyfileobj(src, file)
                file.flush()
                os.fsync(file.fileno())
            raise
    except BaseException:
        _unlink_quietly(backup)
        raise
    _unlink_quietly(backup)


def _keep_owner(fd: int, old: os.stat_result) -> None:
    # Root (or the owner, for a group it belongs to) may give the new file the
    # old one's owner and group; anyone else writes it as themselves, as any editor does.
    if not hasattr(os, "fchown"):
        return
    for uid in (old.st_uid, -1):
        try:
            os.fchown(fd, uid, old.st_gid)
            return
        except OSError:
            continue


def _umask() -> int:
    # Read without setting where the kernel says it (Linux 4.7+): os.umask can
    # only read by setting, which races with other threads creating files.
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _unlink_quietly(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass


def _create_temp(target: Path, suffix: str = ".tmp") -> tuple[int, str]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        name = str(target.parent / f".{target.name}.{secrets.token_hex(4)}{suffix}")
        try:
            return os.open(name, flags, TEMP_MODE), name
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name next to {target}")
