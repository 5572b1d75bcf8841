"""The documents' file workflow: new, open, save, save as, unsaved changes, and
the recovery copies that keep unsaved text safe from crashes.

DocumentFiles is the DocumentSet (document_set.py: the open documents, one
per opened chapter in a project, and the one shown) with their files. Each
document has its file's stamp, the lock that tells other windows the file is
open (core/open_files.py) and its own RecoverySession. Before each save, and
when the window comes back to the front (check_disk), the file on disk is
compared with the stamp: a file changed by another program is never
overwritten silently (disk_conflict.py). Recovery copies left by a crash are
offered at start (recovery_offer.py). Each save first keeps the bytes it
replaces as an earlier version (core/versions.py). It asks the writer through message
boxes parented to the window and tells the window what happened through
signals; it never touches the settings (the window adds recent files) or the
suggestions (the window cancels them on `replacing`).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from writer_app.core.documents import (
    NotRegularFileError,
    NotTextError,
    TextFileError,
    changed_on_disk,
    encode_text,
    new_file_problem,
    read_text_file,
    save_text_file,
)
from writer_app.core.open_files import DocumentLock
from writer_app.core.state_files import take_notices
from writer_app.core.text_io import FileTooLargeError, TextFile, stamp_of
from writer_app.core.versions import keep_version
from writer_app.ui.editor import disk_conflict, recovery_offer
from writer_app.ui.editor.document_set import DocumentSet
from writer_app.ui.editor.ghost_editor import GhostEditor
from writer_app.ui.editor.open_document import OpenDocument

log = logging.getLogger(__name__)

AUTOSAVE_INTERVAL_MS = 30_000
# Unsaved text reaches the recovery file once typing pauses this long, and
# never later than RECOVERY_MAX_DELAY_MS after the first unsaved keystroke:
# a crash of the whole app loses at most the last 5 seconds.
RECOVERY_QUIET_MS = 1_500
RECOVERY_MAX_DELAY_MS = 4_000
FILE_FILTER = "Text and Markdown (*.txt *.md *.markdown);;All files (*)"
DEFAULT_SUFFIX = ".txt"  # Save As of an untitled text, when the writer types no extension
PROBLEM_MS = 15_000  # status-bar time of a problem the writer must read
NOTE_MS = 5_000
LONG_NOTE_MS = 8_000
SAVED_MS = 3_000
Button = QMessageBox.StandardButton
OPEN_FAILED_TITLES = {  # TextFileError kind -> the message box's title
    NotTextError: "Not a text file",
    NotRegularFileError: "Not a file",
    FileTooLargeError: "File too large",
}


class DocumentFiles(DocumentSet):
    """The files behind the editor, and every way of reading, writing and recovering them."""

    saved = Signal(object)  # a document was written to this Path
    file_used = Signal(str)  # opened or saved: a recent file
    flash = Signal(str, int)  # a passing status-bar message (text, ms)
    lasting = Signal(str)  # a problem that stays in the status bar until solved ("" clears it)

    def __init__(self, window: QWidget, editor: GhostEditor):
        super().__init__(window, editor)
        self.window = window  # the parent of the message boxes
        self._checking = False
        self._recovery_failed = False
        self._problems: dict[str, str] = {}  # the lasting messages: "read_only", "recovery"
        self.autosave_timer = QTimer(self, interval=AUTOSAVE_INTERVAL_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        self.recovery_timer = QTimer(self, singleShot=True)
        self.recovery_timer.timeout.connect(self.autosave)
        self._recovery_due = 0.0  # time.monotonic() by which the pending autosave must run
        editor.document().contentsChanged.connect(self._schedule_autosave)

    def open_document(self, path: Path) -> OpenDocument | None:
        """Show the open document of `path`, or open it beside the others (a chapter);
        return it, or None when it could not be opened (said to the writer)."""
        path = Path(path).absolute()
        doc = self.find(path)
        if doc is not None:
            self.show(doc)
            self.check_disk()
            return doc
        text = self._read(path) if path.exists() else TextFile("")
        if text is None:
            return None
        doc = self._new_document()
        writable = self.claim(path, doc)
        if writable is None:
            doc.document.deleteLater()
            return None
        left = self.current
        self.documents.append(doc)
        self.show(doc)
        self.replace_text(text, path, writable)
        if left.path is None and not left.modified and left.document.isEmpty():
            self.forget(left)  # the empty page a project starts on
        self._said_on_open(text, path)
        return doc

    # --- new, open, save ------------------------------------------------------

    def new_file(self) -> None:
        """Start an empty, untitled document (after offering to save changes)."""
        if self.maybe_save():
            self.leave_project()
            self._replace_lock(None)
            self.replace_text(TextFile(""), None)
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
        """Read `path` into the editor (no prompt); a file that does not exist yet starts empty.

        Returns False when it was not opened: not a text file, unreadable, or
        open in another window and the writer cancelled. An open project is
        closed first (its changes saved or discarded by the caller).
        """
        path = Path(path).expanduser().absolute()
        text = self._read(path) if path.exists() else TextFile("")
        if text is None:
            return False
        self.leave_project()
        claim = self.claim(path)
        if claim is None:
            return False
        self.replace_text(text, path, claim)
        self.recovery.clear()
        self._said_on_open(text, path)
        return True

    def _read(self, path: Path) -> TextFile | None:
        try:
            return read_text_file(path)
        except TextFileError as err:
            title = OPEN_FAILED_TITLES.get(type(err), "Could not open")
            QMessageBox.critical(self.window, title, str(err))
            return None

    def _said_on_open(self, text: TextFile, path: Path) -> None:
        # What the writer must know about a file just opened (or to be created).
        if text.stamp is None:
            problem = new_file_problem(path)
            if problem:  # now, not at the first save hours later
                self._warn("Cannot save there", problem)
            else:
                self.flash.emit(f"New file: {path.name} will be created when you save.", NOTE_MS)
            return
        self.file_used.emit(str(path))
        if text.warning:
            title = "Not clean text" if text.encoding == "utf-8" else "Not UTF-8"
            self._warn(title, text.warning)
        if self.editor.layout_overflows():
            self._warn(
                "Document too long",
                f"{path.name} is too long for this editor to show whole: the end of it cannot "
                "be scrolled to. Nothing is lost and saving keeps all of it, but split it "
                "into smaller files (one per part or chapter) to edit the end.",
            )
        self.show_notices()

    def claim(self, path: Path, doc: OpenDocument | None = None) -> bool | None:
        """Lock `path` for `doc` (default: the current document); return True (writable),
        False (read-only: open elsewhere and the writer chose so) or None (cancelled)."""
        doc = doc or self.current
        if doc.lock is not None and doc.lock.document == Path(os.path.realpath(path)):
            return not doc.read_only
        lock = DocumentLock(path)
        try:
            holder = lock.acquire()
        except OSError as err:  # no locks folder: open it anyway, as before locks existed
            log.warning("could not lock %s: %s", path, err)
            holder = None
        if holder is not None:
            answer = disk_conflict.ask_already_open(self.window, path.name, holder)
            if answer == disk_conflict.CANCEL:
                return None
            if answer == disk_conflict.READ_ONLY:
                self._replace_lock(None, doc)
                return False
        self._replace_lock(lock if lock.held else None, doc)
        return True

    def _replace_lock(self, lock: DocumentLock | None, doc: OpenDocument | None = None) -> None:
        doc = doc or self.current
        if doc.lock is not None and doc.lock is not lock:
            doc.lock.release()
        doc.lock = lock

    def _warn(self, title: str, text: str) -> None:
        self.flash.emit(text, PROBLEM_MS)
        QMessageBox.warning(self.window, title, text)

    def replace_text(self, doc: TextFile, path: Path | None, writable: bool = True) -> None:
        """Make the current document `doc`'s text, of file `path` (its undo history starts
        here)."""
        self.replacing.emit()
        self.editor.set_text(doc.text)
        cur = self.current
        cur.newline, cur.bom, cur.stamp, cur.asked_about = doc.newline, doc.bom, doc.stamp, None
        self.set_read_only(not writable, path)
        self.path = path

    def set_read_only(self, read_only: bool, path: Path | None = None) -> None:
        """Make the editor read-only (the file is open in another window) or writable again."""
        self.current.read_only = read_only
        self.editor.setReadOnly(read_only)
        self._set_problem(
            "read_only",
            f"{path.name} is open in another Writer window: read-only here "
            "(File → Save As… saves a copy)."
            if read_only and path is not None
            else "",
        )

    def _set_problem(self, key: str, text: str) -> None:
        # The status bar's lasting message is shared with the engine's: only
        # ours is cleared, and only when we had put one there.
        had = bool(self._problems)
        if text:
            self._problems[key] = text
        else:
            self._problems.pop(key, None)
        if self._problems or had:
            self.lasting.emit(" ".join(self._problems.values()))

    def save(self) -> bool:
        """Save the current document to its file (or ask for one); on failure say why and
        keep it unsaved.

        The file on disk is checked first: changed by another program, the
        writer is asked (disk_conflict); gone (deleted or renamed away), it is
        written again and the writer told.
        """
        if self.path is None:
            return self.save_as()
        if self.read_only:
            QMessageBox.information(
                self.window,
                "Read-only",
                f"{self.name} is open in another Writer window, so it is read-only here. "
                "Use File → Save As… to save this text under another name.",
            )
            return False
        if changed_on_disk(self.path, self.stamp):
            if stamp_of(self.path) is not None or self.path.exists():
                return disk_conflict.resolve(self)
            self.flash.emit(
                f"{self.name} was deleted or moved away while open; saving it here again.",
                LONG_NOTE_MS,
            )
        return self.write_to(self.path)

    def write_to(self, path: Path) -> bool:
        """Write the current document to `path` (no disk check); returns success, and on
        failure says why, the text kept unsaved."""
        cur = self.current
        text = self.editor.toPlainText()
        try:  # never in the way of the save: a version that can't be kept is only said
            keep_version(path, encode_text(text, cur.newline, cur.bom))
            unkept = ""
        except OSError as err:
            log.warning("keeping the earlier version of %s failed: %s", path, err)
            unkept = f" Its earlier version could not be kept: {err.strerror or err}."
        try:
            stamp = save_text_file(path, text, cur.newline, cur.bom)
        except OSError as err:
            reason = err.strerror or str(err)
            log.warning("saving %s failed: %s", path, err)
            self.flash.emit(f"NOT saved: {reason}", PROBLEM_MS)
            QMessageBox.critical(
                self.window,
                "Could not save",
                f"Could not save {path}:\n{reason}\n\n"
                "Your text is still here, unsaved. Try File → Save As… somewhere else.",
            )
            return False
        except TextFileError as err:  # the path became a FIFO or a folder
            QMessageBox.critical(
                self.window, "Could not save", f"{err}\n\nYour text is still here."
            )
            return False
        cur.stamp, cur.asked_about = stamp, None
        self.editor.document().setModified(False)
        self.recovery.clear()
        self.file_used.emit(str(path))
        self.saved.emit(path)
        self.flash.emit(f"Saved {path.name}.{unkept}", LONG_NOTE_MS if unkept else SAVED_MS)
        self.show_notices()
        return True

    def check_disk(self) -> None:
        """Compare the current file on disk with the editor's text (see disk_conflict.check)."""
        if self._checking:
            return
        self._checking = True
        try:
            disk_conflict.check(self)
        finally:
            self._checking = False

    def save_as(self) -> bool:
        """Ask for a file name and save there; returns success.

        A name typed without an extension takes the current file's (a .md stays
        a .md), or .txt for an untitled text.
        """
        start = str(self.path) if self.path else f"Untitled{DEFAULT_SUFFIX}"
        path, _ = QFileDialog.getSaveFileName(self.window, "Save As", start, FILE_FILTER)
        if not path:
            return False
        path = Path(path)
        if not path.suffix:
            path = path.with_suffix(self.path.suffix if self.path and self.path.suffix else ".txt")
        if not self.write_to(path):
            return False
        self.claim(path)
        self.set_read_only(False)
        self.path = path
        return True

    def maybe_save(self) -> bool:
        """Offer to save unsaved changes, all in one question; returns False when the
        writer cancels."""
        unsaved = self.unsaved()
        if not unsaved:
            return True
        if len(unsaved) == 1:
            text = f"Save the changes to {unsaved[0].name}?"
        else:
            names = "\n".join(f"• {d.name}" for d in unsaved)
            text = f"Save the changes to these {len(unsaved)} files?\n\n{names}"
        answer = QMessageBox.question(
            self.window,
            "Unsaved changes",
            text,
            Button.Save | Button.Discard | Button.Cancel,
            Button.Save,
        )
        if answer == Button.Save:
            return self.save_all(unsaved)
        return answer == Button.Discard

    def save_all(self, docs: list[OpenDocument] | None = None) -> bool:
        """Save `docs` (default: every unsaved one), each shown as it is saved, so that a
        question about it is asked in front of its text; returns False at the first failure."""
        back = self.current
        for doc in docs if docs is not None else self.unsaved():
            self.show(doc)
            if not self.save():
                return False
        if back in self.documents:
            self.show(back)
        return True

    # --- never lose text ------------------------------------------------------

    def _schedule_autosave(self) -> None:
        # Debounced, with a deadline: a writer who never pauses is saved too.
        now = time.monotonic()
        if not self.recovery_timer.isActive():
            self._recovery_due = now + RECOVERY_MAX_DELAY_MS / 1000
        left_ms = max(0, int((self._recovery_due - now) * 1000))
        self.recovery_timer.start(min(RECOVERY_QUIET_MS, left_ms))

    def autosave(self) -> None:
        """Copy the current document's unsaved text to its recovery file.

        Runs soon after typing stops (see RECOVERY_QUIET_MS), every 30 s, on
        focus loss and when another chapter is shown; does nothing when the file
        already holds this revision. It never writes the document itself, so it
        cannot overwrite a file another program changed: the next save asks. A
        recovery folder that cannot be written is said once in a message box and
        stays in the status bar, with where the text can be saved instead.
        """
        self.recovery_timer.stop()
        cur, revision = self.current, self.editor.revision
        if not cur.modified or revision == cur.autosaved_revision:
            return
        try:
            cur.recovery.save(self.editor.toPlainText(), str(self.path) if self.path else None)
            cur.autosaved_revision = revision
        except OSError as err:
            log.warning("autosave to %s failed: %s", cur.recovery.path, err)
            self.flash.emit(f"Autosave failed: {err.strerror or err}", LONG_NOTE_MS)
            self._recovery_unwritable(err)
            return
        if self._recovery_failed:
            self._recovery_failed = False
            self._set_problem("recovery", "")

    def _recovery_unwritable(self, err: OSError) -> None:
        where = self.path.parent if self.path else Path.home()
        self._set_problem(
            "recovery",
            f"No crash copy of your unsaved text can be kept ({err.strerror or err}): "
            f"save often (File → Save, or Save As… in {where}).",
        )
        if self._recovery_failed:
            return
        self._recovery_failed = True
        self._warn(
            "Unsaved text is not protected",
            f"Writer cannot keep a copy of your unsaved text in {self.recovery.folder} "
            f"({err.strerror or err}), so if the app or the computer crashed now, what you "
            "typed since your last save would be lost.\n\n"
            f"Save your text now: File → Save, or File → Save As… to a folder you can "
            f"write to, such as {where}. Writer keeps trying and says when copies work again.",
        )

    def offer_recovery(self) -> bool:
        """If a crashed session left unsaved text, offer to restore it; returns True if
        something was restored (see recovery_offer.offer)."""
        return recovery_offer.offer(self)

    def show_notices(self) -> None:
        """Show, once, what went wrong with the app's own files (core/state_files.py):
        a damaged file moved aside, settings that could not be saved."""
        notices = take_notices()
        if not notices:
            return
        self.flash.emit(notices[0], PROBLEM_MS)
        QMessageBox.warning(self.window, "Some of Writer's own files", "\n\n".join(notices))

    def close(self) -> None:
        """A clean exit: stop autosaving and forget the recovery files (the texts are saved
        or deliberately discarded by now), and let the files go."""
        self.autosave_timer.stop()
        self.recovery_timer.stop()
        for doc in self.documents:
            doc.release()
