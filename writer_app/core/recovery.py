"""Crash recovery: each running app keeps a copy of its unsaved text in a recovery folder.

The app autosaves into its own session file while the buffer is dirty and
deletes it on a clean exit, so a file found at start-up belongs to a session
that crashed (or to another app still running, which is skipped on POSIX).
The folder is platformdirs' user state dir, or $WRITER_APP_RECOVERY_DIR.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from writer_app.core.documents import write_atomic

RECOVERY_DIR_ENV = "WRITER_APP_RECOVERY_DIR"
APP_NAME = "writer-app"


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


class RecoverySession:
    """This app run's own recovery file. Call save() on autosave, clear() on clean exit."""

    def __init__(self, folder: Path | None = None):
        self.folder = folder or recovery_dir()
        self.path = self.folder / f"session-{os.getpid()}-{uuid.uuid4().hex[:8]}.json"

    def save(self, text: str, source_path: str | None) -> None:
        """Write the unsaved text atomically. Raises OSError when the folder is unwritable."""
        self.folder.mkdir(parents=True, exist_ok=True)
        record = {"text": text, "source_path": source_path, "saved_at": time.time()}
        write_atomic(self.path, json.dumps(record, ensure_ascii=False).encode("utf-8"))

    def clear(self) -> None:
        """Delete the recovery file: the text is saved or deliberately discarded."""
        self.path.unlink(missing_ok=True)


def find_recoverable(
    folder: Path | None = None, exclude: Path | None = None
) -> list[RecoveredText]:
    """Return recovery files left by crashed sessions, newest first.

    Files of other sessions still running (POSIX only) and `exclude` (this
    session's own file) are skipped; unreadable files are skipped too, never fatal.
    """
    folder = folder or recovery_dir()
    found = []
    for file in folder.glob("session-*.json") if folder.is_dir() else []:
        if file == exclude or _owner_alive(file):
            continue
        try:
            record = json.loads(file.read_text(encoding="utf-8"))
            found.append(
                RecoveredText(
                    file,
                    str(record["text"]),
                    record.get("source_path"),
                    float(record.get("saved_at", 0)),
                )
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return sorted(found, key=lambda r: r.saved_at, reverse=True)


def _owner_alive(file: Path) -> bool:
    # A file from another process that is still running is that app's live
    # backup, not a crash. Our own pid means an earlier session of this process.
    try:
        pid = int(file.name.split("-")[1])
    except (IndexError, ValueError):
        return False
    if pid == os.getpid() or os.name != "posix":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
