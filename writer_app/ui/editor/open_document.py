"""One open document: its QTextDocument, and what saving and recovering it needs.

A single file has one; a project has one per chapter opened, kept while the
project is open, so that each chapter keeps its own undo history, its own
file stamp (what it was when read or saved), its own lock and its own
recovery copy. DocumentFiles shows one of them in the editor at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtGui import QTextDocument

from writer_app.core.open_files import DocumentLock
from writer_app.core.recovery import RecoverySession
from writer_app.core.text_io import FileStamp


@dataclass(eq=False)
class OpenDocument:
    """A document open in the window, shown in the editor or waiting to be."""

    document: QTextDocument
    path: Path | None = None  # None: untitled
    newline: str = "\n"  # the file's line ending, written back on save
    bom: bool = False  # the file began with a UTF-8 byte order mark: saved with one
    stamp: FileStamp | None = None  # the file as last read or saved; None: no file yet
    lock: DocumentLock | None = None
    read_only: bool = False  # open in another window and the writer chose read-only
    asked_about: str | None = None  # the disk version check_disk last asked about
    recovery: RecoverySession = field(default_factory=RecoverySession)
    autosaved_revision: int = -1  # the editor revision its recovery file holds
    cursor: int = 0  # where the writer was, for the next time it is shown
    scroll: int = 0

    @property
    def name(self) -> str:
        """The file's name, or "Untitled"."""
        return self.path.name if self.path else "Untitled"

    @property
    def modified(self) -> bool:
        """Whether it has edits not saved to its file."""
        return self.document.isModified()

    def release(self) -> None:
        """Let the file go: its lock, and its recovery copy (saved or discarded by now)."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None
        self.recovery.clear()
        self.recovery.close()
