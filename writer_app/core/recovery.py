"""Crash recovery: each running app keeps a copy of its unsaved text in a recovery folder.

The app autosaves into its own session file while the buffer is dirty and
deletes it on a clean exit, so a file found at start-up belongs to a session
that crashed, or to another app still running. Each session holds an OS lock
(flock, or msvcrt.locking on Windows) on its own `.lock` file beside the text:
the kernel drops it when the process dies, however it dies, so a file whose
lock is free is a crash. PIDs would not do: after a reboot a crashed
session's PID often belongs to some other live process.
The folder is platformdirs' user state dir, or $WRITER_APP_RECOVERY_DIR; it is
private (0700), and so are the files in it (0600).

A recovery file is one line of JSON (where the text came from, when) and then
the text itself as UTF-8: JSON-escaping a whole novel on every autosave cost
more than copying it out of the editor. Files of the older all-JSON format
(`.json`) are still found and read.

A damaged recovery file is still offered with what can be read of it: a bad
header costs the file's name and date (the file's own time stands in), a bad
byte in the text becomes U+FFFD. Recovery files are read through the one guard
of the state files (core/state_files.py), and none is ever deleted without
the writer's say.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from writer_app.core.paths import APP_NAME, PRIVATE_FILE_MODE, private_dir, private_file
from writer_app.core.state_files import read_state

log = logging.getLogger(__name__)
RECOVERY_DIR_ENV = "WRITER_APP_RECOVERY_DIR"
PRIVATE_MODE = PRIVATE_FILE_MODE  # the unsaved text is nobody else's business
SUFFIX = ".recovery"
OLD_SUFFIX = ".json"  # {"text": ..., "source_path": ..., "saved_at": ...}, before the header line

if sys.platform == "win32":
    import msvcrt

    def try_lock(fd: int) -> bool:
        """Take the OS lock on open file `fd` without waiting; return whether it was taken."""
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def unlock(fd: int) -> None:
        """Release the lock try_lock took."""
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def try_lock(fd: int) -> bool:
        """Take the OS lock on open file `fd` without waiting; return whether it was taken."""
        # flock, not lockf: its locks belong to the open file, so a probe from
        # this same process conflicts with them too, and closing the probe's
        # descriptor cannot drop a lock held through another one.
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def unlock(fd: int) -> None:
        """Release the lock try_lock took."""
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
    damage: str | None = None  # what could not be read, for the writer; None: intact

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
        private_dir(self.folder)
        self._hold_lock()  # before the text exists, so no one ever takes it for a crash
        header = json.dumps({"source_path": source_path, "saved_at": time.time()})
        # surrogatepass: a lone surrogate pasted into the editor must not cost the rest.
        data = header.encode("utf-8") + b"\n" + text.encode("utf-8", "surrogatepass")
        private_file(self.path, data)

    def clear(self) -> None:
        """Delete the recovery file: the text is saved or deliberately discarded.

        Never raises: a recovery folder that is gone or unusable (a file in its
        place) holds nothing to delete, and must not stop a save or an exit.
        """
        try:
            self.path.unlink(missing_ok=True)
        except OSError as err:
            log.warning("could not delete %s: %s", self.path, err)

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
        if not try_lock(fd):  # only if someone else guessed our random name
            os.close(fd)
            raise OSError(f"the recovery lock {_lock_path(self.path)} is held by another process")
        self._lock_fd = fd


def find_recoverable(
    folder: Path | None = None, exclude: Path | None = None
) -> list[RecoveredText]:
    """Return recovery files left by crashed sessions, newest first.

    Files of sessions still running (their lock is held) and `exclude` (this
    session's own file) are skipped. A damaged file is offered with what can
    be read of it (its `damage` says what not); one that cannot be read at all
    is moved aside by the state-file guard, never fatal.
    """
    folder = folder or recovery_dir()
    found = []
    for suffix in (SUFFIX, OLD_SUFFIX) if folder.is_dir() else ():
        for file in folder.glob(f"session-*{suffix}"):
            if file != exclude and not _owner_alive(file):
                found += _read_recovery_file(file)
    return sorted(found, key=lambda r: r.saved_at, reverse=True)


def _read_recovery_file(file: Path) -> list[RecoveredText]:
    # What can be read is offered; [] only when nothing can (the guard then
    # moved the file aside and told the writer). Never deleted here.
    found = read_state(file, lambda data: _parse(file, data), "a recovery copy of unsaved text")
    return [found] if found is not None else []


def _parse(file: Path, data: bytes) -> RecoveredText:
    header, newline, body = data.partition(b"\n")
    damage = []
    try:
        record = json.loads(header)
        if not isinstance(record, dict):
            raise ValueError("the header is not a JSON object")
    except (ValueError, RecursionError):
        if file.suffix == OLD_SUFFIX:
            raise  # the whole text was in that JSON: nothing to offer
        record = {}
        body = body if newline else data  # no line end at all: perhaps no header, keep it all
        damage.append("its header (the file name and date) was damaged")
    if file.suffix == OLD_SUFFIX:
        text = str(record["text"])
    else:
        try:
            text = body.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            text = body.decode("utf-8", "replace")
            damage.append("some characters were damaged (shown as \ufffd)")
    source = record.get("source_path")
    saved_at = _plausible_time(record.get("saved_at"), file)
    return RecoveredText(
        file,
        text,
        source if isinstance(source, str) else None,
        saved_at,
        "; ".join(damage) or None,
    )


def _plausible_time(value: object, file: Path) -> float:
    # A date the clock functions can show (not 1e300, not NaN); else the file's own time.
    try:
        when = float(value)
        if math.isfinite(when) and 0 <= when < 2**33:
            time.localtime(when)
            return when
    except (TypeError, ValueError, OverflowError, OSError):
        pass
    try:
        return file.stat().st_mtime
    except OSError:
        return 0.0


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
        if not try_lock(fd):
            return True
        unlock(fd)
        return False
    finally:
        os.close(fd)
