"""The document's file workflow: new, open, save, save as, unsaved changes, and
the recovery copy that keeps unsaved text safe from crashes.

DocumentFiles owns the current path, its line endings and this run's
RecoverySession. It reads and replaces the editor's text, asks the writer
through message boxes parented to the window, and tells the window what
happened through signals; it never touches the settings (the window adds
recent files) or the suggestions (the window cancels them on `replacing`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from writer_app.core.documents import (
    NotTextError,
    new_file_problem,
    read_text_file,
    save_text_file,
)
from writer_app.core.recovery import RecoverySession, find_recoverable
from writer_app.ui.editor.ghost_editor import GhostEditor

log = logging.getLogger(__name__)

AUTOSAVE_INTERVAL_MS = 30_000
# Unsaved text reaches the recovery file once typing pauses this long, and
# never later than RECOVERY_MAX_DELAY_MS after the first unsaved keystroke:
# a crash of the whole app loses at most the last 5 seconds.
RECOVERY_QUIET_MS = 1_500
RECOVERY_MAX_DELAY_MS = 4_000
FILE_FILTER = "Text and Markdown (*.txt *.md *.markdown);;All files (*)"
PROBLEM_MS = 15_000  # status-bar time of a problem the writer must read
NOTE_MS = 5_000
LONG_NOTE_MS = 8_000
SAVED_MS = 3_000
Button = QMessageBox.StandardButton


class DocumentFiles(QObject):
    """The file behind the editor, and every way of reading, writing and recovering it."""

    replacing = Signal()  # the editor's whole text is about to be replaced
    # A new document (new, open, recovered) or Save As: its file, a Path or None (untitled).
    path_changed = Signal(object)
    file_used = Signal(str)  # opened or saved: a recent file
    flash = Signal(str, int)  # a passing status-bar message (text, ms)

    def __init__(self, window: QWidget, editor: GhostEditor):
        super().__init__(window)
        self.window = window  # the parent of the message boxes
        self.editor = editor
        self._path: Path | None = None
        self.newline = "\n"
        self.recovery = RecoverySession()
        self.autosave_timer = QTimer(self, interval=AUTOSAVE_INTERVAL_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        self.recovery_timer = QTimer(self, singleShot=True)
        self.recovery_timer.timeout.connect(self.autosave)
        self._recovery_due = 0.0  # time.monotonic() by which the pending autosave must run
        self._autosaved_revision = -1  # the editor revision the recovery file holds
        editor.document().contentsChanged.connect(self._schedule_autosave)

    @property
    def path(self) -> Path | None:
        """The document's file (None: untitled)."""
        return self._path

    @path.setter
    def path(self, path: Path | None) -> None:
        self._path = path
        self.path_changed.emit(path)

    @property
    def name(self) -> str:
        """The file's name, or "Untitled"."""
        return self._path.name if self._path else "Untitled"

    # --- new, open, save ------------------------------------------------------

    def new_file(self) -> None:
        """Start an empty, untitled document (after offering to save changes)."""
        if self.maybe_save():
            self._set_document("", None)
            self.recovery.clear()

    def open_file(self, path: str | Path | None = None) -> bool:
        """Open `path` (or ask for one) after offering to save changes; returns success."""
        if not self.maybe_save():
            return False
        if path is None:
            start = str(self.path.parent) if self.path else ""
            path, _ = QFileDialog.getOpenFileName(self.window, "Open", start, FILE_FILTER)
            if not path:
                return False
        return self.load_path(Path(path))

    def load_path(self, path: str | Path) -> bool:
        """Read `path` into the editor (no prompt); a file that does not exist yet starts empty."""
        path = Path(path).expanduser().absolute()
        if not path.exists():
            self._set_document("", path)
            problem = new_file_problem(path)
            if problem:  # now, not at the first save hours later
                self._warn("Cannot save there", problem)
            else:
                self.flash.emit(f"New file: {path.name} will be created when you save.", NOTE_MS)
            return True
        try:
            doc = read_text_file(path)
        except OSError as err:
            QMessageBox.critical(
                self.window, "Could not open", f"Could not open {path}:\n{err.strerror or err}"
            )
            return False
        except NotTextError as err:
            QMessageBox.critical(self.window, "Not a text file", str(err))
            return False
        self._set_document(doc.text, path, doc.newline)
        self.recovery.clear()
        self.file_used.emit(str(path))
        if doc.warning:
            self._warn("Not UTF-8", doc.warning)
        if self.editor.layout_overflows():
            self._warn(
                "Document too long",
                f"{path.name} is too long for this editor to show whole: the end of it cannot "
                "be scrolled to. Nothing is lost and saving keeps all of it, but split it "
                "into smaller files (one per part or chapter) to edit the end.",
            )
        return True

    def _warn(self, title: str, text: str) -> None:
        self.flash.emit(text, PROBLEM_MS)
        QMessageBox.warning(self.window, title, text)

    def _set_document(self, text: str, path: Path | None, newline: str = "\n") -> None:
        self.replacing.emit()
        self.editor.set_text(text)
        self.newline = newline
        self.path = path

    def save(self) -> bool:
        """Save to the current file (or ask for one); on failure say why and keep the buffer dirty."""
        if self.path is None:
            return self.save_as()
        try:
            save_text_file(self.path, self.editor.toPlainText(), self.newline)
        except OSError as err:
            reason = err.strerror or str(err)
            log.warning("saving %s failed: %s", self.path, err)
            self.flash.emit(f"NOT saved: {reason}", PROBLEM_MS)
            QMessageBox.critical(
                self.window,
                "Could not save",
                f"Could not save {self.path}:\n{reason}\n\n"
                "Your text is still here, unsaved. Try File → Save As… somewhere else.",
            )
            return False
        self.editor.document().setModified(False)
        self.recovery.clear()
        self.file_used.emit(str(self.path))
        self.flash.emit(f"Saved {self.path.name}.", SAVED_MS)
        return True

    def save_as(self) -> bool:
        """Ask for a file name and save there; returns success."""
        start = str(self.path) if self.path else "Untitled.txt"
        path, _ = QFileDialog.getSaveFileName(self.window, "Save As", start, FILE_FILTER)
        if not path:
            return False
        path = Path(path)
        if not path.suffix:
            path = path.with_suffix(".txt")
        old_path, self._path = self.path, path
        if not self.save():
            self._path = old_path
            return False
        self.path_changed.emit(path)
        return True

    def maybe_save(self) -> bool:
        """Offer to save unsaved changes; returns False when the writer cancels."""
        if not self.editor.document().isModified():
            return True
        answer = QMessageBox.question(
            self.window,
            "Unsaved changes",
            f"Save the changes to {self.name}?",
            Button.Save | Button.Discard | Button.Cancel,
            Button.Save,
        )
        if answer == Button.Save:
            return self.save()
        return answer == Button.Discard

    # --- never lose text ------------------------------------------------------

    def _schedule_autosave(self) -> None:
        # Debounced, with a deadline: a writer who never pauses is saved too.
        now = time.monotonic()
        if not self.recovery_timer.isActive():
            self._recovery_due = now + RECOVERY_MAX_DELAY_MS / 1000
        left_ms = max(0, int((self._recovery_due - now) * 1000))
        self.recovery_timer.start(min(RECOVERY_QUIET_MS, left_ms))

    def autosave(self) -> None:
        """Copy unsaved text to this session's recovery file.

        Runs soon after typing stops (see RECOVERY_QUIET_MS), every 30 s and on
        focus loss; does nothing when the file already holds this revision.
        """
        self.recovery_timer.stop()
        revision = self.editor.revision
        if not self.editor.document().isModified() or revision == self._autosaved_revision:
            return
        try:
            self.recovery.save(self.editor.toPlainText(), str(self.path) if self.path else None)
            self._autosaved_revision = revision
        except OSError as err:
            log.warning("autosave to %s failed: %s", self.recovery.path, err)
            self.flash.emit(f"Autosave failed: {err.strerror or err}", LONG_NOTE_MS)

    def offer_recovery(self) -> bool:
        """If a crashed session left unsaved text, offer to restore it; returns True if restored."""
        found = find_recoverable(self.recovery.folder, exclude=self.recovery.path)
        if not found:
            return False
        rec = found[0]
        what = Path(rec.source_path).name if rec.source_path else "an untitled document"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(rec.saved_at))
        answer = QMessageBox.question(
            self.window,
            "Restore unsaved text?",
            f"Writer did not close properly last time. Restore the unsaved text of {what} "
            f"(autosaved {when}, {len(rec.text.split())} words)?\n\n"
            "Yes: restore it. Discard: delete it for good. Ignore: ask again next time.",
            Button.Yes | Button.Discard | Button.Ignore,
            Button.Yes,
        )
        if answer == Button.Discard:
            rec.discard()
        if answer != Button.Yes or not self.maybe_save():
            return False
        self._set_document(rec.text, Path(rec.source_path) if rec.source_path else None)
        self.editor.document().setModified(True)
        self.autosave()  # now safe in this session's own file
        rec.discard()
        self.flash.emit("Restored the unsaved text. Save it to keep it.", LONG_NOTE_MS)
        return True

    def close(self) -> None:
        """A clean exit: stop autosaving and forget the recovery file (the text is saved
        or deliberately discarded by now)."""
        self.autosave_timer.stop()
        self.recovery_timer.stop()
        self.recovery.clear()
        self.recovery.close()
