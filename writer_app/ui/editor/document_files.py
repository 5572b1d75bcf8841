"""The document's file workflow: new, open, save, save as, unsaved changes, and
the recovery copy that keeps unsaved text safe from crashes.

DocumentFiles owns the current path, its line endings and byte order mark,
the file's stamp (what it was when read or saved: core/text_io.FileStamp), the
lock that tells other windows the file is open (core/open_files.py) and this
run's RecoverySession. Before each save, and when the window comes back to
the front (check_disk), it compares the file on disk with the stamp: a file
changed by another program is never overwritten silently (see disk_conflict.py). It reads and replaces the editor's text, asks the writer
through message boxes parented to the window, and tells the window what
happened through signals; it never touches the settings (the window adds
recent files) or the suggestions (the window cancels them on `replacing`).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from writer_app.core.documents import (
    FileStamp,
    NotRegularFileError,
    NotTextError,
    TextFileError,
    changed_on_disk,
    new_file_problem,
    read_text_file,
    save_text_file,
)
from writer_app.core.open_files import DocumentLock
from writer_app.core.recovery import RecoverySession, find_recoverable
from writer_app.core.state_files import move_aside, take_notices
from writer_app.core.text_io import FileTooLargeError, TextFile, stamp_of
from writer_app.ui.editor import disk_conflict
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
OPEN_FAILED_TITLES = {  # TextFileError kind -> the message box's title
    NotTextError: "Not a text file",
    NotRegularFileError: "Not a file",
    FileTooLargeError: "File too large",
}


class DocumentFiles(QObject):
    """The file behind the editor, and every way of reading, writing and recovering it."""

    replacing = Signal()  # the editor's whole text is about to be replaced
    # A new document (new, open, recovered) or Save As: its file, a Path or None (untitled).
    path_changed = Signal(object)
    file_used = Signal(str)  # opened or saved: a recent file
    flash = Signal(str, int)  # a passing status-bar message (text, ms)
    lasting = Signal(str)  # a problem that stays in the status bar until solved ("" clears it)

    def __init__(self, window: QWidget, editor: GhostEditor):
        super().__init__(window)
        self.window = window  # the parent of the message boxes
        self.editor = editor
        self._path: Path | None = None
        self.newline = "\n"
        self.bom = False  # the file began with a UTF-8 byte order mark: saved with one
        self.stamp: FileStamp | None = None  # the file as last read or saved; None: no file yet
        self.lock: DocumentLock | None = None
        self.read_only = False  # open in another window and the writer chose read-only
        self._asked_about: str | None = None  # the disk version check_disk last asked about
        self._checking = False
        self._recovery_failed = False
        self._problems: dict[str, str] = {}  # the lasting messages: "read_only", "recovery"
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
            self._replace_lock(None)
            self._set_document(TextFile(""), None)
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
        open in another window and the writer cancelled.
        """
        path = Path(path).expanduser().absolute()
        if not path.exists():
            claim = self._claim(path)
            if claim is None:
                return False
            self._set_document(TextFile(""), path, claim)
            problem = new_file_problem(path)
            if problem:  # now, not at the first save hours later
                self._warn("Cannot save there", problem)
            else:
                self.flash.emit(f"New file: {path.name} will be created when you save.", NOTE_MS)
            return True
        try:
            doc = read_text_file(path)
        except TextFileError as err:
            title = OPEN_FAILED_TITLES.get(type(err), "Could not open")
            QMessageBox.critical(self.window, title, str(err))
            return False
        claim = self._claim(path)
        if claim is None:
            return False
        self._set_document(doc, path, claim)
        self.recovery.clear()
        self.file_used.emit(str(path))
        if doc.warning:
            self._warn("Not clean text" if doc.encoding == "utf-8" else "Not UTF-8", doc.warning)
        if self.editor.layout_overflows():
            self._warn(
                "Document too long",
                f"{path.name} is too long for this editor to show whole: the end of it cannot "
                "be scrolled to. Nothing is lost and saving keeps all of it, but split it "
                "into smaller files (one per part or chapter) to edit the end.",
            )
        self.show_notices()
        return True

    def _claim(self, path: Path) -> bool | None:
        # Lock `path` for this window: True (writable), False (read-only: open
        # elsewhere and the writer chose so), None (the writer cancelled).
        if self.lock is not None and self.lock.document == Path(os.path.realpath(path)):
            return not self.read_only
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
                self._replace_lock(None)
                return False
        self._replace_lock(lock if lock.held else None)
        return True

    def _replace_lock(self, lock: DocumentLock | None) -> None:
        if self.lock is not None and self.lock is not lock:
            self.lock.release()
        self.lock = lock

    def _warn(self, title: str, text: str) -> None:
        self.flash.emit(text, PROBLEM_MS)
        QMessageBox.warning(self.window, title, text)

    def _set_document(self, doc: TextFile, path: Path | None, writable: bool = True) -> None:
        self.replacing.emit()
        self.editor.set_text(doc.text)
        self.newline, self.bom, self.stamp = doc.newline, doc.bom, doc.stamp
        self._asked_about = None
        self.set_read_only(not writable, path)
        self.path = path

    def set_read_only(self, read_only: bool, path: Path | None = None) -> None:
        """Make the editor read-only (the file is open in another window) or writable again."""
        self.read_only = read_only
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
        """Save to the current file (or ask for one); on failure say why and keep the buffer dirty.

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
                return self._resolve_conflict()
            self.flash.emit(
                f"{self.name} was deleted or moved away while open; saving it here again.",
                LONG_NOTE_MS,
            )
        return self._write(self.path)

    def _write(self, path: Path) -> bool:
        try:
            stamp = save_text_file(path, self.editor.toPlainText(), self.newline, self.bom)
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
        self.stamp, self._asked_about = stamp, None
        self.editor.document().setModified(False)
        self.recovery.clear()
        self.file_used.emit(str(path))
        self.flash.emit(f"Saved {path.name}.", SAVED_MS)
        self.show_notices()
        return True

    # --- the file changed on disk -----------------------------------------------

    def check_disk(self) -> None:
        """Compare the file on disk with what the editor has (the window came to the front).

        Unchanged: nothing. Changed and no unsaved edits here: reloaded. Changed
        with unsaved edits: the writer is asked, once per version on disk (the
        next save asks again). Gone: said once; saving writes it again.
        """
        if self.path is None or self._checking or not changed_on_disk(self.path, self.stamp):
            return
        self._checking = True
        try:
            now = stamp_of(self.path)
            seen = now.digest if now is not None else "gone"
            if seen == self._asked_about:
                return
            self._asked_about = seen
            if now is None:
                self.flash.emit(
                    f"{self.name} was deleted, moved or replaced on disk; "
                    "File → Save writes your text there again.",
                    PROBLEM_MS,
                )
            elif not self.editor.document().isModified():
                if self._reload():
                    self.flash.emit(f"{self.name} changed on disk; reloaded.", LONG_NOTE_MS)
            else:
                self._resolve_conflict()
        finally:
            self._checking = False

    def _resolve_conflict(self) -> bool:
        # Ask until the writer decides; both texts survive every answer but Cancel,
        # which writes nothing. Returns whether the writer's text is now saved.
        path, mine = self.path, self.editor.toPlainText()
        while True:
            answer = disk_conflict.ask_conflict(self.window, path.name)
            if answer == disk_conflict.COMPARE:
                try:
                    theirs = read_text_file(path).text
                except TextFileError as err:
                    theirs = f"(the version on disk cannot be read: {err})"
                diff = disk_conflict.unified_diff(theirs, mine, path.name)
                disk_conflict.show_diff(self.window, f"{path.name}: on disk → yours", diff)
                continue
            if answer not in (disk_conflict.RELOAD, disk_conflict.KEEP):
                return False
            break
        mine_path = disk_conflict.mine_path(path)
        if not self._write(mine_path):
            return False
        kept = f"Your text is saved as {mine_path.name}"
        if answer == disk_conflict.RELOAD and self._reload(path):
            self.flash.emit(f"Reloaded {path.name} from disk. {kept}.", PROBLEM_MS)
            return True
        self._claim(mine_path)
        self.path = mine_path
        self.flash.emit(f"{kept}; {path.name} keeps the other version.", PROBLEM_MS)
        return True

    def _reload(self, path: Path | None = None) -> bool:
        # The editor shows `path` (default: the current file) as it is on disk now.
        path = path or self.path
        try:
            doc = read_text_file(path)
        except TextFileError as err:
            QMessageBox.critical(self.window, "Could not reload", str(err))
            return False
        if path != self.path:
            self._claim(path)
        self._set_document(doc, path, not self.read_only)
        self.editor.document().setModified(False)
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
        if not self._write(path):
            return False
        self._claim(path)
        self.set_read_only(False)
        self.path = path
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
        focus loss; does nothing when the file already holds this revision. It
        never writes the document itself, so it cannot overwrite a file another
        program changed: the next save asks. A recovery folder that cannot be
        written is said once in a message box and stays in the status bar,
        with where the text can be saved instead.
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
        """If a crashed session left unsaved text, offer to restore it; returns True if restored.

        A damaged copy is offered with what could be read and says what not;
        it is deleted only when the writer says Discard, and a restored damaged
        one is moved aside (NAME.bad-...) rather than deleted.
        """
        found = find_recoverable(self.recovery.folder, exclude=self.recovery.path)
        self.show_notices()
        if not found:
            return False
        rec = found[0]
        what = Path(rec.source_path).name if rec.source_path else "an untitled document"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(rec.saved_at))
        damage = (
            f"\n\nThe copy is damaged: {rec.damage}; what could be read is restored."
            if rec.damage
            else ""
        )
        answer = QMessageBox.question(
            self.window,
            "Restore unsaved text?",
            f"Writer did not close properly last time. Restore the unsaved text of {what} "
            f"(autosaved {when}, {len(rec.text.split())} words)?{damage}\n\n"
            "Yes: restore it. Discard: delete it for good. Ignore: ask again next time.",
            Button.Yes | Button.Discard | Button.Ignore,
            Button.Yes,
        )
        if answer == Button.Discard:
            rec.discard()
        if answer != Button.Yes or not self.maybe_save():
            return False
        source = Path(rec.source_path) if rec.source_path else None
        claim = self._claim(source) if source is not None else True
        self._set_document(TextFile(rec.text), source, claim is True)
        self.stamp = stamp_of(source) if source is not None else None
        self.editor.document().setModified(True)
        self.autosave()  # now safe in this session's own file
        if rec.damage:
            move_aside(rec.recovery_file)
        else:
            rec.discard()
        self.flash.emit("Restored the unsaved text. Save it to keep it.", LONG_NOTE_MS)
        return True

    def show_notices(self) -> None:
        """Show, once, what went wrong with the app's own files (core/state_files.py):
        a damaged file moved aside, settings that could not be saved."""
        notices = take_notices()
        if not notices:
            return
        self.flash.emit(notices[0], PROBLEM_MS)
        QMessageBox.warning(self.window, "Some of Writer's own files", "\n\n".join(notices))

    def close(self) -> None:
        """A clean exit: stop autosaving and forget the recovery file (the text is saved
        or deliberately discarded by now)."""
        self.autosave_timer.stop()
        self.recovery_timer.stop()
        self.recovery.clear()
        self.recovery.close()
        self._replace_lock(None)
