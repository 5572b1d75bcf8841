"""Crash recovery: each running app keeps a copy of its unsaved text in a recovery folder.

The app autosaves into its own session file while the buffer is dirty and
deletes it on a clean exit, so a file found at start-up belongs to a session
that crashed, or to another app still running. Each session holds an OS lock
(flock, or msvcrt.locking on Windows) on its own `.lock` file beside the text:
the kernel drops it when the process dies, however it dies, so a file whose
lock is free is a crash. PIDs would not do: after a reboot a crashed
session's PID often belongs to some other live process.
The folder is platformdirs' user state dir, or $WRITER_APP_RECOVERY_DIR.

A recovery file is one line of JSON (where the text came from, when) and then
the text itself as UTF-8: JSON-escaping a whole novel on every autosave cost
more than copying it out of the editor. Files of the older all-JSON format
(`.json`) are still found and read.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from gpt2gguf.files import atomic_write
from writer_app.core.paths import APP_NAME

RECOVERY_DIR_ENV = "WRITER_APP_RECOVERY_DIR"
PRIVATE_MODE = 0o600  # the unsaved text is nobody else's business
SUFFIX = ".recovery"
OLD_SUFFIX = ".json"  # {"text": ..., "source_path": ..., "saved_at": ...}, before the header line

if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        # flock, not lockf: its locks belong to the open file, so a probe from
        # this same process conflicts with them too, and closing the probe's
        # descriptor cannot drop a lock held through another one.
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def recovery_dir() -> Path:
    """Return the recovery folder ($WRITER_APP_RECOVERY_DIR or the user state dir)."""
    override = os.environ.get(RECOVERY_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False)) / "recovery"


@dataclass
class RecoveredText:
    """Unsaved text left behind by a session that did not exit cleanly."""

    recovery_file: Path
    text: str
    source_path: str | None  # the file the text was being edited as, if it had one
    saved_at: float  # seconds since the epoch

    def discard(self) -> None:
        """Delete the recovery file (after restoring it or when the writer declines)."""
        self.recovery_file.unlink(missing_ok=True)
        _lock_path(self.recovery_file).unlink(missing_ok=True)


class RecoverySession:
    """This app run's own recovery file, locked while the run lives.

    Call save() on autosave, clear() when the text is saved, and close() on a
    clean exit. The lock is taken at the first save and held until close() or
    the death of the process.
    """

    def __init__(self, folder: Path | None = None):
        self.folder = folder or recovery_dir()
        self.path = self.folder / f"session-{os.getpid()}-{uuid.uuid4().hex[:8]}{SUFFIX}"
        self._lock_fd: int | None = None

    def save(self, text: str, source_path: str | None) -> None:
        """Write the unsaved text atomically. Raises OSError when the folder is unwritable."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._hold_lock()  # before the text exists, so no one ever takes it for a crash
        header = json.dumps({"source_path": source_path, "saved_at": time.time()})
        # surrogatepass: a lone surrogate pasted into the editor must not cost the rest.
        data = header.encode("utf-8") + b"\n" + text.encode("utf-8", "surrogatepass")
        atomic_write(self.path, data, mode=PRIVATE_MODE)

    def clear(self) -> None:
        """Delete the recovery file: the text is saved or deliberately discarded."""
        self.path.unlink(missing_ok=True)

    def close(self) -> None:
        """Let go of the lock, as the process's death would; a text file left is then a crash's."""
        if self._lock_fd is None:
            return
        os.close(self._lock_fd)  # releases the lock
        self._lock_fd = None
        try:
            _lock_path(self.path).unlink(missing_ok=True)
        except OSError:  # Windows: another app is probing it right now; harmless
            pass

    def _hold_lock(self) -> None:
        if self._lock_fd is not None:
            return
        fd = os.open(_lock_path(self.path), os.O_RDWR | os.O_CREAT, PRIVATE_MODE)
        if not _try_lock(fd):  # only if someone else guessed our random name
            os.close(fd)
            raise OSError(f"the recovery lock {_lock_path(self.path)} is held by another process")
        self._lock_fd = fd


def find_recoverable(
    folder: Path | None = None, exclude: Path | None = None
) -> list[RecoveredText]:
    """Return recovery files left by crashed sessions, newest first.

    Files of sessions still running (their lock is held) and `exclude` (this
    session's own file) are skipped; unreadable files are skipped too, never fatal.
    """
    folder = folder or recovery_dir()
    found = []
    for suffix in (SUFFIX, OLD_SUFFIX) if folder.is_dir() else ():
        for file in folder.glob(f"session-*{suffix}"):
            if file != exclude and not _owner_alive(file):
                found += _read_recovery_file(file)
    return sorted(found, key=lambda r: r.saved_at, reverse=True)


def _read_recovery_file(file: Path) -> list[RecoveredText]:
    # [] for an unreadable or damaged file: recovery must never stop the app starting.
    try:
        header, _, body = file.read_bytes().partition(b"\n")
        record = json.loads(header)
        if file.suffix == OLD_SUFFIX:
            text = record["text"]
        else:
            text = body.decode("utf-8", "surrogatepass")
        return [
            RecoveredText(
                file, str(text), record.get("source_path"), float(record.get("saved_at", 0))
            )
        ]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []


def _lock_path(recovery_file: Path) -> Path:
    return recovery_file.with_suffix(".lock")


def _owner_alive(file: Path) -> bool:
    # The owner's lock is held exactly as long as the owner runs. No lock file:
    # the owner closed without clearing its text, or an older app wrote it.
    try:
        fd = os.open(_lock_path(file), os.O_RDWR)
    except OSError:
        return False
    try:
        if not _try_lock(fd):
            return True
        _unlock(fd)
        return False
    finally:
        os.close(fd)
