"""One window at a time per file: a lock, taken when a document is opened, that another
window or another run of the app sees.

The locks live in the app's own private folder, not beside the writer's
document (no litter in their folders): one small file per open document,
named by a hash of the document's real path (so a symlink and its target
are the same document), holding the owner's pid and the path, for the message.

Whether a lock is held is decided by an OS lock on that file (flock, or
msvcrt.locking on Windows, as for the recovery copies), not by the pid: the
kernel drops it when the owner dies, however it dies, so a stale lock of a
crashed run is taken over silently, and a pid reused after a reboot never
keeps a file locked. The pid is only what the message tells the writer.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from writer_app.core.paths import PRIVATE_FILE_MODE, private_dir
from writer_app.core.recovery import recovery_dir, try_lock

LOCKS_DIR_ENV = "WRITER_APP_LOCKS_DIR"


def locks_dir() -> Path:
    """Return the folder of the open-document locks ($WRITER_APP_LOCKS_DIR, else
    "open-files" beside the recovery folder, which tests already point elsewhere)."""
    override = os.environ.get(LOCKS_DIR_ENV)
    if override:
        return Path(override)
    return recovery_dir().parent / "open-files"


class DocumentLock:
    """The lock of one open document, held from acquire() until release() or the process's end."""

    def __init__(self, document: str | os.PathLike, folder: Path | None = None):
        self.document = Path(os.path.realpath(document))
        key = hashlib.blake2b(str(self.document).encode("utf-8", "surrogatepass"), digest_size=16)
        self.path = (folder or locks_dir()) / f"{key.hexdigest()}.lock"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> int | None:
        """Take the lock; return None when taken, or the pid of the holder (0 when unknown).

        Raises OSError when the locks folder cannot be made or written.
        """
        if self._fd is not None:
            return None
        private_dir(self.path.parent)
        for _ in range(10):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
            if not try_lock(fd):
                try:
                    return _holder_pid(fd)
                finally:
                    os.close(fd)
            # The holder may have released and removed the file between our open
            # and our lock: then we hold a lock on a file nobody else can see.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except OSError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n{self.document}\n".encode("utf-8", "surrogatepass"))
                self._fd = fd
                return None
            os.close(fd)
        raise OSError(f"the lock {self.path} keeps changing under us")

    def release(self) -> None:
        """Let the document go (removing the lock file first, while still holding it)."""
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        except OSError:  # Windows: someone is probing it; the lock goes with the close
            pass
        os.close(self._fd)
        self._fd = None


def _holder_pid(fd: int) -> int:
    try:
        first = os.pread(fd, 64, 0).split(b"\n", 1)[0] if hasattr(os, "pread") else b""
        return int(first)
    except (OSError, ValueError):
        return 0
